//! The generator function's side: a Lambda custom runtime (`provided.al2023`) that takes one
//! [`Plan`] per invocation, runs it with the same runner as `lab load` in a terminal, and answers
//! with the [`Report`]. Any other event is refused: the function only ever runs lab's plans.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::super::client::Endpoint;
use super::super::invoke::SdkInvoker;
use super::super::payload::PayloadMix;
use super::super::runner::{self, Model, RunSpec, VuSet};
use super::super::vu::{stop_signal, Arrivals};
use super::wire::{seconds_of, Plan, PlanModel, RecorderWire, Report, PLAN_MARKER, PLAN_VERSION};
use crate::Via;

/// Serves invocations from the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`) until the process is
/// stopped: the `lab-load-worker` bootstrap's whole life.
pub async fn serve() -> Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").context(
        "AWS_LAMBDA_RUNTIME_API is not set: lab-load-worker runs only as a Lambda bootstrap",
    )?;
    let base = format!("http://{api}/2018-06-01/runtime/invocation");
    // No timeout: `next` is a long poll that returns when an invocation arrives.
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("building the Runtime API client")?;
    loop {
        let next = client
            .get(format!("{base}/next"))
            .send()
            .await
            .context("Runtime API: next invocation")?;
        let id = next
            .headers()
            .get("lambda-runtime-aws-request-id")
            .and_then(|v| v.to_str().ok())
            .context("Runtime API: no request id")?
            .to_string();
        let event = next.bytes().await.context("Runtime API: reading the event")?;
        let answer = match handle(&event).await {
            Ok(report) => {
                client
                    .post(format!("{base}/{id}/response"))
                    .body(serde_json::to_vec(&report)?)
                    .send()
                    .await
            }
            Err(e) => {
                let error = serde_json::json!({
                    "errorType": "LoadWorker.Failed",
                    "errorMessage": format!("{e:#}"),
                });
                client
                    .post(format!("{base}/{id}/error"))
                    .header("Lambda-Runtime-Function-Error-Type", "LoadWorker.Failed")
                    .body(error.to_string())
                    .send()
                    .await
            }
        };
        answer.context("Runtime API: posting the answer")?;
    }
}

/// Runs one event: a plan wrapped as `{"lab_load_worker": PLAN}`, nothing else.
async fn handle(event: &[u8]) -> Result<Report> {
    let mut value: Value = serde_json::from_slice(event).context("the event is not JSON")?;
    let Some(plan) = value.get_mut(PLAN_MARKER).map(Value::take) else {
        bail!("not a lab load plan: this function only runs `lab load --workers`");
    };
    let plan: Plan = serde_json::from_value(plan).context("the plan does not parse")?;
    if plan.version != PLAN_VERSION {
        bail!(
            "plan version {} but this worker speaks {PLAN_VERSION}: run lab load again to update the worker",
            plan.version
        );
    }
    run_plan(&plan).await
}

/// Runs a plan with the local runner and packs what it measured.
async fn run_plan(plan: &Plan) -> Result<Report> {
    let timeout = Duration::from_secs_f64(plan.timeout_s);
    let vus = VuSet {
        first: plan.index,
        step: plan.count,
        total: plan.vus,
    };
    let endpoint = match plan.via {
        Via::Http => Endpoint::http(&plan.url, timeout, vus.ids().count() as u32)?,
        Via::Lambda => {
            let function =
                plan.function.as_deref().context("--via lambda plan without a function")?;
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(https_client());
            if let Some(url) = &plan.endpoint_url {
                loader = loader.endpoint_url(url);
            }
            let client = aws_sdk_lambda::Client::new(&loader.load().await);
            Endpoint::Lambda {
                invoker: Arc::new(SdkInvoker::new(&client, function)),
                timeout,
            }
        }
    };
    let model = match &plan.model {
        PlanModel::Closed { shape } => Model::Closed(Arc::new(shape.clone())),
        PlanModel::Open { rate, group_us } => Model::Open(Arrivals {
            rate: *rate,
            index: plan.index,
            count: plan.count,
            group: group_us.map(Duration::from_micros),
        }),
    };
    let spec = RunSpec {
        model,
        vus,
        duration: Duration::from_secs_f64(plan.duration_s),
        offset: Duration::from_secs_f64(plan.offset_s),
        window: plan.window,
        timeout,
        max_requests: plan.max_requests,
        label: format!("worker {}", plan.index),
        memory_mb: None,
        warm_up: plan.warm_up,
        start_at: Some(instant_of(plan.start_at_unix_ms)),
        // A worker sends back histograms, not requests: lab joins its run with Lambda's figures
        // from the function's log as a whole.
        keep_requests: false,
    };
    let mix = Arc::new(PayloadMix::from_spec(
        &crate::payload::spec::PayloadSpec::Weighted(plan.payloads.clone()),
    ));
    // Nothing stops a worker early: its slice is bounded, and lab waits for every report.
    let (stop, _) = stop_signal();
    let measured = runner::measure(&spec, &endpoint, mix, &stop, &runner::NoView).await?;
    Ok(Report {
        recorder: RecorderWire::from_recorder(&measured.recorder),
        seconds: seconds_of(&measured.timeline),
        dropped: measured.dropped,
        elapsed_s: measured.elapsed.as_secs_f64(),
        late_ms: measured.late.as_secs_f64() * 1000.0,
    })
}

/// The SDK's HTTPS client with rustls on ring, as the handler's and lab's (the SDK's default,
/// aws-lc, is a C build of most of a minute). Written here rather than taken from the handler's
/// crate, which would bring the DynamoDB SDK into the worker.
fn https_client() -> aws_sdk_lambda::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The monotonic instant of a wall-clock time (past or future).
fn instant_of(unix_ms: u64) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let now = Instant::now();
    if unix_ms >= now_ms {
        now + Duration::from_millis(unix_ms - now_ms)
    } else {
        now.checked_sub(Duration::from_millis(now_ms - unix_ms)).unwrap_or(now)
    }
}
