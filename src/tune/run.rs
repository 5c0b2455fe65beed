//! The run, start to end: publish a version and an alias per size, restore `$LATEST`, measure the
//! aliases, clean up, judge, and optionally apply the winner.
//!
//! Guarantees:
//! - `$LATEST` is back at its own memory and description before the first measured invocation, so
//!   live traffic never runs at a test size for longer than the versions take to publish;
//! - the aliases and versions the run published are deleted however the run ends: success, a size
//!   failing, an error, a panic inside the sweep, or an interrupt (SIGINT, SIGTERM, SIGHUP), unless
//!   `--keep-versions`; `$LATEST` is checked and restored again at that point;
//! - a size that keeps failing fails the run (non-zero, naming the size and the error) unless
//!   `--skip-failing`, with which the run fails only when every size failed.
//!
//! The work runs in its own task so that a panic in it reaches this function as an error and the
//! cleanup still happens.

use std::future::Future;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};

use super::auto::{AutoReport, Rounds};
use super::config::TuneConfig;
use super::measure::RetryPolicy;
use super::power::PowerOutcome;
use super::pricing::Pricing;
use super::result::{Timings, TuneResult};
use super::sweep::{say, sweep, Progress};
use super::versions::{alias_name, Session};
use crate::control::VersionControl;

/// Options that do not come from the command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Retries of failed and throttled invocations.
    pub retry: RetryPolicy,
    /// Progress bars and phase lines on stderr (off for JSON output).
    pub progress: bool,
}

/// The aliases of one size: one, or one per invocation with `--only-cold-starts`.
pub(crate) fn aliases(cfg: &TuneConfig, memory_mb: u32) -> Vec<String> {
    if cfg.only_cold_starts {
        (0..cfg.payloads.len()).map(|i| alias_name(memory_mb, Some(i))).collect()
    } else {
        vec![alias_name(memory_mb, None)]
    }
}

/// Runs the whole tuning of `target` and returns the judged result; `interrupt` (normally the
/// signals) can stop it at any point, and the run cleans up in every case.
pub async fn execute(
    cfg: &TuneConfig,
    target: Arc<dyn VersionControl>,
    region: &str,
    options: &RunOptions,
    interrupt: impl Future<Output = (&'static str, i32)>,
) -> Result<TuneResult> {
    let original = target.latest().await.context("reading $LATEST's configuration")?;
    let architecture =
        target.architecture().await.context("reading the function's architecture")?;
    let pricing = Pricing::for_region(region, architecture);
    let mut work_cfg = cfg.clone();
    if cfg.dry_run {
        // As the tool's dry run: one invocation per size, to check that everything is allowed.
        work_cfg.payloads.truncate(1);
    }
    let limit = target.concurrency_limit().await.unwrap_or(None);
    let session = Arc::new(Session::new(target.clone(), original.clone()));
    let progress = Progress::new(options.progress);
    let work = tokio::spawn(work(
        Arc::new(work_cfg),
        session.clone(),
        target.clone(),
        (options.clone(), limit, pricing),
        progress.clone(),
    ));
    let outcome = supervise(work, interrupt).await;
    progress.clear();
    say(
        options.progress,
        "cleaning up: $LATEST, then the run's aliases and versions",
    );
    let cleaning = std::time::Instant::now();
    let cleanup = session.cleanup(cfg.keep_versions).await;
    let cleanup_ms = cleaning.elapsed().as_secs_f64() * 1000.0;
    let detail = match &cleanup {
        Ok(c) => c.summary(&original),
        Err(e) => format!("{e:#}"),
    };
    let (outcomes, timings, auto) = match outcome {
        Ok((outcomes, timings, auto)) => (
            outcomes,
            Timings {
                cleanup_ms,
                ..timings
            },
            auto,
        ),
        Err(Stop::Signal(signal, number)) => bail!(crate::exit::Interrupted {
            signal,
            number,
            detail
        }),
        Err(Stop::Failed(e)) => bail!("{e:#}; {detail}"),
    };
    let cleanup = cleanup?;
    say(options.progress, &detail);
    let run = super::finish::Finished {
        cfg,
        target: target.as_ref(),
        region,
        pricing,
        architecture,
        original,
        concurrency_limit: limit,
    };
    run.judge(&outcomes, cleanup, timings, auto).await
}

/// Why the work stopped early.
enum Stop {
    Signal(&'static str, i32),
    Failed(anyhow::Error),
}

async fn supervise(
    mut work: tokio::task::JoinHandle<Result<Measured>>,
    interrupt: impl Future<Output = (&'static str, i32)>,
) -> Result<Measured, Stop> {
    tokio::select! {
        joined = &mut work => match joined {
            Ok(Ok(measured)) => Ok(measured),
            Ok(Err(e)) => Err(Stop::Failed(e)),
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(Stop::Failed(anyhow!("tuning panicked: {message}")))
            }
            Err(e) => Err(Stop::Failed(anyhow!("tuning stopped: {e}"))),
        },
        (signal, number) = interrupt => {
            work.abort();
            // Wait until the task is gone, so nothing it started is still running during cleanup.
            let _ = work.await;
            Err(Stop::Signal(signal, number))
        }
    }
}

/// What the work found, how long its phases took, and `--num auto`'s rounds.
type Measured = (Vec<PowerOutcome>, Timings, Option<AutoReport>);

/// Publish every size, restore `$LATEST`, measure.
async fn work(
    cfg: Arc<TuneConfig>,
    session: Arc<Session>,
    target: Arc<dyn VersionControl>,
    (options, limit, pricing): (RunOptions, Option<u32>, Pricing),
    progress: Progress,
) -> Result<Measured> {
    let permits = limit.map(|n| tokio::sync::Semaphore::new(n as usize));
    let started = std::time::Instant::now();
    let mut outcomes = Vec::with_capacity(cfg.powers.len());
    let mut ready = Vec::with_capacity(cfg.powers.len());
    let original = session.original.memory_mb;
    say(options.progress, &format!("publishing a version and an alias per size ({} MB): $LATEST changes meanwhile, and is back at {original} MB before anything is measured",
        cfg.powers.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")));
    // $LATEST's own memory last: once it is published, $LATEST is back as it was, and the restore
    // costs no update (each update is seconds on Lambda).
    let mut order = cfg.powers.clone();
    order.sort_by_key(|p| *p == original);
    for memory_mb in order {
        let names = aliases(&cfg, memory_mb);
        match session.publish(memory_mb, &names).await {
            Ok(()) => ready.push((memory_mb, names)),
            Err(e) if cfg.skip_failing => outcomes.push(PowerOutcome {
                memory_mb,
                error: Some(format!(
                    "publishing a version at {memory_mb} MB failed: {e:#}"
                )),
                ..PowerOutcome::default()
            }),
            Err(e) => return Err(e.context(format!("publishing a version at {memory_mb} MB"))),
        }
    }
    session.restore_latest().await.context("restoring $LATEST before measuring")?;
    say(
        options.progress,
        &format!("$LATEST is back at {original} MB; measuring the aliases"),
    );
    let published = started.elapsed();
    let pace = (&options.retry, permits.as_ref());
    let (measured, auto) = match cfg.auto {
        Some(auto) if !cfg.dry_run => {
            let rounds = Rounds {
                cfg: &cfg,
                auto,
                target: target.as_ref(),
                pricing,
            };
            let (measured, report) = rounds.run(&ready, pace, &progress).await?;
            (measured, Some(report))
        }
        _ => (
            sweep(&cfg, target.as_ref(), &ready, pace, &progress).await?,
            None,
        ),
    };
    outcomes.extend(measured);
    // In the order the sizes were given, whatever finished first.
    outcomes.sort_by_key(|o| cfg.powers.iter().position(|p| *p == o.memory_mb));
    let timings = Timings {
        publish_ms: published.as_secs_f64() * 1000.0,
        measure_ms: (started.elapsed() - published).as_secs_f64() * 1000.0,
        cleanup_ms: 0.0,
    };
    Ok((outcomes, timings, auto))
}
