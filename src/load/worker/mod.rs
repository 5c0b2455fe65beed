//! Distributed generation on Lambda (`--workers N`), as Artillery's `run --platform aws:lambda`
//! scales past one machine: the generator runs in N invocations of a function lab deploys on
//! first use ([`deploy`], from the [`package`] of this workspace's `lab-load-worker`, the
//! `lab-load` crate's bootstrap). Each worker drives its share (`lab_load::worker::serve`): VUs `i, i + N, ...` of the closed model's curve, or every N-th
//! arrival of the open model, all starting their clocks at one agreed instant. Each returns its
//! HDR histograms serialized (`lab_load::worker::wire`); lab merges them into the same tables, JSON and report as a
//! local run. A run longer than a Lambda invocation may last goes in consecutive slices.
//!
//! Workers count against the account's concurrency, which the function under test needs too:
//! the plan is refused when workers plus the VUs cannot fit.

pub(crate) mod deploy;
pub(crate) mod package;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use aws_sdk_lambda::primitives::Blob;
use futures::future::join_all;

use lab_load::metrics::Recorder;
use lab_load::payload::PayloadMix;
use lab_load::runner::{Measured, Model, RunSpec};
use lab_load::timeline::Timeline;
use lab_load::worker::wire::{self, Plan, PlanModel, Report, PLAN_MARKER, PLAN_VERSION};
use lab_load::{StopHandle, Via};

use super::args::LoadArgs;
use crate::aws::AwsErrorExt;
use crate::stack::Stack;

/// Time between sending the plans and the workers' common start: an invocation's round trip and
/// a cold start, with room to spare.
const START_MARGIN: Duration = Duration::from_millis(1500);
/// Extra margin when each worker first warms up its VUs.
const WARM_UP_MARGIN: Duration = Duration::from_secs(3);
/// Longest slice of a run one invocation carries (Lambda's limit is 15 minutes).
const MAX_SLICE: Duration = Duration::from_secs(840);

/// The deployed generator and what every plan shares.
pub(crate) struct Fleet {
    count: u32,
    client: aws_sdk_lambda::Client,
    function: String,
    arch: crate::arch::Arch,
    via: Via,
    url: String,
    target_function: String,
    endpoint_url: Option<String>,
    vus: u32,
    timeout: Duration,
    progress: bool,
}

impl Fleet {
    /// Checks the plan fits the account's concurrency, then deploys (or updates) the generator.
    pub(crate) async fn prepare(
        args: &LoadArgs,
        stack: &Stack,
        url: &str,
        n: u32,
        json: bool,
    ) -> Result<Fleet> {
        let vus = args.max_vus();
        if args.rate.is_none() && n > vus {
            bail!("--workers {n} is more than the {vus} VUs to share among them");
        }
        let limit = concurrency_limit(stack).await?;
        if limit.is_none() && !json {
            eprintln!("warning: lambda:GetAccountSettings was denied, so the account's concurrency limit is unknown: running {n} workers plus up to {vus} executions of the function without checking it (grant lambda:GetAccountSettings, see lab policy --verbs load-workers)");
        }
        if let Some(limit) = limit.filter(|limit| n + vus > *limit) {
            bail!(
                "--workers {n} plus up to {vus} concurrent executions of the function under test need {}, but the account allows {limit}; lower --workers or --vus",
                n + vus
            );
        }
        let local = stack.clients.endpoint_url.is_some();
        if !json {
            eprintln!("Preparing the load generator function ({n} workers)...");
        }
        let (package, arch) = package::worker_package(args.worker_bootstrap.as_deref(), local)?;
        let function = deploy::ensure(stack, &package, args.worker_memory, arch).await?;
        let client = aws_sdk_lambda::Client::from_conf(
            stack
                .clients
                .lambda
                .config()
                .to_builder()
                // A retried worker invocation would run its share of the load twice.
                .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
                // Held open for up to 840 s: without keepalive a NAT drops the idle flow.
                .http_client(crate::aws::keepalive_https_client()?)
                .build(),
        );
        Ok(Fleet {
            count: n,
            client,
            function,
            arch,
            via: args.via,
            url: url.to_string(),
            target_function: stack.names.function.clone(),
            endpoint_url: stack.clients.endpoint_url.clone(),
            vus,
            timeout: args.timeout,
            progress: !json,
        })
    }

    /// Invocations per run.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// Runs `spec` on the workers, slice by slice, and merges what they measured.
    pub(crate) async fn measure(
        &self,
        spec: &RunSpec,
        mix: &Arc<PayloadMix>,
        stop: &StopHandle,
    ) -> Result<Measured> {
        let slots = (spec.duration + spec.timeout).as_secs() as usize + 2;
        let timeline = Arc::new(Timeline::new(Instant::now(), slots));
        let mut recorder = Recorder::new();
        let (mut dropped, mut elapsed, mut late) = (0, Duration::ZERO, Duration::ZERO);
        let mut sent = vec![0u64; self.count as usize];
        let mut stop_rx = stop.subscribe();
        let slice = MAX_SLICE.saturating_sub(self.timeout).max(Duration::from_secs(60));
        let mut offset = Duration::ZERO;
        let mut started_epoch_ms = None;
        while offset < spec.duration {
            let length = slice.min(spec.duration - offset);
            let margin = START_MARGIN
                + if spec.warm_up && offset.is_zero() {
                    WARM_UP_MARGIN
                } else {
                    Duration::ZERO
                };
            let start_at = unix_ms() + margin.as_millis() as u64;
            started_epoch_ms.get_or_insert(start_at as f64);
            let plans: Vec<Plan> = (0..self.count)
                .map(|i| self.plan(spec, mix, i, offset, length, start_at, sent[i as usize]))
                .collect();
            let bar = self.progress.then(|| progress(&spec.label, self.count, length + margin));
            let reports = tokio::select! {
                r = join_all(plans.iter().map(|p| self.invoke(p))) => r,
                () = stop_rx.stopped() => break,
            };
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let mut slice_elapsed = Duration::ZERO;
            for (i, report) in reports.into_iter().enumerate() {
                let report = report.with_context(|| format!("load worker {i}"))?;
                let part = report.recorder.to_recorder()?;
                sent[i] += part.all_latency().len();
                recorder.merge(&part);
                wire::absorb(&timeline, &report.seconds, offset.as_secs() as u32)?;
                dropped += report.dropped;
                slice_elapsed = slice_elapsed.max(Duration::from_secs_f64(report.elapsed_s));
                late = late.max(Duration::from_secs_f64(report.late_ms / 1000.0));
            }
            elapsed = offset + slice_elapsed;
            offset += length;
        }
        Ok(Measured {
            recorder,
            timeline,
            dropped,
            elapsed,
            interrupted: stop_rx.is_stopped(),
            late,
            requests: Vec::new(),
            started_epoch_ms: started_epoch_ms.unwrap_or_else(|| unix_ms() as f64),
            // The workers' own threads ran in Lambda, on cores of their own.
            generator_cpu: None,
        })
    }

    /// The generator function's name (its log holds what the workers were billed).
    pub(crate) fn function(&self) -> &str {
        &self.function
    }

    /// The generator function's instruction set (its price).
    pub(crate) fn arch(&self) -> crate::arch::Arch {
        self.arch
    }

    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        spec: &RunSpec,
        mix: &PayloadMix,
        i: u32,
        offset: Duration,
        length: Duration,
        start_at: u64,
        sent: u64,
    ) -> Plan {
        let share = |total: u64| {
            total / u64::from(self.count) + u64::from(u64::from(i) < total % u64::from(self.count))
        };
        Plan {
            version: PLAN_VERSION,
            via: self.via,
            url: self.url.clone(),
            function: (self.via == Via::Lambda).then(|| self.target_function.clone()),
            endpoint_url: self.endpoint_url.clone(),
            model: match &spec.model {
                Model::Closed(shape) => PlanModel::Closed {
                    shape: (**shape).clone(),
                },
                Model::Open(a) => PlanModel::Open {
                    rate: a.rate,
                    group_us: a.group.map(|g| g.as_micros() as u64),
                },
            },
            index: i,
            count: self.count,
            vus: match &spec.model {
                Model::Closed(_) => self.vus,
                // Open model: each worker's in-flight cap is its share of --vus.
                Model::Open(_) => self.vus.div_ceil(self.count) * self.count,
            },
            duration_s: length.as_secs_f64(),
            offset_s: offset.as_secs_f64(),
            window: spec.window,
            timeout_s: self.timeout.as_secs_f64(),
            max_requests: spec.max_requests.map(|m| share(m).saturating_sub(sent)),
            payloads: mix.described.clone(),
            warm_up: spec.warm_up && offset.is_zero(),
            start_at_unix_ms: start_at,
        }
    }

    async fn invoke(&self, plan: &Plan) -> Result<Report> {
        let event = serde_json::json!({ PLAN_MARKER: plan });
        let out = self
            .client
            .invoke()
            .function_name(&self.function)
            .payload(Blob::new(serde_json::to_vec(&event)?))
            .send()
            .await
            .map_err(crate::aws::ctx("lambda:Invoke (load worker)"))?;
        let body = out.payload().map(|p| p.as_ref()).unwrap_or_default();
        if let Some(kind) = out.function_error() {
            bail!(
                "the worker failed ({kind}): {}",
                String::from_utf8_lossy(body)
            );
        }
        serde_json::from_slice(body).context("the worker's report does not parse")
    }
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn progress(label: &str, count: u32, length: Duration) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(length.as_millis() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:24}] {elapsed} / {msg}")
            .expect("valid progress template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{label}: {count} Lambda workers"));
    bar.set_message(crate::report::format::seconds(length.as_secs_f64()));
    bar.enable_steady_tick(Duration::from_millis(250));
    let ticker = bar.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        while !ticker.is_finished() {
            ticker.set_position(started.elapsed().as_millis() as u64);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    bar
}

/// The concurrency available to this account's functions: GetAccountSettings' unreserved
/// concurrency (the local gateway answers it with its limit; an older gateway that passed the call
/// to moto, which has no such call, says its limit in `/_lab/status`). `None` when the call is
/// denied: not being allowed to read the limit only means the run goes unchecked, as `tune` does.
async fn concurrency_limit(stack: &Stack) -> Result<Option<u32>> {
    match stack.clients.lambda.get_account_settings().send().await {
        Ok(out) => {
            let limit =
                out.account_limit().context("GetAccountSettings returned no AccountLimit")?;
            let n = limit
                .unreserved_concurrent_executions()
                .unwrap_or(limit.concurrent_executions());
            Ok(Some(n.max(0) as u32))
        }
        Err(e) if e.code().is_some_and(|c| c.contains("AccessDenied")) => Ok(None),
        Err(e) => {
            let Some(endpoint) = &stack.clients.endpoint_url else {
                return Err(crate::aws::explain("lambda:GetAccountSettings", e));
            };
            let status: serde_json::Value = reqwest::Client::builder()
                .no_proxy()
                .build()?
                .get(format!("{}/_lab/status", endpoint.trim_end_matches('/')))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .context("reading the local stack's concurrency limit")?
                .json()
                .await?;
            let n = status["concurrency_limit"].as_u64();
            Ok(Some(
                n.context("the local stack's status has no concurrency_limit")? as u32,
            ))
        }
    }
}
