//! The generator function's resources, made on first use of `--workers` and removed by `lab down`:
//! a function `{stack}-load-worker` (the stack's own verbs from [`crate::stack`] applied to it), its
//! tagged log group, and a role of its own whose only (inline) policy lets it write its logs and,
//! for `--via lambda`, invoke the stack's function. It needs nothing else: the stage URL is public.

use crate::arch::Arch;
use crate::aws::{ctx, AwsErrorExt};
use crate::package::Package;
use crate::stack::{self, FunctionSettings, Stack};

/// The inline policy's name on the worker's role.
const POLICY: &str = "lab-load-worker";
/// The generator runs up to Lambda's limit; a run is cut into slices that end well before it.
pub(crate) const TIMEOUT_S: i32 = 900;

/// The stack as the generator's resources see it: the same account, clients and tag, with the
/// worker's names and settings, so `stack::function` and friends manage it as they manage the
/// tutorial's function.
pub(crate) fn worker_stack(stack: &Stack, memory_mb: u32, arch: Arch) -> Stack {
    let mut ws = stack.clone();
    ws.names = worker_names(&stack.names);
    ws.settings = FunctionSettings {
        memory: memory_mb as i32,
        timeout: TIMEOUT_S,
        arch,
        // The generator's bootstrap is Rust, whichever handler the stack runs.
        language: stack::function::Language::Rust,
    };
    ws
}

/// The generator's names: the stack's, with its own function, role and log group.
pub(crate) fn worker_names(names: &stack::Names) -> stack::Names {
    let base = &names.stack;
    let function = format!("{base}-load-worker");
    stack::Names {
        role: format!("{base}-load-worker-role"),
        log_group: format!("/aws/lambda/{function}"),
        function,
        ..names.clone()
    }
}

/// The least-privilege document: its own log group, and Invoke on the function under test.
fn policy(ws: &Stack, target_function_arn: &str) -> serde_json::Value {
    let group = format!(
        "arn:{}:logs:{}:{}:log-group:{}",
        ws.partition,
        ws.region(),
        ws.account,
        ws.names.log_group
    );
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [format!("{group}:*")]
            },
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": target_function_arn
            }
        ]
    })
}

/// Creates or converges the generator: role, log group, function (code updated when its hash
/// changed), and waits until it is Active.
pub(crate) async fn ensure(
    stack: &Stack,
    package: &Package,
    memory_mb: u32,
    arch: Arch,
) -> anyhow::Result<String> {
    let ws = worker_stack(stack, memory_mb, arch);
    let role_arn = ensure_role(&ws, &policy(&ws, &stack.function_arn())).await?;
    stack::log_group::ensure(&ws).await?;
    stack::function::ensure(&ws, &role_arn, package).await?;
    Ok(ws.names.function)
}

async fn ensure_role(ws: &Stack, document: &serde_json::Value) -> anyhow::Result<String> {
    let iam = &ws.clients.iam;
    let name = &ws.names.role;
    let arn = match iam.get_role().role_name(name).send().await {
        Ok(out) => {
            let role = out.role.ok_or_else(|| anyhow::anyhow!("IAM returned no role {name}"))?;
            let owned = ws.owns(role.tags().iter().map(|t| (t.key(), t.value())));
            ws.check_owned("role", name, owned)?;
            role.arn().to_string()
        }
        Err(e) if e.is_not_found() => {
            let purpose = format!("execution role of the load generator {}", ws.names.function);
            stack::role::create(ws, &purpose).await?
        }
        Err(e) => return Err(crate::aws::explain("iam:GetRole", e)),
    };
    // Put every time: idempotent, and it repairs a policy edited by hand. A role created a moment
    // ago may not be visible yet (NoSuchEntity).
    crate::aws::retry_while(&["NoSuchEntity"], stack::role::IAM_SETTLE, || {
        iam.put_role_policy()
            .role_name(name)
            .policy_name(POLICY)
            .policy_document(document.to_string())
            .send()
    })
    .await
    .map_err(ctx("iam:PutRolePolicy"))?;
    Ok(arn)
}
