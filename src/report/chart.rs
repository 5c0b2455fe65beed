//! Terminal horizontal bar charts, drawn with Unicode eighth blocks so short bars still differ.

use std::fmt::Write as _;

/// One bar: a label on the left, a value that sets its length, and the text printed after it.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    /// Row label, e.g. `128 MB`.
    pub(crate) label: String,
    /// The quantity drawn; negative and non-finite values draw an empty bar.
    pub(crate) value: f64,
    /// What is printed after the bar, e.g. `1146 ms`.
    pub(crate) display: String,
    /// Marks the row (e.g. the winner) with a trailing note.
    pub(crate) note: Option<String>,
}

/// Eighths of a cell, from one eighth to a full block.
const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

/// Renders `bars` under `title`, the longest bar `width` cells wide. Bars scale linearly from zero
/// so lengths compare honestly (a chart starting above zero would exaggerate small differences).
pub(crate) fn hbar_chart(title: &str, bars: &[Bar], width: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let label_width = bars.iter().map(|b| b.label.chars().count()).max().unwrap_or(0);
    let max = bars
        .iter()
        .map(|b| b.value)
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(0.0_f64, f64::max);
    for bar in bars {
        let bar_text = if max > 0.0 && bar.value.is_finite() && bar.value > 0.0 {
            draw(bar.value / max * width as f64)
        } else {
            String::new()
        };
        let pad = width.saturating_sub(bar_text.chars().count());
        let _ = write!(
            out,
            "  {label:>label_width$} │{bar_text}{space} {display}",
            label = bar.label,
            space = " ".repeat(pad),
            display = bar.display,
        );
        if let Some(note) = &bar.note {
            let _ = write!(out, "  ◀ {note}");
        }
        out.push('\n');
    }
    out
}

/// A bar `cells` long (fractional), at least one eighth so a tiny non-zero value stays visible.
fn draw(cells: f64) -> String {
    let eighths = ((cells * 8.0).round() as usize).max(1);
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(EIGHTHS[eighths % 8 - 1]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.into(),
            value,
            display: format!("{value}"),
            note: None,
        }
    }

    #[test]
    fn longest_bar_fills_the_width_and_others_scale() {
        let text = hbar_chart("t", &[bar("a", 10.0), bar("bb", 5.0), bar("c", 0.0)], 20);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "t");
        assert_eq!(lines[1].matches('█').count(), 20);
        assert_eq!(lines[2].matches('█').count(), 10);
        assert_eq!(lines[3].matches('█').count(), 0);
        // Labels are right-aligned to the widest one.
        assert!(lines[1].starts_with("   a │"));
    }

    #[test]
    fn fractions_use_eighth_blocks() {
        assert_eq!(draw(1.5), "█▌");
        assert_eq!(draw(0.01), "▏");
    }
}
