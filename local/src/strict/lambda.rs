//! Lambda's function lifecycle: Pending before Active, updates InProgress for a while (a second
//! update meanwhile is a conflict), Inactive functions that wake on invoke, duplicate
//! permission statements, the account's memory cap, and a role IAM has not propagated yet.

use std::time::Instant;

use axum::http::{Method, StatusCode};
use serde_json::Value;

use super::records::{Expires, Records};
use super::reply::{self, Upstream};
use super::{iam, Context, Forward, Rule, Rules, AWS};
use crate::functions::{function_name, FunctionKey, LAMBDA_API};
use crate::moto::{Moto, ACCOUNT};

/// What Lambda is still doing to one function.
#[derive(Default)]
pub(crate) struct Function {
    /// Pending (after create, or while waking) until then.
    pending_until: Option<Instant>,
    /// Pending because it was Inactive (StateReasonCode Restoring), not because it is new.
    waking: bool,
    /// LastUpdateStatus InProgress until then.
    updating_until: Option<Instant>,
    inactive: bool,
    /// Test hook: the next update ends Failed.
    fail_next_update: bool,
    /// The reason of the last update, when it failed.
    failed: Option<String>,
}

impl Function {
    fn pending(&self, now: Instant) -> bool {
        self.pending_until.is_some_and(|t| t > now)
    }
    fn updating(&self, now: Instant) -> bool {
        self.updating_until.is_some_and(|t| t > now)
    }
}

/// A function's record matters while a timer runs; one Inactive, failed or about to fail is kept
/// until something changes it. A settled one says what moto says (Active, Successful).
impl Expires for Function {
    fn expires(&self) -> Option<Instant> {
        if self.inactive || self.fail_next_update || self.failed.is_some() {
            return None;
        }
        let latest = self.pending_until.max(self.updating_until);
        Some(latest.unwrap_or_else(Instant::now))
    }
}

/// Functions with something in progress, by (region, name).
pub(crate) type Functions = Records<FunctionKey, Function>;

/// Why an invocation cannot run now, as Lambda's Invoke answers it.
#[derive(Debug, Clone)]
pub(crate) struct NotReady {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// Lambda's error code (`x-amzn-errortype`).
    pub(crate) code: &'static str,
    /// Lambda's message.
    pub(crate) message: String,
}

/// The operation a Lambda REST call is.
#[derive(Debug, PartialEq, Eq)]
enum Op {
    Create,
    Read,
    Update,
    Publish,
    AddPermission,
    Delete,
    Other,
}

fn classify(method: &Method, path: &str) -> (Op, String) {
    let rest = path.trim_start_matches(LAMBDA_API).trim_start_matches('/');
    if rest.is_empty() {
        let op = if method == Method::POST {
            Op::Create
        } else {
            Op::Other
        };
        return (op, String::new());
    }
    let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let op = match (method.as_str(), tail) {
        ("GET", "" | "configuration") => Op::Read,
        ("PUT", "configuration" | "code") => Op::Update,
        ("POST", "versions") => Op::Publish,
        ("POST", "policy") => Op::AddPermission,
        ("DELETE", "") => Op::Delete,
        _ => Op::Other,
    };
    (op, function_name(name))
}

/// Lambda's rules around one REST call under `/2015-03-31/functions`.
pub(crate) async fn apply(cx: &Context<'_>, forward: Forward<'_>) -> Upstream {
    let (rules, call, now) = (cx.rules, cx.call, cx.now);
    let (op, mut name) = classify(call.method, call.path);
    let doc = call.json().await;
    if op == Op::Create {
        name = doc["FunctionName"].as_str().map(function_name).unwrap_or_default();
        let role = doc["Role"].as_str().unwrap_or_default();
        if iam::role_not_assumable(rules, role, now).is_some() {
            return rules.refuse(
                Rule::RoleNotAssumable,
                reply::rest_json(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValueException",
                    "The role defined for the function cannot be assumed by Lambda.",
                ),
            );
        }
    }
    if !rules.config.enabled {
        return forward.await;
    }
    let key = (call.region.to_string(), name);
    if let Some(refusal) = refusal(cx, &op, &key, &doc) {
        return refusal;
    }
    if op == Op::AddPermission {
        if let Some(refusal) = duplicate_statement(rules, cx.moto, call.region, &key.1, &doc).await
        {
            return refusal;
        }
    }
    let mut up = forward.await;
    if up.ok() {
        record(rules, &op, key, &mut up, now);
    }
    up
}

/// What a call that went through changes: a new function is Pending, an update InProgress; the
/// answer shows the function's state.
fn record(rules: &Rules, op: &Op, key: FunctionKey, up: &mut Upstream, now: Instant) {
    let mut functions = rules.functions.lock().expect("functions lock");
    match op {
        Op::Create => {
            let f = Function {
                pending_until: Some(now + rules.scaled(AWS.function_pending)),
                ..Function::default()
            };
            functions.insert(key.clone(), f, now);
        }
        Op::Update => {
            let f = functions.entry_or_default(key.clone(), now);
            f.updating_until = Some(now + rules.scaled(AWS.function_update));
            f.failed = std::mem::take(&mut f.fail_next_update)
                .then(|| "lab local: the update was made to fail (test hook)".to_string());
        }
        Op::Delete => {
            functions.remove(&key);
            return;
        }
        _ => {}
    }
    if matches!(op, Op::Create | Op::Update | Op::Read) {
        if let Some(f) = functions.live(&key, now) {
            rewrite_state(up, f, now);
        }
    }
}

/// Lambda's answer to a call on a function that is not ready for it, if it refuses it.
fn refusal(cx: &Context<'_>, op: &Op, key: &FunctionKey, doc: &Value) -> Option<Upstream> {
    let (rules, now) = (cx.rules, cx.now);
    if matches!(op, Op::Create | Op::Update) {
        if let (Some(cap), Some(memory)) = (rules.config.memory_cap_mb, doc["MemorySize"].as_u64())
        {
            if memory > u64::from(cap) {
                return Some(rules.refuse(
                    Rule::MemoryCap,
                    reply::rest_json(
                        StatusCode::BAD_REQUEST,
                        "ValidationException",
                        &format!("'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to {cap}"),
                    ),
                ));
            }
        }
    }
    if !matches!(op, Op::Update | Op::Publish) {
        return None;
    }
    let functions = rules.functions.lock().expect("functions lock");
    let f = functions.live(key, now)?;
    let arn = format!("arn:aws:lambda:{}:{ACCOUNT}:function:{}", key.0, key.1);
    let message = if f.pending(now) {
        "The operation cannot be performed at this time. The function is currently in the following state: Pending".to_string()
    } else if f.updating(now) {
        format!("The operation cannot be performed at this time. An update is in progress for resource: {arn}")
    } else {
        // An Inactive function accepts updates and stays Inactive: only an invoke wakes it (AWS
        // documents no other trigger).
        return None;
    };
    drop(functions);
    Some(rules.refuse(
        Rule::UpdateInProgress,
        reply::rest_json(StatusCode::CONFLICT, "ResourceConflictException", &message),
    ))
}

/// moto accepts a second statement with the same id; Lambda refuses it.
async fn duplicate_statement(
    rules: &Rules,
    moto: &Moto,
    region: &str,
    name: &str,
    doc: &Value,
) -> Option<Upstream> {
    let sid = doc["StatementId"].as_str()?;
    let path = format!("/2015-03-31/functions/{name}/policy");
    let existing = moto.get_json("lambda", region, &path).await.ok()??;
    let policy: Value =
        serde_json::from_str(existing["Policy"].as_str().unwrap_or("{}")).unwrap_or_default();
    let taken = policy["Statement"]
        .as_array()
        .is_some_and(|s| s.iter().any(|st| st["Sid"] == sid));
    taken.then(|| {
        rules.refuse(
            Rule::DuplicateStatement,
            reply::rest_json(
                StatusCode::CONFLICT,
                "ResourceConflictException",
                &format!("The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."),
            ),
        )
    })
}

/// Writes the function's state into a GetFunction / GetFunctionConfiguration / create / update answer.
fn rewrite_state(up: &mut Upstream, f: &Function, now: Instant) {
    let mut doc = up.json();
    let config = if doc["Configuration"].is_object() {
        &mut doc["Configuration"]
    } else {
        &mut doc
    };
    let (state, reason, code) = if f.inactive {
        (
            "Inactive",
            "The function is inactive because it has not been invoked for a while.",
            "Idle",
        )
    } else if f.pending(now) {
        if f.waking {
            ("Pending", "The function is being restored.", "Restoring")
        } else {
            ("Pending", "The function is being created.", "Creating")
        }
    } else {
        ("Active", "", "")
    };
    set_status(config, "State", (state, reason, code));
    let last = if f.updating(now) {
        ("InProgress", "The function is being updated.", "InProgress")
    } else if let Some(failed) = &f.failed {
        ("Failed", failed.as_str(), "InternalError")
    } else {
        ("Successful", "", "")
    };
    set_status(config, "LastUpdateStatus", last);
    up.set_json(&doc);
}

/// Sets `{field}` and its `{field}Reason`/`{field}ReasonCode` (removed when there is no reason).
fn set_status(config: &mut Value, field: &str, (value, reason, code): (&str, &str, &str)) {
    config[field] = value.into();
    let (reason_field, code_field) = (format!("{field}Reason"), format!("{field}ReasonCode"));
    if reason.is_empty() {
        if let Some(obj) = config.as_object_mut() {
            obj.remove(&reason_field);
            obj.remove(&code_field);
        }
    } else {
        config[reason_field] = reason.into();
        config[code_field] = code.into();
    }
}

/// Invoke's answer for a function that is not Active: Pending refuses with a conflict; Inactive
/// refuses and starts waking up (Pending, then Active).
pub(crate) fn invoke_gate(
    rules: &Rules,
    region: &str,
    name: &str,
    now: Instant,
) -> Result<(), NotReady> {
    let mut functions = rules.functions.lock().expect("functions lock");
    let Some(f) = functions.live_mut(&(region.to_string(), name.to_string()), now) else {
        return Ok(());
    };
    let refusal = if f.inactive {
        f.inactive = false;
        f.waking = true;
        f.pending_until = Some(now + rules.scaled(AWS.function_wake));
        // What real accounts answer for a non-VPC function (boto3#3788, aws-cdk#20123); the SDK
        // model's ResourceNotReadyException is the VPC case.
        NotReady {
            status: StatusCode::CONFLICT,
            code: "CodeArtifactUserPendingException",
            message: "Lambda is initializing your function. It will be ready to invoke shortly."
                .into(),
        }
    } else if f.pending(now) {
        NotReady {
            status: StatusCode::CONFLICT,
            code: "ResourceConflictException",
            message: "The operation cannot be performed at this time. The function is currently in the following state: Pending".into(),
        }
    } else {
        return Ok(());
    };
    drop(functions);
    rules.count(Rule::FunctionNotReady);
    Err(refusal)
}

/// When the function's update in progress ends, if one is.
pub(crate) fn update_ends(
    rules: &Rules,
    region: &str,
    name: &str,
    now: Instant,
) -> Option<Instant> {
    let functions = rules.functions.lock().expect("functions lock");
    functions
        .live(&(region.to_string(), name.to_string()), now)
        .and_then(|f| f.updating_until)
        .filter(|t| *t > now)
}

/// Test hook: the function goes Inactive.
pub(crate) fn make_inactive(rules: &Rules, region: &str, name: &str) {
    let mut functions = rules.functions.lock().expect("functions lock");
    let key = (region.to_string(), name.to_string());
    let f = functions.entry_or_default(key, Instant::now());
    f.inactive = true;
    f.pending_until = None;
}

/// Test hook: the function's next update ends Failed.
pub(crate) fn fail_next_update(rules: &Rules, region: &str, name: &str) {
    let mut functions = rules.functions.lock().expect("functions lock");
    let key = (region.to_string(), name.to_string());
    functions.entry_or_default(key, Instant::now()).fail_next_update = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_paths_classify() {
        let p = |m: Method, path: &str| classify(&m, path);
        assert_eq!(p(Method::POST, "/2015-03-31/functions").0, Op::Create);
        assert_eq!(
            p(Method::GET, "/2015-03-31/functions/f"),
            (Op::Read, "f".into())
        );
        assert_eq!(
            p(Method::PUT, "/2015-03-31/functions/f/configuration").0,
            Op::Update
        );
        assert_eq!(p(Method::PUT, "/2015-03-31/functions/f/code").0, Op::Update);
        assert_eq!(
            p(Method::POST, "/2015-03-31/functions/f/policy").0,
            Op::AddPermission
        );
        assert_eq!(p(Method::DELETE, "/2015-03-31/functions/f").0, Op::Delete);
        assert_eq!(
            p(
                Method::GET,
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ag/configuration"
            ),
            (Op::Read, "g".into())
        );
    }
}
