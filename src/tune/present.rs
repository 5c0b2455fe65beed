//! The terminal view of a tuning run: the tutorial's "Performance & Cost Observations" table (with
//! PT's cost and lab's full cost side by side), bar charts of duration and cost per memory size, the
//! closing lines with the visualization link, and the dry-run plan.

use std::fmt::Write as _;

use super::power::PowerResult;
use super::pricing::money;
use super::result::TuneResult;
use super::verdict;
use crate::report::chart::{hbar_chart, Bar};
use crate::report::format;
use crate::report::table::{cell, new_table, Tone};

/// The observations' columns the terminal table and the HTML report share, in order (the 95%
/// intervals are of the duration the strategies compare and of the cost in the run's model); both
/// end with the verdict, the terminal's after a comparison with the winner.
pub(crate) fn observation_headers(result: &TuneResult) -> Vec<String> {
    let metric = result.plan.metric.label();
    let model = result.cost_model.as_str();
    let arch = (!result.arches.is_empty()).then(|| "Arch".to_string());
    let mut headers = [
        "Memory".to_string(),
        "Avg Duration".to_string(),
        "p50".to_string(),
        "p90".to_string(),
        "p99".to_string(),
        format!("{metric} 95% CI"),
        "Cold starts".to_string(),
        "PT cost".to_string(),
        "Full cost".to_string(),
        format!("{model} cost 95% CI"),
    ]
    .to_vec();
    // With --arch the instruction set is part of each row's name, next to its memory.
    headers.splice(1..1, arch);
    headers
}

/// A row's Arch cell with `--arch` (the words when its figures are another CPU's); `None` for a
/// run of one instruction set, whose table has no such column.
pub(crate) fn arch_cell(p: &PowerResult) -> Option<String> {
    let arch = p.arch?;
    Some(match p.measured_on {
        Some(cpu) => format!("{arch} ({cpu} CPU)"),
        None => arch.to_string(),
    })
}

/// The observations table, one row per memory size.
pub(crate) fn table(result: &TuneResult) -> String {
    // The comparison with the winner is a plain line per size under the table.
    let mut headers = observation_headers(result);
    headers.push("Verdict".to_string());
    let currency = result.pricing.currency;
    let model = result.cost_model;
    let multi = !result.arches.is_empty();
    let numeric: Vec<usize> = (0..10).map(|i| if multi && i > 0 { i + 1 } else { i }).collect();
    let mut table = new_table(&headers, &numeric);
    for p in &result.powers {
        let tone = tone(p);
        let memory = format!("{} MB", p.memory_mb);
        let arch = arch_cell(p).map(|a| cell(a, tone));
        match &p.stats {
            Some(s) => {
                let mut row = vec![
                    cell(memory, tone),
                    cell(format::ms(s.duration_ms.mean), tone),
                    cell(format::ms(s.duration_ms.p50), Tone::Neutral),
                    cell(format::ms(s.duration_ms.p90), Tone::Neutral),
                    cell(format::ms(s.duration_ms.p99), Tone::Neutral),
                    cell(verdict::ms_range(s.confidence.metric_ms_ci), Tone::Neutral),
                    cell(
                        format!("{}/{}", s.cold_starts, s.invocations),
                        Tone::Neutral,
                    ),
                    cell(money(s.pt_cost_per_invoke, currency), tone),
                    cell(money(s.cost_per_invoke, currency), tone),
                    // ± share here to keep the table narrow; the range is in the decision line.
                    cell(
                        verdict::cost_share(s.cost_ci_in(model), s.cost_in(model)),
                        Tone::Neutral,
                    ),
                    cell(&p.verdict, tone),
                ];
                row.splice(1..1, arch);
                table.add_row(row);
            }
            None => {
                // The reason can be long; it is printed under the table ("Skipped: ...").
                let mut row = vec![
                    cell(memory, Tone::Bad),
                    cell("-", Tone::Neutral),
                    cell("-", Tone::Neutral),
                    cell("-", Tone::Neutral),
                    cell("-", Tone::Neutral),
                    cell("-", Tone::Neutral),
                    cell("-", Tone::Neutral),
                    cell("-", Tone::Neutral),
                    cell("-", Tone::Neutral),
                    cell("-", Tone::Neutral),
                    cell("Failed (see below)", Tone::Bad),
                ];
                row.splice(1..1, arch);
                table.add_row(row);
            }
        }
    }
    table.to_string()
}

fn tone(p: &PowerResult) -> Tone {
    if p.verdict.starts_with("Best") {
        Tone::Good
    } else if p.verdict.starts_with("Tie") {
        Tone::Neutral
    } else if p.verdict.starts_with("Avoid") || p.stats.is_none() {
        Tone::Bad
    } else {
        Tone::Neutral
    }
}

/// Average duration and cost per memory size as two bar charts.
pub(crate) fn charts(result: &TuneResult) -> String {
    let winner = result.winner.as_ref().map(|w| (w.memory_mb, w.arch));
    let strategy = result.plan.strategy;
    let bars = |f: &dyn Fn(&PowerResult) -> Option<(f64, String)>| -> Vec<Bar> {
        result
            .powers
            .iter()
            .map(|p| {
                let (value, display) = f(p).unwrap_or((0.0, "failed".to_string()));
                Bar {
                    label: p.label(),
                    value,
                    display,
                    // The strategy's pick, which is not always the shortest bar of each chart.
                    note: (Some((p.memory_mb, p.arch)) == winner)
                        .then(|| format!("chosen ({})", strategy.as_str())),
                }
            })
            .collect()
    };
    let durations = bars(&|p| {
        p.stats.as_ref().map(|s| {
            let ci = verdict::ms_range(s.confidence.metric_ms_ci);
            let m = s.confidence.metric_ms;
            (m, format!("{} (95% CI {ci})", format::ms(m)))
        })
    });
    let model = result.cost_model;
    let currency = result.pricing.currency;
    let costs = bars(&|p| {
        p.stats.as_ref().map(|s| {
            let cost = s.cost_in(model);
            (cost, money(cost, currency))
        })
    });
    format!(
        "{}\n{}",
        hbar_chart(
            &format!("Duration, {} (ms)", result.plan.metric.label()),
            &durations,
            40
        ),
        hbar_chart(
            &format!("Cost per invocation ({}, {currency})", model.as_str()),
            &costs,
            40
        )
    )
}

/// The closing lines: winner, what the run cost, where the memory was left.
pub(crate) fn summary(result: &TuneResult) -> String {
    let mut out = String::new();
    let currency = result.pricing.currency;
    if let Some(w) = &result.winner {
        let _ = writeln!(
            out,
            "Best for {}: {} ({} {}, {} per invocation), chosen on {} and the {} duration",
            w.strategy.as_str(),
            result.winner_label().unwrap_or_default(),
            w.metric.label(),
            format::ms(w.metric_ms),
            money(w.cost_per_invoke, currency),
            w.cost_model.describe(),
            w.metric.label()
        );
    }
    if let Some(said) = verdict::decision(result) {
        let _ = writeln!(out, "{said}");
    }
    for line in verdict::comparisons(result) {
        let _ = writeln!(out, "  {line}");
    }
    for line in &result.arch_comparisons {
        let _ = writeln!(out, "{line}");
    }
    for a in result.arches.iter().filter(|a| a.note.is_some()) {
        let _ = writeln!(out, "Note: {}", a.note.as_deref().unwrap_or_default());
    }
    if let Some(said) = verdict::auto(result) {
        let _ = writeln!(out, "{said}");
    }
    if result.winner.is_some() {
        let _ = writeln!(out, "Intervals: {}", result.confidence_method);
    }
    if !result.arches.is_empty() {
        // PT tunes one function, so one run per instruction set: its pick and link for each.
        let picks: Vec<String> = result
            .arches
            .iter()
            .filter_map(|a| Some(format!("{} MB for {}", a.results.as_ref()?.power, a.arch)))
            .collect();
        if !picks.is_empty() {
            let _ = writeln!(
                out,
                "aws-lambda-power-tuning, one run per arch, would pick {} (PT's cost).",
                picks.join(" and ")
            );
        }
        for a in &result.arches {
            if let Some(pt) = &a.results {
                let _ = writeln!(
                    out,
                    "Visualization ({}): {}",
                    a.arch, pt.state_machine.visualization
                );
            }
        }
    } else if let Some(pt) = &result.results {
        if result.winner.as_ref().is_some_and(|w| w.memory_mb != pt.power) {
            let _ = writeln!(
                out,
                "aws-lambda-power-tuning would pick {} MB (PT's cost).",
                pt.power
            );
        }
        let _ = writeln!(out, "Visualization: {}", pt.state_machine.visualization);
    }
    if let Some(said) = result.host_cpu.as_ref().and_then(|c| c.sentence()) {
        let _ = writeln!(out, "{said}");
    }
    if let Some(note) = &result.build_note {
        let _ = writeln!(out, "Not AWS's figures: {note}");
    }
    let failed: Vec<String> = result
        .powers
        .iter()
        .filter_map(|p| Some(format!("{} MB ({})", p.memory_mb, p.failure()?)))
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "Skipped: {}", failed.join(", "));
    }
    let retries: u32 = result.powers.iter().map(|p| p.retries).sum();
    let error_retries: u32 = result.powers.iter().map(|p| p.error_retries).sum();
    let prices: Vec<(crate::arch::Arch, super::pricing::Pricing)> = if result.arches.is_empty() {
        vec![(result.architecture, result.pricing)]
    } else {
        result.arches.iter().map(|a| (a.arch, a.pricing)).collect()
    };
    let per_second: Vec<String> = prices
        .iter()
        .map(|(arch, p)| format!("{} {currency} per GB-second for {arch}", p.gb_second))
        .collect();
    let _ = write!(
        out,
        "Tuning run: {} invocations, {} (at {}, {} per request)",
        result.invocations,
        money(result.tuning_cost, currency),
        per_second.join(" and "),
        money(result.pricing.request, currency)
    );
    if retries > 0 {
        let _ = write!(out, ", {retries} throttled calls retried");
    }
    if error_retries > 0 {
        let _ = write!(out, ", {error_retries} failed calls retried");
    }
    if let (Some(limit), true) = (result.concurrency_limit, result.plan.parallel) {
        let _ = write!(out, ", at most {limit} at once (the account's concurrency)");
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "Durations are PT's (REPORT Duration + Init or Restore Duration); PT cost is PT's; full cost is what Lambda bills (billed duration, Init included for every runtime since 2025-08-01, plus the request)"
    );
    let t = &result.timings;
    let _ = writeln!(
        out,
        "Phases: publishing {:.1} s (Lambda's updates), measuring {:.1} s, cleaning up {:.1} s",
        t.publish_ms / 1000.0,
        t.measure_ms / 1000.0,
        t.cleanup_ms / 1000.0
    );
    out.push_str(&afterwards(result));
    out
}

/// Where `$LATEST` was left and what became of the versions.
fn afterwards(result: &TuneResult) -> String {
    let mut out = String::new();
    if let (Some(original), Some(now)) = (result.original_memory_mb, result.restored_memory_mb) {
        if original == now {
            let _ = write!(out, "$LATEST at {now} MB as before");
        } else {
            let _ = write!(
                out,
                "$LATEST set to {now} MB (was {original} MB; --auto-optimize)"
            );
        }
    }
    if let Some((alias, version)) = &result.optimized_alias {
        let _ = write!(out, "; alias {alias} now points at version {version}");
    }
    let v = &result.versions;
    let copies: Vec<&str> = result
        .arches
        .iter()
        .filter(|a| a.copy && a.removed)
        .map(|a| a.function.as_str())
        .collect();
    if !copies.is_empty() {
        let _ = write!(
            out,
            "; the --arch copies ({}) are removed",
            copies.join(", ")
        );
    }
    if v.kept {
        let kept: Vec<String> =
            v.published.iter().map(|p| format!("{} -> {}", p.alias, p.version)).collect();
        let _ = writeln!(out, "; kept (--keep-versions): {}.", kept.join(", "));
    } else {
        let _ = writeln!(
            out,
            "; the run's {} aliases and {} versions are removed.",
            v.removed_aliases.len(),
            v.removed_versions.len()
        );
    }
    out
}

/// What a dry run found: each size invoked once through its alias.
pub(crate) fn dry_run(result: &TuneResult) -> String {
    let sizes: Vec<String> = result.powers.iter().map(|p| format!("{} MB", p.memory_mb)).collect();
    format!(
        "Dry run: published a version and an alias per size, invoked each once ({}): every call \
         is allowed and answered.\n{}",
        sizes.join(", "),
        afterwards(result)
    )
}

/// What a dry run would do.
pub(crate) fn plan(result: &TuneResult) -> String {
    let p = &result.plan;
    let mut out = String::new();
    let _ = writeln!(out, "The plan for {}:", result.function);
    let powers: Vec<String> = p.powers.iter().map(|m| m.to_string()).collect();
    let _ = writeln!(out, "  memory sizes   {} MB", powers.join(", "));
    let _ = writeln!(
        out,
        "  invocations    {} per size, {}; {} in total",
        p.total_invocations / p.powers.len().max(1) as u64,
        if p.parallel {
            "all at once"
        } else {
            "one after another"
        },
        p.total_invocations
    );
    let _ = writeln!(
        out,
        "  versions       {} published and removed afterwards ({} updates of $LATEST)",
        p.versions_published, p.configuration_updates
    );
    for w in &p.payloads {
        let text = serde_json::to_string(&w.payload).unwrap_or_default();
        if p.payloads.len() == 1 {
            let _ = writeln!(out, "  payload        {text}");
        } else {
            let _ = writeln!(out, "  payload        weight {}: {text}", w.weight);
        }
    }
    let _ = writeln!(
        out,
        "  strategy       {}{}",
        p.strategy.as_str(),
        if p.strategy == super::strategy::Strategy::Balanced {
            format!(" (weight {})", p.balanced_weight)
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "  discard        {} of each end", p.discard_top_bottom);
    if p.only_cold_starts {
        let _ = writeln!(out, "  cold starts    one version per invocation");
    }
    if p.sleep_between_runs_ms > 0 {
        let _ = writeln!(
            out,
            "  pause          {} ms between invocations",
            p.sleep_between_runs_ms
        );
    }
    let _ = writeln!(
        out,
        "  afterwards     {}",
        if p.auto_optimize {
            "apply the winning size"
        } else {
            "leave $LATEST as it was"
        }
    );
    out
}
