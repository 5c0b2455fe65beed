//! The function's log group, made by `up` (with a retention, and tagged) so that `down` may remove it.

use std::ops::ControlFlow;

use super::{Action, Change, ResourceStatus, Stack, Step};
use crate::aws::ctx;

const RESOURCE: &str = "log group";
/// Logs are kept two weeks: enough to read a tuning run, not a forever-growing bill.
pub(crate) const RETENTION_DAYS: i32 = 14;

struct Observed {
    arn: String,
    retention: Option<i32>,
    owned: bool,
}

fn arn(stack: &Stack) -> String {
    format!(
        "arn:{}:logs:{}:{}:log-group:{}",
        stack.partition,
        stack.region(),
        stack.account,
        stack.names.log_group
    )
}

async fn observe(stack: &Stack) -> anyhow::Result<Option<Observed>> {
    let logs = &stack.clients.logs;
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix(&stack.names.log_group)
        .send()
        .await
        .map_err(ctx("logs:DescribeLogGroups"))?;
    let Some(group) = out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(stack.names.log_group.as_str()))
    else {
        return Ok(None);
    };
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(arn(stack))
        .send()
        .await
        .map_err(ctx("logs:ListTagsForResource"))?;
    Ok(Some(Observed {
        arn: arn(stack),
        retention: group.retention_in_days(),
        owned: tags
            .tags()
            .is_some_and(|t| stack.owns(t.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    }))
}

/// Creates the log group, or adopts the one Lambda made on its own (same name: it is this function's).
pub(crate) async fn ensure(stack: &Stack) -> anyhow::Result<Change> {
    let logs = &stack.clients.logs;
    let name = &stack.names.log_group;
    let step = Step::start(RESOURCE, name);
    let mut details = Vec::new();
    let action = match observe(stack).await? {
        None => {
            let out = logs
                .create_log_group()
                .log_group_name(name)
                .set_tags(Some(stack.tags()))
                .send()
                .await;
            crate::aws::tolerate(
                "logs:CreateLogGroup",
                &["ResourceAlreadyExistsException"],
                out,
            )?;
            set_retention(stack).await?;
            Action::Created
        }
        Some(o) => {
            if !o.owned {
                logs.tag_resource()
                    .resource_arn(&o.arn)
                    .set_tags(Some(stack.tags()))
                    .send()
                    .await
                    .map_err(ctx("logs:TagResource"))?;
                details.push(format!("adopted: tagged {}", super::STACK_TAG));
            }
            if o.retention != Some(RETENTION_DAYS) {
                set_retention(stack).await?;
                details.push(format!("retention set to {RETENTION_DAYS} days"));
            }
            Action::Unchanged
        }
    };
    Ok(step.done(action, Some(arn(stack))).with_details(details))
}

async fn set_retention(stack: &Stack) -> anyhow::Result<()> {
    let request = stack.clients.logs.put_retention_policy().log_group_name(&stack.names.log_group);
    let answer = request.retention_in_days(RETENTION_DAYS).send().await;
    answer.map(drop).map_err(ctx("logs:PutRetentionPolicy"))
}

/// Existence, ARN, retention.
pub(crate) async fn describe(stack: &Stack) -> anyhow::Result<ResourceStatus> {
    let name = &stack.names.log_group;
    Ok(match observe(stack).await? {
        None => ResourceStatus::absent(RESOURCE, name),
        Some(o) => {
            let mut status = ResourceStatus::present(RESOURCE, name, Some(o.arn.clone())).with(
                "retention_days",
                o.retention.map(|d| d.to_string()).unwrap_or_else(|| "never expire".into()),
            );
            if o.retention != Some(RETENTION_DAYS) {
                status.drift.push(format!("retention is not {RETENTION_DAYS} days"));
            }
            status.note_untagged(o.owned);
            status
        }
    })
}

/// Deletes the log group. Lambda recreates it (untagged) if the function runs again, which is why `down`
/// deletes the function first.
pub(crate) async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let name = &stack.names.log_group;
    let step = Step::start(RESOURCE, name);
    let o = match stack.deletable(&step, observe(stack).await?, |o| Some(o.owned)) {
        ControlFlow::Continue(found) => found,
        ControlFlow::Break(done) => return Ok(done),
    };
    let answer = stack.clients.logs.delete_log_group().log_group_name(name).send().await;
    step.deleted("logs:DeleteLogGroup", answer, o.arn)
}
