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
//!
//! One module per part of a page: the [`Document`] that holds the sections, the [`DataTable`] with
//! its readable values, and one module per chart kind over a shared SVG frame (`svg`).

mod bar_chart;
mod data_table;
mod document;
mod line_chart;
mod svg;

pub(crate) use bar_chart::{bar_chart, BarChart};
pub(crate) use data_table::{DataCell, DataRow, DataTable};
pub(crate) use document::Document;
pub(crate) use line_chart::{line_chart, Axis, LineChart, Series};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
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

#[cfg(test)]
mod tests;
