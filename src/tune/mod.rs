//! Power tuning (DESIGN §7), after aws-lambda-power-tuning: run the function at several memory
//! sizes, read each invocation's REPORT line, price it, and pick the size that is cheapest, fastest
//! or the best balance of both.
//!
//! Files, one job each: [`args`] (options and the tutorial's input file), [`payload`] (what is sent),
//! [`report_line`] (REPORT parsing), [`stats`] (trimmed mean, percentiles), [`pricing`],
//! [`strategy`] (choosing the winner), [`run`] (the sweep, retries, restoring memory),
//! [`result`] (what was found), [`present`] (terminal output), [`html`] (the HTML report).

pub mod args;
pub mod html;
pub mod payload;
pub mod present;
pub mod pricing;
pub mod report_line;
pub mod result;
pub mod run;
pub mod stats;
pub mod strategy;

use std::sync::Arc;

use anyhow::{Context, Result};

pub use args::{TuneArgs, TuneConfig};
pub use result::TuneResult;
pub use strategy::Strategy;

use crate::control::FunctionControl;

/// Runs `lab tune`: resolves `args` (with `default_payload` when none is given), sweeps the memory
/// sizes on `target`, prints the observations table and charts (or, with `json`, the full
/// [`TuneResult`] as JSON on stdout), writes `--report` when asked, and returns the result.
///
/// The function's memory is restored afterwards (or set to the winner with `--auto-optimize`),
/// also when a size fails or Ctrl-C interrupts the run; an interrupted run returns an error
/// `interrupted; memory restored to N MB`.
pub async fn run(
    args: &TuneArgs,
    target: Arc<dyn FunctionControl>,
    region: &str,
    default_payload: serde_json::Value,
    json: bool,
) -> Result<TuneResult> {
    let cfg = TuneConfig::resolve(args, default_payload)?;
    if let Some(arn) = &cfg.lambda_arn {
        let name = arn.split(':').nth(6).unwrap_or_default();
        if name != target.name() {
            eprintln!(
                "note: the input names {arn}; tuning {} (the stack's function)",
                target.name()
            );
        }
    }

    let result = if cfg.dry_run {
        // A dry run touches nothing, not even to read the configuration.
        TuneResult {
            function: target.name().to_string(),
            region: region.to_string(),
            architecture: "unknown".to_string(),
            pricing: pricing::Pricing::for_region(region, pricing::Architecture::X86_64),
            plan: run::plan(&cfg),
            powers: Vec::new(),
            winner: None,
            tuning_cost: 0.0,
            invocations: 0,
            original_memory_mb: None,
            restored_memory_mb: None,
        }
    } else {
        let options = run::RunOptions {
            progress: !json,
            ..run::RunOptions::default()
        };
        run::execute(&cfg, target, region, &options, ctrl_c()).await?
    };

    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).context("serialising the tuning result")?
        );
    } else if cfg.dry_run {
        print!("{}", present::plan(&result));
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

/// Resolves on Ctrl-C; never, if the signal handler cannot be installed (then Ctrl-C keeps its
/// default effect of ending the process).
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
