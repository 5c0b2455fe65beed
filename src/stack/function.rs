//! The Lambda function: `provided.al2023`, the handler's `bootstrap`, the allowed table in its env.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime, State,
};

use super::{Action, Change, ResourceStatus, Stack};
use crate::aws::{ctx, AwsErrorExt};
use crate::package::Package;

const RESOURCE: &str = "function";
/// The env var the handler reads to refuse any other table (defence in depth beyond IAM).
pub use handler::ALLOWED_TABLE_ENV;

/// What `status` and `up` compare.
#[derive(Debug, Clone)]
pub struct Observed {
    pub arn: String,
    pub code_sha256: String,
    pub memory: i32,
    pub timeout: i32,
    pub arch: String,
    pub role: String,
    pub runtime: String,
    pub env: HashMap<String, String>,
    pub state: String,
    pub last_update: String,
    pub owned: bool,
}

/// Reads the function's configuration and tags; `None` when it does not exist.
pub async fn observe(stack: &Stack) -> anyhow::Result<Option<Observed>> {
    let out = match stack
        .clients
        .lambda
        .get_function()
        .function_name(&stack.names.function)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(crate::aws::explain("lambda:GetFunction", e)),
    };
    let Some(c) = out.configuration() else {
        return Ok(None);
    };
    let owned = out
        .tags()
        .map(|t| stack.owns(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
        .unwrap_or(false);
    Ok(Some(Observed {
        arn: c.function_arn().unwrap_or_default().to_string(),
        code_sha256: c.code_sha256().unwrap_or_default().to_string(),
        memory: c.memory_size().unwrap_or_default(),
        timeout: c.timeout().unwrap_or_default(),
        arch: c
            .architectures()
            .first()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| "x86_64".into()),
        role: c.role().unwrap_or_default().to_string(),
        runtime: c
            .runtime()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        env: c
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default(),
        state: c
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        last_update: c
            .last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        owned,
    }))
}

fn desired_env(stack: &Stack) -> HashMap<String, String> {
    [(ALLOWED_TABLE_ENV.to_string(), stack.names.table.clone())].into()
}

fn config_drift(stack: &Stack, o: &Observed, role_arn: &str) -> Vec<String> {
    let s = &stack.settings;
    let mut drift = Vec::new();
    if o.memory != s.memory {
        drift.push(format!("memory {} MB -> {} MB", o.memory, s.memory));
    }
    if o.timeout != s.timeout {
        drift.push(format!("timeout {} s -> {} s", o.timeout, s.timeout));
    }
    if o.role != role_arn {
        drift.push(format!("role {} -> {role_arn}", o.role));
    }
    if o.runtime != Runtime::Providedal2023.as_str() {
        drift.push(format!("runtime {} -> provided.al2023", o.runtime));
    }
    if o.env != desired_env(stack) {
        drift.push("environment differs".to_string());
    }
    drift
}

/// Creates or converges the function, then waits until it is Active and its last update Successful.
pub async fn ensure(stack: &Stack, role_arn: &str, package: &Package) -> anyhow::Result<Change> {
    let started = Instant::now();
    let name = &stack.names.function;
    let lambda = &stack.clients.lambda;
    let Some(observed) = observe(stack).await? else {
        create(stack, role_arn, package).await?;
        wait_ready(stack).await?;
        return Ok(Change::new(
            RESOURCE,
            name,
            Action::Created,
            Some(stack.function_arn()),
            started,
        ));
    };
    stack.check_owned(RESOURCE, name, observed.owned)?;
    wait_ready(stack).await?;
    let mut details = Vec::new();
    if observed.code_sha256 != package.sha256_b64 || observed.arch != stack.settings.arch {
        lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(package.bytes.clone()))
            .architectures(Architecture::from(stack.settings.arch.as_str()))
            .send()
            .await
            .map_err(ctx("lambda:UpdateFunctionCode"))?;
        details.push(if observed.arch != stack.settings.arch {
            format!("architecture {} -> {}", observed.arch, stack.settings.arch)
        } else {
            "code updated (SHA-256 changed)".to_string()
        });
        wait_ready(stack).await?;
    }
    let drift = config_drift(stack, &observed, role_arn);
    if !drift.is_empty() {
        with_role_retry(|| async {
            lambda
                .update_function_configuration()
                .function_name(name)
                .memory_size(stack.settings.memory)
                .timeout(stack.settings.timeout)
                .role(role_arn)
                .runtime(Runtime::Providedal2023)
                .handler("bootstrap")
                .environment(
                    Environment::builder()
                        .set_variables(Some(desired_env(stack)))
                        .build(),
                )
                .send()
                .await
        })
        .await
        .map_err(ctx("lambda:UpdateFunctionConfiguration"))?;
        details.extend(drift);
        wait_ready(stack).await?;
    }
    Ok(Change::new(
        RESOURCE,
        name,
        Action::Unchanged,
        Some(observed.arn),
        started,
    )
    .with_details(details))
}

async fn create(stack: &Stack, role_arn: &str, package: &Package) -> anyhow::Result<()> {
    let lambda = &stack.clients.lambda;
    let out = with_role_retry(|| async {
        lambda
            .create_function()
            .function_name(&stack.names.function)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role_arn)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(package.bytes.clone()))
                    .build(),
            )
            .memory_size(stack.settings.memory)
            .timeout(stack.settings.timeout)
            .architectures(Architecture::from(stack.settings.arch.as_str()))
            .environment(
                Environment::builder()
                    .set_variables(Some(desired_env(stack)))
                    .build(),
            )
            .description(format!(
                "lab stack {}: the tutorial's LambdaFunctionOverHttps",
                stack.names.stack
            ))
            .set_tags(Some(stack.tags()))
            .send()
            .await
    })
    .await;
    match out {
        Ok(_) => Ok(()),
        // A concurrent or interrupted `up` created it already; the next ensure converges it.
        Err(e) if e.is_code(&["ResourceConflictException"]) => Ok(()),
        Err(e) => Err(crate::aws::explain("lambda:CreateFunction", e)),
    }
}

/// A role created seconds ago is not yet visible to Lambda ("cannot be assumed by Lambda"):
/// retry with bounded exponential backoff (about a minute in all), as IAM propagation needs.
async fn with_role_retry<F, Fut, T, E>(
    mut call: F,
) -> Result<
    T,
    aws_sdk_lambda::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
        Output = Result<
            T,
            aws_sdk_lambda::error::SdkError<
                E,
                aws_smithy_runtime_api::client::orchestrator::HttpResponse,
            >,
        >,
    >,
    E: aws_sdk_lambda::error::ProvideErrorMetadata,
{
    let mut delay = Duration::from_millis(500);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match call().await {
            Err(e) if is_role_not_ready(&e) && Instant::now() < deadline => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
}

fn is_role_not_ready<E: aws_sdk_lambda::error::ProvideErrorMetadata>(
    e: &aws_sdk_lambda::error::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> bool {
    use aws_sdk_lambda::error::ProvideErrorMetadata;
    ProvideErrorMetadata::code(e) == Some("InvalidParameterValueException")
        && ProvideErrorMetadata::message(e).is_some_and(|m| m.contains("cannot be assumed"))
}

/// Waits for State=Active and LastUpdateStatus=Successful (a Failed update is an error).
pub async fn wait_ready(stack: &Stack) -> anyhow::Result<()> {
    wait_function_ready(&stack.clients.lambda, &stack.names.function).await
}

/// [`wait_ready`] for any function name: `tune` and `load` use it after changing memory.
pub async fn wait_function_ready(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut delay = Duration::from_millis(100);
    loop {
        let c = lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(ctx("lambda:GetFunctionConfiguration"))?;
        let state_ok = matches!(c.state(), None | Some(State::Active));
        let update = c.last_update_status();
        if update == Some(&LastUpdateStatus::Failed) || c.state() == Some(&State::Failed) {
            anyhow::bail!(
                "function {name} update failed: {}",
                c.last_update_status_reason()
                    .or(c.state_reason())
                    .unwrap_or("no reason given")
            );
        }
        if state_ok && matches!(update, None | Some(LastUpdateStatus::Successful)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("function {name} is still updating after 5 minutes");
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
    }
}

/// Existence, ARN, memory, timeout, architecture, code hash, state and drift.
pub async fn describe(
    stack: &Stack,
    role_arn: Option<&str>,
    package_sha: Option<&str>,
) -> anyhow::Result<ResourceStatus> {
    let name = &stack.names.function;
    Ok(match observe(stack).await? {
        None => ResourceStatus::absent(RESOURCE, name),
        Some(o) => {
            let mut status = ResourceStatus::present(RESOURCE, name, Some(o.arn.clone()))
                .with("memory_mb", o.memory)
                .with("timeout_s", o.timeout)
                .with("architecture", &o.arch)
                .with("runtime", &o.runtime)
                .with("code_sha256", &o.code_sha256)
                .with("state", format!("{}/{}", o.state, o.last_update));
            let role = role_arn.unwrap_or(&o.role);
            status.drift = config_drift(stack, &o, role);
            if o.arch != stack.settings.arch {
                status.drift.push(format!(
                    "architecture {} -> {}",
                    o.arch, stack.settings.arch
                ));
            }
            if package_sha.is_some_and(|sha| sha != o.code_sha256) {
                status
                    .drift
                    .push("code differs from the local build".to_string());
            }
            status.note_untagged(o.owned);
            status
        }
    })
}

/// Deletes the function (its resource policy, and so the API's permission, goes with it).
pub async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let started = Instant::now();
    let name = &stack.names.function;
    let Some(observed) = observe(stack).await? else {
        return Ok(Change::new(RESOURCE, name, Action::Absent, None, started));
    };
    if let Some(kept) = stack.keep_foreign(RESOURCE, name, observed.owned, started) {
        return Ok(kept);
    }
    crate::aws::ignore_not_found(
        "lambda:DeleteFunction",
        stack
            .clients
            .lambda
            .delete_function()
            .function_name(name)
            .send()
            .await,
    )?;
    Ok(Change::new(
        RESOURCE,
        name,
        Action::Deleted,
        Some(observed.arn),
        started,
    ))
}
