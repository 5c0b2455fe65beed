//! Sending one request and classifying its answer. Nothing here draws on the screen or records;
//! the VU loops (the `vu` module) do.
//!
//! Per request, the transport does what the protocol needs and nothing more: the body is a shared
//! [`Bytes`] serialised once before the run, a plain-`http://` VU keeps its own connection alive
//! between requests (as a browser or Postman does), and `https://` VUs share one client whose pool
//! keeps a connection per VU in flight (one TLS configuration, not one per VU).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use serde::Deserialize;

use super::invoke::{InvokeFailure, Invoker};
use super::metrics::Outcome;

/// Where requests go; [`Endpoint::connect`] makes the per-VU half.
#[derive(Clone)]
pub enum Endpoint {
    /// POST to a URL.
    Http {
        /// The stage URL.
        url: String,
        /// Per-request timeout.
        timeout: Duration,
        /// The client `https://` VUs share (built once).
        shared: Option<reqwest::Client>,
        /// What the local stack's headers said of the answers (plain `http://` only).
        local: Arc<super::local_timing::LocalTiming>,
    },
    /// Lambda Invoke, without retries.
    Lambda {
        /// The function.
        invoker: Arc<dyn Invoker>,
        /// Per-invocation timeout.
        timeout: Duration,
    },
}

/// One VU's connection.
pub(crate) enum Transport {
    /// Plain `http://` (the local stack, any loopback target): hyper directly, one connection.
    Raw(Box<super::raw_http::RawHttp>),
    /// The shared HTTPS client.
    Http {
        /// The client (a handle on the shared pool).
        client: reqwest::Client,
        /// The stage URL.
        url: String,
    },
    /// Lambda Invoke.
    Lambda {
        /// The function.
        invoker: Arc<dyn Invoker>,
        /// Per-invocation timeout.
        timeout: Duration,
    },
}

impl Endpoint {
    /// POST to `url` with up to `vus` requests in flight.
    pub fn http(url: &str, timeout: Duration, vus: u32) -> Result<Endpoint> {
        let shared = if url.starts_with("http://") {
            None
        } else {
            let mut builder = reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                .pool_max_idle_per_host(vus as usize)
                .tcp_nodelay(true);
            if is_loopback(url) {
                // A proxy from the environment must not intercept the local stack.
                builder = builder.no_proxy();
            }
            Some(builder.build().context("building the HTTP client")?)
        };
        Ok(Endpoint::Http {
            url: url.to_string(),
            timeout,
            shared,
            local: Arc::default(),
        })
    }

    /// The emulator's share of latency since the last call, when the target is lab's local stack.
    pub fn take_emulator_share(&self) -> Option<super::local_timing::EmulatorShare> {
        match self {
            Endpoint::Http { local, .. } => local.take(),
            Endpoint::Lambda { .. } => None,
        }
    }

    /// A transport for one VU.
    pub(crate) fn connect(&self) -> Result<Transport> {
        Ok(match self {
            Endpoint::Http {
                url,
                timeout,
                shared: None,
                local,
            } => Transport::Raw(Box::new(super::raw_http::RawHttp::new(
                url,
                *timeout,
                local.clone(),
            )?)),
            Endpoint::Http {
                url,
                shared: Some(client),
                ..
            } => Transport::Http {
                client: client.clone(),
                url: url.clone(),
            },
            Endpoint::Lambda { invoker, timeout } => Transport::Lambda {
                invoker: invoker.clone(),
                timeout: *timeout,
            },
        })
    }
}

fn is_loopback(url: &str) -> bool {
    let host = url.split("://").nth(1).unwrap_or(url);
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

impl Transport {
    /// Sends one request and classifies the answer. The error text is produced only when
    /// `describe_errors` is set (the shard still wants an example).
    pub(crate) async fn send(&self, body: &Bytes, describe_errors: bool) -> Answer {
        let (outcome, error) = match self {
            Transport::Raw(raw) => match raw.post(body).await {
                Err(super::raw_http::Failure::Timeout) => (
                    Outcome::Timeout,
                    describe_errors.then(|| "no answer within the timeout".to_string()),
                ),
                Err(super::raw_http::Failure::Connection(e)) => {
                    (Outcome::Connection, describe_errors.then_some(e))
                }
                Ok((status, bytes)) => classify_answer(status.as_u16(), &bytes, describe_errors),
            },
            Transport::Http { client, url } => post(client, url, body, describe_errors).await,
            Transport::Lambda { invoker, timeout } => {
                let answer = tokio::time::timeout(*timeout, invoker.invoke_once(body)).await;
                let report = match &answer {
                    Ok(Ok(inv)) => super::requests::report_line(&inv.log_tail),
                    _ => None,
                };
                let (outcome, error) = classify_invocation(answer, *timeout, describe_errors);
                return Answer {
                    outcome,
                    error,
                    report,
                };
            }
        };
        Answer {
            outcome,
            error,
            report: None,
        }
    }
}

/// What one request came back with.
pub(crate) struct Answer {
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// Its error text, when asked for and it failed.
    pub(crate) error: Option<String>,
    /// The invocation's REPORT line, when the transport returns one (Invoke with `LogType=Tail`).
    pub(crate) report: Option<Box<str>>,
}

/// One POST through the shared HTTPS client.
async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &Bytes,
    describe_errors: bool,
) -> (Outcome, Option<String>) {
    let sent = client
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(body.clone())
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return (classify_error(&e), describe_errors.then(|| format!("{e}"))),
    };
    let status = response.status();
    match response.bytes().await {
        Ok(b) => classify_answer(status.as_u16(), &b, describe_errors),
        Err(e) => (classify_error(&e), describe_errors.then(|| format!("{e}"))),
    }
}

fn classify_invocation(
    answer: Result<Result<crate::invoke::Invocation, InvokeFailure>, tokio::time::error::Elapsed>,
    timeout: Duration,
    describe: bool,
) -> (Outcome, Option<String>) {
    match answer {
        Err(_) => (
            Outcome::Timeout,
            describe.then(|| format!("no answer within {timeout:?}")),
        ),
        Ok(Err(InvokeFailure::Throttled(m))) => (
            Outcome::Throttled,
            describe.then(|| format!("TooManyRequestsException: {m}")),
        ),
        Ok(Err(InvokeFailure::Api { code, message })) => {
            let text = describe.then(|| format!("{code}: {message}"));
            (Outcome::LambdaError(code), text)
        }
        Ok(Err(InvokeFailure::Transport(m))) => (Outcome::Connection, describe.then_some(m)),
        Ok(Ok(inv)) => match (function_error_type(&inv.body), inv.function_error) {
            (Some(kind), _) => (
                Outcome::FunctionError(kind),
                describe.then(|| snippet(&inv.body)),
            ),
            // X-Amz-Function-Error without an error document: the header's value is all we have.
            (None, Some(header)) => (
                Outcome::FunctionError(header),
                describe.then(|| snippet(&inv.body)),
            ),
            (None, None) => (Outcome::Ok, None),
        },
    }
}

/// A non-2xx status, a Lambda error document in a 2xx body, or success.
fn classify_answer(status: u16, bytes: &[u8], describe_errors: bool) -> (Outcome, Option<String>) {
    if !(200..300).contains(&status) {
        let text = describe_errors.then(|| format!("HTTP {status}: {}", snippet(bytes)));
        (Outcome::Status(status), text)
    } else if let Some(kind) = function_error_type(bytes) {
        (
            Outcome::FunctionError(kind),
            describe_errors.then(|| snippet(bytes)),
        )
    } else {
        (Outcome::Ok, None)
    }
}

fn classify_error(e: &reqwest::Error) -> Outcome {
    if e.is_timeout() {
        Outcome::Timeout
    } else {
        Outcome::Connection
    }
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The `errorType` of a Lambda error document: a JSON object with `errorType` and `errorMessage`
/// at the top level (what API Gateway's non-proxy integration passes through when no integration
/// response maps the error). Cheap byte checks first: ordinary answers are never parsed.
pub(crate) fn function_error_type(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "errorType")]
        error_type: Option<serde_json::Value>,
        #[serde(rename = "errorMessage")]
        error_message: Option<serde::de::IgnoredAny>,
    }
    if body.trim_ascii_start().first() != Some(&b'{')
        || !contains(body, b"\"errorType\"")
        || !contains(body, b"\"errorMessage\"")
    {
        return None;
    }
    let probe = serde_json::from_slice::<Probe>(body).ok()?;
    probe.error_message?;
    match probe.error_type? {
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Whether a 2xx body is a Lambda error document.
#[cfg(test)]
fn is_function_error(body: &[u8]) -> bool {
    function_error_type(body).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_errors_in_bodies_are_named_by_type() {
        let doc = br#"{"errorType":"BadRequest","errorMessage":"BadRequest: x"}"#;
        assert_eq!(function_error_type(doc).as_deref(), Some("BadRequest"));
        assert_eq!(
            function_error_type(br#" {"errorMessage":"m","errorType":"Runtime.OutOfMemory"}"#)
                .as_deref(),
            Some("Runtime.OutOfMemory")
        );
        assert!(!is_function_error(br#"{"Items":[],"Count":0}"#));
        // Fields nested in data are not an error document.
        assert!(!is_function_error(
            br#"{"Item":{"errorType":"a","errorMessage":"b"}}"#
        ));
        assert!(!is_function_error(br#""pong""#));
    }

    #[test]
    fn invocations_are_classified_by_kind() {
        let t = Duration::from_secs(1);
        let inv = |body: &[u8], header: Option<&str>| {
            Ok(Ok(crate::invoke::Invocation {
                body: body.to_vec(),
                function_error: header.map(str::to_string),
                log_tail: String::new(),
            }))
        };
        let kinds = [
            classify_invocation(inv(b"{}", None), t, false).0,
            classify_invocation(
                inv(
                    br#"{"errorType":"Sandbox.Timedout","errorMessage":"x"}"#,
                    Some("Unhandled"),
                ),
                t,
                false,
            )
            .0,
            classify_invocation(inv(b"", Some("Unhandled")), t, false).0,
            classify_invocation(Ok(Err(InvokeFailure::Throttled("x".into()))), t, false).0,
            classify_invocation(
                Ok(Err(InvokeFailure::Api {
                    code: "ServiceException".into(),
                    message: "m".into(),
                })),
                t,
                false,
            )
            .0,
            classify_invocation(Ok(Err(InvokeFailure::Transport("reset".into()))), t, false).0,
        ];
        assert_eq!(
            kinds,
            [
                Outcome::Ok,
                Outcome::FunctionError("Sandbox.Timedout".into()),
                Outcome::FunctionError("Unhandled".into()),
                Outcome::Throttled,
                Outcome::LambdaError("ServiceException".into()),
                Outcome::Connection,
            ]
        );
    }

    #[test]
    fn loopback_urls() {
        assert!(is_loopback("http://127.0.0.1:4566/restapis/x"));
        assert!(is_loopback("http://localhost:3000"));
        assert!(!is_loopback(
            "https://abc.execute-api.us-east-1.amazonaws.com/prod"
        ));
    }
}
