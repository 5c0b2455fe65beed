//! Tables whose values a test or a headless browser can read back by attribute (see the parent
//! module's documentation for the attribute scheme).

use std::fmt::Write as _;

use super::escape;

/// A table whose values can be read back by attribute; see the module documentation.
#[derive(Debug, Clone, Default)]
pub(crate) struct DataTable {
    /// The element id, e.g. `tune-results`.
    pub(crate) id: String,
    /// Column headings.
    pub(crate) headers: Vec<String>,
    /// Body rows.
    pub(crate) rows: Vec<DataRow>,
}

/// One row of a [`DataTable`].
#[derive(Debug, Clone, Default)]
pub(crate) struct DataRow {
    /// CSS class (`best`, `failed`).
    pub(crate) class: Option<String>,
    /// The row's key attribute (e.g. `("memory", "128")`), repeated on every cell.
    pub(crate) key: Option<(String, String)>,
    /// Cells, in column order.
    pub(crate) cells: Vec<DataCell>,
}

/// One cell of a [`DataRow`].
#[derive(Debug, Clone, Default)]
pub(crate) struct DataCell {
    /// What a reader sees.
    pub(crate) text: String,
    /// The machine-readable value, e.g. `("avg-ms", "12.5")`, written as `data-avg-ms="12.5"`.
    pub(crate) data: Option<(String, String)>,
    /// Right-aligned figures.
    pub(crate) numeric: bool,
}

impl DataCell {
    /// A text-only cell.
    pub(crate) fn text(text: impl Into<String>) -> Self {
        DataCell {
            text: text.into(),
            data: None,
            numeric: false,
        }
    }

    /// A numeric cell showing `text` and carrying `data-<key>="<value>"`.
    pub(crate) fn value(text: impl Into<String>, key: &str, value: impl ToString) -> Self {
        DataCell {
            text: text.into(),
            data: Some((key.to_string(), value.to_string())),
            numeric: true,
        }
    }

    /// A text cell carrying `data-<key>="<value>"` (e.g. a verdict).
    pub(crate) fn labelled(text: impl Into<String>, key: &str) -> Self {
        let text = text.into();
        DataCell {
            data: Some((key.to_string(), text.clone())),
            text,
            numeric: false,
        }
    }
}

impl DataTable {
    /// Writes the `<table class="data">` element to `out`.
    pub(super) fn render_into(&self, out: &mut String) {
        let _ = writeln!(out, "<table class=\"data\" id=\"{}\">", escape(&self.id));
        out.push_str("<thead><tr>");
        for header in &self.headers {
            let _ = write!(out, "<th>{}</th>", escape(header));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            row.render_into(out);
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

impl DataRow {
    /// The row carries every cell's value; each cell carries the row key and its own value.
    fn render_into(&self, out: &mut String) {
        out.push_str("<tr");
        if let Some(class) = &self.class {
            let _ = write!(out, " class=\"{}\"", escape(class));
        }
        push_attr(out, self.key.as_ref());
        for cell in &self.cells {
            push_attr(out, cell.data.as_ref());
        }
        out.push('>');
        for cell in &self.cells {
            out.push_str("<td");
            if cell.numeric {
                out.push_str(" class=\"num\"");
            }
            push_attr(out, self.key.as_ref());
            push_attr(out, cell.data.as_ref());
            let _ = write!(out, ">{}</td>", escape(&cell.text));
        }
        out.push_str("</tr>\n");
    }
}

fn push_attr(out: &mut String, attr: Option<&(String, String)>) {
    if let Some((key, value)) = attr {
        let _ = write!(out, " data-{}=\"{}\"", escape(key), escape(value));
    }
}
