//! The load test as a self-contained HTML page: latency over time, the latency histogram and the
//! comparison across memory sizes, each with its figures in a table. Latency figures are of every
//! request (a timeout at its timeout), successes only beside them.
//!
//! One module per part of the page: [`comparison`] (across memory sizes), [`run`] (one run's
//! heading, figures and tables), [`baseline`] (against `--baseline`), [`charts`] (its charts over time and its latency distribution).
//!
//! Tables and their attributes (on each `<tr>` and repeated on its cells):
//! - `#load-comparison` (with several runs): `data-memory` (or `data-run`), `data-avg-ms`, `data-p90-ms`, `data-p95-ms`, `data-p99-ms`, `data-error-rate`, `data-throughput`,
//!   `data-verdict`;
//! - `#load-summary-N` (run N from 0): the same without the verdict, plus `data-requests`,
//!   `data-errors`, `data-min-ms`, `data-p50-ms`, `data-max-ms`, `data-dropped`; the first row is
//!   every request (keyed by the run), the second successes only (`data-latency-of="successes"`);
//! - `#load-series-N`: `data-second`, `data-requests`, `data-errors`, `data-avg-ms`, `data-p95-ms`,
//!   `data-active-vus`;
//! - `#load-histogram-N`: `data-from-ms`, `data-to-ms`, `data-count`;
//! - `#load-baseline` (with `--baseline`): `data-metric` (`128 MB p95`, `Results p50`),
//!   `data-baseline-ms`, `data-current-ms`, `data-change`, `data-ci` (`low,high`), `data-verdict`.

mod baseline;
mod charts;
mod comparison;
mod run;

use super::result::{self, LoadResult, RunResult};
use crate::report::format;
use crate::report::html::{DataCell, Document};

/// A figure's machine-readable value: empty when there is none.
fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// A latency as read, `-` when there is none.
fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), format::ms)
}

/// A latency cell under `header` (`Avg`, `p95`...), keyed `avg-ms`, `p95-ms`...
fn latency_cell(header: &str, v: Option<f64>) -> DataCell {
    DataCell::value(ms(v), &format!("{}-ms", header.to_lowercase()), opt(v))
}

/// What identifies a run's rows: its memory size, else its position.
fn run_key(run: &RunResult, index: usize) -> (String, String) {
    match run.memory_mb {
        Some(m) => ("memory".to_string(), m.to_string()),
        None => ("run".to_string(), index.to_string()),
    }
}

/// Builds the report page for `result`.
pub(crate) fn render(result: &LoadResult) -> Document {
    let model = load_model(result);
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
    doc.facts(&facts(result, model));
    if let Some(note) = &result.build_note {
        doc.paragraph(&format!("Not AWS's figures: {note}."), false);
    }
    if let Some(b) = &result.baseline {
        baseline::section(&mut doc, b);
    }
    if result.runs.len() > 1 {
        comparison::section(&mut doc, result);
    }
    for (i, run) in result.runs.iter().enumerate() {
        run::section(&mut doc, run, i);
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

/// The offered load in words: the open model's rate, the closed model's shape, or its VUs.
fn load_model(result: &LoadResult) -> String {
    match (result.model, &result.shape, result.rate) {
        ("open", _, Some(rate)) => format!(
            "open model, {rate} requests/s, at most {} in flight",
            result.vus
        ),
        (_, Some(shape), _) => shape.clone(),
        _ => format!("{} VUs", result.vus),
    }
}

/// The test's settings at the top of the page.
fn facts(result: &LoadResult, model: String) -> Vec<(String, String)> {
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
    if let Some(grouping) = result::grouping(result) {
        facts.push(("Arrival clock".into(), grouping));
    }
    if result.interrupted {
        facts.push(("Interrupted".into(), "yes: results until Ctrl-C".into()));
    }
    if let Some(m) = result.restored_memory_mb {
        facts.push(("Memory restored to".into(), format!("{m} MB")));
    }
    for run in &result.runs {
        if let Some(said) = run.host_cpu.as_ref().and_then(|c| c.sentence()) {
            facts.push((format!("Host CPU ({})", run.label), said));
        }
        if let Some(share) = &run.emulator {
            facts.push((format!("Emulator ({})", run.label), share.sentence()));
        }
    }
    facts
}
