//! Waiting on a function's state: Pending after a create, InProgress after an update, Inactive
//! after weeks idle, and a role that Lambda cannot assume yet (IAM propagation). Lambda refuses
//! some calls in each of these; these waits and retries are what get `up`, `tune` and `load`
//! through them.

use std::time::{Duration, Instant};

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::{LastUpdateStatus, State};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::aws::ctx;
use crate::stack::Stack;

/// A role created seconds ago is not yet visible to Lambda ("cannot be assumed by Lambda"):
/// retry with bounded exponential backoff (about a minute in all), as IAM propagation needs.
pub(super) async fn with_role_retry<F, Fut, T, E>(
    mut call: F,
) -> Result<T, SdkError<E, HttpResponse>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata,
{
    let mut backoff = crate::aws::Backoff::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match call().await {
            Err(e) if is_role_not_ready(&e) && Instant::now() < deadline => {
                backoff.wait().await;
            }
            other => return other,
        }
    }
}

fn is_role_not_ready<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    ProvideErrorMetadata::code(e) == Some("InvalidParameterValueException")
        && ProvideErrorMetadata::message(e).is_some_and(|m| m.contains("cannot be assumed"))
}

/// Waits for State=Active and LastUpdateStatus=Successful (a Failed update is an
/// [`UpdateFailed`] error, which `up` repairs).
pub(crate) async fn wait_ready(stack: &Stack) -> anyhow::Result<()> {
    wait_function_ready(&stack.clients.lambda, &stack.names.function).await
}

/// The function's last update failed: Lambda kept the previous code and configuration. Applying
/// the update again is the repair.
#[derive(Debug)]
pub(crate) struct UpdateFailed {
    /// The function's name.
    pub(crate) function: String,
    /// Lambda's LastUpdateStatusReason.
    pub(crate) reason: String,
}

impl std::fmt::Display for UpdateFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "function {} update failed: {}; run lab up to apply it again",
            self.function, self.reason
        )
    }
}

impl std::error::Error for UpdateFailed {}

/// [`wait_ready`] for any function name: `tune` and `load` use it after changing memory.
/// An Inactive function counts as ready: Lambda accepts updates to it, and the first invocation
/// wakes it (callers retry that one with [`retry_waking`]).
pub(crate) async fn wait_function_ready(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> anyhow::Result<()> {
    poll_configuration(lambda, name, "is still updating after 5 minutes", |c| {
        if c.state() == Some(&State::Failed) {
            anyhow::bail!(
                "function {name} is in state Failed ({}); Lambda cannot recover it: run lab down, then lab up",
                c.state_reason().unwrap_or("no reason given")
            );
        }
        if c.last_update_status() == Some(&LastUpdateStatus::Failed) {
            let reason = c.last_update_status_reason().unwrap_or("no reason given");
            return Err(UpdateFailed {
                function: name.to_string(),
                reason: reason.to_string(),
            }
            .into());
        }
        let state_ok = matches!(
            c.state(),
            None | Some(State::Active) | Some(State::Inactive)
        );
        let update_ok = matches!(
            c.last_update_status(),
            None | Some(LastUpdateStatus::Successful)
        );
        Ok(state_ok && update_ok)
    })
    .await
}

/// Runs an invocation, and when Lambda refuses it because the function is Pending or waking from
/// Inactive, waits until it is Active and runs it again (a few times at most).
pub(crate) async fn retry_waking<T, E, F, Fut>(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    mut call: F,
) -> anyhow::Result<Result<T, SdkError<E, HttpResponse>>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata,
{
    for _ in 0..3 {
        match call().await {
            Err(e) if crate::aws::is_function_waking(&e) => {
                // An Inactive function woken by an invocation goes Pending first.
                poll_configuration(
                    lambda,
                    name,
                    "did not become Active within 5 minutes",
                    |c| Ok(matches!(c.state(), None | Some(State::Active))),
                )
                .await?;
            }
            other => return Ok(other),
        }
    }
    Ok(call().await)
}

/// Reads the function's configuration until `done` says so, for at most 5 minutes; `late` ends
/// the error message past that.
async fn poll_configuration(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    late: &str,
    done: impl Fn(&GetFunctionConfigurationOutput) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut backoff = crate::aws::Backoff::new();
    loop {
        let c = lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(ctx("lambda:GetFunctionConfiguration"))?;
        if done(&c)? {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("function {name} {late}");
        }
        backoff.wait().await;
    }
}
