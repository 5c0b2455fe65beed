//! Load testing (DESIGN §8), after Postman's collection runner, k6, oha and wrk2.
//!
//! Layout (the hot loop knows nothing of the screen, as in oha):
//! [`args`] options, [`payload`] what is sent, [`profile`] how load varies over time,
//! [`client`] sending and classifying (the VU loop), [`metrics`] histograms and per-second series,
//! [`runner`] one test from start to finish, [`monitor`] the live line, [`printer`] the final
//! tables, [`html`] the HTML report, [`result`] what was measured.

pub mod args;
pub mod client;
pub mod html;
pub mod metrics;
pub mod monitor;
pub mod payload;
pub mod printer;
pub mod profile;
pub mod raw_http;
pub mod result;
pub mod runner;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures::future::join_all;

pub use args::{LoadArgs, Via};
pub use profile::Profile;
pub use result::{LoadResult, RunResult};

use client::{Endpoint, StopHandle};
use payload::PayloadMix;
use profile::Shape;
use runner::{Model, RunSpec};

use crate::control::FunctionControl;

/// Requests sent at each memory size before measuring: at most this many, one per VU, so every
/// instance the test will use exists (a configuration change retires the warm ones).
const WARM_UP_REQUESTS: u32 = 10;

/// Runs `lab load` against `url` (or `target` with `--via lambda`), prints the results (or, with
/// `json`, the [`LoadResult`] as JSON on stdout), writes `--report` when asked, and returns them.
/// `table` fills the `tableName` of operation shortcuts (default payload: the `list` event).
///
/// With `--memory`, `target` is required: the test runs once per size (set, warm up, measure) and
/// the original memory is restored afterwards, also after an error or Ctrl-C. Ctrl-C stops the test
/// in progress; the results measured so far are printed and returned with `interrupted` set.
pub async fn run(
    args: &LoadArgs,
    url: String,
    target: Option<Arc<dyn FunctionControl>>,
    table: &str,
    json: bool,
) -> Result<LoadResult> {
    let (stop, _) = client::stop_signal();
    let stop = Arc::new(stop);
    let listener = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.stop();
            }
        })
    };
    let result = run_with_stop(args, url, target, table, json, &stop).await;
    listener.abort();
    result
}

/// [`run`] with the stop signal supplied by the caller (tests stop runs without a signal).
pub async fn run_with_stop(
    args: &LoadArgs,
    url: String,
    target: Option<Arc<dyn FunctionControl>>,
    table: &str,
    json: bool,
    stop: &StopHandle,
) -> Result<LoadResult> {
    let mix = Arc::new(PayloadMix::parse(args.payload.as_deref(), table)?);
    let (endpoint, target_name) = match args.via {
        Via::Http => (
            Endpoint::Http {
                url: url.clone(),
                timeout: args.timeout,
            },
            url,
        ),
        Via::Lambda => {
            let Some(t) = target.clone() else {
                bail!("--via lambda needs the function; none was given")
            };
            let name = format!("lambda:{}", t.name());
            (
                Endpoint::Lambda {
                    target: t,
                    timeout: args.timeout,
                },
                name,
            )
        }
    };
    let model = match args.rate {
        Some(rate) => Model::Open { rate },
        None => Model::Closed(Shape::new(
            args.profile,
            args.vus,
            args.duration,
            args.ramp_up,
        )),
    };
    let shape_text = match model {
        Model::Closed(shape) => shape.describe(),
        Model::Open { rate } => format!("{rate} requests/s, at most {} in flight", args.vus),
    };

    let mut result = LoadResult {
        target: target_name,
        via: args.via,
        model: if args.rate.is_some() {
            "open"
        } else {
            "closed"
        },
        profile: args.rate.is_none().then_some(args.profile),
        vus: args.vus,
        duration_s: args.duration.as_secs_f64(),
        ramp_up_s: match model {
            Model::Closed(s) if s.profile == Profile::RampUp => Some(s.ramp_up.as_secs_f64()),
            _ => None,
        },
        rate: args.rate,
        timeout_s: args.timeout.as_secs_f64(),
        max_requests: args.max_requests,
        payloads: mix
            .described
            .iter()
            .map(|(payload, weight)| result::WeightedPayload {
                payload: payload.clone(),
                weight: *weight,
            })
            .collect(),
        runs: Vec::new(),
        interrupted: false,
        original_memory_mb: None,
        restored_memory_mb: None,
    };
    let spec = |label: String, memory_mb: Option<u32>| RunSpec {
        model,
        vus: args.vus,
        duration: args.duration,
        timeout: args.timeout,
        max_requests: args.max_requests,
        label,
        memory_mb,
        live_view: !json,
    };
    if !json {
        eprintln!(
            "Load test of {}: {shape_text}, {}",
            result.target,
            crate::report::format::seconds(result.duration_s)
        );
    }

    match &args.memory {
        None => {
            let run = runner::run_once(&spec("Results".into(), None), &endpoint, mix.clone(), stop)
                .await?;
            if !json {
                println!("{}", printer::run_report(&run));
            }
            result.runs.push(run);
        }
        Some(sizes) => {
            let Some(target) = target else {
                bail!("--memory needs the function; none was given")
            };
            let original = target
                .memory()
                .await
                .context("reading the function's memory size")?;
            result.original_memory_mb = Some(original);
            let sweep = async {
                for &mb in sizes {
                    if stop.subscribe().is_stopped() {
                        break;
                    }
                    target
                        .set_memory(mb)
                        .await
                        .with_context(|| format!("setting the memory to {mb} MB"))?;
                    warm_up(&endpoint, &mix, args.vus.min(WARM_UP_REQUESTS)).await?;
                    let run = runner::run_once(
                        &spec(format!("{mb} MB"), Some(mb)),
                        &endpoint,
                        mix.clone(),
                        stop,
                    )
                    .await?;
                    if !json {
                        println!("{}", printer::run_report(&run));
                    }
                    result.runs.push(run);
                }
                anyhow::Ok(())
            };
            let outcome = sweep.await;
            let restored = target.set_memory(original).await;
            match (outcome, restored) {
                (Ok(()), Ok(())) => result.restored_memory_mb = Some(original),
                (Err(e), Ok(())) => {
                    return Err(e.context(format!(
                        "load test failed; memory restored to {original} MB"
                    )))
                }
                (Ok(()), Err(e)) => {
                    return Err(e.context(format!("restoring the memory to {original} MB failed")))
                }
                (Err(e), Err(r)) => {
                    return Err(e.context(format!(
                    "load test failed, and restoring the memory to {original} MB failed too: {r:#}"
                )))
                }
            }
        }
    }

    result.interrupted = stop.subscribe().is_stopped();
    result::judge(&mut result.runs);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).context("serialising the load test result")?
        );
    } else {
        if result.runs.len() > 1 {
            print!("{}", printer::comparison(&result));
        }
        print!("{}", printer::footer(&result));
    }
    if let Some(path) = &args.report {
        html::render(&result).write(path)?;
        if !json {
            println!("Report written to {}", path.display());
        }
    }
    Ok(result)
}

/// A burst of `n` concurrent requests whose results are ignored; fails only if none got any
/// answer at all (the target is unreachable, so measuring would be pointless).
async fn warm_up(endpoint: &Endpoint, mix: &PayloadMix, n: u32) -> Result<()> {
    let transports = (0..n.max(1))
        .map(|_| endpoint.connect())
        .collect::<Result<Vec<_>>>()?;
    let body = mix.first();
    let outcomes = join_all(transports.iter().map(|t| t.send(body, true))).await;
    let unreachable = outcomes
        .iter()
        .all(|(o, _)| *o == metrics::Outcome::Connection);
    if unreachable {
        let why = outcomes
            .into_iter()
            .find_map(|(_, e)| e)
            .unwrap_or_default();
        bail!("warm-up failed: the target did not answer ({why})");
    }
    // Let instances that just answered their first request settle before the clock starts.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}
