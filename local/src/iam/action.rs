//! Which IAM action, on which resource, an AWS API call needs: the map from a request (service,
//! operation, the resource it names) to what IAM evaluates, for every call lab and the tutorial
//! make. A call this map does not know is allowed and counted (refusing it would fail a tool for
//! the map's gap, not for its policy); `lab local status` lists them so the map stays complete.

use axum::http::Method;

use crate::functions::{function_name, qualifier, LAMBDA_API};
use crate::moto::ACCOUNT;
use crate::strict::Call;

/// What IAM must allow for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Needed {
    /// The service's protocol, for the denial's format.
    pub(crate) protocol: Protocol,
    /// `service:Operation`.
    pub(crate) action: String,
    /// The resource's ARN, or `*`.
    pub(crate) resource: String,
    /// `iam:PassRole` on this role, for calls that hand a role to Lambda.
    pub(crate) passes_role: Option<String>,
}

/// How a service writes its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// DynamoDB, CloudWatch Logs: `__type` and `message`.
    AwsJson,
    /// IAM and STS: XML `ErrorResponse`.
    Query,
    /// Lambda: `{"Type":"User","message":...}` with `x-amzn-ErrorType`.
    Lambda,
    /// API Gateway: `{"message":...}` with `x-amzn-ErrorType`.
    ApiGateway,
}

/// The call's signing service (`Credential=KEY/DATE/REGION/SERVICE/...`).
pub(crate) fn service(call: &Call) -> Option<String> {
    let auth = call.headers.get("authorization")?.to_str().ok()?;
    let cred = auth.split("Credential=").nth(1)?;
    Some(cred.split('/').nth(3)?.to_string())
}

/// The access key id the call was signed with.
pub(crate) fn access_key(call: &Call) -> Option<String> {
    let auth = call.headers.get("authorization")?.to_str().ok()?;
    let cred = auth.split("Credential=").nth(1)?;
    Some(cred.split('/').next()?.to_string())
}

/// What `call` needs; `None` when the map does not know it (allowed, counted) or it needs nothing
/// (STS GetCallerIdentity).
pub(crate) async fn needed(call: &Call<'_>, query: Option<&str>) -> Option<Needed> {
    let region = call.region;
    if let Some(target) = call.target() {
        let (prefix, op) = target.split_once('.')?;
        let doc = call.json().await;
        return match prefix {
            "DynamoDB_20120810" => {
                let table = doc["TableName"]
                    .as_str()
                    .map(|t| format!("arn:aws:dynamodb:{region}:{ACCOUNT}:table/{t}"))
                    .or_else(|| doc["ResourceArn"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "*".into());
                Some(json(format!("dynamodb:{op}"), table))
            }
            "Logs_20140328" => {
                let group =
                    |name: &str| format!("arn:aws:logs:{region}:{ACCOUNT}:log-group:{name}");
                let resource = match (
                    doc["logGroupName"].as_str(),
                    doc["resourceArn"].as_str(),
                    doc["logGroupNamePrefix"].as_str(),
                ) {
                    (Some(name), _, _) if op == "PutLogEvents" || op == "CreateLogStream" => {
                        format!("{}:log-stream:*", group(name))
                    }
                    (Some(name), _, _) => group(name),
                    (_, Some(arn), _) => arn.trim_end_matches(":*").to_string(),
                    (_, _, Some(_)) | (None, None, None) => group("*"),
                };
                Some(json(format!("logs:{op}"), resource))
            }
            _ => None,
        };
    }
    let service = service(call).unwrap_or_default();
    if call.path == "/" && *call.method == Method::POST {
        return query_protocol(&service, call);
    }
    if call.path.starts_with("/restapis") || call.path.starts_with("/tags/") {
        return Some(Needed {
            protocol: Protocol::ApiGateway,
            action: format!("apigateway:{}", call.method.as_str()),
            resource: format!("arn:aws:apigateway:{region}::{}", call.path),
            passes_role: None,
        });
    }
    lambda(call, query).await
}

fn json(action: String, resource: String) -> Needed {
    Needed {
        protocol: Protocol::AwsJson,
        action,
        resource,
        passes_role: None,
    }
}

/// IAM (and STS) over the query protocol: `Action=GetRole&RoleName=r`.
fn query_protocol(service: &str, call: &Call) -> Option<Needed> {
    let form = call.form();
    let op = form.get("Action")?.clone();
    if service == "sts" {
        // GetCallerIdentity needs no permission; lab makes no other STS call.
        return None;
    }
    if service != "iam" {
        return None;
    }
    let resource = if let Some(role) = form.get("RoleName") {
        format!("arn:aws:iam::{ACCOUNT}:role/{role}")
    } else if let Some(arn) = form.get("PolicyArn") {
        arn.clone()
    } else if let Some(name) = form.get("PolicyName").filter(|_| op == "CreatePolicy") {
        format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
    } else {
        "*".into()
    };
    Some(Needed {
        protocol: Protocol::Query,
        action: format!("iam:{op}"),
        resource,
        passes_role: None,
    })
}

/// Lambda's REST paths.
async fn lambda(call: &Call<'_>, query: Option<&str>) -> Option<Needed> {
    let region = call.region;
    let arn = |name: &str| format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}");
    let method = call.method.as_str();
    let path = call.path.trim_end_matches('/');
    let lambda = |action: &str, resource: String| Needed {
        protocol: Protocol::Lambda,
        action: format!("lambda:{action}"),
        resource,
        passes_role: None,
    };
    if path == "/2016-08-19/account-settings" {
        return Some(lambda("GetAccountSettings", "*".into()));
    }
    if let Some(tagged) = path.strip_prefix("/2017-03-31/tags/") {
        let resource = urlencoding::decode(tagged).ok()?.into_owned();
        let op = match method {
            "GET" => "ListTags",
            "POST" => "TagResource",
            "DELETE" => "UntagResource",
            _ => return None,
        };
        return Some(lambda(op, resource));
    }
    if path == LAMBDA_API {
        return match method {
            "GET" => Some(lambda("ListFunctions", "*".into())),
            "POST" => {
                let doc = call.json().await;
                let name = doc["FunctionName"].as_str()?.to_string();
                let mut need = lambda("CreateFunction", arn(&function_name(&name)));
                need.passes_role = doc["Role"].as_str().map(str::to_string);
                Some(need)
            }
            _ => None,
        };
    }
    let rest = path.strip_prefix(LAMBDA_API)?.strip_prefix('/')?;
    let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let name = function_name(head);
    let qualified = match qualifier(head, query) {
        Some(q) => arn(&format!("{name}:{q}")),
        None => arn(&name),
    };
    let (sub, item) = tail.split_once('/').unwrap_or((tail, ""));
    let op = match (method, sub, item.is_empty()) {
        ("GET", "", _) => "GetFunction",
        ("DELETE", "", _) => "DeleteFunction",
        ("GET", "configuration", _) => "GetFunctionConfiguration",
        ("PUT", "configuration", _) => {
            let doc = call.json().await;
            let mut need = lambda("UpdateFunctionConfiguration", arn(&name));
            need.passes_role = doc["Role"].as_str().map(str::to_string);
            return Some(need);
        }
        ("PUT", "code", _) => "UpdateFunctionCode",
        ("POST", "versions", _) => "PublishVersion",
        ("GET", "versions", _) => "ListVersionsByFunction",
        ("POST", "aliases", true) => "CreateAlias",
        ("GET", "aliases", true) => "ListAliases",
        ("GET", "aliases", false) => "GetAlias",
        ("PUT", "aliases", false) => "UpdateAlias",
        ("DELETE", "aliases", false) => "DeleteAlias",
        ("POST", "policy", _) => "AddPermission",
        ("GET", "policy", _) => "GetPolicy",
        ("DELETE", "policy", false) => "RemovePermission",
        ("POST", "invocations", _) => "InvokeFunction",
        ("GET", "concurrency", _) => "GetFunctionConcurrency",
        ("PUT", "concurrency", _) => "PutFunctionConcurrency",
        _ => return None,
    };
    let resource = match op {
        "GetFunction"
        | "DeleteFunction"
        | "GetFunctionConfiguration"
        | "GetPolicy"
        | "AddPermission"
        | "RemovePermission"
        | "InvokeFunction" => qualified,
        "CreateAlias" | "ListAliases" | "GetAlias" | "UpdateAlias" | "DeleteAlias" => {
            if item.is_empty() {
                arn(&name)
            } else {
                arn(&format!("{name}:{item}"))
            }
        }
        _ => arn(&name),
    };
    Some(lambda(op, resource))
}
