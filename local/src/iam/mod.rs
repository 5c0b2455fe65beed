//! IAM on the strict stack: every AWS call that reaches the gateway is authorised before it is
//! served, as a real account does. The operator (any credentials that are not a function's) is
//! held to `--operator-policy FILE` when one is given and is an administrator otherwise; calls
//! the action map does not know are let through and counted, so the map can be completed.
//! `eval` is IAM's evaluation logic, `action` the map from a request to its action and resource.

pub(crate) mod action;
pub(crate) mod eval;
mod permissions;
mod roles;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;

use crate::moto::{Moto, ACCOUNT};
use crate::strict::reply::{self, Upstream};
use crate::strict::Call;
use action::{Needed, Protocol};
use eval::{Decision, Request};
use permissions::PendingPermissions;
use roles::RolePolicies;

/// A denial: AccessDenied in the service's protocol (boxed: it is the rare path).
pub(crate) type Denied = Box<Upstream>;

/// Who the operator is in denial messages: the identity moto's STS answers for the test keys.
pub(crate) fn operator_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/moto")
}

/// IAM's state on the gateway.
#[derive(Default)]
pub(crate) struct Iam {
    /// Evaluation on (strict and not `--iam off`).
    pub(crate) enabled: bool,
    /// The operator's identity policy; `None`: an administrator.
    operator: Mutex<Option<std::sync::Arc<Value>>>,
    /// How long a policy change takes to reach the functions' calls (scaled).
    propagation: Duration,
    roles: RolePolicies,
    /// Each function's execution role, read from moto once per configuration change.
    function_roles: Mutex<std::collections::HashMap<(String, String), String>>,
    /// Resource-policy changes on their way to the stage URL.
    pub(crate) permissions: PendingPermissions,
    denied: AtomicU64,
    unmapped: Mutex<BTreeMap<String, u64>>,
}

/// The access key id prefix of a function's credentials; the rest is the hex of `region/name`.
const FUNCTION_KEY: &str = "ASIALABFN";

/// The access key id an instance of `name` in `region` signs with: the gateway maps it back to
/// the function, and through its configuration to its execution role.
pub(crate) fn function_key(region: &str, name: &str) -> String {
    let hex: String = format!("{region}/{name}").bytes().map(|b| format!("{b:02X}")).collect();
    format!("{FUNCTION_KEY}{hex}")
}

/// The (region, function) a function's access key names.
fn function_of(key: &str) -> Option<(String, String)> {
    let hex = key.strip_prefix(FUNCTION_KEY)?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (region, name) = text.split_once('/')?;
    Some((region.to_string(), name.to_string()))
}

/// Reads and checks an operator policy file: one clear line when it is not a policy.
pub(crate) fn read_policy(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!("--operator-policy {}: cannot read it ({e})", path.display())
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "--operator-policy {}: not JSON ({e}); give an IAM policy document, e.g. lab policy's output",
            path.display()
        )
    })?;
    if !(doc["Statement"].is_array() || doc["Statement"].is_object()) {
        anyhow::bail!(
            "--operator-policy {}: no Statement; give an IAM policy document, e.g. lab policy's output",
            path.display()
        );
    }
    Ok(doc)
}

impl Iam {
    /// IAM as configured.
    pub(crate) fn new(enabled: bool, operator: Option<Value>, propagation: Duration) -> Self {
        Self {
            enabled,
            operator: Mutex::new(operator.map(std::sync::Arc::new)),
            propagation,
            ..Self::default()
        }
    }

    /// Test hook: replaces the operator's policy (`None`: an administrator).
    pub(crate) fn set_operator(&self, policy: Option<Value>) {
        *self.operator.lock().expect("operator lock") = policy.map(std::sync::Arc::new);
    }

    /// Authorises `call` for whoever signed it: a function (its execution role's policies) or
    /// the operator. `Err` carries the service's AccessDenied.
    pub(crate) async fn authorise(
        &self,
        moto: &Moto,
        call: &Call<'_>,
        query: Option<&str>,
    ) -> Result<(), Denied> {
        if !self.enabled {
            return Ok(());
        }
        let function = action::access_key(call).and_then(|k| function_of(&k));
        let Some((region, name)) = function else {
            return self.authorise_operator(call, query).await;
        };
        let Some(needed) = self.needed(call, query).await else {
            return Ok(());
        };
        let role = self.function_role(moto, &region, &name).await;
        let principal = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{name}");
        let documents = match self.roles.get(moto, &region, &role).await {
            Ok(d) => d,
            // A role moto cannot read (deleted under the function) allows nothing, as on AWS.
            Err(_) => std::sync::Arc::new(Vec::new()),
        };
        self.check(&documents, &principal, &needed)
    }

    /// The function's execution role's name ("" when moto cannot say), cached until a Lambda
    /// write passes the gateway.
    async fn function_role(&self, moto: &Moto, region: &str, name: &str) -> String {
        let key = (region.to_string(), name.to_string());
        if let Some(role) = self.function_roles.lock().expect("roles lock").get(&key) {
            return role.clone();
        }
        let path = format!("/2015-03-31/functions/{name}/configuration");
        let config = moto.get_json("lambda", region, &path).await.ok().flatten();
        let role_arn = config.as_ref().and_then(|c| c["Role"].as_str()).unwrap_or_default();
        let role = role_arn.rsplit('/').next().unwrap_or_default().to_string();
        let mut roles = self.function_roles.lock().expect("roles lock");
        if roles.len() >= 10_000 {
            roles.clear();
        }
        roles.insert(key, role.clone());
        role
    }

    /// A Lambda write went through: a function's role may have changed.
    pub(crate) fn note_lambda_call(&self, call: &Call) {
        let write = *call.method != axum::http::Method::GET;
        if self.enabled && write && call.path.starts_with(crate::functions::LAMBDA_API) {
            self.function_roles.lock().expect("roles lock").clear();
        }
    }

    /// An IAM call went through the gateway: if it writes, the functions' calls see it after
    /// IAM's propagation delay.
    pub(crate) fn note_iam_call(&self, call: &Call) {
        if !self.enabled || action::service(call).as_deref() != Some("iam") {
            return;
        }
        let form = call.form();
        let Some(op) = form.get("Action") else {
            return;
        };
        let reads = ["Get", "List", "Simulate", "Generate"];
        if !reads.iter().any(|r| op.starts_with(r)) {
            self.roles.changed(self.propagation);
        }
    }

    /// Authorises the operator's `call`: `Err` carries the service's AccessDenied.
    pub(crate) async fn authorise_operator(
        &self,
        call: &Call<'_>,
        query: Option<&str>,
    ) -> Result<(), Denied> {
        if !self.enabled {
            return Ok(());
        }
        let Some(policy) = self.operator.lock().expect("operator lock").clone() else {
            return Ok(());
        };
        let Some(needed) = self.needed(call, query).await else {
            return Ok(());
        };
        let documents = std::slice::from_ref(policy.as_ref());
        self.check(documents, &operator_arn(), &needed)
    }

    /// Whether the operator may do `action` on `resource` (always, without an operator policy).
    pub(crate) fn operator_may(&self, action: &str, resource: &str) -> bool {
        let Some(policy) = self.operator.lock().expect("operator lock").clone() else {
            return true;
        };
        let request = Request::new(action, resource);
        !self.enabled
            || eval::evaluate(std::slice::from_ref(policy.as_ref()), &request) == Decision::Allow
    }

    /// Evaluates `needed` (and the PassRole it implies) for `principal` under `documents`.
    pub(crate) fn check(
        &self,
        documents: &[Value],
        principal: &str,
        needed: &Needed,
    ) -> Result<(), Denied> {
        let request = Request::new(&needed.action, &needed.resource);
        self.decide(documents, principal, needed.protocol, &request)?;
        if let Some(role) = &needed.passes_role {
            let pass = Request::new("iam:PassRole", role)
                .with("iam:PassedToService", "lambda.amazonaws.com");
            self.decide(documents, principal, needed.protocol, &pass)?;
        }
        Ok(())
    }

    fn decide(
        &self,
        documents: &[Value],
        principal: &str,
        protocol: Protocol,
        request: &Request,
    ) -> Result<(), Denied> {
        let why = match eval::evaluate(documents, request) {
            Decision::Allow => return Ok(()),
            Decision::ExplicitDeny => {
                "with an explicit deny in an identity-based policy".to_string()
            }
            Decision::ImplicitDeny => format!(
                "because no identity-based policy allows the {} action",
                request.action
            ),
        };
        self.denied.fetch_add(1, Ordering::Relaxed);
        let message = format!(
            "User: {principal} is not authorized to perform: {} on resource: {} {why}",
            request.action, request.resource
        );
        Err(Box::new(denial(protocol, &message)))
    }

    /// What `call` needs, or `None` when the action map does not know it (counted, unless the
    /// call needs no permission at all).
    async fn needed(&self, call: &Call<'_>, query: Option<&str>) -> Option<Needed> {
        let needed = action::needed(call, query).await;
        if needed.is_none() && !is_free(call) {
            self.note_unmapped(call);
        }
        needed
    }

    fn note_unmapped(&self, call: &Call) {
        let key = format!(
            "{} {} {}",
            action::service(call).unwrap_or_default(),
            call.method,
            call.target().unwrap_or(call.path)
        );
        let mut unmapped = self.unmapped.lock().expect("iam unmapped lock");
        if unmapped.len() < 1_000 || unmapped.contains_key(&key) {
            *unmapped.entry(key).or_default() += 1;
        }
    }

    /// `lab local status`'s `iam` section: on or off, the operator's policy, the refusals, and
    /// the calls the action map does not know (let through).
    pub(crate) fn status(&self) -> Value {
        serde_json::json!({
            "enabled": self.enabled,
            "operator_policy": self.operator.lock().expect("operator lock").is_some(),
            "access_denied": self.denied.load(Ordering::Relaxed),
            "unmapped": *self.unmapped.lock().expect("iam unmapped lock"),
        })
    }
}

/// Calls that need no permission at all (STS GetCallerIdentity) are not "unmapped".
fn is_free(call: &Call) -> bool {
    action::service(call).as_deref() == Some("sts")
}

/// AccessDenied in the service's own protocol.
fn denial(protocol: Protocol, message: &str) -> Upstream {
    match protocol {
        Protocol::AwsJson => reply::dynamodb("AccessDeniedException", message),
        Protocol::Query => reply::iam(StatusCode::FORBIDDEN, "AccessDenied", message),
        Protocol::Lambda => Upstream::new(
            StatusCode::FORBIDDEN,
            "application/json",
            serde_json::json!({"Type": "User", "message": message}).to_string(),
        )
        .with_header("x-amzn-errortype", "AccessDeniedException"),
        Protocol::ApiGateway => Upstream::new(
            StatusCode::FORBIDDEN,
            "application/json",
            serde_json::json!({"message": message}).to_string(),
        )
        .with_header("x-amzn-errortype", "AccessDeniedException"),
    }
}
