//! What every chart shares: the SVG frame and its margins, value axes that start at zero with
//! round ticks, grid lines, axis titles and the legend.

use std::fmt::Write as _;

use super::escape;

/// The SVG's width and height (it scales with the page; these set the aspect and text size).
pub(super) const W: f64 = 760.0;
pub(super) const H: f64 = 330.0;
/// Margins around the plot area: room for the title and legend, the x labels, the left labels.
pub(super) const TOP: f64 = 44.0;
const BOTTOM: f64 = 52.0;
pub(super) const LEFT: f64 = 76.0;

/// "Nice" tick values covering `0..=max`: steps of 1, 2 or 5 times a power of ten.
pub(crate) fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
    let (min, max) = if max > min {
        (min, max)
    } else {
        (min, min + 1.0)
    };
    let rough = (max - min) / target.max(1) as f64;
    let magnitude = 10f64.powf(rough.log10().floor());
    let residual = rough / magnitude;
    let step = magnitude
        * if residual <= 1.0 {
            1.0
        } else if residual <= 2.0 {
            2.0
        } else if residual <= 5.0 {
            5.0
        } else {
            10.0
        };
    let first = (min / step).floor();
    let last = (max / step).ceil();
    (first as i64..=last as i64).map(|i| i as f64 * step).collect()
}

/// A value axis for `values`: it starts at zero (so slopes are not exaggerated) and ends at the
/// first round tick at or above the largest value. Returns the ticks and that top value.
pub(super) fn value_axis(values: impl Iterator<Item = f64>) -> (Vec<f64>, f64) {
    let values: Vec<f64> = values.collect();
    let max = bounds(&values).map_or(1.0, |(_, m)| if m > 0.0 { m } else { 1.0 });
    let ticks = nice_ticks(0.0, max, 5);
    let top = *ticks.last().unwrap_or(&max);
    (ticks, top)
}

/// The smallest and largest finite value, if any.
pub(super) fn bounds(values: &[f64]) -> Option<(f64, f64)> {
    values.iter().copied().filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The plot area inside the fixed margins; `right` is the right margin (wider with a second axis).
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    /// The plot area's width.
    pub(crate) w: f64,
    /// The plot area's height.
    pub(crate) h: f64,
}

impl Frame {
    pub(super) fn new(right: f64) -> Self {
        Frame {
            w: W - LEFT - right,
            h: H - TOP - BOTTOM,
        }
    }

    /// The y of the x axis.
    pub(super) fn bottom(&self) -> f64 {
        TOP + self.h
    }

    /// The y of `value` on an axis that runs from zero to `top`.
    pub(super) fn y(&self, value: f64, top: f64) -> f64 {
        TOP + self.h - value / top * self.h
    }

    /// Opens the `<svg>` element with its accessible title and the visible one.
    pub(super) fn open(title: &str) -> String {
        format!(
            "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\">\
             <title>{t}</title><text class=\"title\" x=\"{LEFT}\" y=\"18\">{t}</text>\n",
            t = escape(title)
        )
    }

    /// Horizontal grid lines at `ticks`, the two axis lines and the left axis' tick labels. Leaves
    /// the `axis` group open for the caller's own labels.
    pub(super) fn grid_and_left_axis(
        &self,
        svg: &mut String,
        ticks: &[f64],
        sy: impl Fn(f64) -> f64,
        format: fn(f64) -> String,
    ) {
        let right = LEFT + self.w;
        let bottom = self.bottom();
        svg.push_str("<g class=\"grid\">");
        for &t in ticks {
            let y = sy(t);
            let _ = write!(
                svg,
                "<line x1=\"{LEFT}\" x2=\"{right:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>"
            );
        }
        svg.push_str("</g>\n<g class=\"axis\">");
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{bottom:.1}\"/><line x1=\"{LEFT}\" x2=\"{right:.1}\" y1=\"{bottom:.1}\" y2=\"{bottom:.1}\"/>"
        );
        for &t in ticks {
            label(svg, LEFT - 6.0, sy(t) + 4.0, "end", &format(t));
        }
    }

    /// A label under the x axis, centred on `x`.
    pub(super) fn x_tick(&self, svg: &mut String, x: f64, text: &str) {
        label(svg, x, self.bottom() + 16.0, "middle", text);
    }

    /// Closes the `axis` group and writes the x axis' title and the left axis' (turned) title.
    pub(super) fn axis_titles(&self, svg: &mut String, x_title: &str, left_title: &str) {
        svg.push_str("</g>\n");
        label(svg, LEFT + self.w / 2.0, H - 10.0, "middle", x_title);
        let _ = write!(
            svg,
            "<text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            TOP + self.h / 2.0,
            escape(left_title)
        );
    }
}

/// A `<text>` at (`x`, `y`) anchored `anchor` (start, middle, end).
pub(super) fn label(svg: &mut String, x: f64, y: f64, anchor: &str, text: &str) {
    let _ = write!(
        svg,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\">{}</text>",
        escape(text)
    );
}

/// A row of colour swatches and names above the plot.
pub(super) fn legend<'a>(svg: &mut String, items: impl Iterator<Item = (&'a str, &'a str)>) {
    let mut x = LEFT;
    for (name, color) in items {
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"27\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.1}\" y=\"36\">{}</text>",
            escape(color),
            x + 14.0,
            escape(name)
        );
        x += 24.0 + name.chars().count() as f64 * 6.5;
    }
}
