//! Line charts with one or two value axes (e.g. duration on the left, cost on the right).

use std::fmt::Write as _;

use super::escape;
use super::svg::{bounds, label, legend, nice_ticks, value_axis, Frame, LEFT, TOP, W};

/// Which vertical axis a series is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    /// The left axis.
    Left,
    /// The right axis (a second unit, e.g. cost next to duration).
    Right,
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Legend name.
    pub(crate) name: String,
    /// CSS colour.
    pub(crate) color: String,
    /// The axis its values are read against.
    pub(crate) axis: Axis,
    /// `(x, y)` points in x order.
    pub(crate) points: Vec<(f64, f64)>,
}

/// A line chart with one or two y axes; y axes always start at zero so slopes are not exaggerated.
#[derive(Debug, Clone)]
pub(crate) struct LineChart {
    /// Drawn above the plot.
    pub(crate) title: String,
    /// Label under the x axis.
    pub(crate) x_label: String,
    /// Label of the left axis.
    pub(crate) left_label: String,
    /// Label of the right axis, if any series uses it.
    pub(crate) right_label: String,
    /// Fixed x ticks `(position, label)` (for categories such as memory sizes); automatic when `None`.
    pub(crate) x_ticks: Option<Vec<(f64, String)>>,
    /// Formats automatic x tick labels.
    pub(crate) x_format: fn(f64) -> String,
    /// Formats left axis labels.
    pub(crate) left_format: fn(f64) -> String,
    /// Formats right axis labels.
    pub(crate) right_format: fn(f64) -> String,
    /// The lines.
    pub(crate) series: Vec<Series>,
}

/// Series with more points than this are drawn as a bare line: a dot per point would hide it.
const MAX_DOTS: usize = 60;

/// Where a chart's values land in the SVG.
struct Scale {
    frame: Frame,
    x_min: f64,
    x_max: f64,
    left: (Vec<f64>, f64),
    right: (Vec<f64>, f64),
}

impl Scale {
    fn of(chart: &LineChart, frame: Frame) -> Self {
        let (x_min, x_max) = x_range(chart);
        let axis = |axis: Axis| {
            value_axis(
                chart
                    .series
                    .iter()
                    .filter(|s| s.axis == axis)
                    .flat_map(|s| s.points.iter().map(|p| p.1)),
            )
        };
        Scale {
            frame,
            x_min,
            x_max,
            left: axis(Axis::Left),
            right: axis(Axis::Right),
        }
    }

    fn x(&self, x: f64) -> f64 {
        LEFT + (x - self.x_min) / (self.x_max - self.x_min) * self.frame.w
    }

    fn y(&self, y: f64, axis: Axis) -> f64 {
        let top = if axis == Axis::Left {
            self.left.1
        } else {
            self.right.1
        };
        self.frame.y(y, top)
    }
}

/// The x range: every point and fixed tick, padded by 5% for categories so end points are not
/// drawn on the axes.
fn x_range(chart: &LineChart) -> (f64, f64) {
    let xs: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(chart.x_ticks.iter().flatten().map(|t| t.0))
        .collect();
    let (mut x_min, mut x_max) = bounds(&xs).unwrap_or((0.0, 1.0));
    let pad = if x_max > x_min {
        (x_max - x_min) * 0.05
    } else {
        0.5
    };
    if chart.x_ticks.is_some() {
        x_min -= pad;
        x_max += pad;
    } else if x_max <= x_min {
        x_max = x_min + 1.0;
    }
    (x_min, x_max)
}

/// Renders `chart` as an inline `<svg>` element.
pub(crate) fn line_chart(chart: &LineChart) -> String {
    let has_right = chart.series.iter().any(|s| s.axis == Axis::Right);
    let frame = Frame::new(if has_right { 84.0 } else { 24.0 });
    let scale = Scale::of(chart, frame);

    let mut svg = Frame::open(&chart.title);
    frame.grid_and_left_axis(
        &mut svg,
        &scale.left.0,
        |t| scale.y(t, Axis::Left),
        chart.left_format,
    );
    if has_right {
        right_axis(&mut svg, chart, &scale);
    }
    for (x, text) in x_ticks(chart, &scale) {
        frame.x_tick(&mut svg, scale.x(x), &text);
    }
    frame.axis_titles(&mut svg, &chart.x_label, &chart.left_label);
    if has_right {
        let _ = write!(
            svg,
            "<text transform=\"translate({:.1} {:.1}) rotate(90)\" text-anchor=\"middle\">{}</text>",
            W - 10.0,
            TOP + frame.h / 2.0,
            escape(&chart.right_label)
        );
    }
    for series in chart.series.iter().filter(|s| !s.points.is_empty()) {
        draw_series(&mut svg, chart, &scale, series);
    }
    legend(
        &mut svg,
        chart.series.iter().map(|s| (s.name.as_str(), s.color.as_str())),
    );
    svg.push_str("\n</svg>");
    svg
}

/// The right axis line and its tick labels.
fn right_axis(svg: &mut String, chart: &LineChart, scale: &Scale) {
    let x = LEFT + scale.frame.w;
    let _ = write!(
        svg,
        "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\"/>",
        scale.frame.bottom()
    );
    for &t in &scale.right.0 {
        let y = scale.y(t, Axis::Right) + 4.0;
        label(svg, x + 6.0, y, "start", &(chart.right_format)(t));
    }
}

/// The chart's fixed x ticks, or round ones inside the range.
fn x_ticks(chart: &LineChart, scale: &Scale) -> Vec<(f64, String)> {
    match &chart.x_ticks {
        Some(ticks) => ticks.clone(),
        None => nice_ticks(scale.x_min, scale.x_max, 8)
            .into_iter()
            .filter(|t| *t >= scale.x_min && *t <= scale.x_max)
            .map(|t| (t, (chart.x_format)(t)))
            .collect(),
    }
}

/// One line, and a dot per point with a tooltip and its values as attributes.
fn draw_series(svg: &mut String, chart: &LineChart, scale: &Scale, series: &Series) {
    let path: Vec<String> = series
        .points
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", scale.x(x), scale.y(y, series.axis)))
        .collect();
    let _ = write!(
        svg,
        "\n<g class=\"series\" data-series=\"{}\"><polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
        escape(&series.name),
        escape(&series.color),
        path.join(" ")
    );
    if series.points.len() <= MAX_DOTS {
        let format = match series.axis {
            Axis::Left => chart.left_format,
            Axis::Right => chart.right_format,
        };
        for &(x, y) in &series.points {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\" data-x=\"{x}\" data-y=\"{y}\"><title>{}: {}</title></circle>",
                scale.x(x),
                scale.y(y, series.axis),
                escape(&series.color),
                escape(&series.name),
                escape(&format(y))
            );
        }
    }
    svg.push_str("</g>");
}
