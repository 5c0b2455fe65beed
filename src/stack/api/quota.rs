//! API Gateway's account-wide rate limits on the calls `up` and `down` make (CreateDeployment one
//! per 5 s, DeleteRestApi one per 30 s): waited out as each 429's `Retry-After` says, and reported.

use std::time::Duration;

/// How long `up` and `down` wait out API Gateway's account-wide rate limits before giving up.
pub(super) const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(180);

/// The SDK's own retries off: a 429 is waited out as its `Retry-After` says, not by guesswork.
pub(super) fn no_sdk_retries() -> aws_sdk_apigateway::config::Builder {
    aws_sdk_apigateway::config::Builder::default()
        .retry_config(aws_sdk_apigateway::config::retry::RetryConfig::disabled())
}

/// A line for the change's details when a rate limit made us wait.
pub(super) fn rate_limit_note(waited: Duration, operation: &str, quota: &str) -> Option<String> {
    (!waited.is_zero()).then(|| {
        format!(
            "waited {:.1} s for API Gateway's {operation} quota ({quota} per account)",
            waited.as_secs_f64()
        )
    })
}
