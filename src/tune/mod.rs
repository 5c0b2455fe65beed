//! Power tuning, as aws-lambda-power-tuning does it and without Step Functions: publish a version
//! and an alias per memory size, measure the aliases (so `$LATEST`'s traffic never runs at a test
//! size), read each invocation's REPORT line, price it, pick the size that is cheapest, fastest or
//! the best balance of both, and remove what was published.
//!
//! Files, one job each: [`args`] (flags), [`config`] (the tool's input file, and how the two
//! combine), `lab_load::payload::spec` (what is sent, shared with `load`), [`versions`] (publishing, restoring, cleaning up),
//! [`measure`] (invocations and the failure policy), [`report_line`] (REPORT parsing), [`stats`]
//! (trimmed mean, percentiles), [`confidence`] (their 95% intervals), [`decide`] (a winner only on
//! evidence, ties settled), [`auto`] (`--num auto`'s rounds), [`pricing`] (PT's and lab's cost models), [`strategy`] (choosing the
//! winner), [`sweep`] (measuring every size once), [`run`] (the run from start to end), [`finish`] (judging it), [`power`] (one size's figures and verdict), [`result`] (what was found), [`pt_output`] (the tool's
//! output document and visualization link), [`present`] (terminal output), [`verdict`] (the decision in words, with its evidence), [`html`] (the report),
//! [`arches`] (`--arch`: a copy per other instruction set, made and removed), [`by_arch`] (their
//! runs judged together as memory × arch).

pub(crate) mod arches;
pub(crate) mod args;
pub mod auto;
pub(crate) mod by_arch;
pub mod confidence;
pub(crate) mod config;
pub mod decide;
pub(crate) mod finish;
pub mod html;
pub mod measure;
pub(crate) mod power;
pub(crate) mod present;
pub mod pricing;
pub(crate) mod pt_output;
pub mod report_line;
pub(crate) mod result;
pub mod run;
pub mod stats;
pub mod strategy;
pub(crate) mod sweep;
pub(crate) mod verdict;
pub(crate) mod versions;

use std::sync::Arc;

use anyhow::{Context, Result};

pub use args::Num;
pub use args::TuneArgs;
pub use config::TuneConfig;
pub use result::TuneResult;
pub use strategy::{CostModel, Metric, Strategy};

use crate::control::{ArchCopies, VersionControl};

/// Runs `lab tune` with `cfg` on `target` (priced for `region`; with `--arch`, each other
/// instruction set on a copy made through `copies`): the sweep, then the observations
/// table, charts and the visualization link (or, with `json`, the full [`TuneResult`] as JSON on
/// stdout), and `--report` when asked. SIGINT, SIGTERM and SIGHUP stop the run; it cleans up and
/// returns a [`crate::exit::Interrupted`] error.
pub(crate) async fn run(
    cfg: &TuneConfig,
    (target, copies): (Arc<dyn VersionControl>, Arc<dyn ArchCopies>),
    region: &str,
    json: bool,
) -> Result<TuneResult> {
    use futures::FutureExt;
    // Installed before anything changes: from here on these signals end the run through cleanup.
    let signals = Signals::install();
    let interrupt: arches::Interrupt = signals.first().boxed().shared();
    let options = run::RunOptions {
        progress: !json,
        ..run::RunOptions::default()
    };
    let cpu_before = crate::local_cpu::snapshot().await;
    // The local stack runs every function on this host's CPU, whatever its architecture.
    let local_host = crate::local_cpu::is_local().then(crate::arch::Arch::host_cpu).flatten();
    let pair = (target, copies);
    let mut result = arches::execute(cfg, pair, region, &options, interrupt, local_host).await?;
    result.host_cpu = crate::local_cpu::since(&cpu_before).await;
    result.build_note = crate::local_cpu::unoptimised_build(&result.function).await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).context("serialising the tuning result")?
        );
    } else if cfg.dry_run {
        print!("{}", present::plan(&result));
        print!("{}", present::dry_run(&result));
    } else {
        println!("Performance & Cost Observations ({})", result.function);
        println!("{}", present::table(&result));
        println!();
        print!("{}", present::charts(&result));
        println!();
        print!("{}", present::summary(&result));
    }
    if let (Some(path), false) = (&cfg.report, cfg.dry_run) {
        html::render(&result).write(path)?;
        if !json {
            println!("Report written to {}", path.display());
        }
    }
    Ok(result)
}

/// SIGINT (Ctrl-C), SIGTERM and SIGHUP, caught from the moment they are installed.
struct Signals {
    streams: Vec<(&'static str, i32, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Catches the three signals; one that cannot be caught keeps its default effect.
    fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let wanted = [
            ("SIGINT", libc::SIGINT, SignalKind::interrupt()),
            ("SIGTERM", libc::SIGTERM, SignalKind::terminate()),
            ("SIGHUP", libc::SIGHUP, SignalKind::hangup()),
        ];
        Signals {
            streams: wanted
                .into_iter()
                .filter_map(|(name, number, kind)| signal(kind).ok().map(|s| (name, number, s)))
                .collect(),
        }
    }

    /// Resolves with the first of them to arrive (its name and number).
    async fn first(mut self) -> (&'static str, i32) {
        let waits = self.streams.iter_mut().map(|(name, number, stream)| {
            Box::pin(async move {
                if stream.recv().await.is_none() {
                    // The signal driver is gone: this signal will never arrive.
                    std::future::pending::<()>().await;
                }
                (*name, *number)
            })
        });
        let waits: Vec<_> = waits.collect();
        if waits.is_empty() {
            return std::future::pending().await;
        }
        futures::future::select_all(waits).await.0
    }
}
