//! The decision in words, each verdict with its evidence beside it: the winner (or the tie and how
//! it was settled) with the 95% intervals that decided it, one plain line per size against the
//! winner, and what `--num auto` did. The terminal and the HTML report print the same sentences.

use super::confidence::Interval;
use super::decide::ChosenBy;
use super::power::PowerResult;
use super::pricing::money;
use super::result::TuneResult;
use crate::arch::Arch;
use crate::report::format;

/// `11.5–13.0 ms`; an open end is marked (`13.0+ ms`: at least the largest value seen).
pub(crate) fn ms_range(ci: Option<Interval>) -> String {
    match ci {
        None => "-".to_string(),
        Some(ci) => {
            let number = |v: f64| format::ms(v).trim_end_matches(" ms").to_string();
            let mark = if ci.open { "+" } else { "" };
            format!("{}–{}{mark} ms", number(ci.low), number(ci.high))
        }
    }
}

/// `$0.00000210–0.00000230` in the run's currency.
pub(crate) fn cost_range(ci: Option<Interval>, currency: &str) -> String {
    match ci {
        None => "-".to_string(),
        Some(ci) => {
            let high = money(ci.high, currency);
            let high = high.trim_start_matches('$').trim_start_matches(currency).trim();
            format!("{}–{high}", money(ci.low, currency))
        }
    }
}

/// `±4.2%`: half an interval's width as a share of `centre` (the table's short form).
pub(crate) fn cost_share(ci: Option<Interval>, centre: f64) -> String {
    match ci {
        Some(ci) if centre != 0.0 => {
            format!("±{:.1}%", (ci.high - ci.low) / 2.0 / centre.abs() * 100.0)
        }
        _ => "-".to_string(),
    }
}

/// The sizes' names joined as a sentence: `256 and 512 MB`, `128, 256 and 512 MB`.
fn sizes(mbs: &[u32]) -> String {
    let names: Vec<String> = mbs.iter().map(u32::to_string).collect();
    match names.split_last() {
        Some((last, [])) => format!("{last} MB"),
        Some((last, rest)) => format!("{} and {last} MB", rest.join(", ")),
        None => String::new(),
    }
}

fn power(result: &TuneResult, mb: u32, arch: Option<Arch>) -> Option<&PowerResult> {
    result.powers.iter().find(|p| p.is(mb, arch))
}

/// The rows within noise of the pick, as memory and arch (`None` for a run of one instruction set).
fn tied(w: &super::result::Winner) -> Vec<(u32, Option<Arch>)> {
    if w.tied.is_empty() {
        w.tied_mb.iter().map(|&mb| (mb, None)).collect()
    } else {
        w.tied.iter().map(|c| (c.memory_mb, Some(c.arch))).collect()
    }
}

/// The rows' names joined as a sentence: `256 and 512 MB` for one instruction set,
/// `512 MB x86_64 and 512 MB arm64` with `--arch`.
fn rows(result: &TuneResult, choices: &[(u32, Option<Arch>)]) -> String {
    if choices.iter().all(|(_, arch)| arch.is_none()) {
        return sizes(&choices.iter().map(|(mb, _)| *mb).collect::<Vec<_>>());
    }
    let names: Vec<String> = choices
        .iter()
        .map(|&(mb, arch)| power(result, mb, arch).map_or(format!("{mb} MB"), PowerResult::label))
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The decision: "Best for speed: 1024 MB ..." with its lead's evidence, or "Tie within noise: 256
/// and 512 MB (...); chose 256 MB, the cheaper (...)". `None` in a dry run.
pub(crate) fn decision(result: &TuneResult) -> Option<String> {
    let w = result.winner.as_ref()?;
    let currency = result.pricing.currency;
    let model = result.cost_model;
    let label = w.metric.label();
    let evidence = |mb: u32, arch: Option<Arch>| -> String {
        let Some(p) = power(result, mb, arch) else {
            return format!("{mb} MB: failed");
        };
        let name = p.label();
        let Some(s) = p.stats.as_ref() else {
            return format!("{name}: failed");
        };
        format!(
            "{name} {label} {} ({}), cost {} ({})",
            format::ms(s.confidence.metric_ms),
            ms_range(s.confidence.metric_ms_ci),
            money(s.cost_in(model), currency),
            cost_range(s.cost_ci_in(model), currency)
        )
    };
    let strategy = w.strategy.as_str();
    if w.chosen_by == ChosenBy::Clear {
        let runner_up = result
            .powers
            .iter()
            .filter(|p| !p.is(w.memory_mb, w.arch) && p.stats.is_some())
            .min_by(|a, b| {
                let key = |p: &PowerResult| {
                    p.vs_best.map_or(f64::INFINITY, |v| match w.strategy {
                        super::strategy::Strategy::Cost => v.cost_ratio,
                        _ => v.duration_ratio,
                    })
                };
                key(a).total_cmp(&key(b))
            });
        let beside = runner_up
            .map(|p| format!("; nearest: {}", evidence(p.memory_mb, p.arch)))
            .unwrap_or_default();
        return Some(format!(
            "Best for {strategy}: {}, its lead outside the other {}' 95% intervals ({}{beside})",
            result.winner_label().unwrap_or_default(),
            if w.arch.is_some() { "rows" } else { "sizes" },
            evidence(w.memory_mb, w.arch)
        ));
    }
    let choices = tied(w);
    let each: Vec<String> = choices.iter().map(|&(mb, arch)| evidence(mb, arch)).collect();
    // Nothing measured settled it: say how to get the evidence that would.
    let hint = match (w.chosen_by, &result.auto) {
        (ChosenBy::SmallerMemory, None) => "; more invocations narrow the intervals (--num auto)",
        _ => "",
    };
    // Across instruction sets at the same memory, the smaller memory is the function's own arch.
    let same_memory = choices.iter().any(|&(mb, arch)| mb == w.memory_mb && arch != w.arch);
    let kept = match (w.chosen_by, w.arch) {
        (ChosenBy::SmallerMemory, Some(arch)) if same_memory && arch == result.architecture => {
            format!("; at that size the function's own {arch}: nothing measured favours a move")
        }
        _ => String::new(),
    };
    Some(format!(
        "Tie within noise for {strategy}: {} (95% intervals overlap: {}); chose {}, {}{kept}{hint}",
        rows(result, &choices),
        each.join("; "),
        result.winner_label().unwrap_or_default(),
        w.chosen_by.describe()
    ))
}

/// One line per size against the winner: "256 MB: 17% more cost, 42% less time than 512 MB".
pub(crate) fn comparisons(result: &TuneResult) -> Vec<String> {
    result.powers.iter().filter_map(|p| p.versus.clone()).collect()
}

/// What `--num auto` did, in one line; `None` for a fixed count.
pub(crate) fn auto(result: &TuneResult) -> Option<String> {
    let a = result.auto.as_ref()?;
    let each: Vec<String> = a
        .sizes
        .iter()
        .map(|s| {
            let width =
                s.widest.map_or("no interval".to_string(), |w| format!("±{:.1}%", w * 100.0));
            format!("{} MB {} calls {width}", s.memory_mb, s.invocations)
        })
        .collect();
    let how = if a.reached {
        format!("every size within ±{:.0}%", a.target * 100.0)
    } else {
        format!(
            "stopped at --max-num {} before every size was within ±{:.0}%",
            a.max_num,
            a.target * 100.0
        )
    };
    Some(format!(
        "--num auto: {} rounds, {how} ({})",
        a.rounds,
        each.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_names() {
        let ci = |low, high, open| Some(Interval { low, high, open });
        assert_eq!(ms_range(ci(11.5, 13.04, false)), "11.5–13.0 ms");
        assert_eq!(ms_range(ci(11.5, 13.04, true)), "11.5–13.0+ ms");
        assert_eq!(ms_range(None), "-");
        assert_eq!(
            cost_range(ci(2.1e-6, 2.3e-6, false), "USD"),
            "$0.00000210–0.00000230"
        );
        assert_eq!(sizes(&[256, 512]), "256 and 512 MB");
        assert_eq!(sizes(&[128, 256, 512]), "128, 256 and 512 MB");
    }
}
