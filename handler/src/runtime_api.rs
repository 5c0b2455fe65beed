//! The Lambda Runtime API (`/2018-06-01/runtime/...`) that a `bootstrap` talks to, with Lambda's limits.
//!
//! The one implementation: `lab`'s local stack serves it to every instance it starts (one listener per
//! instance, so a request id never has to be routed between instances and `/next` long-polls exactly
//! that instance's queue), and the handler's own tests and benchmark drive the real `bootstrap` with it
//! through [`RuntimeApi`], a thin wrapper over the same [`serve`].
//!
//! The function long-polls `GET .../invocation/next`, then posts `.../{id}/response` or
//! `.../{id}/error`; a runtime that fails to start posts `.../init/error`. A response past
//! [`RESPONSE_LIMIT`] ends the invocation as `Function.ResponseSizeTooLarge`, as Lambda does, and the
//! runtime is told 413, as Lambda's Runtime API tells it.
//!
//! Behind the `runtime-api` feature, so the deployed `bootstrap` never compiles the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Lambda's limit on a synchronous response, in bytes (the figure its error message gives).
pub const RESPONSE_LIMIT: usize = 6_291_556;

/// The error type an invocation ends with when its response is past [`RESPONSE_LIMIT`].
pub const RESPONSE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";

/// One invocation waiting to be picked up by `/next`.
pub struct Job {
    /// The invocation's id, as `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// The event, handed to the function as it is.
    pub payload: Bytes,
    /// When the invocation times out, as `Lambda-Runtime-Deadline-Ms`.
    pub deadline: SystemTime,
    /// The function's ARN, as `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Outcome>,
    /// Set when `/next` hands the job over: the start of the function's own duration.
    pub delivered: oneshot::Sender<Instant>,
}

/// What the runtime reported for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `/response` with its body (at most [`RESPONSE_LIMIT`] bytes).
    Response(Bytes),
    /// `/error` with the error type and the error document, or a response past [`RESPONSE_LIMIT`]
    /// (type [`RESPONSE_TOO_LARGE`], with Lambda's error document in place of the response).
    Error {
        /// `errorType` of the document, else the `Lambda-Runtime-Function-Error-Type` header, else
        /// `Unhandled`.
        error_type: String,
        /// The error document (`{"errorType": ..., "errorMessage": ...}` from a well-behaved runtime).
        body: Bytes,
    },
}

impl Outcome {
    /// The response or the error document.
    pub fn body(&self) -> &Bytes {
        match self {
            Outcome::Response(body) | Outcome::Error { body, .. } => body,
        }
    }

    /// The body, parsed as JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(self.body())
    }
}

/// State shared by the listener and whoever feeds it jobs.
pub struct RuntimeState {
    queue: Mutex<mpsc::Receiver<Job>>,
    in_flight: std::sync::Mutex<Option<(String, oneshot::Sender<Outcome>)>>,
    /// Fires the first time the runtime asks for work: its init phase is over.
    ready: std::sync::Mutex<Option<oneshot::Sender<Instant>>>,
    /// `/init/error`, if the runtime reported one: its error type and document.
    pub init_error: std::sync::Mutex<Option<(String, Bytes)>>,
}

/// Builds the runtime API state and the sender that feeds it, plus a receiver for "init done".
///
/// The queue holds one job: an instance runs one invocation at a time, as a Lambda environment does.
fn channel() -> (
    Arc<RuntimeState>,
    mpsc::Sender<Job>,
    oneshot::Receiver<Instant>,
) {
    let (tx, rx) = mpsc::channel(1);
    let (ready_tx, ready_rx) = oneshot::channel();
    let state = Arc::new(RuntimeState {
        queue: Mutex::new(rx),
        in_flight: std::sync::Mutex::new(None),
        ready: std::sync::Mutex::new(Some(ready_tx)),
        init_error: std::sync::Mutex::new(None),
    });
    (state, tx, ready_rx)
}

/// The Runtime API routes.
fn router(state: Arc<RuntimeState>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        // Bodies past the limit are still read in (up to twice it), so the runtime gets its 413 on a
        // connection it can keep using rather than one cut off mid-body.
        .layer(DefaultBodyLimit::max(2 * RESPONSE_LIMIT))
        .with_state(state)
}

/// A Runtime API served on a loopback port: what feeds it and what it reports. The local stack's
/// instances and [`RuntimeApi`] (the handler's tests and benchmark) both start from it.
pub struct Served {
    /// Where it listens; the function's `AWS_LAMBDA_RUNTIME_API` is `addr.to_string()`.
    pub addr: SocketAddr,
    /// What the runtime reported (its init error).
    pub state: Arc<RuntimeState>,
    /// Feeds it invocations, one at a time.
    pub jobs: mpsc::Sender<Job>,
    /// Fires when the runtime first asks for work: the end of its init phase.
    pub ready: oneshot::Receiver<Instant>,
    /// The server task: aborting it stops serving.
    pub server: tokio::task::JoinHandle<()>,
}

/// Binds a free port on 127.0.0.1 and serves the Runtime API on it in the background.
pub async fn serve() -> std::io::Result<Served> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (state, jobs, ready) = channel();
    let app = router(Arc::clone(&state));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Served {
        addr,
        state,
        jobs,
        ready,
        server,
    })
}

async fn next(State(state): State<Arc<RuntimeState>>) -> Response {
    if let Some(ready) = state.ready.lock().expect("ready lock").take() {
        let _ = ready.send(Instant::now());
    }
    // Long poll: the request is held until there is work, as Lambda holds it.
    let job = {
        let mut queue = state.queue.lock().await;
        queue.recv().await
    };
    let Some(job) = job else {
        // The instance is shutting down: the runtime will be killed; answer something valid meanwhile.
        return StatusCode::GONE.into_response();
    };
    let headers = job_headers(&job);
    *state.in_flight.lock().expect("in-flight lock") = Some((job.request_id, job.reply));
    let _ = job.delivered.send(Instant::now());
    (StatusCode::OK, headers, job.payload).into_response()
}

/// The headers `/next` gives a job's event.
fn job_headers(job: &Job) -> HeaderMap {
    let deadline_ms = job
        .deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    // X-Ray's root id is 24 hex digits; the request id supplies them (padded, for ids that are short).
    let hex: String = job.request_id.chars().filter(char::is_ascii_hexdigit).collect();
    let trace = format!("Root=1-{:08x}-{hex:0>24.24}", deadline_ms as u32);
    let pairs = [
        ("lambda-runtime-aws-request-id", job.request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            job.function_arn.clone(),
        ),
        ("lambda-runtime-trace-id", trace),
        ("content-type", "application/json".to_string()),
    ];
    let mut headers = HeaderMap::new();
    for (k, v) in pairs {
        if let Ok(v) = v.parse() {
            headers.insert(k, v);
        }
    }
    headers
}

/// Hands `outcome` to the invocation `id`; Lambda answers 400 for an id that is not the one in flight.
fn complete(state: &RuntimeState, id: &str, outcome: Outcome) -> StatusCode {
    let mut slot = state.in_flight.lock().expect("in-flight lock");
    match slot.take() {
        Some((current, reply)) if current == id => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        other => {
            *slot = other;
            StatusCode::BAD_REQUEST
        }
    }
}

/// `{"errorType": ..., "errorMessage": ...}`, the shape of every error document Lambda writes.
fn error_doc(error_type: &str, message: &str) -> Bytes {
    Bytes::from(serde_json::json!({"errorType": error_type, "errorMessage": message}).to_string())
}

async fn response(
    State(state): State<Arc<RuntimeState>>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let too_large = match body {
        Ok(body) if body.len() <= RESPONSE_LIMIT => {
            return complete(&state, &id, Outcome::Response(body)).into_response()
        }
        Ok(_) => true,
        // Past even the read-in limit: still too large, not a hang until the function's timeout.
        Err(rejection) => rejection.status() == StatusCode::PAYLOAD_TOO_LARGE,
    };
    if !too_large {
        // A body that broke off mid-way: the invocation stays open for the runtime to post again.
        return StatusCode::BAD_REQUEST.into_response();
    }
    // The caller gets Lambda's error; the runtime is told 413 and goes on to its next invocation.
    let message = format!(
        "Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."
    );
    let outcome = Outcome::Error {
        error_type: RESPONSE_TOO_LARGE.to_string(),
        body: error_doc(RESPONSE_TOO_LARGE, &message),
    };
    if complete(&state, &id, outcome) != StatusCode::ACCEPTED {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let to_runtime = format!("Exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes).");
    let body = error_doc("RequestEntityTooLarge", &to_runtime);
    (StatusCode::PAYLOAD_TOO_LARGE, body).into_response()
}

fn error_type(headers: &HeaderMap, body: &Bytes) -> String {
    let from_body = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["errorType"].as_str().map(str::to_string));
    from_body
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "Unhandled".to_string())
}

async fn error(
    State(state): State<Arc<RuntimeState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let error_type = error_type(&headers, &body);
    complete(&state, &id, Outcome::Error { error_type, body })
}

async fn init_error(
    State(state): State<Arc<RuntimeState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let error_type = error_type(&headers, &body);
    *state.init_error.lock().expect("init lock") = Some((error_type, body));
    StatusCode::ACCEPTED
}

/// The ARN [`RuntimeApi`] reports to the function.
pub const TEST_FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:lab-handler-test";

/// A Runtime API on an ephemeral loopback port, for driving one function process by hand (the
/// handler's tests and benchmark): [`serve`], plus one call to submit an event and await its [`Outcome`].
pub struct RuntimeApi {
    /// Where it listens; the function's `AWS_LAMBDA_RUNTIME_API` is `addr.to_string()`.
    pub addr: SocketAddr,
    state: Arc<RuntimeState>,
    jobs: mpsc::Sender<Job>,
    /// The "init done" signal, and its instant once read.
    ready: std::sync::Mutex<(oneshot::Receiver<Instant>, Option<Instant>)>,
    counter: std::sync::atomic::AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Binds `127.0.0.1:0` and serves in the background (HTTP/1.1, keep-alive).
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let Served {
            addr,
            state,
            jobs,
            ready,
            server,
        } = serve().await?;
        Ok(RuntimeApi {
            addr,
            state,
            jobs,
            ready: std::sync::Mutex::new((ready, None)),
            counter: std::sync::atomic::AtomicU64::new(0),
            server,
        })
    }

    /// Invokes the function once and waits (at most `timeout`, which is also its deadline) for its
    /// outcome.
    pub async fn invoke(
        &self,
        event: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Outcome, String> {
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (reply, outcome) = oneshot::channel();
        let (delivered, _) = oneshot::channel();
        let job = Job {
            request_id: format!("00000000-0000-4000-8000-{n:012}"),
            payload: event.into(),
            deadline: SystemTime::now() + timeout,
            function_arn: TEST_FUNCTION_ARN.to_string(),
            reply,
            delivered,
        };
        let answered = async {
            self.jobs.send(job).await.map_err(|_| "the runtime API is closed".to_string())?;
            outcome.await.map_err(|_| "the invocation was dropped".to_string())
        };
        match tokio::time::timeout(timeout, answered).await {
            Ok(answer) => answer,
            Err(_) => Err(format!(
                "no answer within {timeout:?} (init error: {:?})",
                self.init_error()
            )),
        }
    }

    /// The document of `POST /runtime/init/error`, if the function reported one.
    pub fn init_error(&self) -> Option<String> {
        let init = self.state.init_error.lock().expect("init lock");
        init.as_ref().map(|(_, body)| String::from_utf8_lossy(body).into_owned())
    }

    /// When the function first asked for work: the end of its init phase.
    pub fn first_poll(&self) -> Option<Instant> {
        let mut ready = self.ready.lock().expect("ready lock");
        if ready.1.is_none() {
            ready.1 = ready.0.try_recv().ok();
        }
        ready.1
    }
}
