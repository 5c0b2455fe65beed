//! The tuning run as a self-contained HTML page: duration and cost against memory, and the table.
//!
//! Table `#tune-results`, one `<tr>` per size with `data-memory` and, on the row and on each cell,
//! `data-avg-ms`, `data-p50-ms`, `data-p90-ms`, `data-p99-ms`, `data-metric-ci` (the compared
//! duration's 95% interval, `low,high` in ms), `data-cold-starts`, `data-pt-cost` (PT's cost per
//! invocation), `data-cost` (lab's full cost per invocation), `data-cost-ci` (the compared cost's
//! 95% interval, `low,high`) and `data-verdict`; failed sizes carry `data-status="failed"`. The
//! decision and one line per size against the winner are the paragraphs under "Decision".

use super::confidence::Interval;
use super::power::{PowerResult, PowerStats};
use super::present::observation_headers;
use super::result::TuneResult;
use super::verdict;
use crate::report::format;
use crate::report::html::{
    line_chart, Axis, DataCell, DataRow, DataTable, Document, LineChart, Series,
};

/// Builds the report page for `result`.
pub fn render(result: &TuneResult) -> Document {
    let subtitle = format!(
        "{} · {} · {} · strategy {} · {} invocations per size{} · {}",
        result.function,
        result.region,
        if result.arches.is_empty() {
            result.architecture.to_string()
        } else {
            result.arches.iter().map(|a| a.arch.as_str()).collect::<Vec<_>>().join(" and ")
        },
        result.plan.strategy.as_str(),
        result.plan.num,
        if result.plan.parallel {
            " (parallel)"
        } else {
            ""
        },
        format::utc_now()
    );
    let mut doc = Document::new(&format!("Power tuning: {}", result.function), &subtitle);

    doc.facts(&facts(result));

    doc.heading("Duration and cost");
    doc.figure(&line_chart(&chart(result)), "Trimmed mean and p99 duration (left axis) and cost per invocation (right axis) for each memory size.");

    doc.heading("Decision");
    for line in decision_lines(result) {
        doc.paragraph(&line, false);
    }

    doc.heading("Performance & Cost Observations");
    let mut headers = observation_headers(result);
    headers.push("Verdict".to_string());
    let rows = result.powers.iter().map(|p| row(result, p)).collect();
    doc.table(&DataTable {
        id: "tune-results".into(),
        headers,
        rows,
    });
    doc.paragraph(
        &format!(
            "Duration is Duration + Init (or Restore) Duration from each invocation's REPORT line; the \
             average drops the fastest and slowest {:.0}% (each end). PT cost is aws-lambda-power-tuning's: \
             the trimmed mean billed duration rounded up to the millisecond × memory × its price, no request \
             charge. Full cost is the exact trimmed mean billed duration × memory × price per GB-second, \
             plus the request charge; the billed duration includes Init Duration for every runtime, as \
             Lambda bills it since 1 August 2025 (the local stack's REPORT lines do the same). The winner \
             was chosen on {} and the {} duration. {}.",
            result.plan.discard_top_bottom * 100.0,
            result.cost_model.describe(),
            result.plan.metric.label(),
            result.confidence_method
        ),
        true,
    );
    doc
}

/// The decision with its evidence, each size against the winner, and `--num auto`'s rounds.
fn decision_lines(result: &TuneResult) -> Vec<String> {
    let mut lines: Vec<String> = verdict::decision(result).into_iter().collect();
    lines.extend(verdict::comparisons(result));
    lines.extend(result.arch_comparisons.iter().cloned());
    lines.extend(
        result
            .arches
            .iter()
            .filter_map(|a| a.note.clone())
            .map(|n| format!("Note: {n}")),
    );
    lines.extend(verdict::auto(result));
    lines
}

/// `low,high` of an interval, for a `data-` attribute.
fn bounds(ci: Option<Interval>) -> String {
    ci.map_or(String::new(), |ci| format!("{},{}", ci.low, ci.high))
}

/// The facts above the chart: the winner, what the run cost, prices, the tool's pick and link.
fn facts(result: &TuneResult) -> Vec<(String, String)> {
    let mut facts = Vec::new();
    if let Some(w) = &result.winner {
        facts.push((
            format!("Best for {}", w.strategy.as_str()),
            format!(
                "{} — {} avg, {} per invocation ({} cost)",
                result.winner_label().unwrap_or_default(),
                format::ms(w.avg_duration_ms),
                format::usd(w.cost_per_invoke),
                w.cost_model.as_str()
            ),
        ));
    }
    facts.push((
        "Tuning run cost".into(),
        format!(
            "{} over {} invocations",
            format::usd(result.tuning_cost),
            result.invocations
        ),
    ));
    facts.push((
        "Price".into(),
        format!(
            "${} per GB-second, {} per request",
            result.pricing.gb_second,
            format::usd(result.pricing.request)
        ),
    ));
    if let Some(pt) = &result.results {
        facts.push((
            "aws-lambda-power-tuning".into(),
            format!(
                "{} MB; visualization {}",
                pt.power, pt.state_machine.visualization
            ),
        ));
    }
    if let Some(m) = result.restored_memory_mb {
        facts.push(("Memory left at".into(), format!("{m} MB")));
    }
    if let Some(said) = result.host_cpu.as_ref().and_then(|c| c.sentence()) {
        facts.push(("Host CPU".into(), said));
    }
    if let Some(note) = &result.build_note {
        facts.push(("Not AWS's figures".into(), note.clone()));
    }
    facts
}

/// Duration (trimmed mean and p99) and cost per invocation against memory; with `--arch`, one
/// series of each per instruction set (arm64's dashed colours are the x86_64 ones, lighter).
fn chart(result: &TuneResult) -> LineChart {
    // The x axis is the plan's memory sizes; with --arch every instruction set has each of them.
    let sizes = &result.plan.powers;
    let x = |p: &PowerResult| sizes.iter().position(|m| *m == p.memory_mb).unwrap_or(0) as f64;
    let arches: Vec<Option<crate::arch::Arch>> = if result.arches.is_empty() {
        vec![None]
    } else {
        result.arches.iter().map(|a| Some(a.arch)).collect()
    };
    let mut all = Vec::new();
    for (k, arch) in arches.iter().enumerate() {
        let series = |name: &str, color: &str, axis: Axis, f: &dyn Fn(&PowerStats) -> f64| {
            let name = match arch {
                Some(a) => {
                    let on =
                        result.arches.iter().find(|r| r.arch == *a).and_then(|r| r.measured_on);
                    match on {
                        Some(cpu) => format!("{name}, {a} (this host's {cpu} CPU)"),
                        None => format!("{name}, {a}"),
                    }
                }
                None => name.to_string(),
            };
            Series {
                name,
                color: color.to_string(),
                axis,
                points: result
                    .powers
                    .iter()
                    .filter(|p| p.arch == *arch)
                    .filter_map(|p| p.stats.as_ref().map(|s| (x(p), f(s))))
                    .collect(),
            }
        };
        let [avg, p99, cost] = PALETTES[k % PALETTES.len()];
        all.push(series("Avg duration", avg, Axis::Left, &|s| {
            s.duration_ms.mean
        }));
        all.push(series("p99 duration", p99, Axis::Left, &|s| {
            s.duration_ms.p99
        }));
        all.push(series("Cost per invocation", cost, Axis::Right, &|s| {
            s.cost_in(result.cost_model)
        }));
    }
    LineChart {
        title: "Duration and cost by memory size".into(),
        x_label: "Memory (MB)".into(),
        left_label: "Duration (ms)".into(),
        right_label: "Cost per invocation ($)".into(),
        x_ticks: Some(
            sizes.iter().enumerate().map(|(i, mb)| (i as f64, format!("{mb} MB"))).collect(),
        ),
        x_format: |x| format!("{x}"),
        left_format: |y| format!("{y}"),
        right_format: format::usd,
        series: all,
    }
}

/// Each instruction set's colours: average, p99, cost.
const PALETTES: [[&str; 3]; 2] = [
    ["#2f6fdf", "#9bb7ee", "#e07b24"],
    ["#1d9e6a", "#8fd3b5", "#b8478f"],
];

/// One size's row of `#tune-results`.
fn row(result: &TuneResult, p: &PowerResult) -> DataRow {
    let key = Some(("memory".to_string(), p.memory_mb.to_string()));
    let mut row = cells(result, p, key);
    // With --arch, the instruction set beside the memory (`data-arch`).
    if let (Some(text), Some(arch)) = (super::present::arch_cell(p), p.arch) {
        row.cells.insert(1, DataCell::value(text, "arch", arch.as_str()));
    }
    row
}

/// A row's cells for one instruction set's columns.
fn cells(result: &TuneResult, p: &PowerResult, key: Option<(String, String)>) -> DataRow {
    match &p.stats {
        Some(s) => DataRow {
            class: p.verdict.starts_with("Best").then(|| "best".to_string()),
            key,
            cells: vec![
                DataCell {
                    text: format!("{} MB", p.memory_mb),
                    data: None,
                    numeric: true,
                },
                DataCell::value(format::ms(s.duration_ms.mean), "avg-ms", s.duration_ms.mean),
                DataCell::value(format::ms(s.duration_ms.p50), "p50-ms", s.duration_ms.p50),
                DataCell::value(format::ms(s.duration_ms.p90), "p90-ms", s.duration_ms.p90),
                DataCell::value(format::ms(s.duration_ms.p99), "p99-ms", s.duration_ms.p99),
                DataCell::value(
                    verdict::ms_range(s.confidence.metric_ms_ci),
                    "metric-ci",
                    bounds(s.confidence.metric_ms_ci),
                ),
                DataCell::value(
                    format!("{}/{}", s.cold_starts, s.invocations),
                    "cold-starts",
                    s.cold_starts,
                ),
                DataCell::value(
                    format::usd(s.pt_cost_per_invoke),
                    "pt-cost",
                    s.pt_cost_per_invoke,
                ),
                DataCell::value(format::usd(s.cost_per_invoke), "cost", s.cost_per_invoke),
                DataCell::value(
                    verdict::cost_range(s.cost_ci_in(result.cost_model), "USD"),
                    "cost-ci",
                    bounds(s.cost_ci_in(result.cost_model)),
                ),
                DataCell::labelled(p.verdict.clone(), "verdict"),
            ],
        },
        None => DataRow {
            class: Some("failed".into()),
            key,
            cells: vec![
                DataCell {
                    text: format!("{} MB", p.memory_mb),
                    data: Some(("status".into(), "failed".into())),
                    numeric: true,
                },
                DataCell::text("-"),
                DataCell::text("-"),
                DataCell::text("-"),
                DataCell::text("-"),
                DataCell::text("-"),
                DataCell::text("-"),
                DataCell::text("-"),
                DataCell::text("-"),
                DataCell::text("-"),
                DataCell::labelled(
                    format!("Failed: {}", p.error.as_deref().unwrap_or("failed")),
                    "verdict",
                ),
            ],
        },
    }
}
