//! One synchronous invocation on the local stack: pick or start an instance, run, build the log and
//! its REPORT line, return the instance to the pool.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use base64::Engine;

use super::dates;
use super::functions::{FunctionConfig, FunctionKey};
use super::instance::{Ended, Instance, Measured};
use super::logs::LogMsg;
use super::runtime_api::{Outcome, RESPONSE_LIMIT};
use super::state::Shared;

/// What Lambda's Invoke returns.
#[derive(Debug)]
pub(crate) struct Invoked {
    /// The invocation's request id (`x-amzn-RequestId`).
    pub(crate) request_id: String,
    /// The version that ran (`$LATEST`, or the number a version or alias qualifier resolved to), as
    /// `X-Amz-Executed-Version`.
    pub(crate) version: String,
    /// The function's answer (or Lambda's error document).
    pub(crate) body: Bytes,
    /// `Unhandled` when the function failed, as `X-Amz-Function-Error`.
    pub(crate) function_error: Option<String>,
    /// The whole log of the invocation (START .. REPORT).
    pub(crate) log: String,
    /// Time spent in the function (its Duration, plus init on a cold start), in microseconds: what
    /// the gateway reports in `x-lab-function-us` so benchmarks can tell its own overhead apart.
    pub(crate) function_us: u64,
    /// Time the gateway spent answering the function's own AWS calls during the invocation (the
    /// emulator's part of `function_us`), in microseconds: `x-lab-dataplane-us`.
    pub(crate) dataplane_us: u64,
    /// Time the invocation waited for the host's cores before it ran (the CPU budget), in
    /// microseconds: `x-lab-cpu-wait-us`.
    pub(crate) cpu_wait_us: u64,
}

impl Invoked {
    /// Lambda's `LogResult`: the last 4 KB of the log, base64.
    pub(crate) fn log_tail_b64(&self) -> String {
        let bytes = self.log.as_bytes();
        let tail = &bytes[bytes.len().saturating_sub(4096)..];
        base64::engine::general_purpose::STANDARD.encode(tail)
    }
}

/// Why an invocation did not run.
#[derive(Debug)]
pub(crate) enum InvokeError {
    /// No such function in moto.
    NotFound(String),
    /// The account's concurrency is used up.
    Throttled,
    /// The function is not Active (strict mode: Pending, or Inactive and now waking).
    NotReady(super::strict::NotReady),
    /// The function exists but its code never passed this gateway (created before it started).
    NoCode(String),
    /// moto failed.
    Backend(anyhow::Error),
    /// moto is restarting (after it died): a retryable 503.
    Unavailable(String),
}

/// Runs `payload` on the function's `$LATEST`.
pub(crate) async fn invoke(
    gw: &Shared,
    key: &FunctionKey,
    payload: Bytes,
) -> Result<Invoked, InvokeError> {
    invoke_at(gw, key, None, payload).await
}

/// Runs `payload` on the version a qualifier (version number or alias) names, with that version's
/// configuration and code; `None` is `$LATEST`.
pub(crate) async fn invoke_at(
    gw: &Shared,
    key: &FunctionKey,
    qualifier: Option<&str>,
    payload: Bytes,
) -> Result<Invoked, InvokeError> {
    let request_id = uuid::Uuid::new_v4().to_string();
    invoke_as(gw, key, qualifier, payload, request_id).await
}

/// [`invoke_at`] under a given request id (an asynchronous event keeps its id across retries).
pub(crate) async fn invoke_as(
    gw: &Shared,
    key: &FunctionKey,
    qualifier: Option<&str>,
    payload: Bytes,
    request_id: String,
) -> Result<Invoked, InvokeError> {
    let (config, code_dir) = prepare(gw, key, qualifier).await?;
    let Some(mut lease) = gw.pool.acquire(&config) else {
        return Err(InvokeError::Throttled);
    };
    // The host's cores before anything runs (a cold start's init on its two vCPUs too): the wait
    // is outside the REPORT line's figures, as Lambda has none, but inside the caller's latency.
    let cold = lease.instance.is_none();
    let cpu = gw.pool.admit_cpu(config.memory_mb, cold).await;
    let cpu_wait = cpu.as_ref().map(|(_, waited)| *waited).unwrap_or_default();
    let mut instance = match lease.instance.take() {
        Some(i) => i,
        None => match Instance::start(&config, &code_dir, &gw.function_endpoint, &gw.pool.limits)
            .await
        {
            Ok(i) => i,
            Err(e) => return Ok(start_failed(request_id, &config, &e)),
        },
    };
    if let Some((admitted, _)) = &cpu {
        admitted.running_on(instance.pid());
    }
    if cold {
        instance.finish_init(config.timeout_s).await;
        if let Some((admitted, _)) = &cpu {
            admitted.settle();
        }
    }
    // Anything charged before this invocation (a call its previous one left running) is not its.
    instance.calls.take();
    let (ended, mut measured) = instance.invoke(&request_id, payload, &config).await;
    let dataplane_us = instance.calls.take();
    let lines = instance.take_lines().await;
    // Lambda stops an environment that goes past its memory size: the memory cgroup does it mid-call
    // where the machine allows; elsewhere the peak is checked after the call.
    let out_of_memory = instance.out_of_memory()
        || (!instance.memory_enforced() && measured.max_memory_mb > u64::from(config.memory_mb));
    if out_of_memory {
        // The process is gone (no /proc entry to read): it used all it had, as Lambda reports.
        measured.max_memory_mb = measured.max_memory_mb.max(u64::from(config.memory_mb));
        instance.kill();
    }
    let (body, function_error, status_note) = outcome(ended, out_of_memory, &request_id, &config);
    let log = build_log(
        &request_id,
        &config.version,
        &lines,
        &measured,
        config.memory_mb,
        status_note,
    );
    let stream = instance.log_stream.clone();
    if status_note.is_none() {
        gw.pool.release(&config, instance);
    }
    ship_log(gw, &config, stream, &log);
    Ok(Invoked {
        request_id,
        version: config.version.clone(),
        body,
        function_error,
        log,
        function_us: (measured.duration + measured.init.unwrap_or_default()).as_micros() as u64,
        dataplane_us,
        cpu_wait_us: cpu_wait.as_micros() as u64,
    })
}

/// What the invocation runs (configuration and code), or why it cannot run now.
async fn prepare(
    gw: &Shared,
    key: &FunctionKey,
    qualifier: Option<&str>,
) -> Result<(Arc<FunctionConfig>, PathBuf), InvokeError> {
    // Calls in the gap while moto restarts fail at once, and say why, rather than hang.
    if !gw.supervisor.is_up() {
        return Err(InvokeError::Unavailable(format!(
            "lab local: moto (the local AWS) is restarting (restart {}); retry in a moment",
            gw.supervisor.restarts()
        )));
    }
    let shown = || match qualifier {
        Some(q) => format!("{}:{q}", key.1),
        None => key.1.clone(),
    };
    let config = match gw.registry.config_at(&gw.moto, key, qualifier).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(InvokeError::NotFound(shown())),
        Err(e) if !gw.supervisor.is_up() => return Err(InvokeError::Unavailable(format!("{e:#}"))),
        Err(e) => return Err(InvokeError::Backend(e)),
    };
    gw.rules.invoke_gate(&key.0, &key.1).map_err(InvokeError::NotReady)?;
    let code_dir = gw
        .registry
        .code_dir_for(key, &config)
        .ok_or_else(|| InvokeError::NoCode(shown()))?;
    Ok((config, code_dir))
}

/// Sends the invocation's log to CloudWatch Logs, off the invocation's path.
fn ship_log(gw: &Shared, config: &FunctionConfig, stream: String, log: &str) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    gw.logs.send(LogMsg::Lines {
        region: config.region.clone(),
        group: format!("/aws/lambda/{}", config.name),
        stream,
        events: log.lines().map(|l| (now_ms, l.to_string())).collect(),
    });
}

/// An instance that could not start: Lambda's Runtime.InvalidEntrypoint, with the reason.
fn start_failed(request_id: String, config: &FunctionConfig, e: &anyhow::Error) -> Invoked {
    let body = error_doc(
        "Runtime.InvalidEntrypoint",
        &format!("RequestId: {request_id} Error: {e:#}"),
    );
    let log = format!(
        "START RequestId: {request_id} Version: {}\n{e:#}\nEND RequestId: {request_id}\n",
        config.version
    );
    Invoked {
        request_id,
        version: config.version.clone(),
        body,
        function_error: Some("Unhandled".into()),
        log,
        function_us: 0,
        dataplane_us: 0,
        cpu_wait_us: 0,
    }
}

/// The payload, function error and REPORT status of how an invocation ended (the status, when
/// set, also means the instance is not reused).
fn outcome(
    ended: Ended,
    out_of_memory: bool,
    request_id: &str,
    config: &FunctionConfig,
) -> (Bytes, Option<String>, Option<&'static str>) {
    match ended {
        _ if out_of_memory => {
            let message =
                format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed");
            (
                error_doc("Runtime.OutOfMemory", &message),
                Some("Unhandled".into()),
                Some("error\tError Type: Runtime.OutOfMemory"),
            )
        }
        Ended::Done(Outcome::Response(body)) if body.len() > RESPONSE_LIMIT => (
            error_doc(
                "Function.ResponseSizeTooLarge",
                &format!("Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."),
            ),
            Some("Unhandled".into()),
            None,
        ),
        Ended::Done(Outcome::Response(body)) => (body, None, None),
        Ended::Done(Outcome::Error { body, .. }) => (body, Some("Unhandled".to_string()), None),
        Ended::TimedOut => {
            let message = format!(
                "{} {request_id} Task timed out after {}.00 seconds",
                dates::rfc3339_millis(SystemTime::now()),
                config.timeout_s
            );
            (
                error_doc("Sandbox.Timedout", &message),
                Some("Unhandled".into()),
                Some("timeout"),
            )
        }
        Ended::Exited(how) => {
            let message =
                format!("RequestId: {request_id} Error: Runtime exited with error: {how}");
            (
                error_doc("Runtime.ExitError", &message),
                Some("Unhandled".into()),
                Some("error"),
            )
        }
    }
}

/// Lambda's error document: `{"errorType", "errorMessage"}`.
fn error_doc(error_type: &str, message: &str) -> Bytes {
    Bytes::from(serde_json::json!({"errorType": error_type, "errorMessage": message}).to_string())
}

/// Billed duration: rounded up to the millisecond; a custom runtime's init is billed too.
pub(crate) fn billed_ms(m: &Measured) -> u64 {
    let total = m.duration + m.init.unwrap_or_default();
    (total.as_secs_f64() * 1000.0).ceil().max(1.0) as u64
}

/// START (with the version that ran), the function's lines, END and Lambda's REPORT line
/// (tab-separated, as Lambda writes it).
pub(crate) fn build_log(
    request_id: &str,
    version: &str,
    lines: &[String],
    m: &Measured,
    memory_mb: u32,
    status: Option<&str>,
) -> String {
    let mut log = format!("START RequestId: {request_id} Version: {version}\n");
    for line in lines {
        log.push_str(line);
        log.push('\n');
    }
    log.push_str(&format!("END RequestId: {request_id}\n"));
    log.push_str(&format!(
        "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {} MB",
        m.duration.as_secs_f64() * 1000.0,
        billed_ms(m),
        m.max_memory_mb
    ));
    if let Some(init) = m.init {
        log.push_str(&format!(
            "\tInit Duration: {:.2} ms",
            init.as_secs_f64() * 1000.0
        ));
    }
    if let Some(status) = status {
        log.push_str(&format!("\tStatus: {status}"));
    }
    log.push('\n');
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn report_line_has_lambdas_fields() {
        let m = Measured {
            duration: Duration::from_micros(12_345),
            init: Some(Duration::from_micros(40_000)),
            max_memory_mb: 17,
        };
        let log = build_log("abc", "$LATEST", &["hello".into()], &m, 128, None);
        assert!(
            log.starts_with("START RequestId: abc Version: $LATEST\nhello\nEND RequestId: abc\n")
        );
        assert!(log.contains(
            "REPORT RequestId: abc\tDuration: 12.35 ms\tBilled Duration: 53 ms\tMemory Size: 128 MB\tMax Memory Used: 17 MB\tInit Duration: 40.00 ms"
        ));
    }
}
