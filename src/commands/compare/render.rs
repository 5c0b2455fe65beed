//! The comparison as people read it: a terminal table and chart, and a self-contained HTML page
//! (a table and charts whose values a test can read back by attribute).

use std::path::Path;

use crate::report::chart::{hbar_chart, Bar};
use crate::report::format;
use crate::report::html::{bar_chart, BarChart, DataCell, DataRow, DataTable, Document};
use crate::report::table::new_table;

use super::model::{Cell, Comparison};

/// Series colours, one per handler, in [`Language::ALL`]'s order.
const COLOURS: [&str; 2] = ["#d9480f", "#1c7ed6"];

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("-".into(), format::ms)
}

fn per_million(v: Option<f64>) -> String {
    v.map_or("-".into(), |c| format::usd(c * 1e6))
}

/// The terminal's table (one row per size, each handler's figures side by side), chart and verdicts.
pub(crate) fn text(c: &Comparison) -> String {
    let handlers: Vec<String> = c.sizes.first().map_or(Vec::new(), |row| {
        row.cells.iter().map(|cell| cell.handler.to_string()).collect()
    });
    let mut headers = vec!["memory".to_string()];
    for h in &handlers {
        headers.push(format!("{h} duration"));
        headers.push(format!("{h} $/1M"));
        headers.push(format!("{h} {} under load", c.stat));
    }
    let numeric: Vec<usize> = (0..headers.len()).collect();
    let mut table = new_table(&headers, &numeric);
    for row in &c.sizes {
        let mut cells = vec![format!("{} MB", row.memory_mb)];
        for cell in &row.cells {
            cells.push(opt_ms(cell.avg_duration_ms));
            cells.push(per_million(cell.cost_per_invoke));
            cells.push(match cell.meets_target {
                Some(true) => format!("{} ✓", opt_ms(cell.load_latency_ms)),
                _ => opt_ms(cell.load_latency_ms),
            });
        }
        table.add_row(cells);
    }
    let mut out = format!("{table}\n");
    let bars: Vec<Bar> = c
        .sizes
        .iter()
        .flat_map(|row| {
            row.cells.iter().map(move |cell| Bar {
                label: format!("{} MB {}", row.memory_mb, cell.handler),
                value: cell.load_latency_ms.unwrap_or(f64::NAN),
                display: opt_ms(cell.load_latency_ms),
                note: None,
            })
        })
        .collect();
    out.push_str(&hbar_chart(
        &format!("{} latency under load (target {})", c.stat, c.target),
        &bars,
        40,
    ));
    for v in &c.verdicts {
        out.push_str(&format!("{}\n", v.sentence));
    }
    if let Some(caveat) = &c.caveat {
        out.push_str(&format!("note: {caveat}\n"));
    }
    out
}

/// Writes the comparison's page to `path`.
pub(crate) fn html(c: &Comparison, path: &Path) -> anyhow::Result<()> {
    let mut doc = Document::new(
        "Rust against Python: the tutorial's two handlers",
        &format!("tuned and load-tested in one run, {}", format::utc_now()),
    );
    doc.facts(
        &c.verdicts
            .iter()
            .map(|v| (format!("{} ({})", v.handler, v.runtime), v.sentence.clone()))
            .collect::<Vec<_>>(),
    );
    let groups: Vec<String> = c.sizes.iter().map(|r| format!("{} MB", r.memory_mb)).collect();
    let series = |pick: fn(&Cell) -> Option<f64>| -> Vec<(String, String, Vec<f64>)> {
        let count = c.sizes.first().map_or(0, |r| r.cells.len());
        (0..count)
            .map(|i| {
                let name = c.sizes[0].cells[i].handler.to_string();
                let values =
                    c.sizes.iter().map(|r| pick(&r.cells[i]).unwrap_or(f64::NAN)).collect();
                (name, COLOURS[i % COLOURS.len()].to_string(), values)
            })
            .collect()
    };
    doc.heading("Latency under the tutorial's load");
    doc.figure(
        &bar_chart(&BarChart {
            title: format!("{} latency under load", c.stat),
            x_label: "memory".into(),
            y_label: "ms".into(),
            y_format: format::ms,
            groups: groups.clone(),
            series: series(|cell| cell.load_latency_ms),
        }),
        &format!(
            "Each handler's {} latency under the load test at each memory size; the target is {}.",
            c.stat, c.target
        ),
    );
    doc.heading("Duration and cost (power tuning)");
    doc.figure(
        &bar_chart(&BarChart {
            title: "Average duration (Duration + Init)".into(),
            x_label: "memory".into(),
            y_label: "ms".into(),
            y_format: format::ms,
            groups,
            series: series(|cell| cell.avg_duration_ms),
        }),
        "Tuning's trimmed mean of Duration + Init Duration, from each invocation's REPORT line.",
    );
    doc.table(&data_table(c));
    if let Some(caveat) = &c.caveat {
        doc.paragraph(caveat, true);
    }
    doc.write(path)
}

/// The figures as a table a test can read back (`data-memory`, `data-<handler>-...`).
fn data_table(c: &Comparison) -> DataTable {
    let mut headers = vec!["Memory".to_string()];
    if let Some(row) = c.sizes.first() {
        for cell in &row.cells {
            let h = cell.handler;
            headers.extend([
                format!("{h} duration"),
                format!("{h} init"),
                format!("{h} cost / invocation"),
                format!("{h} {} under load", c.stat),
                format!("{h} req/s"),
            ]);
        }
    }
    let rows = c
        .sizes
        .iter()
        .map(|row| {
            let mut cells = vec![DataCell::value(
                format!("{} MB", row.memory_mb),
                "memory",
                row.memory_mb,
            )];
            for cell in &row.cells {
                let key = |what: &str| format!("{}-{what}", cell.handler);
                let num = |v: Option<f64>, what: &str, shown: String| match v {
                    Some(v) => DataCell::value(shown, &key(what), v),
                    None => DataCell::text("-"),
                };
                cells.push(num(
                    cell.avg_duration_ms,
                    "avg-ms",
                    opt_ms(cell.avg_duration_ms),
                ));
                cells.push(num(cell.avg_init_ms, "init-ms", opt_ms(cell.avg_init_ms)));
                cells.push(num(
                    cell.cost_per_invoke,
                    "cost",
                    cell.cost_per_invoke.map_or("-".into(), format::usd),
                ));
                cells.push(num(
                    cell.load_latency_ms,
                    "load-ms",
                    opt_ms(cell.load_latency_ms),
                ));
                cells.push(num(
                    cell.load_rps,
                    "rps",
                    cell.load_rps.map_or("-".into(), format::rate),
                ));
            }
            DataRow {
                class: None,
                key: Some(("memory".into(), row.memory_mb.to_string())),
                cells,
            }
        })
        .collect();
    DataTable {
        id: "handler-comparison".into(),
        headers,
        rows,
    }
}
