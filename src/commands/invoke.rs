//! `lab invoke`: one Lambda Invoke, as `aws lambda invoke` makes it (no API Gateway in between), with
//! the log tail and the REPORT line's figures on demand.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::LogType;
use base64::Engine;
use serde::Serialize;
use serde_json::Value;

use crate::call::transport::RetryOnlyThrottling;
use crate::call::Via;
use crate::cli::{CallArgs, CallOp, Global, InvocationType, InvokeArgs};
use crate::exit::Exit;
use crate::output::Output;
use crate::session::open_stack;
use crate::stack::Stack;
use crate::tune::report_line::{self, ReportLine};

/// The function's own failure: its `errorType` and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FunctionFailure {
    /// The error type the function reported (`errorType`).
    pub(crate) error_type: String,
    /// The error message the function reported (`errorMessage`).
    pub(crate) error_message: String,
}

impl FunctionFailure {
    /// `Type: message` on one line, without repeating a type the handler already put in front of its
    /// message (this handler's messages start with their type, so API Gateway can select on it).
    pub(crate) fn line(&self) -> String {
        let message = self.error_message.replace(['\r', '\n'], " ");
        if message.starts_with(&format!("{}:", self.error_type)) {
            message
        } else {
            format!("{}: {message}", self.error_type)
        }
    }
}

/// Everything one invocation returned: what `-o json` prints.
#[derive(Debug, Serialize)]
pub(crate) struct Outcome {
    /// The function as it was asked for (name, ARN, with any qualifier).
    pub(crate) function: String,
    /// RequestResponse, Event or DryRun.
    pub(crate) invocation_type: &'static str,
    /// Lambda's status: 200 (RequestResponse), 202 (Event), 204 (DryRun).
    pub(crate) status_code: i32,
    /// The version that ran (`$LATEST` or a number), as Lambda reports it.
    pub(crate) executed_version: Option<String>,
    /// `X-Amz-Function-Error` (`Unhandled`, `Handled`) when the function failed.
    pub(crate) function_error: Option<String>,
    /// The failure's type and message, read from the error payload.
    pub(crate) error: Option<FunctionFailure>,
    /// The response payload: parsed when it is JSON, a string when it is not, null when empty.
    pub(crate) payload: Value,
    /// The decoded log tail (the last 4 KB), for synchronous invocations.
    pub(crate) log: Option<String>,
    /// The figures of the tail's REPORT line.
    pub(crate) report: Option<ReportLine>,
    /// The payload as received, so text output can print a non-JSON payload verbatim.
    #[serde(skip)]
    raw: Vec<u8>,
    #[serde(skip)]
    payload_is_json: bool,
    #[serde(skip)]
    latency: Duration,
}

impl Outcome {
    fn new(function: &str, kind: InvocationType, out: &InvokeOutput, latency: Duration) -> Self {
        let raw = out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
        let parsed = serde_json::from_slice::<Value>(&raw).ok();
        let payload_is_json = parsed.is_some();
        let payload = match parsed {
            Some(value) => value,
            None if raw.is_empty() => Value::Null,
            None => Value::String(String::from_utf8_lossy(&raw).into_owned()),
        };
        let log = out
            .log_result()
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        let function_error = out.function_error().map(str::to_string);
        Self {
            function: function.to_string(),
            invocation_type: kind.as_str(),
            status_code: out.status_code(),
            executed_version: out.executed_version().map(str::to_string),
            error: function_error.as_deref().map(|header| failure(header, &payload)),
            function_error,
            report: log.as_deref().and_then(report_line::parse),
            log,
            payload,
            raw,
            payload_is_json,
            latency,
        }
    }
}

/// Reads the error document; a runtime that wrote no `errorType` (a timeout, a crash) is named by the
/// `X-Amz-Function-Error` header instead, so the line always starts with a type.
fn failure(header: &str, payload: &Value) -> FunctionFailure {
    let error_type = payload["errorType"].as_str().unwrap_or(header).to_string();
    let error_message = match (&payload["errorMessage"], payload) {
        (Value::String(m), _) => m.clone(),
        (_, Value::String(text)) => text.clone(),
        (_, other) => other.to_string(),
    };
    FunctionFailure {
        error_type,
        error_message,
    }
}

/// Builds the event: one of `call`'s operations (through `call`'s own builder, so both commands send
/// the same events), inline JSON, or `--event FILE|-`.
pub(crate) fn build_event(stack: &Stack, args: &mut InvokeArgs) -> anyhow::Result<Value> {
    let ways = [
        args.op.is_some(),
        args.inline.is_some(),
        args.event.is_some(),
    ];
    match ways.iter().filter(|given| **given).count() {
        0 => bail!(
            "say what to invoke: lab invoke create|read|update|delete|list|echo|ping, an inline JSON event, or --event FILE|-"
        ),
        1 => {}
        _ => bail!("give the event one way: an operation, inline JSON, or --event, not two"),
    }
    if let Some(text) = &args.inline {
        return serde_json::from_str(text).context("the inline event is not JSON");
    }
    if matches!(args.op, Some(CallOp::List { all: true, .. })) {
        bail!("list --all sends one call per page: use lab call list --all (lab invoke sends one event)");
    }
    let call = CallArgs {
        op: args.op.take(),
        event: args.event.clone(),
        via: Via::Lambda,
        url: None,
    };
    super::call::build_event(stack, &call)
}

/// Makes the one Invoke call. The log tail is asked for only where Lambda returns one.
async fn send(
    client: &aws_sdk_lambda::Client,
    function: &str,
    event: &Value,
    kind: InvocationType,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let mut call = client
        .invoke()
        .function_name(function)
        .invocation_type(kind.as_str().into())
        .payload(Blob::new(event.to_string()));
    if kind == InvocationType::RequestResponse {
        call = call.log_type(LogType::Tail);
    }
    let out = call
        .customize()
        .config_override(
            aws_sdk_lambda::config::Builder::default().retry_classifier(RetryOnlyThrottling),
        )
        .send()
        .await
        .map_err(crate::aws::ctx("lambda:Invoke"))?;
    Ok(Outcome::new(function, kind, &out, started.elapsed()))
}

/// The REPORT line's figures, one per line, aligned: what `--log` prints under the log.
pub(crate) fn report_lines(report: &ReportLine) -> Vec<String> {
    let mut lines = vec![
        format!("{:<16} {:.2} ms", "duration", report.duration_ms),
        format!("{:<16} {} ms", "billed duration", report.billed_ms),
    ];
    if let Some(size) = report.memory_size_mb {
        lines.push(format!("{:<16} {size} MB", "memory size"));
    }
    if let Some(used) = report.max_memory_used_mb {
        let share = report
            .memory_size_mb
            .filter(|size| *size > 0)
            .map(|size| {
                format!(
                    " ({:.0}% of the memory size)",
                    100.0 * used as f64 / size as f64
                )
            })
            .unwrap_or_default();
        lines.push(format!("{:<16} {used} MB{share}", "max memory used"));
    }
    match report.init_ms {
        Some(init) => lines.push(format!("{:<16} {init:.2} ms (cold start)", "init duration")),
        None => lines.push(format!("{:<16} none (warm instance)", "init duration")),
    }
    lines
}

/// Text output: the log and its figures on stderr (`--log`), the payload alone on stdout, so
/// `lab invoke ... | jq` sees only the function's response.
fn print_text(outcome: &Outcome, show_log: bool) -> anyhow::Result<()> {
    if show_log {
        match &outcome.log {
            Some(log) => {
                eprintln!("{}", log.trim_end());
                eprintln!();
                match &outcome.report {
                    Some(report) => report_lines(report).iter().for_each(|l| eprintln!("{l}")),
                    None => eprintln!("(no REPORT line in the log tail)"),
                }
            }
            None => eprintln!("(Lambda returned no log)"),
        }
    }
    match outcome.status_code {
        202 => eprintln!(
            "Event accepted (202): {} runs asynchronously",
            outcome.function
        ),
        204 => eprintln!("DryRun passed (204): you may invoke {}", outcome.function),
        _ if outcome.error.is_some() || outcome.raw.is_empty() => {}
        // Pretty for people, one line for pipes, as `lab call` prints.
        _ if outcome.payload_is_json && std::io::stdout().is_terminal() => {
            println!("{}", serde_json::to_string_pretty(&outcome.payload)?);
        }
        _ if outcome.payload_is_json => println!("{}", outcome.payload),
        _ => println!("{}", String::from_utf8_lossy(&outcome.raw)),
    }
    Ok(())
}

/// `lab invoke` from the command line.
pub(crate) async fn command(global: &Global, args: InvokeArgs) -> anyhow::Result<Exit> {
    let stack = open_stack(global, None).await?;
    run(&stack, args, global.output, global.verbose).await?;
    Ok(Exit::Success)
}

/// Invokes the function once, prints what came back, and fails (non-zero exit, `Type: message` on
/// stderr) when the function did.
pub(crate) async fn run(
    stack: &Stack,
    mut args: InvokeArgs,
    output: Output,
    verbose: bool,
) -> anyhow::Result<()> {
    if args.log && args.invocation_type != InvocationType::RequestResponse {
        bail!("--log needs --invocation-type RequestResponse: Lambda returns no log for Event or DryRun");
    }
    let event = build_event(stack, &mut args)?;
    let function = args.function.clone().unwrap_or_else(|| stack.names.function.clone());
    let outcome = send(
        &stack.clients.lambda,
        &function,
        &event,
        args.invocation_type,
    )
    .await?;
    if verbose {
        eprintln!(
            "HTTP {} in {:.1} ms, version {}",
            outcome.status_code,
            outcome.latency.as_secs_f64() * 1000.0,
            outcome.executed_version.as_deref().unwrap_or("-")
        );
    }
    match output {
        Output::Json => crate::output::print_json(&outcome)?,
        Output::Text => print_text(&outcome, args.log)?,
    }
    if let Some(failure) = &outcome.error {
        bail!("{}", failure.line());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::operation::invoke::InvokeError;
    use aws_sdk_lambda::types::error::{ServiceException, TooManyRequestsException};
    use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
    use aws_smithy_runtime_api::client::interceptors::context::{Error, Input};
    use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
    use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
    use serde_json::json;

    fn classify(error: InvokeError) -> RetryAction {
        let mut ctx = InterceptorContext::new(Input::erase(()));
        ctx.set_output_or_error(Err(OrchestratorError::operation(Error::erase(error))));
        RetryOnlyThrottling.classify_retry(&ctx)
    }

    #[test]
    fn only_throttling_is_left_to_the_sdk_retries() {
        let throttled = TooManyRequestsException::builder().build();
        assert_eq!(
            classify(InvokeError::TooManyRequestsException(throttled)),
            RetryAction::NoActionIndicated
        );
        let service = ServiceException::builder().build();
        assert_eq!(
            classify(InvokeError::ServiceException(service)),
            RetryAction::RetryForbidden
        );
    }

    #[test]
    fn failure_line_names_the_type_once() {
        let handler = failure(
            "Unhandled",
            &json!({"errorType": "BadRequest", "errorMessage": "BadRequest: no id"}),
        );
        assert_eq!(handler.line(), "BadRequest: no id");
        let runtime = failure(
            "Unhandled",
            &json!({"errorMessage": "Task timed out\nafter 3.00 seconds"}),
        );
        assert_eq!(
            runtime.line(),
            "Unhandled: Task timed out after 3.00 seconds"
        );
        let plain = failure("Unhandled", &json!("boom"));
        assert_eq!(plain.line(), "Unhandled: boom");
    }

    #[test]
    fn report_figures_are_laid_out() {
        let report = report_line::parse(
            "REPORT RequestId: r\tDuration: 1.50 ms\tBilled Duration: 49 ms\tMemory Size: 128 MB\tMax Memory Used: 32 MB\tInit Duration: 46.50 ms",
        )
        .unwrap();
        let lines = report_lines(&report);
        assert_eq!(lines[0], "duration         1.50 ms");
        assert_eq!(lines[1], "billed duration  49 ms");
        assert_eq!(lines[2], "memory size      128 MB");
        assert_eq!(lines[3], "max memory used  32 MB (25% of the memory size)");
        assert_eq!(lines[4], "init duration    46.50 ms (cold start)");
    }
}
