//! The final report on the terminal: per-run statistics, errors, the latency histogram, and the
//! tutorial's "Workload Behavior Observation" comparison across memory sizes.

use std::fmt::Write as _;

use lab_load::summary::{GeneratorLateness, LatencyStats, Summary};

use super::lambda_figures::LambdaFigures;
use super::result::{LoadResult, RunResult};
use crate::report::chart::{hbar_chart, Bar};
use crate::report::format;
use crate::report::table::{cell, new_table, Tone};

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), format::ms)
}

/// Every request's latency and successes' beside it, each row labelled.
fn latency_table(s: &Summary) -> comfy_table::Table {
    let columns = s.latency.columns();
    let mut headers = vec!["Latency of", "Requests"];
    headers.extend(columns.iter().map(|(header, _)| *header));
    let mut table = new_table(&headers, &(1..headers.len()).collect::<Vec<_>>());
    for (label, count, l) in [
        ("all requests", s.requests, &s.latency),
        ("successes only", s.ok, &s.ok_latency),
    ] {
        let mut row = vec![cell(label, Tone::Neutral), cell(count, Tone::Neutral)];
        row.extend(l.columns().map(|(_, v)| cell(ms(v), Tone::Neutral)));
        table.add_row(row);
    }
    table
}

/// The open model's lateness, for `-v`: the generator's own (and its stages), the waits for a free
/// VU apart, and the latency net of the generator's lateness.
fn lateness_lines(g: &GeneratorLateness) -> String {
    let p = |l: &LatencyStats| ms(l.p99_ms);
    format!(
        "Generator lateness (actual send - intended send, its own): p50 {}, p99 {}, max {}\n  \
         by stage, p99: clock {}, hand-off to a free VU {}, VU to send {}\n  \
         waiting for a free VU (every VU busy: the target, too few --vus, or the generator near its limit; counted in latency, as wrk2 counts it): p50 {}, p99 {}\n  \
         latency of all requests net of the generator's lateness: p50 {}, p99 {}",
        ms(g.own.p50_ms),
        p(&g.own),
        ms(g.own.max_ms),
        p(&g.clock),
        p(&g.hand_off),
        p(&g.dispatch),
        ms(g.vu_wait.p50_ms),
        p(&g.vu_wait),
        ms(g.net_latency.p50_ms),
        p(&g.net_latency),
    )
}

/// Lambda's own figures for a run: how the requests were joined with REPORT lines, the latency
/// of those a cold start served against the warm ones, Init, billed time, memory used and cost.
pub(crate) fn lambda_report(f: &LambdaFigures) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", f.coverage_sentence());
    if f.has_latencies() {
        let mut table = new_table(
            &["Served by", "Requests", "Avg", "p50", "p95"],
            &[1, 2, 3, 4],
        );
        for (label, l) in [("a cold start", &f.cold), ("a warm instance", &f.warm)] {
            table.add_row(vec![
                cell(label, Tone::Neutral),
                cell(l.count, Tone::Neutral),
                cell(ms(l.avg_ms), Tone::Neutral),
                cell(ms(l.p50_ms), Tone::Neutral),
                cell(ms(l.p95_ms), Tone::Neutral),
            ]);
        }
        let _ = writeln!(out, "{table}");
    } else {
        let _ = writeln!(out, "  cold starts {}, warm {}", f.cold.count, f.warm.count);
    }
    let _ = writeln!(out, "  {}", f.report_sentence());
    let _ = writeln!(out, "  {}", f.cost_sentence());
    out
}

/// One run: the latency of every request (the headline) and of successes beside it, each
/// labelled; the generator's lateness when it fell behind (with `verbose`, always, by stage);
/// throughput over the measured window; errors by kind; thresholds; the histogram.
pub(crate) fn run_report(run: &RunResult, verbose: bool) -> String {
    let s = &run.summary;
    let mut out = String::new();
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
    let _ = writeln!(out, "{}", latency_table(s));
    if let Some(g) = &s.generator {
        if let Some(late) = &g.late {
            let _ = writeln!(out, "{late}");
        }
        if verbose {
            let _ = writeln!(out, "{}", lateness_lines(g));
        }
    }
    if let Some(cpu) = &run.generator_cpu {
        if let Some(starved) = &cpu.starved {
            let _ = writeln!(out, "{starved}");
        } else if verbose {
            let _ = writeln!(
                out,
                "Generator's threads waited for a core {} in all ({} of the run, {} each time it ran)",
                format::ms(cpu.waited_ms),
                format::pct(cpu.share),
                format::ms(cpu.per_run_ms)
            );
        }
    }
    if let Some(said) = run.host_cpu.as_ref().and_then(|c| c.sentence()) {
        let _ = writeln!(out, "{said}");
    }
    if let Some(share) = &run.emulator {
        let _ = writeln!(out, "{}", share.sentence());
    }
    if let Some(f) = &run.lambda {
        let _ = write!(out, "{}", lambda_report(f));
    }
    if let Some(why) = &run.lambda_missing {
        let _ = writeln!(out, "Lambda's figures: not read ({why})");
    }
    let _ = writeln!(
        out,
        "Throughput {} over the measured window {}-{} ({} requests){}",
        format::rate(s.throughput_rps),
        format::seconds(s.window_from_s),
        format::seconds(s.window_to_s),
        s.window_requests,
        if s.window_from_s > 0.0 {
            ": ramp-up and drain excluded"
        } else {
            ": drain after the end excluded"
        }
    );
    let _ = writeln!(
        out,
        "Errors {} of {} ({}){}",
        s.errors,
        s.requests,
        format::pct(s.error_rate),
        if s.dropped_iterations > 0 {
            format!(
                "; {} arrivals dropped (no free VU within 1 s)",
                s.dropped_iterations
            )
        } else {
            String::new()
        }
    );
    if s.errors > 0 {
        let _ = writeln!(out, "  by kind: {}", run.errors.kinds().join(", "));
        if let Some(example) = &run.errors.example {
            let _ = writeln!(out, "  e.g. {example}");
        }
    }
    for t in &run.thresholds {
        let mark = match (t.passed, t.undecided) {
            (true, _) => "✓ pass",
            (false, true) => "? undecided",
            (false, false) => "✗ FAIL",
        };
        let _ = writeln!(out, "Threshold {mark}  {}  ({})", t.expression, t.shown);
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
        out.push_str(&hbar_chart("Latency of all requests", &bars, 40));
    }
    out
}

/// Columns of the tutorial's "Workload Behavior Observation" table, in the terminal and the report.
pub(crate) const COMPARISON_HEADERS: [&str; 8] = [
    "Memory",
    "Avg Latency",
    "P90",
    "P95",
    "P99",
    "Errors",
    "Throughput",
    "Result",
];

/// The comparison across memory sizes (one row per run), on the all-requests figures; the
/// errors column counts dropped arrivals too.
pub(crate) fn comparison(result: &LoadResult) -> String {
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
            cell(ms(s.latency.avg_ms), Tone::Neutral),
            cell(ms(s.latency.p90_ms), Tone::Neutral),
            cell(ms(s.latency.p95_ms), Tone::Neutral),
            cell(ms(s.latency.p99_ms), Tone::Neutral),
            cell(
                format::pct(super::result::failure_rate(s)),
                if s.errors + s.dropped_iterations > 0 {
                    Tone::Bad
                } else {
                    Tone::Neutral
                },
            ),
            cell(format::rate(s.throughput_rps), Tone::Neutral),
            cell(verdict, tone),
        ]);
    }
    format!("Workload Behavior Observation (latency of all requests)\n{table}\n")
}

/// The lines after the tables: memory restored, interruption.
pub(crate) fn footer(result: &LoadResult) -> String {
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
    if let Some(note) = &result.build_note {
        let _ = writeln!(out, "Not AWS's figures: {note}.");
    }
    match result.thresholds_passed {
        Some(true) => {
            let _ = writeln!(out, "All thresholds passed.");
        }
        Some(false) => {
            let _ = writeln!(
                out,
                "{}",
                match result.exit() {
                    crate::exit::Exit::Incomplete => {
                        "Some thresholds undecided (the generator's own lateness alone decides them): exit status 3."
                    }
                    _ => "Some thresholds failed: exit status 1.",
                }
            );
        }
        None => {}
    }
    out
}
