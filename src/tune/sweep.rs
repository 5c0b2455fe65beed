//! Measuring sizes once: every size's invocations, side by side (`--parallel`) or one size after
//! another, a progress bar per size, and the failure policy's verdict on each size. A fixed run
//! calls it once; `--num auto` once per round ([`super::auto`]).

use std::io::Write as _;

use anyhow::{bail, Result};
use futures::future::join_all;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::config::TuneConfig;
use super::measure::{self, Job, RetryPolicy};
use super::power::PowerOutcome;
use crate::control::VersionControl;

/// Writes a phase line on stderr; a closed stderr (SIGHUP's terminal gone) must not stop the cleanup.
pub(super) fn say(on: bool, line: &str) {
    if on {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// Retries, and the account's concurrency to pace invocations by.
pub(super) type Pace<'a> = (&'a RetryPolicy, Option<&'a tokio::sync::Semaphore>);

/// Measures every size: side by side with `--parallel` (as the tool runs a branch per size), else
/// one after another. A size that failed stops the run unless `--skip-failing`.
pub(super) async fn sweep(
    cfg: &TuneConfig,
    target: &dyn VersionControl,
    ready: &[(u32, Vec<String>)],
    pace: Pace<'_>,
    progress: &Progress,
) -> Result<Vec<PowerOutcome>> {
    let one = |size| measure_one(cfg, target, size, pace, progress);
    if cfg.parallel {
        if cfg.skip_failing {
            return join_all(ready.iter().map(one)).await.into_iter().collect();
        }
        // The first size to fail ends the others at once: the run fails anyway.
        return futures::future::try_join_all(ready.iter().map(one)).await;
    }
    let mut outcomes = Vec::with_capacity(ready.len());
    for size in ready {
        outcomes.push(one(size).await?);
    }
    Ok(outcomes)
}

async fn measure_one(
    cfg: &TuneConfig,
    target: &dyn VersionControl,
    (memory_mb, aliases): &(u32, Vec<String>),
    (retry, permits): Pace<'_>,
    progress: &Progress,
) -> Result<PowerOutcome> {
    let bar = progress.bar(*memory_mb, cfg.payloads.len());
    let job = Job {
        cfg,
        memory_mb: *memory_mb,
        aliases,
        retry,
        permits,
    };
    let outcome = measure::power(target, &job, &bar).await;
    match &outcome.error {
        Some(e) => bar.abandon_with_message(format!("failed: {e}")),
        None => bar.finish_with_message("done"),
    }
    check(cfg, outcome)
}

/// A size that failed is an error, unless the run skips failing sizes.
fn check(cfg: &TuneConfig, outcome: PowerOutcome) -> Result<PowerOutcome> {
    match &outcome.error {
        Some(e) if !cfg.skip_failing => {
            bail!(
                "{} MB failed: {e} (--skip-failing records it and goes on)",
                outcome.memory_mb
            )
        }
        _ => Ok(outcome),
    }
}

/// One bar per memory size on stderr; drawn nowhere when progress is off or stderr is not a terminal.
#[derive(Clone)]
pub(super) struct Progress {
    multi: MultiProgress,
    visible: bool,
}

impl Progress {
    /// Bars on stderr when `visible`, else drawn nowhere.
    pub(super) fn new(visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            visible,
        }
    }

    /// Whether phase lines are shown.
    pub(super) fn visible(&self) -> bool {
        self.visible
    }

    fn bar(&self, memory_mb: u32, num: usize) -> ProgressBar {
        let style = ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} {msg}")
            .expect("valid progress template")
            .progress_chars("=> ");
        let bar = self.multi.add(ProgressBar::new(num as u64));
        bar.set_style(style);
        bar.set_prefix(format!("{memory_mb} MB"));
        bar
    }

    /// Removes the bars.
    pub(super) fn clear(&self) {
        let _ = self.multi.clear();
    }
}
