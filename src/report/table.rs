//! comfy-table helpers: one look for every table `lab` prints, colours only where they help.
//!
//! Colour is used only when stdout is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>); otherwise tables are plain text, so logs and pipes stay clean.

use std::io::IsTerminal;

use comfy_table::{presets, Attribute, Cell, CellAlignment, Color, ContentArrangement, Table};

/// Whether terminal output may use colour: stdout is a terminal and `NO_COLOR` is not set.
pub(crate) fn color_enabled() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

/// How a cell's content should read at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Plain text.
    Neutral,
    /// A recommendation or a healthy value (green, bold).
    Good,
    /// Something to avoid or an error (red).
    Bad,
}

/// A table with the project's preset, its header row, and the given columns right-aligned
/// (numbers line up on their last digit).
pub(crate) fn new_table<S: ToString>(headers: &[S], numeric_columns: &[usize]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    let color = color_enabled();
    if !color {
        // Without a terminal comfy-table cannot measure a width; a fixed one keeps Dynamic wrapping sane.
        table.force_no_tty();
        table.set_width(160);
    }
    table.set_header(headers.iter().map(|h| {
        let cell = Cell::new(h.to_string());
        if color {
            cell.add_attribute(Attribute::Bold)
        } else {
            cell
        }
    }));
    for &index in numeric_columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// A cell carrying `text`, coloured by `tone` when colour is enabled.
pub(crate) fn cell(text: impl ToString, tone: Tone) -> Cell {
    let cell = Cell::new(text.to_string());
    if !color_enabled() {
        return cell;
    }
    match tone {
        Tone::Neutral => cell,
        Tone::Good => cell.fg(Color::Green).add_attribute(Attribute::Bold),
        Tone::Bad => cell.fg(Color::Red),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_renders_headers_and_rows() {
        let mut table = new_table(&["Memory", "Avg"], &[0, 1]);
        table.add_row(vec![
            cell("128 MB", Tone::Neutral),
            cell("12.3 ms", Tone::Good),
        ]);
        let text = table.to_string();
        assert!(text.contains("Memory"));
        assert!(text.contains("128 MB"));
        assert!(text.contains("12.3 ms"));
    }
}
