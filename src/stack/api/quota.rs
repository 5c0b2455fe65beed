//! API Gateway's account-wide rate limits on the calls `up` and `down` make (CreateDeployment one
//! per 5 s, DeleteRestApi one per 30 s): waited out as each 429's `Retry-After` says, and reported.

use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// How long `up` and `down` wait out API Gateway's account-wide rate limits before giving up.
const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(180);

/// The SDK's own retries off: a 429 is waited out as its `Retry-After` says, not by guesswork.
fn no_sdk_retries() -> aws_sdk_apigateway::config::Builder {
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

/// Runs a rate-limited call with the SDK's retries off (`call` gets the override to apply) and
/// waits out each 429 as its `Retry-After` says, within [`RATE_LIMIT_BUDGET`]. Returns the answer
/// and how long the waits took.
pub(super) async fn within_quota<T, E, F, Fut>(
    mut call: F,
) -> (Result<T, SdkError<E, HttpResponse>>, Duration)
where
    F: FnMut(aws_sdk_apigateway::config::Builder) -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata,
{
    let mut waited = Duration::ZERO;
    let answer = crate::aws::honour_retry_after(
        RATE_LIMIT_BUDGET,
        |w| waited += w,
        || call(no_sdk_retries()),
    )
    .await;
    (answer, waited)
}
