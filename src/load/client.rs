//! Sending: one transport per VU, the closed-model VU loop, the open-model worker, and how each
//! answer is classified. Nothing here draws on the screen; results go to the VU's own
//! [`Recorder`] and to the shared [`Timeline`].
//!
//! Per request, the loop does what the protocol needs and nothing more: the body is a shared
//! [`Bytes`] serialised once before the run, each VU keeps one HTTP client (and so its connection
//! alive between requests, as a browser or Postman does), and recording a result allocates nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use serde::de::IgnoredAny;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use super::metrics::{Outcome, Recorder, Timeline};
use super::payload::PayloadMix;
use super::profile::Shape;
use crate::control::FunctionControl;

/// Where requests go; [`Endpoint::connect`] makes the per-VU half.
#[derive(Clone)]
pub enum Endpoint {
    /// POST to a URL.
    Http {
        /// The stage URL.
        url: String,
        /// Per-request timeout.
        timeout: Duration,
    },
    /// Lambda Invoke through a [`FunctionControl`].
    Lambda {
        /// The function.
        target: Arc<dyn FunctionControl>,
        /// Per-invocation timeout.
        timeout: Duration,
    },
}

/// One VU's connection.
pub enum Transport {
    /// Plain `http://` (the local stack, any loopback target): hyper directly, one connection.
    Raw(Box<super::raw_http::RawHttp>),
    /// An HTTP client of its own (its own keep-alive connection).
    Http {
        /// The client.
        client: reqwest::Client,
        /// The stage URL.
        url: String,
    },
    /// Lambda Invoke.
    Lambda {
        /// The function.
        target: Arc<dyn FunctionControl>,
        /// Per-invocation timeout.
        timeout: Duration,
    },
}

impl Endpoint {
    /// A transport for one VU.
    pub fn connect(&self) -> Result<Transport> {
        Ok(match self {
            Endpoint::Http { url, timeout } if url.starts_with("http://") => {
                Transport::Raw(Box::new(super::raw_http::RawHttp::new(url, *timeout)?))
            }
            Endpoint::Http { url, timeout } => {
                let mut builder = reqwest::Client::builder()
                    .timeout(*timeout)
                    .connect_timeout((*timeout).min(Duration::from_secs(10)))
                    .pool_max_idle_per_host(1)
                    .tcp_nodelay(true);
                if is_loopback(url) {
                    // A proxy from the environment must not intercept the local stack.
                    builder = builder.no_proxy();
                }
                Transport::Http {
                    client: builder.build().context("building the HTTP client")?,
                    url: url.clone(),
                }
            }
            Endpoint::Lambda { target, timeout } => Transport::Lambda {
                target: target.clone(),
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
    /// `describe_errors` is set (the VU still wants an example), so errors cost no allocation.
    pub async fn send(&self, body: &Bytes, describe_errors: bool) -> (Outcome, Option<String>) {
        match self {
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
            Transport::Http { client, url } => {
                let sent = client
                    .post(url.as_str())
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(body.clone())
                    .send()
                    .await;
                let response = match sent {
                    Ok(r) => r,
                    Err(e) => return (classify_error(&e), describe_errors.then(|| format!("{e}"))),
                };
                let status = response.status();
                let bytes = match response.bytes().await {
                    Ok(b) => b,
                    Err(e) => return (classify_error(&e), describe_errors.then(|| format!("{e}"))),
                };
                classify_answer(status.as_u16(), &bytes, describe_errors)
            }
            Transport::Lambda { target, timeout } => {
                match tokio::time::timeout(*timeout, target.invoke(body)).await {
                    Err(_) => (
                        Outcome::Timeout,
                        describe_errors.then(|| format!("no answer within {timeout:?}")),
                    ),
                    Ok(Err(e)) => {
                        let throttled = crate::tune::run::is_throttle(&e);
                        let outcome = if throttled {
                            Outcome::Status(429)
                        } else {
                            Outcome::Connection
                        };
                        (outcome, describe_errors.then(|| format!("{e:#}")))
                    }
                    Ok(Ok(inv)) if inv.function_error.is_some() || is_function_error(&inv.body) => {
                        (
                            Outcome::FunctionError,
                            describe_errors.then(|| snippet(&inv.body)),
                        )
                    }
                    Ok(Ok(_)) => (Outcome::Ok, None),
                }
            }
        }
    }
}

/// A non-2xx status, a Lambda error document in a 2xx body, or success.
fn classify_answer(status: u16, bytes: &[u8], describe_errors: bool) -> (Outcome, Option<String>) {
    if !(200..300).contains(&status) {
        let text = describe_errors.then(|| format!("HTTP {status}: {}", snippet(bytes)));
        (Outcome::Status(status), text)
    } else if is_function_error(bytes) {
        (
            Outcome::FunctionError,
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

/// Whether a 2xx body is a Lambda error document: a JSON object with `errorType` and
/// `errorMessage` at the top level (what API Gateway's non-proxy integration passes through when
/// no integration response maps the error). Cheap byte checks first: ordinary answers are never
/// parsed.
pub fn is_function_error(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "errorType")]
        error_type: Option<IgnoredAny>,
        #[serde(rename = "errorMessage")]
        error_message: Option<IgnoredAny>,
    }
    if body.trim_ascii_start().first() != Some(&b'{')
        || !contains(body, b"\"errorType\"")
        || !contains(body, b"\"errorMessage\"")
    {
        return false;
    }
    serde_json::from_slice::<Probe>(body)
        .is_ok_and(|p| p.error_type.is_some() && p.error_message.is_some())
}

/// Tells every VU to stop; cloned into each.
#[derive(Clone)]
pub struct Stop {
    rx: watch::Receiver<bool>,
}

/// The sending half of [`Stop`].
pub struct StopHandle {
    tx: watch::Sender<bool>,
}

/// A stop signal and its handle.
pub fn stop_signal() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(false);
    (StopHandle { tx }, Stop { rx })
}

impl StopHandle {
    /// Stops every VU now (in-flight requests are abandoned).
    pub fn stop(&self) {
        self.tx.send_replace(true);
    }

    /// Another receiver.
    pub fn subscribe(&self) -> Stop {
        Stop {
            rx: self.tx.subscribe(),
        }
    }
}

impl Stop {
    /// Whether stop was requested.
    pub fn is_stopped(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when stop is requested.
    pub async fn stopped(&mut self) {
        // An error means the handle is gone, which only happens once the run is over.
        let _ = self.rx.wait_for(|s| *s).await;
    }
}

/// What every VU of a run shares.
pub struct RunContext {
    /// Per-second record.
    pub timeline: Arc<Timeline>,
    /// The payloads.
    pub mix: Arc<PayloadMix>,
    /// No request starts at or after this instant.
    pub end: Instant,
    /// Requests started, for `--max-requests`.
    pub started: AtomicU64,
    /// `--max-requests`.
    pub max_requests: Option<u64>,
}

impl RunContext {
    /// Claims the right to start one more request; `false` once `--max-requests` is reached.
    pub fn claim(&self) -> bool {
        match self.max_requests {
            None => true,
            Some(max) => self.started.fetch_add(1, Ordering::Relaxed) < max,
        }
    }
}

/// The closed-model VU number `id`: active while the shape says so, sending requests back to back.
pub async fn vu_loop(
    id: u32,
    ctx: Arc<RunContext>,
    shape: Shape,
    transport: Transport,
    mut stop: Stop,
) -> Recorder {
    let mut recorder = Recorder::new();
    let mut rng = StdRng::from_entropy();
    let start = ctx.timeline.start();
    let mut active = false;
    loop {
        let now = Instant::now();
        if now >= ctx.end || stop.is_stopped() {
            break;
        }
        let wanted = id < shape.target_vus(now - start);
        if wanted != active {
            if wanted {
                ctx.timeline.vu_started();
            } else {
                ctx.timeline.vu_stopped();
            }
            active = wanted;
        }
        if !active {
            // Idle until the shape wants this VU; 20 ms keeps ramps accurate at negligible cost.
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(20)) => continue,
                () = stop.stopped() => break,
            }
        }
        if !ctx.claim() {
            break;
        }
        let body = ctx.mix.pick(&mut rng);
        let sent = Instant::now();
        let (outcome, error) = tokio::select! {
            r = transport.send(body, recorder.wants_error_example()) => r,
            () = stop.stopped() => break,
        };
        let done = Instant::now();
        recorder.record(outcome, done - sent);
        if let Some(e) = error {
            recorder.error_example(e);
        }
        ctx.timeline.record(done, outcome, done - sent);
    }
    if active {
        ctx.timeline.vu_stopped();
    }
    recorder
}

/// An open-model arrival handed to a free worker.
pub struct Job {
    /// When it should have been sent.
    pub intended: Instant,
    /// Whether it had to wait for a free worker. Then its latency counts from `intended` (the wait is
    /// the server's slowness: counting it avoids coordinated omission); otherwise from the moment the
    /// worker sends it (the scheduler's timer wakes up to a millisecond late and the hand-over costs
    /// a task wake-up: that jitter is the generator's, not the server's).
    pub queued: bool,
}

/// An open-model VU: takes arrivals addressed to it, sends them, and reports itself free again.
pub async fn worker(
    id: usize,
    ctx: Arc<RunContext>,
    mut jobs: mpsc::Receiver<Job>,
    free: mpsc::UnboundedSender<usize>,
    transport: Transport,
    mut stop: Stop,
) -> Recorder {
    let mut recorder = Recorder::new();
    let mut rng = StdRng::from_entropy();
    loop {
        let job = tokio::select! {
            job = jobs.recv() => job,
            () = stop.stopped() => None,
        };
        let Some(job) = job else { break };
        let start = if job.queued {
            job.intended
        } else {
            Instant::now()
        };
        ctx.timeline.vu_started();
        let body = ctx.mix.pick(&mut rng);
        let result = tokio::select! {
            r = transport.send(body, recorder.wants_error_example()) => Some(r),
            () = stop.stopped() => None,
        };
        ctx.timeline.vu_stopped();
        let Some((outcome, error)) = result else {
            break;
        };
        let done = Instant::now();
        let latency = done.saturating_duration_since(start);
        recorder.record(outcome, latency);
        if let Some(e) = error {
            recorder.error_example(e);
        }
        ctx.timeline.record(done, outcome, latency);
        if free.send(id).is_err() {
            break;
        }
    }
    recorder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_errors_in_bodies() {
        assert!(is_function_error(
            br#"{"errorType":"BadRequest","errorMessage":"BadRequest: x"}"#
        ));
        assert!(is_function_error(
            br#" {"errorMessage":"m","errorType":"T","stackTrace":[]}"#
        ));
        assert!(!is_function_error(br#"{"Items":[],"Count":0}"#));
        // Fields nested in data are not an error document.
        assert!(!is_function_error(
            br#"{"Item":{"errorType":"a","errorMessage":"b"}}"#
        ));
        assert!(!is_function_error(br#""pong""#));
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
