//! Strict mode: the local stack reproduces the behaviours of AWS that break naive tools (state
//! transitions that take time, eventual consistency, control-plane rate limits), so that a green
//! local run predicts a green AWS run. moto answers at once and forgives; these rules sit in front
//! of it in the gateway, one module per service, and only ever refuse, delay or rewrite what moto
//! says: they never invent a resource moto does not hold.
//!
//! Every figure below is AWS's own, at time scale 1.0; the README's local-stack section cites the
//! source of each. `--time-scale F` multiplies them all (0.05 makes a 30 s limit last 1.5 s).

mod apigateway;
pub(crate) mod dynamodb;
mod iam;
mod lambda;
mod records;
pub(crate) mod reply;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};

use super::functions::LAMBDA_API;
use super::moto::Moto;
pub(crate) use lambda::NotReady;
use reply::Upstream;
pub(crate) use Rule as Refusal;

/// How the rules are set up: `lab local start --strict --time-scale F --memory-cap MB`.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// All rules on (off: only an explicit `--iam-delay-ms` applies).
    pub(crate) enabled: bool,
    /// Multiplies every AWS delay and rate-limit window.
    pub(crate) time_scale: f64,
    /// How long a new role cannot be assumed by Lambda; `None` takes AWS's figure (scaled) when
    /// strict, zero otherwise.
    pub(crate) iam_delay: Option<Duration>,
    /// The account's memory cap for functions (a new account's is 3008 MB), if any.
    pub(crate) memory_cap_mb: Option<u32>,
}

/// AWS's delays and windows at time scale 1.0 (sources in the README's local-stack section).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figures {
    /// How long a new DynamoDB table is CREATING.
    pub(crate) table_creating: Duration,
    /// How long a deleted table is DELETING.
    pub(crate) table_deleting: Duration,
    /// How long Lambda cannot assume a new role.
    pub(crate) role_not_assumable: Duration,
    /// How long a new policy cannot be attached.
    pub(crate) policy_not_attachable: Duration,
    /// How long DeleteRole still sees a policy just detached.
    pub(crate) role_delete_conflict: Duration,
    /// How long a deleted role or policy still answers Get*.
    pub(crate) iam_read_after_delete: Duration,
    /// How long a new function is Pending.
    pub(crate) function_pending: Duration,
    /// How long an update is InProgress.
    pub(crate) function_update: Duration,
    /// How long an Inactive function takes to wake on invoke.
    pub(crate) function_wake: Duration,
    /// CreateRestApi: one per window.
    pub(crate) create_rest_api_window: Duration,
    /// DeleteRestApi: one per window.
    pub(crate) delete_rest_api_window: Duration,
    /// CreateDeployment: one per window.
    pub(crate) create_deployment_window: Duration,
    /// GetResources: a burst per window.
    pub(crate) get_resources_window: Duration,
    /// GetResources: calls allowed per window.
    pub(crate) get_resources_burst: usize,
    /// How long an attached, detached or new policy version takes to reach a role's sessions.
    pub(crate) policy_propagation: Duration,
    /// How long AddPermission/RemovePermission take to reach the stage URL.
    pub(crate) permission_propagation: Duration,
    /// How long ListTagsOfResource answers no tags after CreateTable (once ACTIVE) or TagResource.
    pub(crate) table_tags_visible: Duration,
    /// How long a stage serves its previous deployment after it moves to a new one.
    pub(crate) deployment_propagation: Duration,
    /// How long GetRestApis leaves out a new API, and still lists a deleted one.
    pub(crate) rest_api_list_lag: Duration,
}

/// The figures AWS documents or is reported to show (see the README for each source).
pub(crate) const AWS: Figures = Figures {
    table_creating: Duration::from_secs(10),
    table_deleting: Duration::from_secs(10),
    role_not_assumable: Duration::from_secs(10),
    policy_not_attachable: Duration::from_secs(2),
    role_delete_conflict: Duration::from_secs(3),
    iam_read_after_delete: Duration::from_secs(4),
    function_pending: Duration::from_secs(2),
    function_update: Duration::from_secs(2),
    function_wake: Duration::from_secs(5),
    create_rest_api_window: Duration::from_secs(3),
    delete_rest_api_window: Duration::from_secs(30),
    create_deployment_window: Duration::from_secs(5),
    get_resources_window: Duration::from_secs(2),
    get_resources_burst: 5,
    policy_propagation: Duration::from_secs(10),
    permission_propagation: Duration::from_secs(6),
    table_tags_visible: Duration::from_secs(3),
    deployment_propagation: Duration::from_secs(5),
    rest_api_list_lag: Duration::from_secs(3),
};

/// One AWS API call as the gateway received it.
pub(crate) struct Call<'a> {
    /// The region its credential scope names.
    pub(crate) region: &'a str,
    /// The HTTP method.
    pub(crate) method: &'a Method,
    /// The path, without the query.
    pub(crate) path: &'a str,
    /// The request's headers.
    pub(crate) headers: &'a HeaderMap,
    /// The request's body.
    pub(crate) body: &'a Bytes,
    /// The body as JSON, parsed once on first use.
    doc: OnceLock<Arc<serde_json::Value>>,
}

/// Bodies up to this size are parsed in place; a larger one (a CreateFunction carries its zip as
/// up to 70 MB of base64) is parsed on a blocking thread, never on an async worker.
pub(crate) const INLINE_PARSE_LIMIT: usize = 64 * 1024;

impl<'a> Call<'a> {
    /// A call as it came in.
    pub(crate) fn new(
        region: &'a str,
        method: &'a Method,
        path: &'a str,
        headers: &'a HeaderMap,
        body: &'a Bytes,
    ) -> Self {
        Self {
            region,
            method,
            path,
            headers,
            body,
            doc: OnceLock::new(),
        }
    }

    /// `X-Amz-Target` (JSON protocols): `DynamoDB_20120810.CreateTable`.
    pub(crate) fn target(&self) -> Option<&str> {
        self.headers.get("x-amz-target")?.to_str().ok()
    }

    /// The body as JSON (`null` when it is not), parsed once; off the async threads when large.
    pub(crate) async fn json(&self) -> Arc<serde_json::Value> {
        if let Some(doc) = self.doc.get() {
            return doc.clone();
        }
        let doc = Arc::new(parse_json(self.body.clone()).await);
        self.doc.get_or_init(|| doc).clone()
    }

    /// The body as a query-protocol form (IAM), decoded.
    pub(crate) fn form(&self) -> BTreeMap<String, String> {
        String::from_utf8_lossy(self.body)
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| {
                let decode = |s: &str| {
                    urlencoding::decode(&s.replace('+', " "))
                        .map(|d| d.into_owned())
                        .unwrap_or_default()
                };
                (decode(k), decode(v))
            })
            .collect()
    }
}

/// A body as JSON (`null` when it is not): in place when small, else on a blocking thread.
pub(crate) async fn parse_json(body: Bytes) -> serde_json::Value {
    if body.len() <= INLINE_PARSE_LIMIT {
        return serde_json::from_slice(&body).unwrap_or_default();
    }
    tokio::task::spawn_blocking(move || serde_json::from_slice(&body).unwrap_or_default())
        .await
        .unwrap_or_default()
}

/// moto's answer to the call, not asked for until a rule lets the call through.
pub(crate) type Forward<'a> = Pin<Box<dyn Future<Output = Upstream> + Send + 'a>>;

/// One call as a service's rules see it.
pub(crate) struct Context<'a> {
    /// The rules and their state.
    pub(crate) rules: &'a Rules,
    /// moto, for what a rule must read first.
    pub(crate) moto: &'a Moto,
    /// The call.
    pub(crate) call: &'a Call<'a>,
    /// When the call came.
    pub(crate) now: Instant,
}

/// Which rule refused a call, counted so tests can prove a behaviour was exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rule {
    /// A data-plane or tag call on a table that is not ACTIVE.
    TableNotActive,
    /// A change to a table that is CREATING or DELETING.
    TableInUse,
    /// CreateFunction with a role Lambda cannot assume yet.
    RoleNotAssumable,
    /// AttachRolePolicy with a policy not attachable yet.
    PolicyNotAttachable,
    /// DeleteRole just after a detach.
    RoleDeleteConflict,
    /// Get* of a role or policy just deleted (answered from the past).
    IamReadAfterDelete,
    /// Invoke of a Pending or Inactive function.
    FunctionNotReady,
    /// An update or publish while the function is Pending or updating.
    UpdateInProgress,
    /// AddPermission with a statement id already taken.
    DuplicateStatement,
    /// A memory size above the account's cap.
    MemoryCap,
    /// An API Gateway call beyond its rate limit.
    RateLimited,
    /// A selection pattern that does not compile.
    InvalidSelectionPattern,
    /// A call IAM denied (the operator's, or a function's under its execution role).
    AccessDenied,
    /// A stage URL call whose function's resource policy does not let API Gateway invoke it.
    InvalidPermissions,
    /// ListTagsOfResource answered with no tags while a table's tags were settling.
    TableTagsNotVisible,
    /// A stage URL call served by the stage's previous deployment (or refused by a stage not yet
    /// live) while a new one propagates.
    DeploymentNotLive,
    /// GetRestApis left out an API just created, or listed one just deleted.
    RestApiListLag,
}

impl Rule {
    fn name(self) -> &'static str {
        match self {
            Rule::TableNotActive => "table_not_active",
            Rule::TableInUse => "table_in_use",
            Rule::RoleNotAssumable => "role_not_assumable",
            Rule::PolicyNotAttachable => "policy_not_attachable",
            Rule::RoleDeleteConflict => "role_delete_conflict",
            Rule::IamReadAfterDelete => "iam_read_after_delete",
            Rule::FunctionNotReady => "function_not_ready",
            Rule::UpdateInProgress => "update_in_progress",
            Rule::DuplicateStatement => "duplicate_statement",
            Rule::MemoryCap => "memory_cap",
            Rule::RateLimited => "rate_limited",
            Rule::InvalidSelectionPattern => "invalid_selection_pattern",
            Rule::AccessDenied => "access_denied",
            Rule::InvalidPermissions => "invalid_permissions",
            Rule::TableTagsNotVisible => "table_tags_not_visible",
            Rule::DeploymentNotLive => "deployment_not_live",
            Rule::RestApiListLag => "rest_api_list_lag",
        }
    }

    const ALL: [Rule; 17] = [
        Rule::TableNotActive,
        Rule::TableInUse,
        Rule::RoleNotAssumable,
        Rule::PolicyNotAttachable,
        Rule::RoleDeleteConflict,
        Rule::IamReadAfterDelete,
        Rule::FunctionNotReady,
        Rule::UpdateInProgress,
        Rule::DuplicateStatement,
        Rule::MemoryCap,
        Rule::RateLimited,
        Rule::InvalidSelectionPattern,
        Rule::AccessDenied,
        Rule::InvalidPermissions,
        Rule::TableTagsNotVisible,
        Rule::DeploymentNotLive,
        Rule::RestApiListLag,
    ];
}

/// The rules and the state they keep (what AWS would still be doing).
pub(crate) struct Rules {
    /// How the rules are set up.
    pub(crate) config: Config,
    tables: Mutex<dynamodb::Tables>,
    table_tags: Mutex<dynamodb::TagsSettling>,
    iam: Mutex<iam::State>,
    functions: Mutex<lambda::Functions>,
    limits: Mutex<apigateway::Limits>,
    rest_apis: Mutex<apigateway::Listing>,
    counts: [AtomicU64; Rule::ALL.len()],
}

impl Rules {
    /// Rules as configured.
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            tables: Mutex::default(),
            table_tags: Mutex::default(),
            iam: Mutex::default(),
            functions: Mutex::default(),
            limits: Mutex::default(),
            rest_apis: Mutex::default(),
            counts: Default::default(),
        }
    }

    /// An AWS figure at this stack's time scale.
    pub(crate) fn scaled(&self, figure: Duration) -> Duration {
        figure.mul_f64(self.config.time_scale)
    }

    /// How long a new role cannot be assumed by Lambda.
    pub(crate) fn iam_delay(&self) -> Duration {
        match self.config.iam_delay {
            Some(d) => d,
            None if self.config.enabled => self.scaled(AWS.role_not_assumable),
            None => Duration::ZERO,
        }
    }

    /// When the function's update in progress ends (its LastUpdateStatus turns Successful).
    pub(crate) fn update_ends(&self, region: &str, name: &str) -> Option<Instant> {
        lambda::update_ends(self, region, name, Instant::now())
    }

    /// Counts a refusal made outside the rules (IAM, the stage URL's permission check).
    pub(crate) fn count(&self, rule: Rule) {
        self.counts[rule as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refusal and returns the response that carries it.
    fn refuse(&self, rule: Rule, response: Upstream) -> Upstream {
        self.count(rule);
        response
    }

    /// How many calls each rule refused (or answered from the past), by rule name.
    pub(crate) fn refusals(&self) -> BTreeMap<&'static str, u64> {
        Rule::ALL
            .iter()
            .map(|r| (r.name(), self.counts[*r as usize].load(Ordering::Relaxed)))
            .collect()
    }

    /// `lab local status`'s `strict` section.
    pub(crate) fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "enabled": self.config.enabled,
            "time_scale": self.config.time_scale,
            "memory_cap_mb": self.config.memory_cap_mb,
            "iam_delay_ms": self.iam_delay().as_millis() as u64,
            "figures_ms": self.figures_ms(),
            "refusals": self.refusals(),
        })
    }

    /// AWS's figures at this time scale, in ms (the strict benchmark derives its floor from them).
    fn figures_ms(&self) -> serde_json::Value {
        if !self.config.enabled {
            return serde_json::Value::Null;
        }
        let ms = |d: Duration| self.scaled(d).as_millis() as u64;
        serde_json::json!({
            "table_creating": ms(AWS.table_creating),
            "table_deleting": ms(AWS.table_deleting),
            "role_not_assumable": self.iam_delay().as_millis() as u64,
            "policy_not_attachable": ms(AWS.policy_not_attachable),
            "role_delete_conflict": ms(AWS.role_delete_conflict),
            "iam_read_after_delete": ms(AWS.iam_read_after_delete),
            "function_pending": ms(AWS.function_pending),
            "function_update": ms(AWS.function_update),
            "function_wake": ms(AWS.function_wake),
            "create_rest_api_window": ms(AWS.create_rest_api_window),
            "delete_rest_api_window": ms(AWS.delete_rest_api_window),
            "create_deployment_window": ms(AWS.create_deployment_window),
            "policy_propagation": ms(AWS.policy_propagation),
            "permission_propagation": ms(AWS.permission_propagation),
            "table_tags_visible": ms(AWS.table_tags_visible),
            "deployment_propagation": ms(AWS.deployment_propagation),
            "rest_api_list_lag": ms(AWS.rest_api_list_lag),
        })
    }

    /// Applies the rules around one forwarded call: a refusal answers without reaching moto; a call
    /// that goes through may change the rules' state and have its answer rewritten.
    pub(crate) async fn apply<'a, F, Fut>(
        &'a self,
        moto: &'a Moto,
        call: &'a Call<'a>,
        forward: F,
    ) -> Upstream
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Upstream> + Send + 'a,
    {
        let cx = Context {
            rules: self,
            moto,
            call,
            now: Instant::now(),
        };
        let forward: Forward<'a> = Box::pin(forward());
        if let Some(op) = call.target().and_then(|t| t.strip_prefix("DynamoDB_20120810.")) {
            if self.config.enabled {
                return dynamodb::apply(&cx, op, forward).await;
            }
        } else if call.path.starts_with(LAMBDA_API) {
            return lambda::apply(&cx, forward).await;
        } else if call.path == "/" && call.method == Method::POST && call.target().is_none() {
            return iam::apply(&cx, forward).await;
        } else if call.path.starts_with("/restapis") {
            // API Gateway's own checks apply with strict off too; its rate limits only with it on.
            return apigateway::apply(&cx, forward).await;
        }
        forward.await
    }

    /// Whether the function can be invoked now (Pending and Inactive functions cannot).
    pub(crate) fn invoke_gate(&self, region: &str, name: &str) -> Result<(), NotReady> {
        if !self.config.enabled {
            return Ok(());
        }
        lambda::invoke_gate(self, region, name, Instant::now())
    }

    /// Test hook: the function goes Inactive, as after weeks idle.
    pub(crate) fn make_inactive(&self, region: &str, name: &str) {
        lambda::make_inactive(self, region, name);
    }

    /// Test hook: the function's next update ends Failed.
    pub(crate) fn fail_next_update(&self, region: &str, name: &str) {
        lambda::fail_next_update(self, region, name);
    }
}

#[cfg(test)]
mod tests;
