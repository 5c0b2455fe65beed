//! Latency figures are of every request (a timeout at its timeout), successes only beside them.
//!
//! The load test as a self-contained HTML page: latency over time, the latency histogram and the
//! comparison across memory sizes, each with its figures in a table.
//!
//! Tables and their attributes (on each `<tr>` and repeated on its cells):
//! - `#load-comparison` (with several runs): `data-memory` (or `data-run`), `data-avg-ms`, `data-p90-ms`, `data-p95-ms`, `data-p99-ms`, `data-error-rate`, `data-throughput`,
//!   `data-verdict`;
//! - `#load-summary-N` (run N from 0): the same without the verdict, plus `data-requests`,
//!   `data-errors`, `data-min-ms`, `data-p50-ms`, `data-max-ms`, `data-dropped`; the first row is
//!   every request (keyed by the run), the second successes only (`data-latency-of="successes"`);
//! - `#load-series-N`: `data-second`, `data-requests`, `data-errors`, `data-avg-ms`, `data-p95-ms`,
//!   `data-active-vus`;
//! - `#load-histogram-N`: `data-from-ms`, `data-to-ms`, `data-count`.

use super::result::{LoadResult, RunResult};
use super::summary::LatencyStats;
use super::timeline::SecondPoint;
use crate::report::format;
use crate::report::html::{
    bar_chart, line_chart, Axis, BarChart, DataCell, DataRow, DataTable, Document, LineChart,
    Series,
};

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), format::ms)
}

fn run_key(run: &RunResult, index: usize) -> (String, String) {
    match run.memory_mb {
        Some(m) => ("memory".to_string(), m.to_string()),
        None => ("run".to_string(), index.to_string()),
    }
}

/// Builds the report page for `result`.
pub fn render(result: &LoadResult) -> Document {
    let model = match (result.model, &result.shape, result.rate) {
        ("open", _, Some(rate)) => format!(
            "open model, {rate} requests/s, at most {} in flight",
            result.vus
        ),
        (_, Some(shape), _) => shape.clone(),
        _ => format!("{} VUs", result.vus),
    };
    let subtitle = format!(
        "{} · {} · {} per run · via {} · {}",
        result.target,
        model,
        format::seconds(result.duration_s),
        serde_json::to_value(result.via)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        format::utc_now()
    );
    let mut doc = Document::new("Load test", &subtitle);
    let mut facts = vec![
        ("Target".to_string(), result.target.clone()),
        ("Load".to_string(), model),
    ];
    for p in &result.payloads {
        let text = serde_json::to_string(&p.payload).unwrap_or_default();
        let name = if result.payloads.len() > 1 {
            format!("Payload (weight {})", p.weight)
        } else {
            "Payload".to_string()
        };
        facts.push((name, text));
    }
    facts.push(("Timeout".into(), format::seconds(result.timeout_s)));
    if result.interrupted {
        facts.push(("Interrupted".into(), "yes: results until Ctrl-C".into()));
    }
    if let Some(m) = result.restored_memory_mb {
        facts.push(("Memory restored to".into(), format!("{m} MB")));
    }
    doc.facts(&facts);

    if result.runs.len() > 1 {
        comparison(&mut doc, result);
    }
    for (i, run) in result.runs.iter().enumerate() {
        run_section(&mut doc, run, i);
    }
    doc.paragraph(
        "Latency figures are of every request, errors and timeouts included (a timeout counts at its \
         timeout), as Postman, k6 and oha report them; successes only are shown beside them. HDR \
         histograms, microsecond resolution. Throughput counts the requests completed inside the \
         measured window.",
        true,
    );
    doc
}

fn comparison(doc: &mut Document, result: &LoadResult) {
    doc.heading("Workload Behavior Observation");
    let groups: Vec<String> = result.runs.iter().map(|r| r.label.clone()).collect();
    let stat = |f: fn(&RunResult) -> Option<f64>| {
        result
            .runs
            .iter()
            .map(|r| f(r).unwrap_or(f64::NAN))
            .collect::<Vec<f64>>()
    };
    let chart = BarChart {
        title: "Latency by memory size".into(),
        x_label: "Memory".into(),
        y_label: "Latency (ms)".into(),
        y_format: |v| format!("{v}"),
        groups,
        series: vec![
            (
                "Avg".into(),
                "#2f6fdf".into(),
                stat(|r| r.summary.latency.avg_ms),
            ),
            (
                "P90".into(),
                "#6c95e6".into(),
                stat(|r| r.summary.latency.p90_ms),
            ),
            (
                "P95".into(),
                "#e07b24".into(),
                stat(|r| r.summary.latency.p95_ms),
            ),
            (
                "P99".into(),
                "#c2362b".into(),
                stat(|r| r.summary.latency.p99_ms),
            ),
        ],
    };
    doc.figure(
        &bar_chart(&chart),
        "Average, p90, p95 and p99 latency of all requests at each memory size.",
    );
    let rows = result
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let s = &r.summary;
            let l = &s.latency;
            let verdict = r.verdict.clone().unwrap_or_default();
            DataRow {
                class: verdict.starts_with("Stable").then(|| "best".to_string()),
                key: Some(run_key(r, i)),
                cells: vec![
                    DataCell::text(r.label.clone()),
                    DataCell::value(ms(l.avg_ms), "avg-ms", opt(l.avg_ms)),
                    DataCell::value(ms(l.p90_ms), "p90-ms", opt(l.p90_ms)),
                    DataCell::value(ms(l.p95_ms), "p95-ms", opt(l.p95_ms)),
                    DataCell::value(ms(l.p99_ms), "p99-ms", opt(l.p99_ms)),
                    DataCell::value(
                        format::pct(super::result::failure_rate(s)),
                        "error-rate",
                        super::result::failure_rate(s),
                    ),
                    DataCell::value(
                        format::rate(s.throughput_rps),
                        "throughput",
                        s.throughput_rps,
                    ),
                    DataCell::labelled(verdict, "verdict"),
                ],
            }
        })
        .collect();
    doc.table(&DataTable {
        id: "load-comparison".into(),
        headers: super::printer::COMPARISON_HEADERS
            .iter()
            .map(|h| h.to_string())
            .collect(),
        rows,
    });
}

/// The run's figures: every request's row and successes' row, the window, the thresholds.
fn summary(doc: &mut Document, run: &RunResult, i: usize) {
    let s = &run.summary;
    let key = Some(run_key(run, i));
    let row = |key: Option<(String, String)>, label: &str, count: u64, l: &LatencyStats| DataRow {
        class: None,
        key,
        cells: vec![
            DataCell::text(label.to_string()),
            DataCell::value(count.to_string(), "requests", count),
            DataCell::value(s.errors.to_string(), "errors", s.errors),
            DataCell::value(format::pct(s.error_rate), "error-rate", s.error_rate),
            DataCell::value(
                format::rate(s.throughput_rps),
                "throughput",
                s.throughput_rps,
            ),
            DataCell::value(ms(l.avg_ms), "avg-ms", opt(l.avg_ms)),
            DataCell::value(ms(l.min_ms), "min-ms", opt(l.min_ms)),
            DataCell::value(ms(l.p50_ms), "p50-ms", opt(l.p50_ms)),
            DataCell::value(ms(l.p90_ms), "p90-ms", opt(l.p90_ms)),
            DataCell::value(ms(l.p95_ms), "p95-ms", opt(l.p95_ms)),
            DataCell::value(ms(l.p99_ms), "p99-ms", opt(l.p99_ms)),
            DataCell::value(ms(l.max_ms), "max-ms", opt(l.max_ms)),
            DataCell::value(
                s.dropped_iterations.to_string(),
                "dropped",
                s.dropped_iterations,
            ),
        ],
    };
    doc.table(&DataTable {
        id: format!("load-summary-{i}"),
        headers: [
            "Latency of",
            "Requests",
            "Errors",
            "Error rate",
            "Throughput",
            "Avg",
            "Min",
            "p50",
            "p90",
            "p95",
            "p99",
            "Max",
            "Dropped",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect(),
        rows: vec![
            row(key.clone(), "all requests", s.requests, &s.latency),
            row(
                Some(("latency-of".into(), "successes".into())),
                "successes only",
                s.ok,
                &s.ok_latency,
            ),
        ],
    });
    doc.paragraph(
        &format!(
            "Throughput over the measured window {}-{} ({} requests){}.",
            format::seconds(s.window_from_s),
            format::seconds(s.window_to_s),
            s.window_requests,
            if s.window_from_s > 0.0 {
                ", after the ramp-up, drain after the end excluded"
            } else {
                ", drain after the end excluded"
            }
        ),
        true,
    );
    for t in &run.thresholds {
        let mark = if t.passed { "pass" } else { "FAIL" };
        doc.paragraph(
            &format!("Threshold {mark}: {} ({})", t.expression, t.shown),
            false,
        );
    }
}

fn run_section(doc: &mut Document, run: &RunResult, i: usize) {
    let s = &run.summary;
    doc.heading(&format!(
        "{}{}",
        run.label,
        if run.interrupted {
            " (interrupted)"
        } else {
            ""
        }
    ));
    let key = Some(run_key(run, i));
    summary(doc, run, i);
    if s.errors > 0 {
        let e = &run.errors;
        doc.paragraph(&format!("Errors — {}", e.kinds().join(", ")), false);
        if let Some(example) = &e.example {
            doc.paragraph(&format!("Example: {example}"), true);
        }
    }

    let points = |f: fn(&SecondPoint) -> Option<f64>| -> Vec<(f64, f64)> {
        run.series
            .iter()
            .filter_map(|p| f(p).map(|v| (p.second as f64, v)))
            .collect()
    };
    let latency = LineChart {
        title: "Latency over time".into(),
        x_label: "Seconds since start".into(),
        left_label: "Latency (ms)".into(),
        right_label: "Active VUs".into(),
        x_ticks: None,
        x_format: |x| format!("{x}s"),
        left_format: |y| format!("{y}"),
        right_format: |y| format!("{y}"),
        series: vec![
            Series {
                name: "p95".into(),
                color: "#e07b24".into(),
                axis: Axis::Left,
                points: points(|p| p.p95_ms),
            },
            Series {
                name: "avg".into(),
                color: "#2f6fdf".into(),
                axis: Axis::Left,
                points: points(|p| p.avg_ms),
            },
            Series {
                name: "active VUs".into(),
                color: "#8a93a3".into(),
                axis: Axis::Right,
                points: points(|p| Some(p.active_vus as f64)),
            },
        ],
    };
    doc.figure(
        &line_chart(&latency),
        "Per-second p95 and average latency of all requests (left) and active VUs (right).",
    );
    let throughput = LineChart {
        title: "Throughput over time".into(),
        x_label: "Seconds since start".into(),
        left_label: "Requests per second".into(),
        right_label: String::new(),
        x_ticks: None,
        x_format: |x| format!("{x}s"),
        left_format: |y| format!("{y}"),
        right_format: |y| format!("{y}"),
        series: vec![
            Series {
                name: "requests".into(),
                color: "#1f8a4c".into(),
                axis: Axis::Left,
                points: points(|p| Some(p.requests as f64)),
            },
            Series {
                name: "errors".into(),
                color: "#c2362b".into(),
                axis: Axis::Left,
                points: points(|p| Some(p.errors as f64)),
            },
        ],
    };
    doc.figure(
        &line_chart(&throughput),
        "Requests and errors completed in each second.",
    );

    if !run.histogram.is_empty() {
        let chart = BarChart {
            title: "Latency distribution".into(),
            x_label: "Latency (ms, upper edge of each bin)".into(),
            y_label: "Requests".into(),
            y_format: |v| format!("{v}"),
            groups: run
                .histogram
                .iter()
                .map(|b| format!("{:.0}", b.to_ms))
                .collect(),
            series: vec![(
                "requests".into(),
                "#2f6fdf".into(),
                run.histogram.iter().map(|b| b.count as f64).collect(),
            )],
        };
        doc.figure(
            &bar_chart(&chart),
            "All requests by latency, in equal-width bins from the fastest to the slowest.",
        );
        doc.table_collapsed(
            "Latency distribution (table)",
            &DataTable {
                id: format!("load-histogram-{i}"),
                headers: vec!["From".into(), "To".into(), "Requests".into()],
                rows: run
                    .histogram
                    .iter()
                    .map(|b| DataRow {
                        class: None,
                        key: key.clone(),
                        cells: vec![
                            DataCell::value(format::ms(b.from_ms), "from-ms", b.from_ms),
                            DataCell::value(format::ms(b.to_ms), "to-ms", b.to_ms),
                            DataCell::value(b.count.to_string(), "count", b.count),
                        ],
                    })
                    .collect(),
            },
        );
    }
    doc.table_collapsed(
        "Per-second figures (table)",
        &DataTable {
            id: format!("load-series-{i}"),
            headers: ["Second", "Requests", "Errors", "Avg", "p95", "Active VUs"]
                .iter()
                .map(|h| h.to_string())
                .collect(),
            rows: run
                .series
                .iter()
                .map(|p| DataRow {
                    class: None,
                    key: Some(("second".into(), p.second.to_string())),
                    cells: vec![
                        DataCell {
                            text: p.second.to_string(),
                            data: None,
                            numeric: true,
                        },
                        DataCell::value(p.requests.to_string(), "requests", p.requests),
                        DataCell::value(p.errors.to_string(), "errors", p.errors),
                        DataCell::value(ms(p.avg_ms), "avg-ms", opt(p.avg_ms)),
                        DataCell::value(ms(p.p95_ms), "p95-ms", opt(p.p95_ms)),
                        DataCell::value(p.active_vus.to_string(), "active-vus", p.active_vus),
                    ],
                })
                .collect(),
        },
    );
}
