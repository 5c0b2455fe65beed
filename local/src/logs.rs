//! Ships function output to CloudWatch Logs in moto (`/aws/lambda/<fn>`), off the invocation's path.

use std::collections::HashSet;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::moto::Moto;
use super::supervisor::Supervisor;

/// One batch of log lines, or a request to wait until everything queued so far is written.
pub(crate) enum LogMsg {
    /// Lines for one log stream.
    Lines {
        /// The function's region.
        region: String,
        /// The log group, `/aws/lambda/<function>`.
        group: String,
        /// The instance's log stream.
        stream: String,
        /// (milliseconds since the epoch, message)
        events: Vec<(i64, String)>,
    },
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// The sending side, cheap to clone.
#[derive(Clone)]
pub(crate) struct LogSink {
    tx: mpsc::UnboundedSender<LogMsg>,
}

impl LogSink {
    /// Starts the writer task.
    pub(crate) fn start(moto: Moto, supervisor: Arc<Supervisor>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(moto, supervisor, rx));
        Self { tx }
    }

    /// Queues lines; never blocks the invocation.
    pub(crate) fn send(&self, msg: LogMsg) {
        let _ = self.tx.send(msg);
    }

    /// Waits until every queued line is written (so a deleted log group is not recreated after).
    pub(crate) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(LogMsg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Most events per PutLogEvents (CloudWatch allows 10,000 and 1 MB).
const MAX_EVENTS_PER_CALL: usize = 2_000;

/// Streams known to exist, at most: beyond it the set starts again.
const MAX_KNOWN_STREAMS: usize = 10_000;

/// A log stream: (region, group, stream).
type StreamKey = (String, String, String);

/// How long lines wait to be written with the ones that follow them, unless a flush asks sooner.
/// Each PutLogEvents costs moto a request, a write-ahead-log entry and its share of the snapshots,
/// whatever its size: writing each invocation's lines at once cost moto a third of a core at 2,500
/// invocations a second, taken from the functions the stack measures. A fifth of a second's batch
/// saved about as much as a whole second's did, in smaller bursts. Lambda's own lines reach
/// CloudWatch Logs seconds after the invocation, so this changes nothing a reader of AWS could rely
/// on; and a read of the logs through the stack flushes first (see [`LogSink::flush`]).
const BATCH_WINDOW: Duration = Duration::from_millis(200);

/// The most messages one batch takes before it is written.
const MAX_BATCH: usize = 10_000;

/// Writes what is queued, batch by batch, until every sender is gone.
async fn writer(moto: Moto, supervisor: Arc<Supervisor>, mut rx: mpsc::UnboundedReceiver<LogMsg>) {
    let mut known: HashSet<StreamKey> = HashSet::new();
    while let Some(first) = rx.recv().await {
        let batch = gather(first, &mut rx).await;
        // While moto restarts, lines wait for it (a minute at most) rather than being lost.
        supervisor.wait_up(Duration::from_secs(60)).await;
        let mut streams: Vec<(StreamKey, Vec<(i64, String)>)> = Vec::new();
        let mut flushes = Vec::new();
        for msg in batch {
            match msg {
                LogMsg::Flush(done) => flushes.push(done),
                LogMsg::Lines {
                    region,
                    group,
                    stream,
                    events,
                } => {
                    let key = (region, group, stream);
                    match streams.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, all)) => all.extend(events),
                        None => streams.push((key, events)),
                    }
                }
            }
        }
        for (key, events) in streams {
            for chunk in events.chunks(MAX_EVENTS_PER_CALL) {
                put(&moto, &mut known, &key, chunk).await;
            }
        }
        // Everything queued before each flush request has been written now.
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// The batch that starts with `first`: what else arrives within [`BATCH_WINDOW`], or up to a flush
/// request (which is answered once everything before it is written, so it does not wait out the
/// window), at most [`MAX_BATCH`] messages.
async fn gather(first: LogMsg, rx: &mut mpsc::UnboundedReceiver<LogMsg>) -> Vec<LogMsg> {
    let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
    let mut flushing = matches!(first, LogMsg::Flush(_));
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        let next = if flushing {
            // Whatever is already queued goes with the flush; nothing more is waited for.
            rx.try_recv().ok()
        } else {
            tokio::time::timeout_at(deadline, rx.recv()).await.ok().flatten()
        };
        let Some(msg) = next else { break };
        flushing |= matches!(msg, LogMsg::Flush(_));
        batch.push(msg);
    }
    batch
}

/// PutLogEvents for one stream, creating its group and stream first when they are not known.
async fn put(
    moto: &Moto,
    known: &mut HashSet<StreamKey>,
    key: &StreamKey,
    events: &[(i64, String)],
) {
    let (region, group, stream) = key;
    for attempt in 0..2 {
        if !known.contains(key) {
            // Lambda creates the group when it is missing; "already exists" is fine.
            let _ = moto
                .json_call(
                    "logs",
                    region,
                    "Logs_20140328.CreateLogGroup",
                    &serde_json::json!({"logGroupName": group}),
                )
                .await;
            let _ = moto
                .json_call(
                    "logs",
                    region,
                    "Logs_20140328.CreateLogStream",
                    &serde_json::json!({"logGroupName": group, "logStreamName": stream}),
                )
                .await;
            if known.len() >= MAX_KNOWN_STREAMS {
                // Every instance has a stream of its own: forget them all now and then rather than
                // grow without end (creating one again only meets "already exists").
                known.clear();
            }
            known.insert(key.clone());
        }
        let body = serde_json::json!({
            "logGroupName": group,
            "logStreamName": stream,
            "logEvents": events.iter().map(|(t, m)| serde_json::json!({"timestamp": t, "message": m})).collect::<Vec<_>>(),
        });
        match moto.json_call("logs", region, "Logs_20140328.PutLogEvents", &body).await {
            Ok((status, _)) if status < 300 => return,
            // The group or stream was deleted behind our back: recreate once.
            _ if attempt == 0 => {
                known.remove(key);
            }
            _ => return,
        }
    }
}
