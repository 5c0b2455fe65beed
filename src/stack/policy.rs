//! The function's managed policy, scoped to this stack's table and log group (the tutorial uses `*`).

use std::ops::ControlFlow;

use aws_sdk_iam::types::Tag;

use super::{decode_policy, same_policy, Action, Change, ResourceStatus, Stack, Step};
use crate::aws::{ctx, AwsErrorExt};

const RESOURCE: &str = "policy";
const TEMPLATE: &str = include_str!("../../assets/policy.json");

/// The least-privilege document for this stack.
pub(crate) fn document(stack: &Stack) -> serde_json::Value {
    let text = TEMPLATE
        .replace("${PARTITION}", &stack.partition)
        .replace("${REGION}", stack.region())
        .replace("${ACCOUNT}", &stack.account)
        .replace("${TABLE}", &stack.names.table)
        .replace("${LOG_GROUP}", &stack.names.log_group);
    serde_json::from_str(&text).expect("assets/policy.json is valid JSON")
}

struct Observed {
    owned: bool,
    default_version: String,
    document: serde_json::Value,
}

async fn observe(stack: &Stack) -> anyhow::Result<Option<Observed>> {
    let iam = &stack.clients.iam;
    let Some(policy) = crate::aws::found(
        "iam:GetPolicy",
        iam.get_policy().policy_arn(stack.policy_arn()).send().await,
    )?
    .and_then(|out| out.policy) else {
        return Ok(None);
    };
    let owned = stack.owns(policy.tags().iter().map(|t| (t.key(), t.value())));
    let default_version = policy.default_version_id().unwrap_or("v1").to_string();
    // IAM can still answer GetPolicy for a moment after the policy is deleted; its versions are
    // then gone: so is the policy.
    let Some(version) = crate::aws::found(
        "iam:GetPolicyVersion",
        iam.get_policy_version()
            .policy_arn(stack.policy_arn())
            .version_id(&default_version)
            .send()
            .await,
    )?
    else {
        return Ok(None);
    };
    let document = version
        .policy_version()
        .and_then(|v| v.document())
        .map(decode_policy)
        .transpose()?
        .unwrap_or_default();
    Ok(Some(Observed {
        owned,
        default_version,
        document,
    }))
}

fn drift(stack: &Stack, observed: &Observed) -> Vec<String> {
    let mut drift = Vec::new();
    if !same_policy(&observed.document, &document(stack)) {
        drift.push("document differs from the least-privilege policy".to_string());
    }
    if !observed.owned {
        drift.push(format!("not tagged {}", super::STACK_TAG));
    }
    drift
}

/// Creates the policy, or publishes the desired document as a new default version when it drifted.
pub(crate) async fn ensure(stack: &Stack) -> anyhow::Result<Change> {
    let iam = &stack.clients.iam;
    let name = &stack.names.policy;
    let step = Step::start(RESOURCE, name);
    let desired = document(stack).to_string();
    let Some(observed) = observe(stack).await? else {
        let tags = stack.tag_list(|k, v| Tag::builder().key(k).value(v).build())?;
        let out = iam
            .create_policy()
            .policy_name(name)
            .policy_document(&desired)
            .description(format!(
                "lab stack {}: least privilege for {}",
                stack.names.stack, stack.names.function
            ))
            .set_tags(Some(tags))
            .send()
            .await;
        crate::aws::tolerate("iam:CreatePolicy", &["EntityAlreadyExists"], out)?;
        return Ok(step.done(Action::Created, Some(stack.policy_arn())));
    };
    stack.check_owned(RESOURCE, name, observed.owned)?;
    let mut details = Vec::new();
    if !same_policy(&observed.document, &document(stack)) {
        prune_versions(stack).await?;
        iam.create_policy_version()
            .policy_arn(stack.policy_arn())
            .policy_document(&desired)
            .set_as_default(true)
            .send()
            .await
            .map_err(ctx("iam:CreatePolicyVersion"))?;
        details.push("restored the least-privilege document".to_string());
    }
    Ok(step.done(Action::Unchanged, Some(stack.policy_arn())).with_details(details))
}

/// IAM keeps at most five versions: drop non-default ones, oldest first, to make room for one more.
async fn prune_versions(stack: &Stack) -> anyhow::Result<()> {
    let old = old_versions(stack).await?;
    // The default version counts too: with it, at most four may remain before the new one.
    let excess = (old.len() + 1).saturating_sub(4);
    delete_versions(stack, &old[..excess]).await
}

/// The non-default versions, oldest first.
async fn old_versions(stack: &Stack) -> anyhow::Result<Vec<String>> {
    let versions = stack
        .clients
        .iam
        .list_policy_versions()
        .policy_arn(stack.policy_arn())
        .send()
        .await
        .map_err(ctx("iam:ListPolicyVersions"))?;
    let mut old: Vec<String> = versions
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
        .filter_map(|v| v.version_id().map(str::to_string))
        .collect();
    old.sort_by_key(|id| id.trim_start_matches('v').parse::<u32>().unwrap_or(0));
    Ok(old)
}

async fn delete_versions(stack: &Stack, ids: &[String]) -> anyhow::Result<()> {
    let iam = &stack.clients.iam;
    for id in ids {
        let request = iam.delete_policy_version().policy_arn(stack.policy_arn()).version_id(id);
        request.send().await.map_err(ctx("iam:DeletePolicyVersion"))?;
    }
    Ok(())
}

/// Existence, ARN, scope and drift.
pub(crate) async fn describe(stack: &Stack) -> anyhow::Result<ResourceStatus> {
    let name = &stack.names.policy;
    Ok(match observe(stack).await? {
        None => ResourceStatus::absent(RESOURCE, name),
        Some(observed) => {
            let scope = observed.document["Statement"]
                .as_array()
                .map(|s| {
                    s.iter().map(|st| st["Resource"].to_string()).collect::<Vec<_>>().join(" ")
                })
                .unwrap_or_default();
            let mut status = ResourceStatus::present(RESOURCE, name, Some(stack.policy_arn()))
                .with("default_version", &observed.default_version)
                .with("resources", scope);
            status.drift = drift(stack, &observed);
            status
        }
    })
}

/// Detaches the policy everywhere, deletes its old versions, then the policy.
pub(crate) async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let iam = &stack.clients.iam;
    let name = &stack.names.policy;
    let step = Step::start(RESOURCE, name);
    let arn = stack.policy_arn();
    if let ControlFlow::Break(done) =
        stack.deletable(&step, observe(stack).await?, |o| Some(o.owned))
    {
        return Ok(done);
    }
    let entities = match iam.list_entities_for_policy().policy_arn(&arn).send().await {
        Ok(out) => out,
        Err(e) if e.is_not_found() => return Ok(step.done(Action::Absent, None)),
        Err(e) => return Err(crate::aws::explain("iam:ListEntitiesForPolicy", e)),
    };
    for role in entities.policy_roles() {
        if let Some(role_name) = role.role_name() {
            crate::aws::ignore_not_found(
                "iam:DetachRolePolicy",
                iam.detach_role_policy().role_name(role_name).policy_arn(&arn).send().await,
            )?;
        }
    }
    // IAM refuses to delete a policy that still has non-default versions.
    delete_versions(stack, &old_versions(stack).await?).await?;
    // A detach a moment ago may not have reached every IAM reader yet (DeleteConflict): retry.
    crate::aws::ignore_not_found(
        "iam:DeletePolicy",
        crate::aws::retry_while(&["DeleteConflict"], super::role::IAM_SETTLE, || {
            iam.delete_policy().policy_arn(&arn).send()
        })
        .await,
    )?;
    Ok(step.done(Action::Deleted, Some(arn)))
}
