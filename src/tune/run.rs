//! The sweep: for each memory size, configure, invoke, read REPORT lines; then choose and restore.
//!
//! Guarantees:
//! - the original memory size is put back whatever happens (a size failing, every size failing, an
//!   interrupt), unless `--auto-optimize` asks to leave the winner configured;
//! - a size whose configuration or invocations fail is reported and skipped; the run fails only when
//!   every size failed;
//! - throttled calls (`TooManyRequestsException`, HTTP 429) are retried with exponential backoff and
//!   counted, never reported as failures until the retries run out.
//!
//! `--only-cold-starts` makes Lambda start a new instance for each measured call by changing the
//! memory to a neighbouring size and back (a configuration change retires warm instances). That
//! costs two configuration updates per invocation (one per batch with `--parallel`, where each
//! concurrent call needs its own instance anyway).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures::future::join_all;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::Rng;

use super::args::TuneConfig;
use super::pricing::{Architecture, Pricing};
use super::report_line;
use super::result::{self, Plan, PowerOutcome, Sample, TuneResult, WeightedPayload, Winner};
use crate::control::FunctionControl;

/// How throttled invocations are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries before the invocation counts as failed.
    pub max_retries: u32,
    /// First delay; doubled on each retry.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 retries from 100 ms doubling to at most 5 s: about 13 s of patience in all, enough for
    /// Lambda's burst limit to recover.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based): exponential with "equal jitter", so
    /// parallel callers that were throttled together do not come back together.
    fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }
}

/// Whether a failed call was throttling, which is worth retrying.
pub fn is_throttle(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("TooManyRequests") || text.contains("Throttl") || text.contains("429")
}

/// Options that do not come from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Throttling retries.
    pub retry: RetryPolicy,
    /// Draw progress bars on stderr (off for JSON output).
    pub progress: bool,
}

/// The plan of `cfg`, for dry runs and for the result.
pub fn plan(cfg: &TuneConfig) -> Plan {
    let per_size_toggles = if !cfg.only_cold_starts {
        0
    } else if cfg.parallel {
        2
    } else {
        2 * cfg.num as u64
    };
    Plan {
        powers: cfg.powers.clone(),
        num: cfg.num,
        parallel: cfg.parallel,
        strategy: cfg.strategy,
        balanced_weight: cfg.balanced_weight,
        discard_top_bottom: cfg.discard,
        only_cold_starts: cfg.only_cold_starts,
        sleep_between_runs_ms: cfg.sleep_between_runs.as_millis() as u64,
        auto_optimize: cfg.auto_optimize,
        dry_run: cfg.dry_run,
        allowed_exceptions: cfg.allowed_exceptions.clone(),
        payloads: cfg
            .payload
            .entries()
            .into_iter()
            .map(|(payload, weight)| WeightedPayload {
                payload: payload.clone(),
                weight,
            })
            .collect(),
        total_invocations: cfg.powers.len() as u64 * cfg.num as u64,
        configuration_updates: cfg.powers.len() as u64 * (1 + per_size_toggles) + 1,
    }
}

/// Runs the sweep against `target` and returns the judged result, with `interrupt` (normally
/// Ctrl-C) able to stop it at any point. The memory is restored in every case, and an interrupted
/// run is an error saying so.
pub async fn execute(
    cfg: &TuneConfig,
    target: Arc<dyn FunctionControl>,
    region: &str,
    options: &RunOptions,
    interrupt: impl Future<Output = ()>,
) -> Result<TuneResult> {
    let original = target
        .memory()
        .await
        .context("reading the function's memory size")?;
    let architecture_name = target
        .architecture()
        .await
        .context("reading the function's architecture")?;
    let pricing = Pricing::for_region(region, Architecture::parse(&architecture_name)?);

    let progress = Progress::new(options.progress);
    let sweep = sweep(cfg, target.as_ref(), &options.retry, &progress);
    let outcomes = tokio::select! {
        outcomes = sweep => outcomes,
        () = interrupt => {
            progress.abandon();
            return match target.set_memory(original).await {
                Ok(()) => Err(anyhow::anyhow!("interrupted; memory restored to {original} MB")),
                Err(e) => Err(e.context(format!("interrupted; restoring the memory to {original} MB failed"))),
            };
        }
    };

    let mut powers: Vec<_> = outcomes
        .iter()
        .map(|o| o.to_result(&pricing, cfg.discard))
        .collect();
    let winner = result::judge(&mut powers, cfg.strategy, cfg.balanced_weight);
    let keep = match winner {
        Some(w) if cfg.auto_optimize => powers[w].memory_mb,
        _ => original,
    };
    target.set_memory(keep).await.with_context(|| {
        format!("tuning finished but setting the memory back to {keep} MB failed")
    })?;

    let Some(w) = winner else {
        let reasons: Vec<String> = powers
            .iter()
            .map(|p| {
                format!(
                    "{} MB: {}",
                    p.memory_mb,
                    p.error.as_deref().unwrap_or("failed")
                )
            })
            .collect();
        bail!(
            "every memory size failed (memory restored to {original} MB): {}",
            reasons.join("; ")
        );
    };
    let best = &powers[w];
    let best_stats = best.stats.as_ref().expect("the winner has statistics");
    Ok(TuneResult {
        function: target.name().to_string(),
        region: region.to_string(),
        architecture: architecture_name,
        pricing,
        plan: plan(cfg),
        winner: Some(Winner {
            memory_mb: best.memory_mb,
            avg_duration_ms: best_stats.duration_ms.mean,
            cost_per_invoke: best_stats.cost_per_invoke,
            strategy: cfg.strategy,
        }),
        tuning_cost: powers.iter().map(|p| p.total_cost).sum(),
        invocations: outcomes
            .iter()
            .map(|o| (o.samples.len() + o.failed_reports.len()) as u64)
            .sum(),
        original_memory_mb: Some(original),
        restored_memory_mb: Some(keep),
        powers,
    })
}

/// Every size in turn; never fails as a whole (failures are recorded per size).
async fn sweep(
    cfg: &TuneConfig,
    target: &dyn FunctionControl,
    retry: &RetryPolicy,
    progress: &Progress,
) -> Vec<PowerOutcome> {
    let mut outcomes = Vec::with_capacity(cfg.powers.len());
    for &memory_mb in &cfg.powers {
        let bar = progress.bar(memory_mb, cfg.num);
        let outcome = measure_power(cfg, target, retry, memory_mb, &bar).await;
        match &outcome.error {
            Some(e) => bar.abandon_with_message(format!("failed: {e}")),
            None => bar.finish_with_message("done"),
        }
        outcomes.push(outcome);
    }
    outcomes
}

async fn measure_power(
    cfg: &TuneConfig,
    target: &dyn FunctionControl,
    retry: &RetryPolicy,
    memory_mb: u32,
    bar: &ProgressBar,
) -> PowerOutcome {
    let mut outcome = PowerOutcome {
        memory_mb,
        ..PowerOutcome::default()
    };
    if let Err(e) = target.set_memory(memory_mb).await {
        outcome.error = Some(format!(
            "setting the memory to {memory_mb} MB failed: {e:#}"
        ));
        return outcome;
    }
    if cfg.parallel {
        if cfg.only_cold_starts {
            if let Err(e) = force_cold_start(target, memory_mb).await {
                outcome.error = Some(e);
                return outcome;
            }
        }
        let calls = cfg.payloads.iter().map(|payload| async {
            let r = invoke(target, payload, retry, &cfg.allowed_exceptions).await;
            bar.inc(1);
            r
        });
        for call in join_all(calls).await {
            record(&mut outcome, call);
        }
    } else {
        for (i, payload) in cfg.payloads.iter().enumerate() {
            if i > 0 && !cfg.sleep_between_runs.is_zero() {
                tokio::time::sleep(cfg.sleep_between_runs).await;
            }
            if cfg.only_cold_starts {
                if let Err(e) = force_cold_start(target, memory_mb).await {
                    outcome.error = Some(e);
                    break;
                }
            }
            let call = invoke(target, payload, retry, &cfg.allowed_exceptions).await;
            bar.inc(1);
            record(&mut outcome, call);
            if outcome.error.is_some() {
                // Sequential: one failure decides the size; stop spending invocations on it.
                break;
            }
        }
    }
    outcome
}

fn record(outcome: &mut PowerOutcome, call: Call) {
    outcome.retries += call.retries;
    match call.result {
        Ok(sample) => outcome.samples.push(sample),
        Err((reason, report)) => {
            outcome.failed_reports.extend(report);
            if outcome.error.is_none() {
                outcome.error = Some(reason);
            }
        }
    }
}

/// Memory away to a neighbouring size and back: the configuration change retires warm instances.
async fn force_cold_start(target: &dyn FunctionControl, memory_mb: u32) -> Result<(), String> {
    let change = async {
        // One MB away and back retires every warm instance. Up is the usual neighbour; at the
        // account's memory cap (10240 MB, or 3008 MB on a new account) Lambda refuses it, and
        // one MB down is used instead.
        let up_refused = if memory_mb < 10240 {
            match target.set_memory(memory_mb + 1).await {
                Ok(()) => false,
                Err(e) if is_over_memory_cap(&e) => true,
                Err(e) => return Err(e),
            }
        } else {
            true
        };
        if up_refused {
            target.set_memory(memory_mb - 1).await?;
        }
        target.set_memory(memory_mb).await
    };
    change
        .await
        .map_err(|e| format!("forcing a cold start at {memory_mb} MB failed: {e:#}"))
}

/// Lambda's answer to a memory size above the account's cap.
fn is_over_memory_cap(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("MemorySize") && text.contains("less than or equal to")
}

/// One invocation's outcome: a measurement, or why it failed (with its REPORT, if it was billed).
struct Call {
    result: Result<Sample, (String, Option<report_line::ReportLine>)>,
    retries: u32,
}

async fn invoke(
    target: &dyn FunctionControl,
    payload: &[u8],
    retry: &RetryPolicy,
    allowed: &[String],
) -> Call {
    let mut retries = 0;
    loop {
        match target.invoke(payload).await {
            Err(e) if is_throttle(&e) && retries < retry.max_retries => {
                tokio::time::sleep(retry.delay(retries)).await;
                retries += 1;
            }
            Err(e) => {
                let reason = if is_throttle(&e) {
                    format!("still throttled after {retries} retries: {e:#}")
                } else {
                    format!("invocation failed: {e:#}")
                };
                return Call {
                    result: Err((reason, None)),
                    retries,
                };
            }
            Ok(invocation) => {
                let report = report_line::parse(&invocation.log_tail);
                let result = match (invocation.function_error, report) {
                    (Some(kind), report) => {
                        let (error_type, message) = error_document(&invocation.body);
                        match report {
                            Some(report) if allowed.iter().any(|a| a == &error_type) => {
                                Ok(Sample { report, allowed_error: Some(error_type) })
                            }
                            report => Err((format!("function error ({kind}) {error_type}: {message}"), report)),
                        }
                    }
                    (None, Some(report)) => Ok(Sample { report, allowed_error: None }),
                    (None, None) => Err((
                        "no REPORT line in the invocation's log tail (was it invoked with LogType=Tail?)".to_string(),
                        None,
                    )),
                };
                return Call { result, retries };
            }
        }
    }
}

/// `errorType` and `errorMessage` of a Lambda error document (placeholders when it is not one).
fn error_document(body: &[u8]) -> (String, String) {
    let doc: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let fallback = || {
        String::from_utf8_lossy(body)
            .chars()
            .take(200)
            .collect::<String>()
    };
    (
        field("errorType").unwrap_or_else(|| "Unknown".to_string()),
        field("errorMessage").unwrap_or_else(fallback),
    )
}

/// One bar per memory size on stderr; drawn nowhere when progress is off or stderr is not a terminal.
struct Progress {
    multi: MultiProgress,
}

impl Progress {
    fn new(visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
        }
    }

    fn bar(&self, memory_mb: u32, num: u32) -> ProgressBar {
        let style = ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {msg}")
            .expect("valid progress template")
            .progress_chars("=> ");
        let bar = self.multi.add(ProgressBar::new(num as u64));
        bar.set_style(style);
        bar.set_prefix(format!("{memory_mb} MB"));
        bar
    }

    fn abandon(&self) {
        let _ = self.multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_are_recognised() {
        assert!(is_throttle(&anyhow::anyhow!(
            "TooManyRequestsException: Rate exceeded"
        )));
        assert!(is_throttle(
            &anyhow::anyhow!("service error").context("HTTP 429")
        ));
        assert!(is_throttle(&anyhow::anyhow!("ThrottlingException")));
        assert!(!is_throttle(&anyhow::anyhow!("ResourceNotFoundException")));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        for _ in 0..20 {
            let d0 = p.delay(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(100) && d1 <= Duration::from_millis(200));
            let d5 = p.delay(5);
            assert!(d5 >= Duration::from_millis(150) && d5 <= Duration::from_millis(300));
        }
    }

    #[test]
    fn error_documents() {
        let (t, m) = error_document(br#"{"errorType":"BadRequest","errorMessage":"missing id"}"#);
        assert_eq!((t.as_str(), m.as_str()), ("BadRequest", "missing id"));
        let (t, m) = error_document(b"boom");
        assert_eq!((t.as_str(), m.as_str()), ("Unknown", "boom"));
    }
}
