//! The `POST /DynamoDBManager` method: no authorization, a non-proxy Lambda integration, and the
//! method and integration responses that map the handler's error types to HTTP statuses. What
//! differs from that is listed ([`drift`]) and put right ([`repair`]), part by part.

use aws_sdk_apigateway::types::{Integration, IntegrationType, Method};

use super::Observed;
use crate::aws::ctx;
use crate::stack::names::{HTTP_METHOD, RESOURCE_PATH, STAGE};
use crate::stack::Stack;

/// Integration responses: status and the selection pattern matched against the function's
/// `errorMessage` (the handler prefixes every message with its error type). `None` is the default
/// response, used for successes: it passes the body through unchanged.
pub(crate) const RESPONSES: &[(&str, Option<&str>)] = &[
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

/// The fingerprint of the API definition `up` deploys (method, integration, responses): carried in
/// the deployment's description, so a stage still serving an older definition (a repair whose
/// CreateDeployment failed) is seen and redeployed.
pub(super) fn fingerprint(stack: &Stack) -> String {
    use sha2::{Digest, Sha256};
    let definition = format!(
        "{HTTP_METHOD} /{RESOURCE_PATH} NONE AWS {} {RESPONSES:?}",
        integration_uri(stack)
    );
    let digest = Sha256::digest(definition.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The integration URI for a function ARN in a region.
fn integration_uri(stack: &Stack) -> String {
    format!(
        "arn:{}:apigateway:{}:lambda:path/2015-03-31/functions/{}/invocations",
        stack.partition,
        stack.region(),
        stack.function_arn()
    )
}

/// True when the method has the response for `status`.
fn has_method_response(method: Option<&Method>, status: &str) -> bool {
    method
        .and_then(|m| m.method_responses())
        .is_some_and(|r| r.contains_key(status))
}

/// True when the integration calls this stack's function the way `up` sets it up.
fn integration_ok(stack: &Stack, integration: &Integration) -> bool {
    integration.r#type() == Some(&IntegrationType::Aws)
        && integration.uri() == Some(integration_uri(stack).as_str())
}

/// True when the integration has the response for `status` with `pattern` (an empty pattern is the
/// default response, as API Gateway reads it).
fn has_integration_response(
    integration: &Integration,
    status: &str,
    pattern: Option<&str>,
) -> bool {
    integration
        .integration_responses()
        .and_then(|r| r.get(status))
        .is_some_and(|r| r.selection_pattern().filter(|p| !p.is_empty()) == pattern)
}

/// Every difference between what exists and what `up` builds, as readable lines.
pub(super) fn drift(stack: &Stack, o: &Observed) -> Vec<String> {
    let mut drift = Vec::new();
    if o.stage.is_some() && o.deployed.as_deref() != Some(fingerprint(stack).as_str()) {
        drift.push("stage serves an older deployment (the definition changed since)".into());
    }
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
        if !has_method_response(Some(method), status) {
            drift.push(format!("method response {status} missing"));
        }
    }
    match method.method_integration() {
        None => drift.push("integration missing".into()),
        Some(i) => {
            if !integration_ok(stack, i) {
                drift.push(format!(
                    "integration is {} {}, expected AWS {}",
                    i.r#type().map(|t| t.as_str()).unwrap_or("none"),
                    i.uri().unwrap_or(""),
                    integration_uri(stack)
                ));
            }
            for (status, pattern) in RESPONSES {
                if !has_integration_response(i, status, *pattern) {
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

/// The method on resource `rid`, as `up` builds it: each part that is missing or differs is put
/// again, the rest left alone.
pub(crate) async fn repair(
    stack: &Stack,
    api_id: &str,
    rid: &str,
    method: Option<&Method>,
) -> anyhow::Result<()> {
    let on = Target { stack, api_id, rid };
    let auth_ok = method.is_some_and(|m| m.authorization_type() == Some("NONE"));
    if method.is_some() && !auth_ok {
        on.delete_method().await?;
    }
    let method = method.filter(|_| auth_ok);
    if method.is_none() {
        on.put_method().await?;
    }
    for (status, _) in RESPONSES {
        if !has_method_response(method, status) {
            on.put_method_response(status).await?;
        }
    }
    let integration =
        method.and_then(|m| m.method_integration()).filter(|i| integration_ok(stack, i));
    if integration.is_none() {
        on.put_integration().await?;
    }
    for (status, pattern) in RESPONSES {
        if !integration.is_some_and(|i| has_integration_response(i, status, *pattern)) {
            on.put_integration_response(status, *pattern).await?;
        }
    }
    Ok(())
}

/// The method being repaired: API, resource and (always) [`HTTP_METHOD`].
struct Target<'a> {
    stack: &'a Stack,
    api_id: &'a str,
    rid: &'a str,
}

/// `$op` on the target's method: the request with its API, resource and method already set (each
/// operation's builder is a type of its own, so a function could not return them all).
macro_rules! on_method {
    ($target:expr, $op:ident) => {
        $target
            .stack
            .clients
            .apigateway
            .$op()
            .rest_api_id($target.api_id)
            .resource_id($target.rid)
            .http_method(HTTP_METHOD)
    };
}

impl Target<'_> {
    async fn delete_method(&self) -> anyhow::Result<()> {
        let request = on_method!(self, delete_method);
        request.send().await.map_err(ctx("apigateway:DeleteMethod"))?;
        Ok(())
    }

    async fn put_method(&self) -> anyhow::Result<()> {
        let request = on_method!(self, put_method).authorization_type("NONE");
        request.send().await.map_err(ctx("apigateway:PutMethod"))?;
        Ok(())
    }

    async fn put_method_response(&self, status: &str) -> anyhow::Result<()> {
        let request = on_method!(self, put_method_response).status_code(status);
        request.send().await.map_err(ctx("apigateway:PutMethodResponse"))?;
        Ok(())
    }

    async fn put_integration(&self) -> anyhow::Result<()> {
        let request = on_method!(self, put_integration)
            .r#type(IntegrationType::Aws)
            .integration_http_method("POST")
            .uri(integration_uri(self.stack));
        request.send().await.map_err(ctx("apigateway:PutIntegration"))?;
        Ok(())
    }

    /// Never sends an empty template: moto stores it as null and the SDK then fails to read the
    /// method.
    async fn put_integration_response(
        &self,
        status: &str,
        pattern: Option<&str>,
    ) -> anyhow::Result<()> {
        let request = on_method!(self, put_integration_response)
            .status_code(status)
            .set_selection_pattern(pattern.map(str::to_string));
        request.send().await.map_err(ctx("apigateway:PutIntegrationResponse"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RESPONSES;

    #[test]
    fn lab_error_types_map_to_statuses() {
        let m = |message| lab_local::integration_status(RESPONSES, message).unwrap();
        assert_eq!(m(None), Some(200));
        assert_eq!(m(Some("BadRequest: payload.Key is missing")), Some(400));
        assert_eq!(m(Some("Forbidden: table x")), Some(403));
        assert_eq!(m(Some("NotFound: table")), Some(404));
        assert_eq!(m(Some("Conflict: condition failed")), Some(409));
        assert_eq!(m(Some("Internal: boom")), Some(500));
        assert_eq!(
            m(Some(
                "2026-01-01T00:00:00.000Z abc Task timed out after 3.00 seconds"
            )),
            Some(500)
        );
        assert_eq!(
            m(Some(
                "RequestId: x Error: Runtime exited with error: signal: 9"
            )),
            Some(500)
        );
        // A pattern must match the whole message, as in Java's String.matches.
        assert_eq!(m(Some("Not BadRequest: x")), Some(200));
    }
}
