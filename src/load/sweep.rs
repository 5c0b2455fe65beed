//! The runs of one load test: one run, or the tutorial's comparison (one run per `--memory` size,
//! the memory restored afterwards whatever happened), each on this process or on Lambda workers.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use lab_load::client::Endpoint;
use lab_load::payload::PayloadMix;
use lab_load::runner::{self, Measured, Model, RunSpec, VuSet};
use lab_load::StopHandle;

use super::args::LoadArgs;
use super::join::LambdaJoin;
use super::monitor::Terminal;
use super::printer;
use super::result::{LoadResult, RunResult};
use super::worker;
use crate::control::FunctionControl;

/// Bins in the reported latency histogram.
const HISTOGRAM_BINS: usize = 12;

/// Where the load comes from: this process, or Lambda workers.
pub(crate) enum Generator {
    /// An endpoint for every VU of this process.
    Local(Endpoint),
    /// The generator function, invoked once per worker.
    Workers(Box<worker::Fleet>),
}

/// What every run of one test shares.
pub(crate) struct Test<'a> {
    /// The options.
    pub(crate) args: &'a LoadArgs,
    /// Where the load comes from.
    pub(crate) generator: Generator,
    /// What is sent.
    pub(crate) mix: Arc<PayloadMix>,
    /// Closed (a shape) or open (a rate).
    pub(crate) model: Model,
    /// Most VUs (closed) or requests in flight (open).
    pub(crate) vus: u32,
    /// The planned length of each run.
    pub(crate) duration: Duration,
    /// Start of the measured window, seconds since the start (the end of the ramp-up, or 0).
    pub(crate) window_from: f64,
    /// JSON on stdout: no live view, no tables.
    pub(crate) json: bool,
    /// Ctrl-C (or a test) stops the run in progress.
    pub(crate) stop: &'a StopHandle,
    /// Joins each run with the function's REPORT lines (the stack's function, or `--function`).
    pub(crate) lambda: Option<&'a LambdaJoin>,
}

impl Test<'_> {
    /// The run labelled `label`, at `memory_mb` when the memory was set for it (then every VU
    /// warms up first).
    fn spec(&self, label: String, memory_mb: Option<u32>) -> RunSpec {
        RunSpec {
            model: self.model.clone(),
            vus: VuSet::all(self.vus),
            duration: self.duration,
            offset: Duration::ZERO,
            window: (self.window_from, self.duration.as_secs_f64()),
            timeout: self.args.timeout,
            max_requests: self.args.max_requests,
            label,
            memory_mb,
            warm_up: memory_mb.is_some(),
            start_at: None,
            // Only this process keeps each request's record: the workers send back histograms.
            keep_requests: self.lambda.is_some() && matches!(self.generator, Generator::Local(_)),
        }
    }

    /// One run on the generator, with the thresholds checked against its merged recorder; its
    /// report printed unless the output is JSON.
    pub(crate) async fn measure(&self, label: String, memory_mb: Option<u32>) -> Result<RunResult> {
        let spec = self.spec(label, memory_mb);
        let cpu_before = crate::local_cpu::snapshot().await;
        let mut emulator = None;
        let measured = match &self.generator {
            Generator::Local(endpoint) => {
                let view = Terminal {
                    visible: !self.json,
                };
                endpoint.take_emulator_share();
                let measured =
                    runner::measure(&spec, endpoint, self.mix.clone(), self.stop, &view).await?;
                emulator = endpoint.take_emulator_share();
                measured
            }
            Generator::Workers(fleet) => fleet.measure(&spec, &self.mix, self.stop).await?,
        };
        let mut run = finish(&spec, &measured);
        run.host_cpu = crate::local_cpu::since(&cpu_before).await;
        run.emulator = emulator;
        if let Some(join) = &self.lambda {
            let workers = match &self.generator {
                Generator::Workers(fleet) => Some(fleet.as_ref()),
                Generator::Local(_) => None,
            };
            match join.figures(&measured, workers).await {
                Ok(figures) => run.lambda = Some(figures),
                Err(e) => run.lambda_missing = Some(format!("{e:#}")),
            }
        }
        run.thresholds = self
            .args
            .thresholds
            .iter()
            .map(|t| t.check(&measured.recorder, &run.summary))
            .collect();
        if !self.json {
            println!("{}", printer::run_report(&run, self.args.verbose));
        }
        Ok(run)
    }

    /// The tutorial's comparison: set each memory size, warm up every VU, measure; restore the
    /// original memory whatever happened.
    pub(crate) async fn sweep(
        &self,
        control: &dyn FunctionControl,
        sizes: &[u32],
        result: &mut LoadResult,
    ) -> Result<()> {
        let original = control.memory().await.context("reading the function's memory size")?;
        result.original_memory_mb = Some(original);
        let outcome = async {
            for &mb in sizes {
                if self.stop.subscribe().is_stopped() {
                    break;
                }
                control
                    .set_memory(mb)
                    .await
                    .with_context(|| format!("setting the memory to {mb} MB"))?;
                result.runs.push(self.measure(format!("{mb} MB"), Some(mb)).await?);
            }
            anyhow::Ok(())
        }
        .await;
        let restored = control.set_memory(original).await;
        match (outcome, restored) {
            (Ok(()), Ok(())) => {
                result.restored_memory_mb = Some(original);
                Ok(())
            }
            (Err(e), Ok(())) => Err(e.context(format!(
                "load test failed; memory restored to {original} MB"
            ))),
            (Ok(()), Err(e)) => {
                Err(e.context(format!("restoring the memory to {original} MB failed")))
            }
            (Err(e), Err(r)) => Err(e.context(format!(
                "load test failed, and restoring the memory to {original} MB failed too: {r:#}"
            ))),
        }
    }
}

/// The run's result: summary over the measured window, errors by kind, histogram, series.
fn finish(spec: &RunSpec, m: &Measured) -> RunResult {
    // The window ends at the planned end, or earlier where the run stopped (Ctrl-C, max requests).
    let ended = spec.offset.as_secs_f64() + m.elapsed.as_secs_f64();
    let window = (spec.window.0, spec.window.1.min(ended));
    RunResult {
        memory_mb: spec.memory_mb,
        label: spec.label.clone(),
        summary: m.recorder.summary(m.elapsed, window, m.dropped),
        errors: m.recorder.errors(),
        histogram: m.recorder.histogram(HISTOGRAM_BINS),
        latency_hdr: lab_load::histogram::encode(m.recorder.all_latency()),
        series: m.timeline.series(m.elapsed),
        interrupted: m.interrupted,
        verdict: None,
        thresholds: Vec::new(),
        host_cpu: None,
        generator_cpu: m.generator_cpu.clone(),
        emulator: None,
        lambda: None,
        lambda_missing: None,
    }
}
