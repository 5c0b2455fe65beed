//! The Lambda function: lab's Rust handler (`bootstrap` on `provided.al2023`) or the tutorial's
//! Python one (`--handler python`), the allowed table in its env.

use std::collections::HashMap;
use std::ops::ControlFlow;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode};

use super::{Action, Change, ResourceStatus, Stack, Step};
use crate::arch::Arch;
use crate::aws::{ctx, AwsErrorExt};
use crate::package::Package;

const RESOURCE: &str = "function";
/// The env var the handler reads to refuse any other table (defence in depth beyond IAM).
pub(crate) use handler::ALLOWED_TABLE_ENV;

mod language;
mod state;

pub(crate) use language::Language;

use state::with_role_retry;
pub(crate) use state::{retry_waking, wait_function_ready, wait_ready, UpdateFailed};

/// What `status` and `up` compare.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    /// The function's ARN.
    pub(crate) arn: String,
    /// The SHA-256 of its deployment package (base64, as Lambda reports it).
    pub(crate) code_sha256: String,
    /// Memory size, MB.
    pub(crate) memory: i32,
    /// Timeout, seconds.
    pub(crate) timeout: i32,
    /// Instruction set.
    pub(crate) arch: Arch,
    /// Execution role ARN.
    pub(crate) role: String,
    /// Runtime identifier (`provided.al2023`, `python3.13`).
    pub(crate) runtime: String,
    /// Handler setting (`bootstrap`, `lambda_function.lambda_handler`).
    pub(crate) handler: String,
    /// Environment variables.
    pub(crate) env: HashMap<String, String>,
    /// Lifecycle state (Pending, Active, Inactive, Failed).
    pub(crate) state: String,
    /// Status of the last update (InProgress, Successful, Failed).
    pub(crate) last_update: String,
    /// `None` when the tags could not be read (GetFunction returns them only to a caller allowed
    /// lambda:ListTags).
    pub(crate) owned: Option<bool>,
}

/// Reads the function's configuration and tags; `None` when it does not exist.
pub(crate) async fn observe(stack: &Stack) -> anyhow::Result<Option<Observed>> {
    let lambda = &stack.clients.lambda;
    let answer = lambda.get_function().function_name(&stack.names.function).send().await;
    let Some(out) = crate::aws::found("lambda:GetFunction", answer)? else {
        return Ok(None);
    };
    let Some(c) = out.configuration() else {
        return Ok(None);
    };
    let owned = match out.tags() {
        Some(t) => Some(stack.owns(t.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
        None => read_tags(stack, c.function_arn().unwrap_or_default()).await?,
    };
    Ok(Some(Observed {
        arn: c.function_arn().unwrap_or_default().to_string(),
        code_sha256: c.code_sha256().unwrap_or_default().to_string(),
        memory: c.memory_size().unwrap_or_default(),
        timeout: c.timeout().unwrap_or_default(),
        arch: c.architectures().first().and_then(Arch::from_lambda).unwrap_or_default(),
        role: c.role().unwrap_or_default().to_string(),
        runtime: c.runtime().map(|r| r.as_str().to_string()).unwrap_or_default(),
        handler: c.handler().unwrap_or_default().to_string(),
        env: c.environment().and_then(|e| e.variables()).cloned().unwrap_or_default(),
        state: c.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        last_update: c.last_update_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        owned,
    }))
}

/// GetFunction leaves the tags out when the caller may not list them: ask ListTags. A refusal is
/// an error naming `lambda:ListTags` (never "not made by this stack": the operator lacks a
/// permission, the function may well be this stack's). An empty tag map is a real answer.
async fn read_tags(stack: &Stack, arn: &str) -> anyhow::Result<Option<bool>> {
    let answer = stack.clients.lambda.list_tags().resource(arn).send().await;
    let out = answer.map_err(ctx("lambda:ListTags"))?;
    Ok(out
        .tags()
        .map(|tags| stack.owns(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))))
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
    let language = s.language;
    if o.runtime != language.runtime().as_str() || o.handler != language.handler() {
        let now = Language::of_runtime(&o.runtime).map_or(o.runtime.clone(), |l| l.to_string());
        drift.push(format!(
            "handler {now} ({}) -> {language} ({})",
            o.runtime,
            language.runtime().as_str()
        ));
    }
    if o.env != desired_env(stack) {
        drift.push("environment differs".to_string());
    }
    drift
}

/// Creates or converges the function, then waits until it is Active and its last update Successful.
pub(crate) async fn ensure(
    stack: &Stack,
    role_arn: &str,
    package: &Package,
) -> anyhow::Result<Change> {
    let name = &stack.names.function;
    let step = Step::start(RESOURCE, name);
    let Some(observed) = observe(stack).await? else {
        create(stack, role_arn, package).await?;
        wait_ready(stack).await?;
        return Ok(step.done(Action::Created, Some(stack.function_arn())));
    };
    stack.check_owned(RESOURCE, name, observed.owned.unwrap_or(false))?;
    let mut details = Vec::new();
    let mut repair = match wait_ready(stack).await {
        Ok(()) => false,
        Err(e) if e.is::<UpdateFailed>() => {
            details.push(format!("{e:#}: applied the code and configuration again"));
            true
        }
        Err(e) => return Err(e),
    };
    // A failed update leaves the previous code and configuration in place: apply both again, and
    // once more if the repair itself fails.
    for attempt in 0..2 {
        match converge(stack, &observed, role_arn, package, repair, &mut details).await {
            Err(e) if attempt == 0 && e.is::<UpdateFailed>() => {
                details.push(format!("{e:#}: applying it again"));
                repair = true;
            }
            other => {
                other?;
                break;
            }
        }
    }
    Ok(step.done(Action::Unchanged, Some(observed.arn)).with_details(details))
}

/// Updates the code when its hash or architecture differ and the configuration when it drifted
/// (both when `force`), waiting for each update to finish as Lambda requires.
async fn converge(
    stack: &Stack,
    observed: &Observed,
    role_arn: &str,
    package: &Package,
    force: bool,
    details: &mut Vec<String>,
) -> anyhow::Result<()> {
    let name = &stack.names.function;
    let lambda = &stack.clients.lambda;
    if force || observed.code_sha256 != package.sha256_b64 || observed.arch != stack.settings.arch {
        lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(package.bytes.clone()))
            .architectures(stack.settings.arch.into())
            .send()
            .await
            .map_err(ctx("lambda:UpdateFunctionCode"))?;
        if observed.arch != stack.settings.arch {
            details.push(format!(
                "architecture {} -> {}",
                observed.arch, stack.settings.arch
            ));
        } else if observed.code_sha256 != package.sha256_b64 {
            details.push("code updated (SHA-256 changed)".to_string());
        }
        wait_ready(stack).await?;
    }
    let drift = config_drift(stack, observed, role_arn);
    if force || !drift.is_empty() {
        with_role_retry(|| async {
            lambda
                .update_function_configuration()
                .function_name(name)
                .memory_size(stack.settings.memory)
                .timeout(stack.settings.timeout)
                .role(role_arn)
                .runtime(stack.settings.language.runtime())
                .handler(stack.settings.language.handler())
                .environment(Environment::builder().set_variables(Some(desired_env(stack))).build())
                .send()
                .await
        })
        .await
        .map_err(ctx("lambda:UpdateFunctionConfiguration"))?;
        details.extend(drift);
        wait_ready(stack).await?;
    }
    Ok(())
}

async fn create(stack: &Stack, role_arn: &str, package: &Package) -> anyhow::Result<()> {
    let lambda = &stack.clients.lambda;
    let out = with_role_retry(|| async {
        lambda
            .create_function()
            .function_name(&stack.names.function)
            .runtime(stack.settings.language.runtime())
            .handler(stack.settings.language.handler())
            .role(role_arn)
            .code(FunctionCode::builder().zip_file(Blob::new(package.bytes.clone())).build())
            .memory_size(stack.settings.memory)
            .timeout(stack.settings.timeout)
            .architectures(stack.settings.arch.into())
            .environment(Environment::builder().set_variables(Some(desired_env(stack))).build())
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

/// Existence, ARN, memory, timeout, architecture, code hash, state and drift.
pub(crate) async fn describe(
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
                .with("architecture", o.arch)
                .with(
                    "handler",
                    Language::of_runtime(&o.runtime).map_or("other", Language::as_str),
                )
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
                status.drift.push("code differs from the local build".to_string());
            }
            match o.owned {
                Some(owned) => status.note_untagged(owned),
                None => {
                    status.drift.push("tags unreadable (lambda:ListTags not allowed)".to_string())
                }
            }
            status
        }
    })
}

/// Deletes the function (its resource policy, and so the API's permission, goes with it).
pub(crate) async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let name = &stack.names.function;
    let step = Step::start(RESOURCE, name);
    let observed = match stack.deletable(&step, observe(stack).await?, |o| o.owned) {
        ControlFlow::Continue(found) => found,
        ControlFlow::Break(done) => return Ok(done),
    };
    let answer = stack.clients.lambda.delete_function().function_name(name).send().await;
    step.deleted("lambda:DeleteFunction", answer, observed.arn)
}
