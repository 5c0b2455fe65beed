//! A minimal AWS Lambda Runtime API, enough to drive a real `bootstrap` (or any runtime interface
//! client) the way the Lambda service does: the function long-polls `GET .../invocation/next`, then posts
//! `.../{id}/response` or `.../{id}/error`. Shared by the runtime test and the benchmark example.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{mpsc, oneshot};

/// The ARN reported to the function.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:lab-handler-test";

/// What the function posted for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST .../{id}/response` with this body.
    Response(Bytes),
    /// `POST .../{id}/error` with this body (`{"errorType": ..., "errorMessage": ...}`).
    Error(Bytes),
}

impl Outcome {
    /// The body, parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        let body = match self {
            Outcome::Response(b) | Outcome::Error(b) => b,
        };
        serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(body)))
    }
}

struct Invocation {
    id: String,
    body: Bytes,
}

struct Shared {
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Bytes>>,
    polls: AtomicU64,
    first_poll: Mutex<Option<Instant>>,
}

/// A running Runtime API server on 127.0.0.1.
pub struct RuntimeApi {
    /// Where it listens; the function's `AWS_LAMBDA_RUNTIME_API` is `addr.to_string()`.
    pub addr: SocketAddr,
    queue: mpsc::UnboundedSender<Invocation>,
    shared: Arc<Shared>,
    counter: AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Binds an ephemeral port and serves in the background (HTTP/1.1, keep-alive).
    pub async fn start() -> RuntimeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the runtime API");
        let addr = listener.local_addr().expect("local addr");
        let (queue, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            next: tokio::sync::Mutex::new(rx),
            pending: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            polls: AtomicU64::new(0),
            first_poll: Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            // Lambda allows 6 MB responses; axum's default limit is 2 MB.
            .layer(DefaultBodyLimit::max(6 * 1024 * 1024))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RuntimeApi {
            addr,
            queue,
            shared,
            counter: AtomicU64::new(0),
            server,
        }
    }

    /// Queues an event without waiting; the returned receiver yields the function's outcome.
    pub fn submit(&self, event: impl Into<Bytes>) -> oneshot::Receiver<Outcome> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let (tx, rx) = oneshot::channel();
        self.shared
            .pending
            .lock()
            .expect("pending lock")
            .insert(id.clone(), tx);
        let _ = self.queue.send(Invocation {
            id,
            body: event.into(),
        });
        rx
    }

    /// Invokes the function once and waits (at most `timeout`) for its answer.
    pub async fn invoke(
        &self,
        event: impl Into<Bytes>,
        timeout: Duration,
    ) -> Result<Outcome, String> {
        let rx = self.submit(event);
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) => Err("the invocation was dropped".into()),
            Err(_) => Err(format!(
                "no answer within {timeout:?} (init error: {:?})",
                self.init_error()
            )),
        }
    }

    /// The body of `POST /runtime/init/error`, if the function reported one.
    pub fn init_error(&self) -> Option<String> {
        self.shared
            .init_error
            .lock()
            .expect("init error lock")
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// When the function first asked for work: the end of its init phase.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.shared.first_poll.lock().expect("first poll lock")
    }

    /// How many times the function has asked for the next invocation.
    pub fn polls(&self) -> u64 {
        self.shared.polls.load(Ordering::Relaxed)
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    if shared.polls.fetch_add(1, Ordering::Relaxed) == 0 {
        *shared.first_poll.lock().expect("first poll lock") = Some(Instant::now());
    }
    // Long poll: hold the request until there is work, as Lambda does.
    let invocation = shared.next.lock().await.recv().await;
    let Some(invocation) = invocation else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + 900_000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", &invocation.id);
    set("lambda-runtime-deadline-ms", &deadline.to_string());
    set("lambda-runtime-invoked-function-arn", FUNCTION_ARN);
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0",
    );
    set("content-type", "application/json");
    (StatusCode::OK, headers, invocation.body).into_response()
}

fn finish(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    let waiter = shared.pending.lock().expect("pending lock").remove(id);
    match waiter {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        // Lambda answers 400 for an unknown or already-answered request id.
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&shared, &id, Outcome::Response(body))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    finish(&shared, &id, Outcome::Error(body))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().expect("init error lock") = Some(body);
    StatusCode::ACCEPTED
}
