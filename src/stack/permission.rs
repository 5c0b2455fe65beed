//! The function's resource policy statement that lets API Gateway invoke it, scoped to this API's
//! `POST /DynamoDBManager` (not to every API in the account).

use super::{Action, Change, ResourceStatus, Stack, Step};
use crate::aws::ctx;

const RESOURCE: &str = "permission";
/// The statement id `up` manages.
pub(crate) const STATEMENT_ID: &str = "lab-apigateway-invoke";
const PRINCIPAL: &str = "apigateway.amazonaws.com";

/// One of the statements `up` manages: its id, principal and source ARN.
struct Statement {
    sid: String,
    principal: String,
    source: String,
}

/// The statements `up` manages (`lab-apigateway-invoke`, or `lab-apigateway-invoke-2` while a
/// drifted one is being replaced), the canonical id first.
async fn observe_all(stack: &Stack) -> anyhow::Result<Vec<Statement>> {
    let Some(out) = crate::aws::found(
        "lambda:GetPolicy",
        stack
            .clients
            .lambda
            .get_policy()
            .function_name(&stack.names.function)
            .send()
            .await,
    )?
    else {
        return Ok(vec![]);
    };
    let policy: serde_json::Value =
        serde_json::from_str(out.policy().unwrap_or("{}")).unwrap_or_default();
    let mut found: Vec<Statement> = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|st| {
            st["Sid"].as_str().is_some_and(|sid| {
                sid == STATEMENT_ID
                    || sid.strip_prefix(STATEMENT_ID).is_some_and(|r| r.starts_with('-'))
            })
        })
        .map(|st| Statement {
            sid: st["Sid"].as_str().unwrap_or_default().to_string(),
            principal: st["Principal"]["Service"]
                .as_str()
                .or_else(|| st["Principal"].as_str())
                .unwrap_or_default()
                .to_string(),
            source: st["Condition"]["ArnLike"]["AWS:SourceArn"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
        .collect();
    found.sort_by_key(|st| st.sid != STATEMENT_ID);
    Ok(found)
}

/// The statement's principal and source ARN, when it exists.
async fn observe(stack: &Stack) -> anyhow::Result<Option<(String, String)>> {
    let first = observe_all(stack).await?.into_iter().next();
    Ok(first.map(|st| (st.principal, st.source)))
}

async fn remove(stack: &Stack, sid: &str) -> anyhow::Result<()> {
    let answer = stack
        .clients
        .lambda
        .remove_permission()
        .function_name(&stack.names.function)
        .statement_id(sid)
        .send()
        .await;
    crate::aws::ignore_not_found("lambda:RemovePermission", answer)?;
    Ok(())
}

/// Adds the statement, or replaces one whose principal or source ARN differ: the new statement
/// is added (under the other id) before the old one is removed, so live traffic through the stage
/// never meets a function without a permission.
pub(crate) async fn ensure(stack: &Stack, api_id: &str) -> anyhow::Result<Change> {
    let step = Step::start(RESOURCE, STATEMENT_ID);
    let desired = stack.api_source_arn(api_id);
    let statements = observe_all(stack).await?;
    let good = |st: &Statement| st.principal == PRINCIPAL && st.source == desired;
    let mut details = Vec::new();
    let action = if statements.iter().any(good) {
        Action::Unchanged
    } else {
        let taken = |sid: &str| statements.iter().any(|st| st.sid == sid);
        let spare = format!("{STATEMENT_ID}-2");
        let sid = if taken(STATEMENT_ID) {
            spare.as_str()
        } else {
            STATEMENT_ID
        };
        stack
            .clients
            .lambda
            .add_permission()
            .function_name(&stack.names.function)
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal(PRINCIPAL)
            .source_arn(&desired)
            .send()
            .await
            .map_err(ctx("lambda:AddPermission"))?;
        if statements.is_empty() {
            Action::Created
        } else {
            Action::Unchanged
        }
    };
    // Only once a good statement is in place: the drifted ones go.
    for st in statements.iter().filter(|st| !good(st)) {
        remove(stack, &st.sid).await?;
        details.push(format!(
            "source ARN {} -> {desired} (the new statement added first)",
            st.source
        ));
    }
    Ok(step.done(action, Some(desired)).with_details(details))
}

/// The statement's source ARN and whether it matches this API.
pub(crate) async fn describe(
    stack: &Stack,
    api_id: Option<&str>,
) -> anyhow::Result<ResourceStatus> {
    Ok(match observe(stack).await? {
        None => ResourceStatus::absent(RESOURCE, STATEMENT_ID),
        Some((principal, source)) => {
            let mut status = ResourceStatus::present(RESOURCE, STATEMENT_ID, Some(source.clone()))
                .with("principal", &principal)
                .with("source_arn", &source);
            if principal != PRINCIPAL {
                status.drift.push(format!("principal is {principal}, expected {PRINCIPAL}"));
            }
            if let Some(api_id) = api_id {
                if source != stack.api_source_arn(api_id) {
                    status.drift.push(format!(
                        "source ARN is not {}",
                        stack.api_source_arn(api_id)
                    ));
                }
            }
            status
        }
    })
}

/// Removes the statements (the function's deletion would too; doing it first keeps `down` ordered).
pub(crate) async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let step = Step::start(RESOURCE, STATEMENT_ID);
    let statements = observe_all(stack).await?;
    if statements.is_empty() {
        return Ok(step.done(Action::Absent, None));
    }
    for st in &statements {
        remove(stack, &st.sid).await?;
    }
    Ok(step.done(Action::Deleted, None))
}
