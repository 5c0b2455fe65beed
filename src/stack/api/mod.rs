//! The REST API: resource `/DynamoDBManager`, `POST` without auth, a non-proxy Lambda integration whose
//! integration responses map the handler's error types to HTTP statuses, deployed to stage `prod`.

use std::time::{Duration, Instant};

use aws_sdk_apigateway::types::{EndpointConfiguration, EndpointType, IntegrationType, Method};

use super::names::{HTTP_METHOD, RESOURCE_PATH, STAGE};
use super::{Action, Change, ResourceStatus, Stack};
use crate::aws::{ctx, AwsErrorExt};

const RESOURCE: &str = "rest api";

/// Integration responses: status and the selection pattern matched against the function's
/// `errorMessage` (the handler prefixes every message with its error type). `None` is the default
/// response, used for successes: it passes the body through unchanged.
pub const RESPONSES: &[(&str, Option<&str>)] = &[
    ("200", None),
    ("400", Some("BadRequest:.*")),
    ("403", Some("Forbidden:.*")),
    ("404", Some("NotFound:.*")),
    ("409", Some("Conflict:.*")),
    // Handler internals, and the runtime's own failures (timeouts, crashes), which carry no prefix.
    (
        "500",
        Some("(Internal:|.*Task timed out|RequestId:|.*Runtime exited)[\\s\\S]*"),
    ),
];

/// The integration URI for a function ARN in a region.
pub fn integration_uri(stack: &Stack) -> String {
    format!(
        "arn:{}:apigateway:{}:lambda:path/2015-03-31/functions/{}/invocations",
        stack.partition,
        stack.region(),
        stack.function_arn()
    )
}

/// What was found of the API, part by part.
#[derive(Debug, Default)]
pub struct Observed {
    pub api_id: String,
    pub owned: bool,
    pub root_id: Option<String>,
    pub resource_id: Option<String>,
    pub method: Option<Method>,
    pub stage: Option<String>,
}

/// Finds the API by name, preferring the one tagged for this stack (API names are not unique).
async fn find_api(stack: &Stack) -> anyhow::Result<Option<(String, bool)>> {
    let mut found: Option<(String, bool)> = None;
    let mut position = None;
    loop {
        let page = stack
            .clients
            .apigateway
            .get_rest_apis()
            .limit(500)
            .set_position(position)
            .send()
            .await
            .map_err(ctx("apigateway:GetRestApis"))?;
        for api in page.items() {
            if api.name() != Some(stack.names.api.as_str()) {
                continue;
            }
            let owned = api
                .tags()
                .is_some_and(|t| stack.owns(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
            if found.as_ref().is_none_or(|(_, o)| !o && owned) {
                found = api.id().map(|id| (id.to_string(), owned));
            }
        }
        position = page.position().map(str::to_string);
        if position.is_none() {
            return Ok(found);
        }
    }
}

/// Reads the API, its resource tree, the method (with integration and responses) and the stage.
pub async fn observe(stack: &Stack) -> anyhow::Result<Option<Observed>> {
    let Some((api_id, owned)) = find_api(stack).await? else {
        return Ok(None);
    };
    let gw = &stack.clients.apigateway;
    let resources = gw
        .get_resources()
        .rest_api_id(&api_id)
        .limit(500)
        .send()
        .await
        .map_err(ctx("apigateway:GetResources"))?;
    let mut observed = Observed {
        api_id: api_id.clone(),
        owned,
        ..Default::default()
    };
    for r in resources.items() {
        match r.path() {
            Some("/") => observed.root_id = r.id().map(str::to_string),
            Some(p) if p == format!("/{RESOURCE_PATH}") => {
                observed.resource_id = r.id().map(str::to_string)
            }
            _ => {}
        }
    }
    if let Some(rid) = &observed.resource_id {
        observed.method = match gw
            .get_method()
            .rest_api_id(&api_id)
            .resource_id(rid)
            .http_method(HTTP_METHOD)
            .send()
            .await
        {
            Ok(m) => Some(
                Method::builder()
                    .set_http_method(m.http_method)
                    .set_authorization_type(m.authorization_type)
                    .set_method_integration(m.method_integration)
                    .set_method_responses(m.method_responses)
                    .build(),
            ),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(crate::aws::explain("apigateway:GetMethod", e)),
        };
    }
    observed.stage = match gw
        .get_stage()
        .rest_api_id(&api_id)
        .stage_name(STAGE)
        .send()
        .await
    {
        Ok(s) => s.deployment_id,
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(crate::aws::explain("apigateway:GetStage", e)),
    };
    Ok(Some(observed))
}

/// Every difference between what exists and what `up` builds, as readable lines.
pub fn drift(stack: &Stack, o: &Observed) -> Vec<String> {
    let mut drift = Vec::new();
    if o.resource_id.is_none() {
        drift.push(format!("resource /{RESOURCE_PATH} missing"));
        return drift;
    }
    let Some(method) = &o.method else {
        drift.push(format!("method {HTTP_METHOD} missing"));
        return drift;
    };
    if method.authorization_type() != Some("NONE") {
        drift.push(format!(
            "method authorization is {}, expected NONE",
            method.authorization_type().unwrap_or("unset")
        ));
    }
    for (status, _) in RESPONSES {
        if !method
            .method_responses()
            .is_some_and(|r| r.contains_key(*status))
        {
            drift.push(format!("method response {status} missing"));
        }
    }
    match method.method_integration() {
        None => drift.push("integration missing".into()),
        Some(i) => {
            if i.r#type() != Some(&IntegrationType::Aws)
                || i.uri() != Some(integration_uri(stack).as_str())
            {
                drift.push(format!(
                    "integration is {} {}, expected AWS {}",
                    i.r#type().map(|t| t.as_str()).unwrap_or("none"),
                    i.uri().unwrap_or(""),
                    integration_uri(stack)
                ));
            }
            for (status, pattern) in RESPONSES {
                let existing = i.integration_responses().and_then(|r| r.get(*status));
                let ok = existing
                    .is_some_and(|r| r.selection_pattern().filter(|p| !p.is_empty()) == *pattern);
                if !ok {
                    drift.push(format!(
                        "integration response {status} missing or different"
                    ));
                }
            }
        }
    }
    if o.stage.is_none() {
        drift.push(format!("stage {STAGE} not deployed"));
    }
    drift
}

/// Creates what is missing, repairs what differs, and deploys to `prod` when anything changed.
/// Returns the change and the API id.
pub async fn ensure(stack: &Stack) -> anyhow::Result<(Change, String)> {
    let started = Instant::now();
    let gw = &stack.clients.apigateway;
    let name = &stack.names.api;
    let (mut o, created) = match observe(stack).await? {
        Some(o) if o.owned || stack.force => (o, false),
        Some(_) => anyhow::bail!(
            "a REST API named {name} exists but is not tagged {}={}; rename it, delete it, or use another --stack",
            super::STACK_TAG,
            stack.names.stack
        ),
        None => {
            let api = gw
                .create_rest_api()
                .name(name)
                .description(format!("lab stack {}: the tutorial's DynamoDBOperations", stack.names.stack))
                .endpoint_configuration(EndpointConfiguration::builder().types(EndpointType::Regional).build())
                .set_tags(Some(stack.tags()))
                .send()
                .await
                .map_err(ctx("apigateway:CreateRestApi"))?;
            // Everything needed is in the answer: GetRestApis right after a create may not list it yet.
            let o = Observed {
                api_id: api.id().unwrap_or_default().to_string(),
                owned: true,
                root_id: api.root_resource_id().map(str::to_string),
                ..Default::default()
            };
            (o, true)
        }
    };
    let details = drift(stack, &o);
    let api_id = o.api_id.clone();
    if o.resource_id.is_none() {
        let root = o
            .root_id
            .clone()
            .ok_or_else(|| anyhow::anyhow!("REST API {api_id} has no root resource"))?;
        let r = gw
            .create_resource()
            .rest_api_id(&api_id)
            .parent_id(root)
            .path_part(RESOURCE_PATH)
            .send()
            .await
            .map_err(ctx("apigateway:CreateResource"))?;
        o.resource_id = r.id;
    }
    let rid = o.resource_id.clone().unwrap_or_default();
    repair_method(stack, &api_id, &rid, o.method.as_ref()).await?;
    let mut waited = Duration::ZERO;
    if !details.is_empty() || created {
        crate::aws::honour_retry_after(
            RATE_LIMIT_BUDGET,
            |w| waited += w,
            || {
                gw.create_deployment()
                    .rest_api_id(&api_id)
                    .stage_name(STAGE)
                    .description("lab up")
                    .customize()
                    .config_override(no_sdk_retries())
                    .send()
            },
        )
        .await
        .map_err(ctx("apigateway:CreateDeployment"))?;
    }
    let action = if created {
        Action::Created
    } else {
        Action::Unchanged
    };
    let mut details = if created { Vec::new() } else { details };
    details.extend(rate_limit_note(waited, "CreateDeployment", "one per 5 s"));
    Ok((
        Change::new(RESOURCE, name, action, Some(api_id.clone()), started).with_details(details),
        api_id,
    ))
}

async fn repair_method(
    stack: &Stack,
    api_id: &str,
    rid: &str,
    method: Option<&Method>,
) -> anyhow::Result<()> {
    let gw = &stack.clients.apigateway;
    let auth_ok = method.is_some_and(|m| m.authorization_type() == Some("NONE"));
    if method.is_some() && !auth_ok {
        gw.delete_method()
            .rest_api_id(api_id)
            .resource_id(rid)
            .http_method(HTTP_METHOD)
            .send()
            .await
            .map_err(ctx("apigateway:DeleteMethod"))?;
    }
    let method = method.filter(|_| auth_ok);
    if method.is_none() {
        gw.put_method()
            .rest_api_id(api_id)
            .resource_id(rid)
            .http_method(HTTP_METHOD)
            .authorization_type("NONE")
            .send()
            .await
            .map_err(ctx("apigateway:PutMethod"))?;
    }
    for (status, _) in RESPONSES {
        if !method
            .and_then(|m| m.method_responses())
            .is_some_and(|r| r.contains_key(*status))
        {
            gw.put_method_response()
                .rest_api_id(api_id)
                .resource_id(rid)
                .http_method(HTTP_METHOD)
                .status_code(*status)
                .send()
                .await
                .map_err(ctx("apigateway:PutMethodResponse"))?;
        }
    }
    let integration = method.and_then(|m| m.method_integration());
    let uri = integration_uri(stack);
    let integration_ok = integration.is_some_and(|i| {
        i.r#type() == Some(&IntegrationType::Aws) && i.uri() == Some(uri.as_str())
    });
    if !integration_ok {
        gw.put_integration()
            .rest_api_id(api_id)
            .resource_id(rid)
            .http_method(HTTP_METHOD)
            .r#type(IntegrationType::Aws)
            .integration_http_method("POST")
            .uri(&uri)
            .send()
            .await
            .map_err(ctx("apigateway:PutIntegration"))?;
    }
    for (status, pattern) in RESPONSES {
        let existing = integration
            .filter(|_| integration_ok)
            .and_then(|i| i.integration_responses())
            .and_then(|r| r.get(*status));
        if existing.is_some_and(|r| r.selection_pattern().filter(|p| !p.is_empty()) == *pattern) {
            continue;
        }
        // Never send an empty template: moto stores it as null and the SDK then fails to read the method.
        gw.put_integration_response()
            .rest_api_id(api_id)
            .resource_id(rid)
            .http_method(HTTP_METHOD)
            .status_code(*status)
            .set_selection_pattern(pattern.map(str::to_string))
            .send()
            .await
            .map_err(ctx("apigateway:PutIntegrationResponse"))?;
    }
    Ok(())
}

/// Existence, id, integration, stage and drift; `invoke_url` is set when the stage exists.
pub async fn describe(stack: &Stack) -> anyhow::Result<(ResourceStatus, Option<String>)> {
    let name = &stack.names.api;
    Ok(match observe(stack).await? {
        None => (ResourceStatus::absent(RESOURCE, name), None),
        Some(o) => {
            let integration = o
                .method
                .as_ref()
                .and_then(|m| m.method_integration())
                .map(|i| {
                    format!(
                        "{} {}",
                        i.r#type().map(|t| t.as_str()).unwrap_or(""),
                        i.uri().unwrap_or("")
                    )
                })
                .unwrap_or_default();
            let mut status = ResourceStatus::present(RESOURCE, name, Some(o.api_id.clone()))
                .with("resource", format!("/{RESOURCE_PATH} {HTTP_METHOD}"))
                .with("integration", integration)
                .with(
                    "stage",
                    o.stage
                        .as_deref()
                        .map(|d| format!("{STAGE} (deployment {d})"))
                        .unwrap_or_default(),
                );
            status.drift = drift(stack, &o);
            status.note_untagged(o.owned);
            let url = o.stage.as_ref().map(|_| stack.invoke_url(&o.api_id));
            (status, url)
        }
    })
}

/// Deletes the API (with its resources, methods, deployments and stage).
pub async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let started = Instant::now();
    let name = &stack.names.api;
    // Look before deleting: moto answers a delete of a missing API with a 500 that the SDK retries.
    let Some((api_id, owned)) = find_api(stack).await? else {
        return Ok(Change::new(RESOURCE, name, Action::Absent, None, started));
    };
    if let Some(kept) = stack.keep_foreign(RESOURCE, name, Some(owned), started) {
        return Ok(kept);
    }
    let mut waited = Duration::ZERO;
    crate::aws::ignore_not_found(
        "apigateway:DeleteRestApi",
        crate::aws::honour_retry_after(
            RATE_LIMIT_BUDGET,
            |w| waited += w,
            || {
                stack
                    .clients
                    .apigateway
                    .delete_rest_api()
                    .rest_api_id(&api_id)
                    .customize()
                    .config_override(no_sdk_retries())
                    .send()
            },
        )
        .await,
    )?;
    Ok(
        Change::new(RESOURCE, name, Action::Deleted, Some(api_id), started).with_details(
            rate_limit_note(waited, "DeleteRestApi", "one per 30 s")
                .into_iter()
                .collect(),
        ),
    )
}

/// How long `up` and `down` wait out API Gateway's account-wide rate limits before giving up.
const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(180);

/// The SDK's own retries off: a 429 is waited out as its `Retry-After` says, not by guesswork.
fn no_sdk_retries() -> aws_sdk_apigateway::config::Builder {
    aws_sdk_apigateway::config::Builder::default()
        .retry_config(aws_sdk_apigateway::config::retry::RetryConfig::disabled())
}

/// A line for the change's details when a rate limit made us wait.
fn rate_limit_note(waited: Duration, operation: &str, quota: &str) -> Option<String> {
    (!waited.is_zero()).then(|| {
        format!(
            "waited {:.1} s for API Gateway's {operation} quota ({quota} per account)",
            waited.as_secs_f64()
        )
    })
}

/// The id of this stack's API, if it exists.
pub async fn find_id(stack: &Stack) -> anyhow::Result<Option<String>> {
    Ok(find_api(stack)
        .await?
        .filter(|(_, owned)| *owned || stack.force)
        .map(|(id, _)| id))
}
