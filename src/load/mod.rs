//! Load testing (ARCHITECTURE.md §1, `load/`), after Postman's collection runner, k6, oha and wrk2:
//! the command's side. The generator (sending, VUs, clocks, histograms, one run, the Lambda
//! worker's serve loop) is the `lab-load` crate; this module turns the flags into its runs and
//! shows what they measured.
//!
//! Layout: [`args`] options, [`payload`] `--payload` into the generator's mix, [`invoke`] a
//! function control as the generator's invoker, [`worker`] the same run spread over Lambda
//! invocations (deploying the generator function), [`sweep`] a test's runs (one, or one per
//! memory size), [`threshold`] pass/fail criteria, [`baseline`] the comparison with an earlier test, [`export`] `--out` (CSV, k6's summary, OpenMetrics), [`monitor`] the live line, [`printer`] the
//! final tables, [`html`] the HTML report, [`result`] what was measured.

pub(crate) mod args;
pub mod baseline;
pub(crate) mod export;
pub(crate) mod function_log;
pub(crate) mod html;
pub(crate) mod invoke;
pub(crate) mod join;
pub(crate) mod lambda_figures;
pub(crate) mod monitor;
pub(crate) mod payload;
pub(crate) mod printer;
pub(crate) mod result;
pub(crate) mod sweep;
pub mod threshold;
pub(crate) mod worker;

use std::sync::Arc;

use anyhow::{bail, Context, Result};

pub use args::LoadArgs;
pub use lab_load::profile::Profile;
pub use lab_load::{stop_signal, StopHandle, Via};
pub use result::{LoadResult, RunResult};

use invoke::ControlInvoker;
use lab_load::client::Endpoint;
use lab_load::invoke::{Invoker, SdkInvoker};
use lab_load::runner::Model;
use lab_load::Arrivals;
use sweep::{Generator, Test};

use crate::control::FunctionControl;
use crate::stack::Stack;

/// What a load test is aimed at.
pub(crate) struct Target<'a> {
    /// The stage URL (or `--url`).
    pub(crate) url: String,
    /// The function, for `--memory` (and `--via lambda` without `invoker`).
    pub(crate) control: Option<Arc<dyn FunctionControl>>,
    /// Lambda Invoke without retries, for `--via lambda`.
    pub(crate) invoker: Option<Arc<dyn Invoker>>,
    /// The stack, for `--workers` (which deploys and invokes the generator function).
    pub(crate) stack: Option<&'a Stack>,
    /// Fills the `tableName` of operation shortcuts.
    pub(crate) table: String,
    /// Joins the runs with the function's REPORT lines (a target lab knows the function of).
    pub(crate) lambda: Option<join::LambdaJoin>,
}

impl Target<'_> {
    /// `url`, or `function` invoked through [`FunctionControl::invoke`] (no stack, no workers).
    pub(crate) fn function(
        url: String,
        function: Option<Arc<dyn FunctionControl>>,
        table: &str,
    ) -> Self {
        Target {
            url,
            invoker: function.clone().map(|c| Arc::new(ControlInvoker(c)) as Arc<dyn Invoker>),
            control: function,
            stack: None,
            table: table.to_string(),
            lambda: None,
        }
    }
}

/// Runs `lab load` against `url` (or `target` with `--via lambda`), prints the results (or, with
/// `json`, the [`LoadResult`] as JSON on stdout), writes `--report` when asked, and returns them.
/// Ctrl-C stops the test in progress; the results measured so far are printed and returned with
/// `interrupted` set. See [`run_target`].
pub async fn run(
    args: &LoadArgs,
    url: String,
    target: Option<Arc<dyn FunctionControl>>,
    table: &str,
    json: bool,
) -> Result<LoadResult> {
    let t = Target::function(url, target, table);
    with_ctrl_c(args, &t, json).await
}

/// [`run`] on a stack: `--via lambda` invokes `function` (the stack's, or one `--function` named)
/// with the SDK's retries off, and `--workers` can deploy and invoke the generator function.
pub(crate) async fn run_on_stack(
    args: &LoadArgs,
    url: String,
    stack: &Stack,
    function: &str,
    json: bool,
) -> Result<LoadResult> {
    let lambda = &stack.clients.lambda;
    let control = Arc::new(crate::control::lambda::LambdaTarget::new(
        lambda.clone(),
        function,
    ));
    // Its instruction set prices its invocations; the stack's own when it cannot be read.
    let arch = control.architecture().await.unwrap_or(stack.settings.arch);
    let t = Target {
        url,
        control: Some(control),
        invoker: Some(Arc::new(SdkInvoker::new(lambda, function).with_log_tail())),
        stack: Some(stack),
        table: stack.names.table.clone(),
        lambda: Some(join::LambdaJoin::new(
            stack.clients.logs.clone(),
            function,
            stack.region(),
            arch,
            args.via,
        )),
    };
    with_ctrl_c(args, &t, json).await
}

/// Runs the test with Ctrl-C wired to its stop signal.
async fn with_ctrl_c(args: &LoadArgs, t: &Target<'_>, json: bool) -> Result<LoadResult> {
    let (stop, _) = stop_signal();
    let stop = Arc::new(stop);
    let listener = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.stop();
            }
        })
    };
    let result = run_target(args, t, json, &stop).await;
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
    let t = Target::function(url, target, table);
    run_target(args, &t, json, stop).await
}

/// Runs the test (once, or once per `--memory` size with the memory restored afterwards, also
/// after an error or Ctrl-C), prints and returns the results.
pub(crate) async fn run_target(
    args: &LoadArgs,
    t: &Target<'_>,
    json: bool,
    stop: &StopHandle,
) -> Result<LoadResult> {
    // Read and checked before the first request: a bad baseline must not cost a test.
    let baseline = match &args.baseline {
        Some(path) => Some(baseline::Baseline::read(path, args.memory.as_deref())?),
        None => None,
    };
    export::check(&args.outs)?;
    let mix = Arc::new(payload::parse(args.payload.as_deref(), &t.table)?);
    let shape = args.shape().map_err(anyhow::Error::msg)?;
    let (vus, duration) = (args.max_vus(), args.planned_duration());
    let target_name = target_name(args, t)?;
    let test = Test {
        args,
        generator: generator(args, t, vus, json).await?,
        model: match &shape {
            Some(s) => Model::Closed(Arc::new(s.clone())),
            None => Model::Open(Arrivals {
                rate: args.rate.unwrap_or(1.0),
                index: 0,
                count: 1,
                group: args.arrival_group,
            }),
        },
        window_from: shape.as_ref().map_or(0.0, |s| s.window_start().as_secs_f64()),
        mix,
        vus,
        duration,
        json,
        stop,
        lambda: t.lambda.as_ref(),
    };
    let mut result = result::header(args, &target_name, &test.mix, shape.as_ref(), vus, duration);
    if !json {
        let intro = intro(&target_name, shape.as_ref(), args, &test.generator);
        match result::grouping(&result) {
            Some(grouping) => eprintln!("{intro}; {grouping}"),
            None => eprintln!("{intro}"),
        }
    }
    match &args.memory {
        None => result.runs.push(test.measure("Results".into(), None).await?),
        Some(sizes) => {
            let Some(control) = &t.control else {
                bail!("--memory needs the function; none was given")
            };
            test.sweep(control.as_ref(), sizes, &mut result).await?;
        }
    }
    result.interrupted = stop.subscribe().is_stopped();
    if let Some(join) = &t.lambda {
        result.build_note = crate::local_cpu::unoptimised_build(&join.function).await;
    }
    result::judge(&mut result.runs);
    if !args.thresholds.is_empty() {
        result.thresholds_passed =
            Some(result.runs.iter().all(|r| r.thresholds.iter().all(|c| c.passed)));
    }
    if let Some(b) = &baseline {
        let limit = args.regression.unwrap_or(baseline::DEFAULT_REGRESSION);
        let recorded: Vec<baseline::Recorded<'_>> = result
            .runs
            .iter()
            .map(|r| baseline::Recorded {
                memory_mb: r.memory_mb,
                label: &r.label,
                latency_hdr: &r.latency_hdr,
                seconds: r.series.iter().filter_map(|p| p.latency_hdr.as_deref()).collect(),
            })
            .collect();
        let report = b.compare(&recorded, limit)?;
        result.baseline = Some(report);
    }
    publish(args, &result, json)?;
    Ok(result)
}

/// The target as reported: the URL, or `lambda:` and the function's name.
fn target_name(args: &LoadArgs, t: &Target<'_>) -> Result<String> {
    Ok(match args.via {
        Via::Http => t.url.clone(),
        Via::Lambda => match &t.invoker {
            Some(i) => format!("lambda:{}", i.name()),
            None => bail!("--via lambda needs the function; none was given"),
        },
    })
}

/// This process (an endpoint for every VU) or the Lambda workers (deployed first if need be).
async fn generator(args: &LoadArgs, t: &Target<'_>, vus: u32, json: bool) -> Result<Generator> {
    Ok(match (args.workers, args.via, &t.invoker) {
        (Some(n), _, _) => {
            let Some(stack) = t.stack else {
                bail!("--workers needs the stack (the generator runs in its account); --url alone has none")
            };
            let fleet = worker::Fleet::prepare(args, stack, &t.url, n, json).await?;
            Generator::Workers(Box::new(fleet))
        }
        (None, Via::Http, _) => Generator::Local(Endpoint::http(&t.url, args.timeout, vus)?),
        (None, Via::Lambda, Some(invoker)) => Generator::Local(Endpoint::Lambda {
            invoker: invoker.clone(),
            timeout: args.timeout,
        }),
        (None, Via::Lambda, None) => bail!("--via lambda needs the function; none was given"),
    })
}

/// The line that opens a test: target, load shape, length, generator.
fn intro(
    target: &str,
    shape: Option<&lab_load::profile::Shape>,
    args: &LoadArgs,
    generator: &Generator,
) -> String {
    let load = match shape {
        Some(s) => result::describe(s),
        None => format!(
            "{} requests/s, at most {} in flight",
            args.rate.unwrap_or_default(),
            args.vus
        ),
    };
    let length = crate::report::format::seconds(args.planned_duration().as_secs_f64());
    let by = match generator {
        Generator::Local(_) => String::new(),
        Generator::Workers(f) => format!(", from {} Lambda workers", f.count()),
    };
    format!("Load test of {target}: {load}, {length}{by}")
}

/// Prints the comparison, footer or JSON, and writes `--report`.
fn publish(args: &LoadArgs, result: &LoadResult, json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(result).context("serialising the load test result")?
        );
    } else {
        if result.runs.len() > 1 {
            print!("{}", printer::comparison(result));
        }
        print!("{}", printer::footer(result));
        if let Some(b) = &result.baseline {
            print!("{}", baseline::lines(b));
        }
    }
    export::write(&args.outs, result)?;
    if let Some(path) = &args.report {
        html::render(result).write(path)?;
        if !json {
            println!("Report written to {}", path.display());
        }
    }
    Ok(())
}
