//! Invoking one memory size's aliases and keeping what the REPORT lines say, with
//! aws-lambda-power-tuning's failure policy: an invocation that fails is tried again (twice, as the
//! tool's state machine retries a failed branch twice); a failure that persists fails the size,
//! unless its error type is in `allowedExceptions`, which counts as a measurement. Throttling is not
//! a failure: it is retried with backoff, separately, until its own budget runs out.
//!
//! Unlike the tool, which retries a whole branch (every invocation of the size again), lab retries
//! the one invocation that failed: the others already measured what they had to.
//!
//! A REPORT line whose `Memory Size` is not the size being measured is rejected, never averaged: the
//! alias ran some other configuration. It counts as a failed attempt.

use std::time::Duration;

use futures::future::join_all;
use indicatif::ProgressBar;
use rand::Rng;

use super::config::TuneConfig;
use super::power::{PowerOutcome, Sample};
use super::report_line::{self, ReportLine};
use crate::control::VersionControl;

/// How failed and throttled invocations are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Throttling retries before the invocation counts as failed.
    pub max_retries: u32,
    /// First throttling delay; doubled on each retry.
    pub base_delay: Duration,
    /// Longest throttling delay.
    pub max_delay: Duration,
    /// Retries of an invocation that failed (function error, no REPORT, wrong memory, API error).
    pub error_retries: u32,
    /// Wait before the first of those; doubled for the next.
    pub error_delay: Duration,
}

impl Default for RetryPolicy {
    /// Throttling: 8 retries from 100 ms doubling to at most 5 s, about 13 s of patience, enough for
    /// Lambda's burst limit to recover. Failures: 2 retries after 1 s and 2 s (the tool's state
    /// machine waits 3 s and 6 s between branch attempts; one invocation needs less).
    fn default() -> Self {
        RetryPolicy {
            max_retries: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            error_retries: 2,
            error_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The wait before throttling retry number `attempt` (0-based): exponential with "equal jitter",
    /// so parallel callers that were throttled together do not come back together.
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(20)).min(self.max_delay);
        let half = exp / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }
}

/// Whether a failed call was throttling, which is worth retrying.
pub(crate) fn is_throttle(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("TooManyRequests") || text.contains("Throttl") || text.contains("429")
}

/// What one size's invocations need besides the function.
pub(crate) struct Job<'a> {
    /// The run's settings.
    pub(crate) cfg: &'a TuneConfig,
    /// The size measured.
    pub(crate) memory_mb: u32,
    /// Its aliases: one, or one per invocation with `--only-cold-starts`.
    pub(crate) aliases: &'a [String],
    /// Retries.
    pub(crate) retry: &'a RetryPolicy,
    /// The account's concurrency, shared by every size's invocations; `None` when unknown.
    pub(crate) permits: Option<&'a tokio::sync::Semaphore>,
}

/// Measures one size: waits until its aliases are Active, then invokes them (all at once with
/// `--parallel`, else one after another, stopping at the first failure).
pub(crate) async fn power(
    target: &dyn VersionControl,
    job: &Job<'_>,
    bar: &ProgressBar,
) -> PowerOutcome {
    let mut outcome = PowerOutcome {
        memory_mb: job.memory_mb,
        ..PowerOutcome::default()
    };
    let payloads = &job.cfg.payloads;
    let alias = |i: usize| &job.aliases[i % job.aliases.len()];
    for a in job.aliases {
        if let Err(e) = target.wait_active(a).await {
            outcome.error = Some(format!("{a} never became Active: {e:#}"));
            return outcome;
        }
    }
    if job.cfg.parallel {
        let calls = payloads.iter().enumerate().map(|(i, payload)| async move {
            let call = invoke(target, job, alias(i), payload).await;
            bar.inc(1);
            call
        });
        for call in join_all(calls).await {
            outcome.record(call);
        }
        return outcome;
    }
    for (i, payload) in payloads.iter().enumerate() {
        if i > 0 && !job.cfg.sleep_between_runs.is_zero() {
            tokio::time::sleep(job.cfg.sleep_between_runs).await;
        }
        let call = invoke(target, job, alias(i), payload).await;
        bar.inc(1);
        outcome.record(call);
        if outcome.error.is_some() {
            // One failure that retries did not cure decides the size.
            break;
        }
    }
    outcome
}

/// One invocation, retried: its measurement or why it failed, and the REPORT lines of attempts that
/// were billed but not kept.
pub(crate) struct Call {
    result: Result<Sample, String>,
    billed_failures: Vec<ReportLine>,
    throttle_retries: u32,
    error_retries: u32,
}

impl PowerOutcome {
    fn record(&mut self, call: Call) {
        self.retries += call.throttle_retries;
        self.error_retries += call.error_retries;
        self.failed_reports.extend(call.billed_failures);
        match call.result {
            Ok(sample) => self.samples.push(sample),
            Err(reason) if self.error.is_none() => self.error = Some(reason),
            Err(_) => {}
        }
    }
}

async fn invoke(target: &dyn VersionControl, job: &Job<'_>, alias: &str, payload: &[u8]) -> Call {
    let mut call = Call {
        result: Err(String::new()),
        billed_failures: Vec::new(),
        throttle_retries: 0,
        error_retries: 0,
    };
    let mut delay = job.retry.error_delay;
    loop {
        let (result, throttles) = attempt(target, job, alias, payload).await;
        call.throttle_retries += throttles;
        match result {
            Ok(sample) => {
                call.result = Ok(sample);
                return call;
            }
            Err((reason, report)) => {
                call.billed_failures.extend(report);
                if call.error_retries == job.retry.error_retries {
                    let tries = call.error_retries + 1;
                    let payload = if job.cfg.disable_payload_logs {
                        String::new()
                    } else {
                        format!(" with payload {}", String::from_utf8_lossy(payload))
                    };
                    call.result = Err(format!("{reason} ({tries} tries{payload})"));
                    return call;
                }
                call.error_retries += 1;
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
        }
    }
}

type Attempt = Result<Sample, (String, Option<ReportLine>)>;

/// One invocation with its throttling retries: the sample, or why it failed (with its REPORT if it
/// was billed), and how many throttled calls were retried.
async fn attempt(
    target: &dyn VersionControl,
    job: &Job<'_>,
    alias: &str,
    payload: &[u8],
) -> (Attempt, u32) {
    let mut throttles = 0;
    let invocation = loop {
        // Paced by the account's concurrency: beyond it Lambda only throttles.
        let permit = match job.permits {
            Some(p) => Some(p.acquire().await.expect("the semaphore is never closed")),
            None => None,
        };
        let answer = target.invoke_at(alias, payload).await;
        drop(permit);
        match answer {
            Err(e) if is_throttle(&e) && throttles < job.retry.max_retries => {
                tokio::time::sleep(job.retry.delay(throttles)).await;
                throttles += 1;
            }
            Err(e) if is_throttle(&e) => {
                let reason = format!("still throttled after {throttles} retries: {e:#}");
                return (Err((reason, None)), throttles);
            }
            Err(e) => return (Err((format!("invocation failed: {e:#}"), None)), throttles),
            Ok(invocation) => break invocation,
        }
    };
    let report = report_line::parse(&invocation.log_tail);
    let result = match (invocation.function_error, report) {
        (_, Some(r)) if r.memory_size_mb.is_some_and(|m| m != job.memory_mb) => {
            let reason = format!(
                "rejected a REPORT line with Memory Size {} MB while measuring {} MB: {alias} ran another configuration",
                r.memory_size_mb.unwrap_or_default(),
                job.memory_mb
            );
            Err((reason, Some(r)))
        }
        (Some(kind), report) => {
            let (error_type, message) = error_document(&invocation.body);
            match report {
                Some(report) if job.cfg.allowed_exceptions.contains(&error_type) => Ok(Sample {
                    report,
                    allowed_error: Some(error_type),
                }),
                report => Err((
                    format!("function error ({kind}) {error_type}: {message}"),
                    report,
                )),
            }
        }
        (None, Some(report)) => Ok(Sample {
            report,
            allowed_error: None,
        }),
        (None, None) => Err((
            "no REPORT line in the invocation's log tail (was it invoked with LogType=Tail?)"
                .to_string(),
            None,
        )),
    };
    (result, throttles)
}

/// `errorType` and `errorMessage` of a Lambda error document (placeholders when it is not one).
pub(crate) fn error_document(body: &[u8]) -> (String, String) {
    let doc: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let fallback = || String::from_utf8_lossy(body).chars().take(200).collect::<String>();
    (
        field("errorType").unwrap_or_else(|| "Unknown".to_string()),
        field("errorMessage").unwrap_or_else(fallback),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_are_recognised() {
        assert!(is_throttle(&anyhow::anyhow!(
            "TooManyRequestsException: Rate exceeded"
        )));
        assert!(is_throttle(
            &anyhow::anyhow!("service error").context("HTTP 429")
        ));
        assert!(is_throttle(&anyhow::anyhow!("ThrottlingException")));
        assert!(!is_throttle(&anyhow::anyhow!("ResourceNotFoundException")));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            ..RetryPolicy::default()
        };
        for _ in 0..20 {
            let d0 = p.delay(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(100) && d1 <= Duration::from_millis(200));
            let d5 = p.delay(5);
            assert!(d5 >= Duration::from_millis(150) && d5 <= Duration::from_millis(300));
        }
    }

    #[test]
    fn error_documents() {
        let (t, m) = error_document(br#"{"errorType":"BadRequest","errorMessage":"missing id"}"#);
        assert_eq!((t.as_str(), m.as_str()), ("BadRequest", "missing id"));
        let (t, m) = error_document(b"boom");
        assert_eq!((t.as_str(), m.as_str()), ("Unknown", "boom"));
    }
}
