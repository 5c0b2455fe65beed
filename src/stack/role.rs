//! The function's execution role: Lambda trust policy, this stack's policy attached.

use std::ops::ControlFlow;

use aws_sdk_iam::types::Tag;

use super::{decode_policy, same_policy, Action, Change, ResourceStatus, Stack, Step};
use crate::aws::{ctx, AwsErrorExt};

const RESOURCE: &str = "role";
const TRUST: &str = include_str!("../../assets/trust-policy.json");

fn trust() -> serde_json::Value {
    serde_json::from_str(TRUST).expect("assets/trust-policy.json is valid JSON")
}

struct Observed {
    arn: String,
    owned: bool,
    trust: serde_json::Value,
    attached: Vec<String>,
}

async fn observe(stack: &Stack) -> anyhow::Result<Option<Observed>> {
    let iam = &stack.clients.iam;
    let Some(role) = crate::aws::found(
        "iam:GetRole",
        iam.get_role().role_name(&stack.names.role).send().await,
    )?
    .and_then(|out| out.role) else {
        return Ok(None);
    };
    // IAM can still answer GetRole for a moment after the role is deleted; the calls that follow
    // then find nothing: the role is gone.
    let Some(attached) = crate::aws::found(
        "iam:ListAttachedRolePolicies",
        iam.list_attached_role_policies().role_name(&stack.names.role).send().await,
    )?
    else {
        return Ok(None);
    };
    let attached = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    Ok(Some(Observed {
        arn: role.arn().to_string(),
        owned: stack.owns(role.tags().iter().map(|t| (t.key(), t.value()))),
        trust: role
            .assume_role_policy_document()
            .map(decode_policy)
            .transpose()?
            .unwrap_or_default(),
        attached,
    }))
}

fn drift(stack: &Stack, observed: &Observed) -> Vec<String> {
    let mut drift = Vec::new();
    if !same_policy(&observed.trust, &trust()) {
        drift.push("trust policy is not Lambda's".to_string());
    }
    if !observed.attached.contains(&stack.policy_arn()) {
        drift.push(format!("policy {} is not attached", stack.names.policy));
    }
    drift
}

/// Creates the role or repairs its trust policy and attachment. Returns the change and the role ARN.
pub(crate) async fn ensure(stack: &Stack) -> anyhow::Result<(Change, String)> {
    let iam = &stack.clients.iam;
    let name = &stack.names.role;
    let step = Step::start(RESOURCE, name);
    let (arn, action, details) = match observe(stack).await? {
        None => {
            let arn = create(
                stack,
                &format!("execution role of {}", stack.names.function),
            )
            .await?;
            attach(stack).await?;
            (arn, Action::Created, Vec::new())
        }
        Some(observed) => {
            stack.check_owned(RESOURCE, name, observed.owned)?;
            let details = drift(stack, &observed);
            if !same_policy(&observed.trust, &trust()) {
                iam.update_assume_role_policy()
                    .role_name(name)
                    .policy_document(trust().to_string())
                    .send()
                    .await
                    .map_err(ctx("iam:UpdateAssumeRolePolicy"))?;
            }
            if !observed.attached.contains(&stack.policy_arn()) {
                attach(stack).await?;
            }
            (observed.arn, Action::Unchanged, details)
        }
    };
    let change = step.done(action, Some(arn.clone())).with_details(details);
    Ok((change, arn))
}

/// Creates `stack.names.role`, a role Lambda may assume, tagged as the stack's, described as
/// `lab stack <stack>: <purpose>`. Returns its ARN. The stack's function and the load generator
/// (`crate::load::worker::deploy`) each get one.
pub(crate) async fn create(stack: &Stack, purpose: &str) -> anyhow::Result<String> {
    let tags = stack.tag_list(|k, v| Tag::builder().key(k).value(v).build())?;
    let out = stack
        .clients
        .iam
        .create_role()
        .role_name(&stack.names.role)
        .assume_role_policy_document(TRUST)
        .description(format!("lab stack {}: {purpose}", stack.names.stack))
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(ctx("iam:CreateRole"))?;
    Ok(out.role().map(|r| r.arn().to_string()).unwrap_or_default())
}

/// A policy created a moment ago may not be attachable yet (NoSuchEntity): IAM is eventually
/// consistent, so retry for up to a minute.
async fn attach(stack: &Stack) -> anyhow::Result<()> {
    crate::aws::retry_while(&["NoSuchEntity"], IAM_SETTLE, || {
        stack
            .clients
            .iam
            .attach_role_policy()
            .role_name(&stack.names.role)
            .policy_arn(stack.policy_arn())
            .send()
    })
    .await
    .map_err(ctx("iam:AttachRolePolicy"))?;
    Ok(())
}

/// How long IAM's eventual consistency is waited out before an answer is taken as final.
pub(crate) const IAM_SETTLE: std::time::Duration = std::time::Duration::from_secs(60);

/// Existence, ARN, trust and attachment.
pub(crate) async fn describe(stack: &Stack) -> anyhow::Result<ResourceStatus> {
    let name = &stack.names.role;
    Ok(match observe(stack).await? {
        None => ResourceStatus::absent(RESOURCE, name),
        Some(observed) => {
            let mut status = ResourceStatus::present(RESOURCE, name, Some(observed.arn.clone()))
                .with("trusted", observed.trust["Statement"].to_string())
                .with("attached", observed.attached.join(","));
            status.drift = drift(stack, &observed);
            status.note_untagged(observed.owned);
            status
        }
    })
}

/// Detaches every policy and deletes inline ones first: IAM refuses to delete a role that has any.
pub(crate) async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let iam = &stack.clients.iam;
    let name = &stack.names.role;
    let step = Step::start(RESOURCE, name);
    let observed = match stack.deletable(&step, observe(stack).await?, |o| Some(o.owned)) {
        ControlFlow::Continue(found) => found,
        ControlFlow::Break(done) => return Ok(done),
    };
    for arn in &observed.attached {
        crate::aws::ignore_not_found(
            "iam:DetachRolePolicy",
            iam.detach_role_policy().role_name(name).policy_arn(arn).send().await,
        )?;
    }
    let inline = match iam.list_role_policies().role_name(name).send().await {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(step.done(Action::Absent, None)),
        Err(e) => return Err(crate::aws::explain("iam:ListRolePolicies", e)),
    };
    for policy in inline.policy_names() {
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .map_err(ctx("iam:DeleteRolePolicy"))?;
    }
    // Right after a detach IAM may still see the attachment (DeleteConflict): retry.
    crate::aws::ignore_not_found(
        "iam:DeleteRole",
        crate::aws::retry_while(&["DeleteConflict"], IAM_SETTLE, || {
            iam.delete_role().role_name(name).send()
        })
        .await,
    )?;
    Ok(step.done(Action::Deleted, Some(observed.arn)))
}
