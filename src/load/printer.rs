//! The final report on the terminal: per-run statistics, errors, the latency histogram, and the
//! tutorial's "Workload Behavior Observation" comparison across memory sizes.

use std::fmt::Write as _;

use super::result::{LoadResult, RunResult};
use crate::report::chart::{hbar_chart, Bar};
use crate::report::format;
use crate::report::table::{cell, new_table, Tone};

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), format::ms)
}

/// One run: headline table, errors by kind, latency histogram.
pub fn run_report(run: &RunResult) -> String {
    let s = &run.summary;
    let mut out = String::new();
    let mut headers = vec![
        "Requests",
        "Errors",
        "Throughput",
        "Avg",
        "Min",
        "p50",
        "p90",
        "p95",
        "p99",
        "Max",
    ];
    if s.dropped_iterations > 0 {
        headers.push("Dropped");
    }
    let mut table = new_table(&headers, &(0..headers.len()).collect::<Vec<_>>());
    let error_tone = if s.errors > 0 {
        Tone::Bad
    } else {
        Tone::Neutral
    };
    let mut row = vec![
        cell(s.requests, Tone::Neutral),
        cell(
            format!("{} ({})", s.errors, format::pct(s.error_rate)),
            error_tone,
        ),
        cell(format::rate(s.throughput_rps), Tone::Neutral),
        cell(ms(s.avg_ms), Tone::Neutral),
        cell(ms(s.min_ms), Tone::Neutral),
        cell(ms(s.p50_ms), Tone::Neutral),
        cell(ms(s.p90_ms), Tone::Neutral),
        cell(ms(s.p95_ms), Tone::Neutral),
        cell(ms(s.p99_ms), Tone::Neutral),
        cell(ms(s.max_ms), Tone::Neutral),
    ];
    if s.dropped_iterations > 0 {
        row.push(cell(s.dropped_iterations, Tone::Warn));
    }
    table.add_row(row);
    let _ = writeln!(
        out,
        "{}{} in {}",
        run.label,
        if run.interrupted {
            " (interrupted)"
        } else {
            ""
        },
        format::seconds(s.elapsed_s)
    );
    let _ = writeln!(out, "{table}");
    if s.errors > 0 {
        let e = &run.errors;
        let mut kinds: Vec<String> = e
            .http_status
            .iter()
            .map(|(code, n)| format!("HTTP {code} x{n}"))
            .collect();
        for (name, n) in [
            ("function errors", e.function_errors),
            ("timeouts", e.timeouts),
            ("connection", e.connection),
        ] {
            if n > 0 {
                kinds.push(format!("{name} x{n}"));
            }
        }
        let _ = writeln!(out, "Errors: {}", kinds.join(", "));
        if let Some(example) = &e.example {
            let _ = writeln!(out, "  e.g. {example}");
        }
    }
    if !run.histogram.is_empty() {
        let bars: Vec<Bar> = run
            .histogram
            .iter()
            .map(|b| Bar {
                label: format!("≤ {}", format::ms(b.to_ms)),
                value: b.count as f64,
                display: b.count.to_string(),
                note: None,
            })
            .collect();
        out.push('\n');
        out.push_str(&hbar_chart("Latency of successful requests", &bars, 40));
    }
    out
}

/// Columns of the tutorial's "Workload Behavior Observation" table, in the terminal and the report.
pub const COMPARISON_HEADERS: [&str; 8] = [
    "Memory",
    "Avg Latency",
    "P90",
    "P95",
    "P99",
    "Errors",
    "Throughput",
    "Result",
];

/// The comparison across memory sizes (one row per run).
pub fn comparison(result: &LoadResult) -> String {
    let mut table = new_table(&COMPARISON_HEADERS, &[0, 1, 2, 3, 4, 5, 6]);
    for run in &result.runs {
        let s = &run.summary;
        let verdict = run.verdict.clone().unwrap_or_default();
        let tone = if verdict.starts_with("Stable") {
            Tone::Good
        } else if verdict.starts_with("Errors")
            || verdict.starts_with("High")
            || verdict.starts_with("No ")
        {
            Tone::Bad
        } else {
            Tone::Neutral
        };
        table.add_row(vec![
            cell(&run.label, tone),
            cell(ms(s.avg_ms), Tone::Neutral),
            cell(ms(s.p90_ms), Tone::Neutral),
            cell(ms(s.p95_ms), Tone::Neutral),
            cell(ms(s.p99_ms), Tone::Neutral),
            cell(
                format::pct(s.error_rate),
                if s.errors > 0 {
                    Tone::Bad
                } else {
                    Tone::Neutral
                },
            ),
            cell(format::rate(s.throughput_rps), Tone::Neutral),
            cell(verdict, tone),
        ]);
    }
    format!("Workload Behavior Observation\n{table}\n")
}

/// The lines after the tables: memory restored, interruption.
pub fn footer(result: &LoadResult) -> String {
    let mut out = String::new();
    if result.interrupted {
        let _ = writeln!(
            out,
            "Interrupted: the results above are what was measured until Ctrl-C."
        );
    }
    if let Some(m) = result.restored_memory_mb {
        let _ = writeln!(out, "Memory restored to {m} MB.");
    }
    out
}
