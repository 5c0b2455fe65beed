//! Asynchronous invocation (`InvocationType=Event`), as Lambda does it: the event is accepted with a
//! 202 at once and runs in the background; a function error is retried twice (one minute, then two
//! minutes later); a throttle or a system error (moto restarting) keeps the event queued, retried
//! with a backoff from 1 s to 5 minutes, for up to 6 hours. Every figure follows `--time-scale`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::event_counts::Tally;
use super::functions::FunctionKey;
use super::invoke::{invoke_as, InvokeError};
use super::state::Shared;

/// The waits before the second and the third attempt after a function error (Lambda's defaults).
pub(crate) const ERROR_RETRY_DELAYS: [Duration; 2] =
    [Duration::from_secs(60), Duration::from_secs(120)];
/// How long an event that cannot run (throttled, system error) stays queued.
pub(crate) const MAX_EVENT_AGE: Duration = Duration::from_secs(6 * 3600);
/// The longest wait between attempts of a queued event.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What an accepted event needs to run.
pub(crate) struct Event {
    /// The function.
    pub(crate) key: FunctionKey,
    /// The version or alias invoked, if any.
    pub(crate) qualifier: Option<String>,
    /// The event.
    pub(crate) payload: Bytes,
}

/// Queues the event and answers 202 with its request id; the function must exist (Lambda checks
/// that before it queues), which the caller has established.
pub(crate) fn accept(gw: &Arc<Shared>, event: Event) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    gw.events.count(Tally::Accepted);
    tokio::spawn(run(gw.clone(), event, request_id.clone()));
    let mut response = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

/// Runs an accepted event until it succeeds, fails every attempt, or is dropped.
async fn run(gw: Arc<Shared>, event: Event, request_id: String) {
    let born = Instant::now();
    let max_age = gw.rules.scaled(MAX_EVENT_AGE);
    let mut errors = 0usize;
    let mut backoff = gw.rules.scaled(Duration::from_secs(1));
    loop {
        let outcome = invoke_as(
            &gw,
            &event.key,
            event.qualifier.as_deref(),
            event.payload.clone(),
            request_id.clone(),
        )
        .await;
        let wait = match outcome {
            Ok(invoked) if invoked.function_error.is_none() => {
                gw.events.count(Tally::Succeeded);
                return;
            }
            Ok(_) if errors < ERROR_RETRY_DELAYS.len() => {
                errors += 1;
                gw.rules.scaled(ERROR_RETRY_DELAYS[errors - 1])
            }
            Ok(_) => {
                // Lambda would send it to a failure destination or dead-letter queue; none here.
                eprintln!(
                    "lab local: event {request_id} for {} failed {} times; dropped",
                    event.key.1,
                    errors + 1
                );
                gw.events.count(Tally::Failed);
                return;
            }
            Err(InvokeError::NotFound(_)) | Err(InvokeError::NoCode(_)) => {
                gw.events.count(Tally::Dropped);
                return;
            }
            Err(_) if born.elapsed() > max_age => {
                gw.events.count(Tally::Dropped);
                return;
            }
            Err(_) => {
                let wait = backoff;
                backoff = (backoff * 2).min(gw.rules.scaled(MAX_BACKOFF));
                wait
            }
        };
        gw.events.count(Tally::Retry);
        tokio::time::sleep(wait).await;
    }
}
