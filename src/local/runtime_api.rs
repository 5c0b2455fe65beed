//! The Lambda Runtime API one instance's `bootstrap` talks to (`/2018-06-01/runtime/...`).
//!
//! Each instance gets its own listener, so an invocation's id never has to be routed between
//! instances, and `/next` long-polls exactly that instance's queue.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, oneshot, Mutex};

/// Lambda's limit on a synchronous response, in bytes (the figure its error message gives).
pub const RESPONSE_LIMIT: usize = 6_291_556;

/// One invocation waiting to be picked up by `/next`.
pub struct Job {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline: SystemTime,
    pub function_arn: String,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Outcome>,
    /// Set when `/next` hands the job over: the start of the function's own duration.
    pub delivered: oneshot::Sender<Instant>,
}

/// What the runtime reported for one invocation.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `/response` with its body.
    Response(Bytes),
    /// `/error` with the error type and the error document.
    Error { error_type: String, body: Bytes },
}

/// State shared by the listener and the instance.
pub struct RuntimeState {
    queue: Mutex<mpsc::Receiver<Job>>,
    in_flight: std::sync::Mutex<Option<(String, oneshot::Sender<Outcome>)>>,
    /// Fires the first time the runtime asks for work: its init phase is over.
    ready: std::sync::Mutex<Option<oneshot::Sender<Instant>>>,
    /// `/init/error`, if the runtime reported one.
    pub init_error: std::sync::Mutex<Option<(String, Bytes)>>,
}

/// Builds the runtime API state and the sender that feeds it, plus a receiver for "init done".
pub fn channel() -> (
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
pub fn router(state: Arc<RuntimeState>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        // Bodies past Lambda's 6 MB response limit are taken in so the invocation can fail the way
        // Lambda fails it (Function.ResponseSizeTooLarge), not with a dropped connection.
        .layer(axum::extract::DefaultBodyLimit::max(2 * RESPONSE_LIMIT))
        .with_state(state)
}

async fn next(State(state): State<Arc<RuntimeState>>) -> Response {
    if let Some(ready) = state.ready.lock().expect("ready lock").take() {
        let _ = ready.send(Instant::now());
    }
    let job = {
        let mut queue = state.queue.lock().await;
        queue.recv().await
    };
    let Some(job) = job else {
        // The instance is shutting down: the runtime will be killed; answer something valid meanwhile.
        return StatusCode::GONE.into_response();
    };
    let deadline_ms = job
        .deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    *state.in_flight.lock().expect("in-flight lock") = Some((job.request_id.clone(), job.reply));
    let _ = job.delivered.send(Instant::now());
    let mut headers = HeaderMap::new();
    let pairs = [
        ("lambda-runtime-aws-request-id", job.request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            job.function_arn.clone(),
        ),
        (
            "lambda-runtime-trace-id",
            format!(
                "Root=1-{:08x}-{}",
                deadline_ms as u32,
                &job.request_id.replace('-', "")[..24]
            ),
        ),
        ("content-type", "application/json".to_string()),
    ];
    for (k, v) in pairs {
        if let Ok(v) = v.parse() {
            headers.insert(k, v);
        }
    }
    (StatusCode::OK, headers, job.payload).into_response()
}

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

async fn response(
    State(state): State<Arc<RuntimeState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    complete(&state, &id, Outcome::Response(body))
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
