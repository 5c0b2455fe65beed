//! The REST API: resource `/DynamoDBManager`, `POST` without auth, a non-proxy Lambda integration whose
//! integration responses map the handler's error types to HTTP statuses, deployed to stage `prod`.

use std::ops::ControlFlow;
use std::time::Duration;

use aws_sdk_apigateway::types::{EndpointConfiguration, EndpointType, Method};

use super::names::{HTTP_METHOD, RESOURCE_PATH, STAGE};
use super::{Action, Change, ResourceStatus, Stack, Step};
use crate::aws::ctx;

mod method;
mod quota;
mod record;

use method::drift;
use quota::{rate_limit_note, within_quota};

const RESOURCE: &str = "rest api";

/// What was found of the API, part by part.
#[derive(Debug, Default)]
struct Observed {
    /// The REST API's id.
    api_id: String,
    /// Tagged for this stack.
    owned: bool,
    /// The id of resource `/`.
    root_id: Option<String>,
    /// The id of resource `/DynamoDBManager`, when it exists.
    resource_id: Option<String>,
    /// Its `POST` method, with the integration and responses.
    method: Option<Method>,
    /// The deployment stage `prod` points at, when deployed.
    stage: Option<String>,
    /// The definition fingerprint that deployment carries (`lab up; definition FP`).
    deployed: Option<String>,
}

/// The deployment description's prefix before the definition's fingerprint.
const DEFINITION: &str = "lab up; definition ";

/// Finds the API: the one this machine recorded, if it is still there and named so, else by name
/// through GetRestApis, preferring the one tagged for this stack (API names are not unique).
async fn find_api(stack: &Stack) -> anyhow::Result<Option<(String, bool)>> {
    if let Some(found) = recorded(stack).await {
        return Ok(Some(found));
    }
    list_api(stack).await
}

/// The recorded API, read back by id (GetRestApi answers at once, where GetRestApis lags); `None`
/// when there is no record or it names no such API any more, and then the listing decides.
async fn recorded(stack: &Stack) -> Option<(String, bool)> {
    let id = record::read(stack)?;
    let answer = stack.clients.apigateway.get_rest_api().rest_api_id(&id).send().await;
    let api = match crate::aws::found("apigateway:GetRestApi", answer) {
        Ok(Some(api)) if api.name() == Some(stack.names.api.as_str()) => api,
        // Gone or renamed: the record is stale.
        Ok(_) => {
            record::forget(stack);
            return None;
        }
        // A denied GetRestApi, a throttle: the listing is asked instead, and reports its own errors.
        Err(_) => return None,
    };
    let owned = api
        .tags()
        .is_some_and(|t| stack.owns(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    Some((id, owned))
}

/// Finds the API by name through GetRestApis, preferring the one tagged for this stack.
async fn list_api(stack: &Stack) -> anyhow::Result<Option<(String, bool)>> {
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
async fn observe(stack: &Stack) -> anyhow::Result<Option<Observed>> {
    let Some((api_id, owned)) = find_api(stack).await? else {
        return Ok(None);
    };
    let gw = &stack.clients.apigateway;
    let answer = gw.get_resources().rest_api_id(&api_id).limit(500).send().await;
    // GetRestApis lags behind a delete: an API it still lists but whose resources are not found
    // has just been deleted, and counts as gone.
    let Some(resources) = crate::aws::found("apigateway:GetResources", answer)? else {
        return Ok(None);
    };
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
        let answer = gw
            .get_method()
            .rest_api_id(&api_id)
            .resource_id(rid)
            .http_method(HTTP_METHOD)
            .send()
            .await;
        observed.method = crate::aws::found("apigateway:GetMethod", answer)?.map(|m| {
            Method::builder()
                .set_http_method(m.http_method)
                .set_authorization_type(m.authorization_type)
                .set_method_integration(m.method_integration)
                .set_method_responses(m.method_responses)
                .build()
        });
    }
    let answer = gw.get_stage().rest_api_id(&api_id).stage_name(STAGE).send().await;
    observed.stage =
        crate::aws::found("apigateway:GetStage", answer)?.and_then(|s| s.deployment_id);
    if let Some(deployment) = &observed.stage {
        let answer =
            gw.get_deployment().rest_api_id(&api_id).deployment_id(deployment).send().await;
        let found = crate::aws::found("apigateway:GetDeployment", answer)?;
        observed.deployed = found
            .and_then(|d| d.description)
            .and_then(|d| d.strip_prefix(DEFINITION).map(str::to_string));
    }
    Ok(Some(observed))
}

/// Creates what is missing, repairs what differs, and deploys to `prod` when anything changed.
/// Returns the change and the API id.
pub(crate) async fn ensure(stack: &Stack) -> anyhow::Result<(Change, String)> {
    let name = &stack.names.api;
    let step = Step::start(RESOURCE, name);
    let (mut o, created) = match observe(stack).await? {
        Some(o) if o.owned || stack.force => (o, false),
        Some(_) => anyhow::bail!(
            "a REST API named {name} exists but is not tagged {}={}; rename it, delete it, or use another --stack",
            super::STACK_TAG,
            stack.names.stack
        ),
        None => (create(stack).await?, true),
    };
    let details = drift(stack, &o);
    let api_id = o.api_id.clone();
    if o.resource_id.is_none() {
        o.resource_id = create_resource(stack, &o).await?;
    }
    let rid = o.resource_id.clone().unwrap_or_default();
    method::repair(stack, &api_id, &rid, o.method.as_ref()).await?;
    let waited = if !details.is_empty() || created {
        deploy(stack, &api_id).await?
    } else {
        Duration::ZERO
    };
    let (action, mut details) = if created {
        (Action::Created, Vec::new())
    } else {
        (Action::Unchanged, details)
    };
    details.extend(rate_limit_note(waited, "CreateDeployment", "one per 5 s"));
    record::write(stack, &api_id);
    let change = step.done(action, Some(api_id.clone()));
    Ok((change.with_details(details), api_id))
}

/// Creates the API. Everything needed next is in the answer: GetRestApis right after a create may
/// not list it yet.
async fn create(stack: &Stack) -> anyhow::Result<Observed> {
    let api = stack
        .clients
        .apigateway
        .create_rest_api()
        .name(&stack.names.api)
        .description(format!(
            "lab stack {}: the tutorial's DynamoDBOperations",
            stack.names.stack
        ))
        .endpoint_configuration(
            EndpointConfiguration::builder().types(EndpointType::Regional).build(),
        )
        .set_tags(Some(stack.tags()))
        .send()
        .await
        .map_err(ctx("apigateway:CreateRestApi"))?;
    Ok(Observed {
        api_id: api.id().unwrap_or_default().to_string(),
        owned: true,
        root_id: api.root_resource_id().map(str::to_string),
        ..Default::default()
    })
}

/// Creates `/DynamoDBManager` under the root; returns its id.
async fn create_resource(stack: &Stack, o: &Observed) -> anyhow::Result<Option<String>> {
    let api_id = &o.api_id;
    let root = o
        .root_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("REST API {api_id} has no root resource"))?;
    let r = stack
        .clients
        .apigateway
        .create_resource()
        .rest_api_id(api_id)
        .parent_id(root)
        .path_part(RESOURCE_PATH)
        .send()
        .await
        .map_err(ctx("apigateway:CreateResource"))?;
    Ok(r.id)
}

/// Deploys the API to `prod`, waiting out the account's CreateDeployment quota; returns how long
/// that took.
async fn deploy(stack: &Stack, api_id: &str) -> anyhow::Result<Duration> {
    let (answer, waited) = within_quota(|no_retries| {
        stack
            .clients
            .apigateway
            .create_deployment()
            .rest_api_id(api_id)
            .stage_name(STAGE)
            .description(format!("{DEFINITION}{}", method::fingerprint(stack)))
            .customize()
            .config_override(no_retries)
            .send()
    })
    .await;
    answer.map_err(ctx("apigateway:CreateDeployment"))?;
    Ok(waited)
}

/// Existence, id, integration, stage and drift; `invoke_url` is set when the stage exists.
pub(crate) async fn describe(stack: &Stack) -> anyhow::Result<(ResourceStatus, Option<String>)> {
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
pub(crate) async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let name = &stack.names.api;
    let step = Step::start(RESOURCE, name);
    // Look before deleting: moto answers a delete of a missing API with a 500 that the SDK retries.
    let (api_id, _) =
        match stack.deletable(&step, find_api(stack).await?, |&(_, owned)| Some(owned)) {
            ControlFlow::Continue(found) => found,
            ControlFlow::Break(done) => return Ok(done),
        };
    let (answer, waited) = within_quota(|no_retries| {
        stack
            .clients
            .apigateway
            .delete_rest_api()
            .rest_api_id(&api_id)
            .customize()
            .config_override(no_retries)
            .send()
    })
    .await;
    crate::aws::ignore_not_found("apigateway:DeleteRestApi", answer)?;
    record::forget(stack);
    Ok(step.done(Action::Deleted, Some(api_id)).with_details(
        rate_limit_note(waited, "DeleteRestApi", "one per 30 s").into_iter().collect(),
    ))
}

/// The id of this stack's API, if it exists.
pub(crate) async fn find_id(stack: &Stack) -> anyhow::Result<Option<String>> {
    Ok(find_api(stack)
        .await?
        .filter(|(_, owned)| *owned || stack.force)
        .map(|(id, _)| id))
}
