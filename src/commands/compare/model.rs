//! The two handlers side by side: per memory size, what tuning measured (duration, cost, init)
//! and what the load test measured (the target's latency statistic), and the smallest size at
//! which each handler meets the target.

use serde::Serialize;

use crate::load::threshold::Threshold;
use crate::load::LoadResult;
use crate::stack::function::Language;
use crate::tune::TuneResult;

/// One handler at one memory size.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Cell {
    /// The handler.
    pub(crate) handler: Language,
    /// Tuning's trimmed mean of Duration + Init Duration (ms).
    pub(crate) avg_duration_ms: Option<f64>,
    /// Tuning's mean Init Duration of its cold starts (ms).
    pub(crate) avg_init_ms: Option<f64>,
    /// Full cost of one invocation (request charge included), USD.
    pub(crate) cost_per_invoke: Option<f64>,
    /// The target's statistic under the load test (ms), as `--threshold` measured it.
    pub(crate) load_latency_ms: Option<f64>,
    /// Requests per second the load test reached.
    pub(crate) load_rps: Option<f64>,
    /// Failed requests under load.
    pub(crate) load_errors: Option<u64>,
    /// Whether the load latency met the target (`None`: not measured at this size).
    pub(crate) meets_target: Option<bool>,
}

/// One memory size, every handler.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SizeRow {
    /// Memory size, MB.
    pub(crate) memory_mb: u32,
    /// One cell per handler, in [`Language::ALL`]'s order.
    pub(crate) cells: Vec<Cell>,
}

/// What one handler's runs concluded.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HandlerVerdict {
    /// The handler.
    pub(crate) handler: Language,
    /// Its Lambda runtime.
    pub(crate) runtime: String,
    /// The size tuning chose (its strategy).
    pub(crate) tune_winner_mb: Option<u32>,
    /// The smallest size whose load latency met the target, if any did.
    pub(crate) meets_target_from_mb: Option<u32>,
    /// One sentence saying so, with the figure.
    pub(crate) sentence: String,
}

/// The whole comparison, as `-o json` prints it and the report draws it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Comparison {
    /// The latency target, as written (`p95<100ms`).
    pub(crate) target: String,
    /// Its statistic (`p95`).
    pub(crate) stat: String,
    /// One row per memory size.
    pub(crate) sizes: Vec<SizeRow>,
    /// One verdict per handler.
    pub(crate) verdicts: Vec<HandlerVerdict>,
    /// Why a local figure cannot mean what it would on AWS, when measured locally.
    pub(crate) caveat: Option<String>,
}

/// A handler's tune and load results.
pub(crate) struct Measured {
    /// The handler measured.
    pub(crate) handler: Language,
    /// Its tuning.
    pub(crate) tune: TuneResult,
    /// Its load test at every tuned size.
    pub(crate) load: LoadResult,
}

/// Puts the handlers' results side by side.
pub(crate) fn compare(
    target: &Threshold,
    measured: &[Measured],
    caveat: Option<String>,
) -> Comparison {
    let target_text = target.expression.clone();
    let mut sizes: Vec<u32> = measured
        .iter()
        .flat_map(|m| m.tune.powers.iter().map(|p| p.memory_mb))
        .chain(measured.iter().flat_map(|m| m.load.runs.iter().filter_map(|r| r.memory_mb)))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let sizes: Vec<SizeRow> = sizes
        .into_iter()
        .map(|memory_mb| SizeRow {
            memory_mb,
            cells: measured.iter().map(|m| cell(m, memory_mb)).collect(),
        })
        .collect();
    let verdicts = measured
        .iter()
        .enumerate()
        .map(|(i, m)| {
            verdict(
                &target_text,
                m,
                sizes.iter().map(|row| (row.memory_mb, &row.cells[i])),
            )
        })
        .collect();
    Comparison {
        stat: target.stat_name(),
        target: target_text,
        sizes,
        verdicts,
        caveat,
    }
}

fn cell(m: &Measured, memory_mb: u32) -> Cell {
    let stats = m
        .tune
        .powers
        .iter()
        .find(|p| p.memory_mb == memory_mb)
        .and_then(|p| p.stats.as_ref());
    let run = m.load.runs.iter().find(|r| r.memory_mb == Some(memory_mb));
    // The load ran with the target as its one --threshold: its check is the figure and the verdict
    // (in the open model, net of the generator's own lateness as well).
    let check = run.and_then(|r| r.thresholds.first());
    let load_latency_ms = check.and_then(|c| c.actual);
    Cell {
        handler: m.handler,
        avg_duration_ms: stats.map(|s| s.duration_ms.mean),
        avg_init_ms: stats.and_then(|s| s.avg_init_ms),
        cost_per_invoke: stats.map(|s| s.cost_per_invoke),
        load_latency_ms,
        load_rps: run.map(|r| r.summary.throughput_rps),
        load_errors: run.map(|r| r.summary.errors),
        // A run whose requests failed does not meet a latency target, however fast its failures.
        meets_target: run
            .map(|r| r.summary.errors == 0 && check.is_some_and(|c| c.passed && !c.undecided)),
    }
}

fn verdict<'a>(
    target: &str,
    m: &Measured,
    cells: impl Iterator<Item = (u32, &'a Cell)>,
) -> HandlerVerdict {
    let cells: Vec<(u32, &Cell)> = cells.collect();
    let meets = cells.iter().find(|(_, c)| c.meets_target == Some(true));
    let best = cells
        .iter()
        .filter_map(|(mb, c)| c.load_latency_ms.map(|v| (*mb, v)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let sentence = match (meets, best) {
        (Some((mb, c)), _) => format!(
            "{}: meets {target} from {mb} MB ({:.1} ms under load there)",
            m.handler,
            c.load_latency_ms.unwrap_or_default()
        ),
        (None, Some((mb, v))) => format!(
            "{}: meets {target} at no size measured (best {v:.1} ms, at {mb} MB)",
            m.handler
        ),
        (None, None) => format!("{}: not measured under load", m.handler),
    };
    HandlerVerdict {
        handler: m.handler,
        runtime: m.handler.runtime().as_str().to_string(),
        tune_winner_mb: m.tune.winner.as_ref().map(|w| w.memory_mb),
        meets_target_from_mb: meets.map(|(mb, _)| *mb),
        sentence,
    }
}
