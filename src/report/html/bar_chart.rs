//! Bar charts: one or more series per group (a histogram is one series).

use std::fmt::Write as _;

use super::escape;
use super::svg::{legend, value_axis, Frame, LEFT};

/// A vertical bar chart with one or more series per group (a histogram is one series).
#[derive(Debug, Clone)]
pub(crate) struct BarChart {
    /// Drawn above the plot.
    pub(crate) title: String,
    /// Label under the x axis.
    pub(crate) x_label: String,
    /// Label of the y axis.
    pub(crate) y_label: String,
    /// Formats y axis labels and tooltips.
    pub(crate) y_format: fn(f64) -> String,
    /// Group labels along the x axis.
    pub(crate) groups: Vec<String>,
    /// `(name, colour, one value per group)`.
    pub(crate) series: Vec<(String, String, Vec<f64>)>,
}

/// Renders `chart` as an inline `<svg>` element.
pub(crate) fn bar_chart(chart: &BarChart) -> String {
    let frame = Frame::new(24.0);
    let (ticks, top) = value_axis(chart.series.iter().flat_map(|s| s.2.iter().copied()));
    let group_w = frame.w / chart.groups.len().max(1) as f64;

    let mut svg = Frame::open(&chart.title);
    frame.grid_and_left_axis(&mut svg, &ticks, |y| frame.y(y, top), chart.y_format);
    let every = label_every(&chart.groups, group_w);
    for (i, label) in chart.groups.iter().enumerate().step_by(every) {
        frame.x_tick(&mut svg, LEFT + group_w * (i as f64 + 0.5), label);
    }
    frame.axis_titles(&mut svg, &chart.x_label, &chart.y_label);
    let bar_w = (group_w * 0.8 / chart.series.len().max(1) as f64).max(1.0);
    for (s, series) in chart.series.iter().enumerate() {
        let place = |i: usize| LEFT + group_w * i as f64 + group_w * 0.1 + bar_w * s as f64;
        draw_bars(&mut svg, chart, series, place, bar_w, |v| frame.y(v, top));
    }
    if chart.series.len() > 1 {
        legend(
            &mut svg,
            chart.series.iter().map(|s| (s.0.as_str(), s.1.as_str())),
        );
    }
    svg.push_str("\n</svg>");
    svg
}

/// Every how many groups a label fits without overlapping its neighbour (about 7 px a character).
fn label_every(groups: &[String], group_w: f64) -> usize {
    let longest = groups.iter().map(|g| g.chars().count()).max().unwrap_or(1) as f64;
    ((longest * 7.0 + 8.0) / group_w).ceil().max(1.0) as usize
}

/// One series' bars, each with a tooltip and its group and value as attributes; a value that is not
/// finite (no data) leaves a gap.
fn draw_bars(
    svg: &mut String,
    chart: &BarChart,
    (name, color, values): &(String, String, Vec<f64>),
    place: impl Fn(usize) -> f64,
    bar_w: f64,
    sy: impl Fn(f64) -> f64,
) {
    let _ = write!(
        svg,
        "\n<g class=\"series\" data-series=\"{}\">",
        escape(name)
    );
    for (i, &v) in values.iter().enumerate().filter(|(_, v)| v.is_finite()) {
        let (x, y) = (place(i), sy(v.max(0.0)));
        let group = escape(chart.groups.get(i).map_or("", String::as_str));
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" fill=\"{}\" data-group=\"{group}\" data-value=\"{v}\"><title>{} {group}: {}</title></rect>",
            sy(0.0) - y,
            escape(color),
            escape(name),
            escape(&(chart.y_format)(v))
        );
    }
    svg.push_str("</g>");
}
