//! Sends an event the way the tutorial does (HTTPS POST to the stage URL) or straight to Lambda.

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::Value;

use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};

use crate::aws::ctx;

/// How a request reaches the function: the load generator's type, which its worker's plans carry.
pub use lab_load::Via;

/// What came back, whichever way it was sent.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// HTTP status (API Gateway's, or Lambda Invoke's).
    pub(crate) status: u16,
    /// The response body as received.
    pub(crate) body: Vec<u8>,
    /// `X-Amz-Function-Error`, only for `--via lambda`.
    pub(crate) function_error: Option<String>,
    /// From sending the request to the last byte of the answer.
    pub(crate) latency: Duration,
}

impl Reply {
    /// The body as JSON, if it is JSON.
    pub(crate) fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The error this reply carries: a non-2xx status, a function error, or an error document in a
    /// 200 body (the non-proxy integration's default for unmapped errors).
    pub(crate) fn error(&self) -> Option<(String, String)> {
        let doc = self.json().unwrap_or_default();
        let error_type = doc["errorType"].as_str();
        let error_message = doc["errorMessage"].as_str().or(doc["message"].as_str());
        let failed = !(200..300).contains(&self.status)
            || self.function_error.is_some()
            || error_type.is_some();
        if !failed {
            return None;
        }
        let kind = error_type
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {}", self.status));
        let message = error_message
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned());
        Some((kind, message))
    }
}

/// POSTs the event to a stage URL.
pub(crate) async fn http(
    client: &reqwest::Client,
    url: &str,
    event: &Value,
) -> anyhow::Result<Reply> {
    let started = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(event.to_string())
        .send()
        .await
        .with_context(|| format!("POST {url} failed"))?;
    let status = response.status().as_u16();
    let body = response.bytes().await.context("reading the response body")?.to_vec();
    Ok(Reply {
        status,
        body,
        function_error: None,
        latency: started.elapsed(),
    })
}

/// Lets the SDK retry an Invoke only when Lambda throttled it. A throttled invocation never ran; any
/// other failure either comes from the function's own set-up (the 502s: bad runtime or zip, ENI or
/// KMS trouble, which no retry heals) or may come after the handler already ran once (a 500), and a
/// retry would run a create or delete twice. Function errors proper are 200s and never retried.
#[derive(Debug)]
pub(crate) struct RetryOnlyThrottling;

impl ClassifyRetry for RetryOnlyThrottling {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let throttled = error
            .as_operation_error()
            .and_then(|e| e.downcast_ref::<InvokeError>())
            .is_some_and(InvokeError::is_too_many_requests_exception);
        if throttled {
            // The SDK's own classifiers already call this a throttle: keep their verdict and backoff.
            RetryAction::NoActionIndicated
        } else {
            RetryAction::RetryForbidden
        }
    }

    fn name(&self) -> &'static str {
        "lab: retry Invoke on throttling only"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// Invokes the function synchronously through the Lambda API; only a throttle is retried (a 5xx
/// may come after the handler ran, and a create must not run twice).
pub(crate) async fn lambda(
    client: &aws_sdk_lambda::Client,
    function: &str,
    event: &Value,
) -> anyhow::Result<Reply> {
    let started = Instant::now();
    let out = crate::stack::function::retry_waking(client, function, || {
        client
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(event.to_string()))
            .customize()
            .config_override(
                aws_sdk_lambda::config::Builder::default().retry_classifier(RetryOnlyThrottling),
            )
            .send()
    })
    .await?
    .map_err(ctx("lambda:Invoke"))?;
    Ok(Reply {
        status: out.status_code() as u16,
        body: out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default(),
        function_error: out.function_error().map(str::to_string),
        latency: started.elapsed(),
    })
}
