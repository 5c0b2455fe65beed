//! The function's resource policy statement that lets API Gateway invoke it, scoped to this API's
//! `POST /DynamoDBManager` (not to every API in the account).

use super::{Action, Change, ResourceStatus, Stack, Step};
use crate::aws::ctx;

const RESOURCE: &str = "permission";
/// The statement id `up` manages.
pub(crate) const STATEMENT_ID: &str = "lab-apigateway-invoke";
const PRINCIPAL: &str = "apigateway.amazonaws.com";

/// The statement's principal and source ARN, when it exists.
async fn observe(stack: &Stack) -> anyhow::Result<Option<(String, String)>> {
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
        return Ok(None);
    };
    let policy: serde_json::Value =
        serde_json::from_str(out.policy().unwrap_or("{}")).unwrap_or_default();
    let statement = policy["Statement"]
        .as_array()
        .and_then(|s| s.iter().find(|st| st["Sid"] == STATEMENT_ID))
        .cloned();
    Ok(statement.map(|st| {
        let principal = st["Principal"]["Service"]
            .as_str()
            .or_else(|| st["Principal"].as_str())
            .unwrap_or_default()
            .to_string();
        let source = st["Condition"]["ArnLike"]["AWS:SourceArn"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (principal, source)
    }))
}

/// Adds the statement, or replaces it when its principal or source ARN differ.
pub(crate) async fn ensure(stack: &Stack, api_id: &str) -> anyhow::Result<Change> {
    let step = Step::start(RESOURCE, STATEMENT_ID);
    let lambda = &stack.clients.lambda;
    let desired = stack.api_source_arn(api_id);
    let (action, details) = match observe(stack).await? {
        Some((principal, source)) if principal == PRINCIPAL && source == desired => {
            (Action::Unchanged, vec![])
        }
        Some((_, source)) => {
            lambda
                .remove_permission()
                .function_name(&stack.names.function)
                .statement_id(STATEMENT_ID)
                .send()
                .await
                .map_err(ctx("lambda:RemovePermission"))?;
            (
                Action::Unchanged,
                vec![format!("source ARN {source} -> {desired}")],
            )
        }
        None => (Action::Created, vec![]),
    };
    if action == Action::Created || !details.is_empty() {
        lambda
            .add_permission()
            .function_name(&stack.names.function)
            .statement_id(STATEMENT_ID)
            .action("lambda:InvokeFunction")
            .principal(PRINCIPAL)
            .source_arn(&desired)
            .send()
            .await
            .map_err(ctx("lambda:AddPermission"))?;
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

/// Removes the statement (the function's deletion would too; doing it first keeps `down` ordered).
pub(crate) async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let step = Step::start(RESOURCE, STATEMENT_ID);
    if observe(stack).await?.is_none() {
        return Ok(step.done(Action::Absent, None));
    }
    crate::aws::ignore_not_found(
        "lambda:RemovePermission",
        stack
            .clients
            .lambda
            .remove_permission()
            .function_name(&stack.names.function)
            .statement_id(STATEMENT_ID)
            .send()
            .await,
    )?;
    Ok(step.done(Action::Deleted, None))
}
