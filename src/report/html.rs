//! Self-contained HTML reports: inline CSS, inline SVG charts, no scripts, fonts or images fetched
//! from anywhere, so a report can be mailed, archived or opened offline.
//!
//! Every number drawn in a chart is also written as text in a `<table class="data">`, and each cell
//! carries machine-readable attributes so a test (or a headless browser) can read the values back
//! without parsing display strings:
//!
//! ```html
//! <tr data-memory="128" data-avg-ms="12.5" ...>
//!   <td data-memory="128" data-avg-ms="12.5">12.5 ms</td>
//! ```
//!
//! The row carries all of its values; each cell repeats the row key (e.g. `data-memory`) next to its
//! own value, so either element is enough to find a figure.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

/// The stylesheet inlined into every report.
const CSS: &str = include_str!("../../assets/report.css");

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML report under construction: sections are appended in reading order.
#[derive(Debug, Clone)]
pub struct Document {
    title: String,
    subtitle: String,
    body: String,
}

impl Document {
    /// Starts a report with a page title and a one-line subtitle (what was measured, when, where).
    pub fn new(title: &str, subtitle: &str) -> Self {
        Document {
            title: title.to_string(),
            subtitle: subtitle.to_string(),
            body: String::new(),
        }
    }

    /// Appends a section heading.
    pub fn heading(&mut self, text: &str) {
        let _ = writeln!(self.body, "<h2>{}</h2>", escape(text));
    }

    /// Appends a paragraph of plain text; `note` renders it smaller and muted.
    pub fn paragraph(&mut self, text: &str, note: bool) {
        let class = if note { " class=\"note\"" } else { "" };
        let _ = writeln!(self.body, "<p{class}>{}</p>", escape(text));
    }

    /// Appends a definition list of `(name, value)` facts (the run's settings and totals).
    pub fn facts(&mut self, facts: &[(String, String)]) {
        self.body.push_str("<dl class=\"facts\">\n");
        for (name, value) in facts {
            let _ = writeln!(
                self.body,
                "<dt>{}</dt><dd>{}</dd>",
                escape(name),
                escape(value)
            );
        }
        self.body.push_str("</dl>\n");
    }

    /// Appends an SVG chart (from [`line_chart`] or [`bar_chart`]) with a caption.
    pub fn figure(&mut self, svg: &str, caption: &str) {
        let _ = writeln!(
            self.body,
            "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
            escape(caption)
        );
    }

    /// Appends a data table.
    pub fn table(&mut self, table: &DataTable) {
        let _ = writeln!(
            self.body,
            "<table class=\"data\" id=\"{}\">",
            escape(&table.id)
        );
        self.body.push_str("<thead><tr>");
        for header in &table.headers {
            let _ = write!(self.body, "<th>{}</th>", escape(header));
        }
        self.body.push_str("</tr></thead>\n<tbody>\n");
        for row in &table.rows {
            self.body.push_str("<tr");
            if let Some(class) = &row.class {
                let _ = write!(self.body, " class=\"{}\"", escape(class));
            }
            if let Some((k, v)) = &row.key {
                push_attr(&mut self.body, k, v);
            }
            for cell in &row.cells {
                if let Some((k, v)) = &cell.data {
                    push_attr(&mut self.body, k, v);
                }
            }
            self.body.push('>');
            for cell in &row.cells {
                self.body.push_str("<td");
                if cell.numeric {
                    self.body.push_str(" class=\"num\"");
                }
                if let Some((k, v)) = &row.key {
                    push_attr(&mut self.body, k, v);
                }
                if let Some((k, v)) = &cell.data {
                    push_attr(&mut self.body, k, v);
                }
                let _ = write!(self.body, ">{}</td>", escape(&cell.text));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</tbody>\n</table>\n");
    }

    /// Appends a data table folded under a `<details>` element (long series stay out of the way;
    /// the values are in the page either way).
    pub fn table_collapsed(&mut self, summary: &str, table: &DataTable) {
        let _ = writeln!(self.body, "<details><summary>{}</summary>", escape(summary));
        self.table(table);
        self.body.push_str("</details>\n");
    }

    /// The finished page.
    pub fn render(&self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
             <h1>{title}</h1>\n<p class=\"subtitle\">{subtitle}</p>\n{body}\
             <footer>Generated by lab {version}. This file is self-contained: no scripts, fonts or \
             images are loaded from the network.</footer>\n</body>\n</html>\n",
            title = escape(&self.title),
            subtitle = escape(&self.subtitle),
            body = self.body,
            version = env!("CARGO_PKG_VERSION"),
        )
    }

    /// Renders the page and writes it to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.render())
            .with_context(|| format!("writing the HTML report to {}", path.display()))
    }
}

fn push_attr(out: &mut String, key: &str, value: &str) {
    let _ = write!(out, " data-{}=\"{}\"", escape(key), escape(value));
}

/// A table whose values can be read back by attribute; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct DataTable {
    /// The element id, e.g. `tune-results`.
    pub id: String,
    /// Column headings.
    pub headers: Vec<String>,
    /// Body rows.
    pub rows: Vec<DataRow>,
}

/// One row of a [`DataTable`].
#[derive(Debug, Clone, Default)]
pub struct DataRow {
    /// CSS class (`best`, `failed`).
    pub class: Option<String>,
    /// The row's key attribute (e.g. `("memory", "128")`), repeated on every cell.
    pub key: Option<(String, String)>,
    /// Cells, in column order.
    pub cells: Vec<DataCell>,
}

/// One cell of a [`DataRow`].
#[derive(Debug, Clone, Default)]
pub struct DataCell {
    /// What a reader sees.
    pub text: String,
    /// The machine-readable value, e.g. `("avg-ms", "12.5")`, written as `data-avg-ms="12.5"`.
    pub data: Option<(String, String)>,
    /// Right-aligned figures.
    pub numeric: bool,
}

impl DataCell {
    /// A text-only cell.
    pub fn text(text: impl Into<String>) -> Self {
        DataCell {
            text: text.into(),
            data: None,
            numeric: false,
        }
    }

    /// A numeric cell showing `text` and carrying `data-<key>="<value>"`.
    pub fn value(text: impl Into<String>, key: &str, value: impl ToString) -> Self {
        DataCell {
            text: text.into(),
            data: Some((key.to_string(), value.to_string())),
            numeric: true,
        }
    }

    /// A text cell carrying `data-<key>="<value>"` (e.g. a verdict).
    pub fn labelled(text: impl Into<String>, key: &str) -> Self {
        let text = text.into();
        DataCell {
            data: Some((key.to_string(), text.clone())),
            text,
            numeric: false,
        }
    }
}

/// Which vertical axis a series is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// The left axis.
    Left,
    /// The right axis (a second unit, e.g. cost next to duration).
    Right,
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// CSS colour.
    pub color: String,
    /// The axis its values are read against.
    pub axis: Axis,
    /// `(x, y)` points in x order.
    pub points: Vec<(f64, f64)>,
}

/// A line chart with one or two y axes; y axes always start at zero so slopes are not exaggerated.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Drawn above the plot.
    pub title: String,
    /// Label under the x axis.
    pub x_label: String,
    /// Label of the left axis.
    pub left_label: String,
    /// Label of the right axis, if any series uses it.
    pub right_label: String,
    /// Fixed x ticks `(position, label)` (for categories such as memory sizes); automatic when `None`.
    pub x_ticks: Option<Vec<(f64, String)>>,
    /// Formats automatic x tick labels.
    pub x_format: fn(f64) -> String,
    /// Formats left axis labels.
    pub left_format: fn(f64) -> String,
    /// Formats right axis labels.
    pub right_format: fn(f64) -> String,
    /// The lines.
    pub series: Vec<Series>,
}

const W: f64 = 760.0;
const H: f64 = 330.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 52.0;
const LEFT: f64 = 76.0;

/// "Nice" tick values covering `0..=max`: steps of 1, 2 or 5 times a power of ten.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
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
    (first as i64..=last as i64)
        .map(|i| i as f64 * step)
        .collect()
}

/// Horizontal grid lines at `ticks`, the two axis lines and the left axis' tick labels. Leaves the
/// `axis` group open for the caller's own labels.
fn grid_and_left_axis(
    svg: &mut String,
    ticks: &[f64],
    sy: impl Fn(f64) -> f64,
    format: fn(f64) -> String,
    plot_w: f64,
    plot_h: f64,
) {
    svg.push_str("<g class=\"grid\">");
    for &t in ticks {
        let y = sy(t);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>",
            LEFT + plot_w
        );
    }
    svg.push_str("</g>\n<g class=\"axis\">");
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\"/><line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        TOP + plot_h,
        LEFT + plot_w,
        TOP + plot_h,
        TOP + plot_h
    );
    for &t in ticks {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            sy(t) + 4.0,
            escape(&format(t))
        );
    }
}

/// Renders `chart` as an inline `<svg>` element.
pub fn line_chart(chart: &LineChart) -> String {
    let has_right = chart.series.iter().any(|s| s.axis == Axis::Right);
    let right = if has_right { 84.0 } else { 24.0 };
    let plot_w = W - LEFT - right;
    let plot_h = H - TOP - BOTTOM;

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

    let axis_max = |axis: Axis| {
        let ys: Vec<f64> = chart
            .series
            .iter()
            .filter(|s| s.axis == axis)
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .collect();
        let max = bounds(&ys).map_or(1.0, |(_, m)| if m > 0.0 { m } else { 1.0 });
        let ticks = nice_ticks(0.0, max, 5);
        let top = *ticks.last().unwrap_or(&max);
        (ticks, top)
    };
    let (left_ticks, left_top) = axis_max(Axis::Left);
    let (right_ticks, right_top) = axis_max(Axis::Right);

    let sx = |x: f64| LEFT + (x - x_min) / (x_max - x_min) * plot_w;
    let sy = |y: f64, axis: Axis| {
        let top = if axis == Axis::Left {
            left_top
        } else {
            right_top
        };
        TOP + plot_h - y / top * plot_h
    };

    let mut svg = svg_open(&chart.title);
    // Grid and left axis.
    grid_and_left_axis(
        &mut svg,
        &left_ticks,
        |t| sy(t, Axis::Left),
        chart.left_format,
        plot_w,
        plot_h,
    );
    if has_right {
        let x = LEFT + plot_w;
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\"/>",
            TOP + plot_h
        );
        for &t in &right_ticks {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"start\">{}</text>",
                x + 6.0,
                sy(t, Axis::Right) + 4.0,
                escape(&(chart.right_format)(t))
            );
        }
    }
    // X ticks.
    let x_ticks: Vec<(f64, String)> = match &chart.x_ticks {
        Some(ticks) => ticks.clone(),
        None => nice_ticks(x_min, x_max, 8)
            .into_iter()
            .filter(|t| *t >= x_min && *t <= x_max)
            .map(|t| (t, (chart.x_format)(t)))
            .collect(),
    };
    for (x, label) in &x_ticks {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            sx(*x),
            TOP + plot_h + 16.0,
            escape(label)
        );
    }
    svg.push_str("</g>\n");
    // Axis labels.
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        LEFT + plot_w / 2.0,
        H - 10.0,
        escape(&chart.x_label)
    );
    let _ = write!(
        svg,
        "<text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        TOP + plot_h / 2.0,
        escape(&chart.left_label)
    );
    if has_right {
        let _ = write!(
            svg,
            "<text transform=\"translate({:.1} {:.1}) rotate(90)\" text-anchor=\"middle\">{}</text>",
            W - 10.0,
            TOP + plot_h / 2.0,
            escape(&chart.right_label)
        );
    }
    // Lines and points, each point with a tooltip and its values as attributes.
    for series in &chart.series {
        if series.points.is_empty() {
            continue;
        }
        let path: Vec<String> = series
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y, series.axis)))
            .collect();
        let _ = write!(
            svg,
            "\n<g class=\"series\" data-series=\"{}\"><polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            escape(&series.name),
            escape(&series.color),
            path.join(" ")
        );
        if series.points.len() <= 60 {
            for &(x, y) in &series.points {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\" data-x=\"{x}\" data-y=\"{y}\"><title>{}: {}</title></circle>",
                    sx(x),
                    sy(y, series.axis),
                    escape(&series.color),
                    escape(&series.name),
                    escape(&if series.axis == Axis::Left {
                        (chart.left_format)(y)
                    } else {
                        (chart.right_format)(y)
                    })
                );
            }
        }
        svg.push_str("</g>");
    }
    legend(
        &mut svg,
        chart
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.color.as_str())),
    );
    svg.push_str("\n</svg>");
    svg
}

/// A vertical bar chart with one or more series per group (a histogram is one series).
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Drawn above the plot.
    pub title: String,
    /// Label under the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Formats y axis labels and tooltips.
    pub y_format: fn(f64) -> String,
    /// Group labels along the x axis.
    pub groups: Vec<String>,
    /// `(name, colour, one value per group)`.
    pub series: Vec<(String, String, Vec<f64>)>,
}

/// Renders `chart` as an inline `<svg>` element.
pub fn bar_chart(chart: &BarChart) -> String {
    let right = 24.0;
    let plot_w = W - LEFT - right;
    let plot_h = H - TOP - BOTTOM;
    let values: Vec<f64> = chart
        .series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .collect();
    let max = bounds(&values).map_or(1.0, |(_, m)| if m > 0.0 { m } else { 1.0 });
    let ticks = nice_ticks(0.0, max, 5);
    let top = *ticks.last().unwrap_or(&max);
    let sy = |y: f64| TOP + plot_h - y / top * plot_h;
    let groups = chart.groups.len().max(1) as f64;
    let group_w = plot_w / groups;
    let n_series = chart.series.len().max(1) as f64;
    let bar_w = (group_w * 0.8 / n_series).max(1.0);
    // Thin out x labels so they never overlap (about 7 px per character).
    let longest = chart
        .groups
        .iter()
        .map(|g| g.chars().count())
        .max()
        .unwrap_or(1) as f64;
    let label_every = ((longest * 7.0 + 8.0) / group_w).ceil().max(1.0) as usize;

    let mut svg = svg_open(&chart.title);
    grid_and_left_axis(&mut svg, &ticks, sy, chart.y_format, plot_w, plot_h);
    for (i, label) in chart.groups.iter().enumerate() {
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                LEFT + group_w * (i as f64 + 0.5),
                TOP + plot_h + 16.0,
                escape(label)
            );
        }
    }
    svg.push_str("</g>\n");
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        LEFT + plot_w / 2.0,
        H - 10.0,
        escape(&chart.x_label)
    );
    let _ = write!(
        svg,
        "<text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        TOP + plot_h / 2.0,
        escape(&chart.y_label)
    );
    for (s, (name, color, vals)) in chart.series.iter().enumerate() {
        let _ = write!(
            svg,
            "\n<g class=\"series\" data-series=\"{}\">",
            escape(name)
        );
        for (i, &v) in vals.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let x = LEFT + group_w * i as f64 + group_w * 0.1 + bar_w * s as f64;
            let y = sy(v.max(0.0));
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" fill=\"{}\" data-group=\"{}\" data-value=\"{v}\"><title>{} {}: {}</title></rect>",
                TOP + plot_h - y,
                escape(color),
                escape(chart.groups.get(i).map_or("", String::as_str)),
                escape(name),
                escape(chart.groups.get(i).map_or("", String::as_str)),
                escape(&(chart.y_format)(v))
            );
        }
        svg.push_str("</g>");
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

fn svg_open(title: &str) -> String {
    format!(
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\">\
         <title>{t}</title><text class=\"title\" x=\"{LEFT}\" y=\"18\">{t}</text>\n",
        t = escape(title)
    )
}

fn legend<'a>(svg: &mut String, items: impl Iterator<Item = (&'a str, &'a str)>) {
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

fn bounds(values: &[f64]) -> Option<(f64, f64)> {
    values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn nice_ticks_cover_the_range_with_round_steps() {
        assert_eq!(nice_ticks(0.0, 1146.0, 5), vec![0.0, 500.0, 1000.0, 1500.0]);
        assert_eq!(nice_ticks(0.0, 9.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
    }

    #[test]
    fn document_is_self_contained_and_tables_carry_values() {
        let mut doc = Document::new("T <1>", "sub");
        doc.table(&DataTable {
            id: "t".into(),
            headers: vec!["Memory".into(), "Avg".into()],
            rows: vec![DataRow {
                class: Some("best".into()),
                key: Some(("memory".into(), "128".into())),
                cells: vec![
                    DataCell::value("128 MB", "memory-mb", 128),
                    DataCell::value("12.5 ms", "avg-ms", 12.5),
                ],
            }],
        });
        let chart = line_chart(&LineChart {
            title: "c".into(),
            x_label: "x".into(),
            left_label: "l".into(),
            right_label: "r".into(),
            x_ticks: Some(vec![(0.0, "128 MB".into())]),
            x_format: |x| format!("{x}"),
            left_format: |y| format!("{y}"),
            right_format: |y| format!("{y}"),
            series: vec![
                Series {
                    name: "a".into(),
                    color: "#123".into(),
                    axis: Axis::Left,
                    points: vec![(0.0, 12.5)],
                },
                Series {
                    name: "b".into(),
                    color: "#456".into(),
                    axis: Axis::Right,
                    points: vec![(0.0, 1e-6)],
                },
            ],
        });
        doc.figure(&chart, "cap");
        let html = doc.render();
        assert!(html.contains("<title>T &lt;1&gt;</title>"));
        assert!(html
            .contains("<td class=\"num\" data-memory=\"128\" data-avg-ms=\"12.5\">12.5 ms</td>"));
        assert!(html.contains(
            "<tr class=\"best\" data-memory=\"128\" data-memory-mb=\"128\" data-avg-ms=\"12.5\">"
        ));
        assert!(html.contains("data-y=\"12.5\""));
        assert!(!html.contains("src=\"http"));
        assert!(!html.contains("href=\"http"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn bar_chart_draws_one_rect_per_value() {
        let svg = bar_chart(&BarChart {
            title: "h".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            y_format: |y| format!("{y}"),
            groups: vec!["a".into(), "b".into()],
            series: vec![("n".into(), "#000".into(), vec![1.0, 3.0])],
        });
        assert_eq!(svg.matches("<rect x=").count(), 2);
        assert!(svg.contains("data-value=\"3\""));
    }
}
