//! The stage URL while a change propagates: API Gateway answers 500 "Internal server error"
//! until a new Lambda permission is in effect (its execution log: "Invalid permissions on Lambda
//! function"), and 403 until a new stage or deployment is served. Neither reached the function, so
//! sending again is safe. `up` waits until a harmless `ping` gets through; `call` retries such
//! answers within a bounded window and says what it waited out.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::transport::{self, Reply};

/// How long `call` waits out propagation answers before it reports the last one.
pub(crate) const CALL_WINDOW: Duration = Duration::from_secs(30);
/// How long `up` waits for its stage to answer: AWS's propagation is seconds, rarely a minute.
pub(crate) const UP_WINDOW: Duration = Duration::from_secs(120);

/// Is this API Gateway's own answer while a permission, stage or deployment propagates (the
/// function was not invoked)?
pub(crate) fn is_propagation_answer(reply: &Reply) -> bool {
    let message = reply.json().and_then(|v| {
        let only_message = v.as_object().is_some_and(|o| o.len() == 1);
        only_message.then(|| v["message"].as_str().map(str::to_string)).flatten()
    });
    matches!(
        (reply.status, message.as_deref()),
        (500, Some("Internal server error")) | (403, Some("Forbidden"))
    )
}

/// What was waited out before an answer that was not a propagation answer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Waited {
    /// Propagation answers received.
    pub(crate) answers: u32,
    /// The last one's status.
    pub(crate) status: u16,
    /// Time from the first send to the answer kept.
    pub(crate) elapsed: Duration,
}

impl Waited {
    /// One line for stderr, or `None` when nothing was waited out.
    pub(crate) fn line(&self) -> Option<String> {
        (self.answers > 0).then(|| {
            format!(
                "waited {:.1} s for the stage to take a change in: {} answer(s) of HTTP {} from API Gateway before the function was reached (a new permission or deployment propagating)",
                self.elapsed.as_secs_f64(),
                self.answers,
                self.status
            )
        })
    }
}

/// POSTs `event`, sending again while API Gateway gives propagation answers, for at most
/// `window`; the last answer and what was waited out.
pub(crate) async fn send(
    client: &reqwest::Client,
    url: &str,
    event: &Value,
    window: Duration,
) -> anyhow::Result<(Reply, Waited)> {
    let started = Instant::now();
    let mut waited = Waited::default();
    let mut pause = Duration::from_millis(100);
    loop {
        let reply = transport::http(client, url, event).await?;
        if !is_propagation_answer(&reply) || started.elapsed() + pause > window {
            waited.elapsed = started.elapsed();
            return Ok((reply, waited));
        }
        waited.answers += 1;
        waited.status = reply.status;
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// Waits until `ping` through the stage reaches the function; how long that took and the
/// function's status (a package of one's own may not know `ping`: reaching it is what counts).
/// Still meeting propagation answers after [`UP_WINDOW`] is an error naming the last one.
pub(crate) async fn wait_ready(url: &str) -> anyhow::Result<(Duration, u16)> {
    let client = reqwest::Client::builder().build()?;
    let started = Instant::now();
    let (reply, _) = send(&client, url, &super::event::ping(), UP_WINDOW).await?;
    if is_propagation_answer(&reply) {
        anyhow::bail!(
            "the stage {url} still answers HTTP {} to ping after {:.0} s ({}); run lab up again, or lab status to see what differs",
            reply.status,
            started.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&reply.body).trim()
        );
    }
    Ok((started.elapsed(), reply.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
            function_error: None,
            latency: Duration::ZERO,
        }
    }

    #[test]
    fn only_api_gateways_own_answers_are_retried() {
        assert!(is_propagation_answer(&reply(
            500,
            r#"{"message": "Internal server error"}"#
        )));
        assert!(is_propagation_answer(&reply(
            403,
            r#"{"message":"Forbidden"}"#
        )));
        // The function's own errors reached it: never sent again.
        assert!(!is_propagation_answer(&reply(
            500,
            r#"{"errorMessage":"Internal: boom"}"#
        )));
        assert!(!is_propagation_answer(&reply(
            403,
            r#"{"errorMessage":"Forbidden: no"}"#
        )));
        assert!(!is_propagation_answer(&reply(
            403,
            r#"{"message":"Missing Authentication Token"}"#
        )));
        assert!(!is_propagation_answer(&reply(
            200,
            r#"{"message":"Internal server error"}"#
        )));
    }
}
