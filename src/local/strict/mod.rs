//! Strict mode: the local stack reproduces the behaviours of AWS that break naive tools (state
//! transitions that take time, eventual consistency, control-plane rate limits), so that a green
//! local run predicts a green AWS run. moto answers at once and forgives; these rules sit in front
//! of it in the gateway, one module per service, and only ever refuse, delay or rewrite what moto
//! says: they never invent a resource moto does not hold.
//!
//! Every figure below is AWS's own, at time scale 1.0; the README's local-stack section cites the
//! source of each. `--time-scale F` multiplies them all (0.05 makes a 30 s limit last 1.5 s).

mod apigateway;
mod dynamodb;
mod iam;
mod lambda;
pub mod reply;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};

use super::moto::Moto;
pub use lambda::NotReady;
use reply::Upstream;

/// How the rules are set up: `lab local start --strict --time-scale F --memory-cap MB`.
#[derive(Debug, Clone)]
pub struct Config {
    /// All rules on (off: only an explicit `--iam-delay-ms` applies).
    pub enabled: bool,
    /// Multiplies every AWS delay and rate-limit window.
    pub time_scale: f64,
    /// How long a new role cannot be assumed by Lambda; `None` takes AWS's figure (scaled) when
    /// strict, zero otherwise.
    pub iam_delay: Option<Duration>,
    /// The account's memory cap for functions (a new account's is 3008 MB), if any.
    pub memory_cap_mb: Option<u32>,
}

/// AWS's delays and windows at time scale 1.0 (sources in the README's local-stack section).
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub table_creating: Duration,
    pub table_deleting: Duration,
    pub role_not_assumable: Duration,
    pub policy_not_attachable: Duration,
    pub role_delete_conflict: Duration,
    pub iam_read_after_delete: Duration,
    pub function_pending: Duration,
    pub function_update: Duration,
    pub function_wake: Duration,
    pub create_rest_api_window: Duration,
    pub delete_rest_api_window: Duration,
    pub create_deployment_window: Duration,
    pub get_resources_window: Duration,
    pub get_resources_burst: usize,
}

/// The figures AWS documents or is reported to show (see the README for each source).
pub const AWS: Figures = Figures {
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
};

/// One AWS API call as the gateway received it.
pub struct Call<'a> {
    pub region: &'a str,
    pub method: &'a Method,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

impl Call<'_> {
    /// `X-Amz-Target` (JSON protocols): `DynamoDB_20120810.CreateTable`.
    fn target(&self) -> Option<&str> {
        self.headers.get("x-amz-target")?.to_str().ok()
    }

    /// The body as JSON (empty object when it is not).
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(self.body).unwrap_or_default()
    }

    /// The body as a query-protocol form (IAM), decoded.
    fn form(&self) -> BTreeMap<String, String> {
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

/// Which rule refused a call, counted so tests can prove a behaviour was exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    TableNotActive,
    TableInUse,
    RoleNotAssumable,
    PolicyNotAttachable,
    RoleDeleteConflict,
    IamReadAfterDelete,
    FunctionNotReady,
    UpdateInProgress,
    DuplicateStatement,
    MemoryCap,
    RateLimited,
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
        }
    }

    const ALL: [Rule; 11] = [
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
    ];
}

/// The rules and the state they keep (what AWS would still be doing).
pub struct Rules {
    pub config: Config,
    tables: Mutex<dynamodb::Tables>,
    iam: Mutex<iam::State>,
    functions: Mutex<lambda::Functions>,
    limits: Mutex<apigateway::Limits>,
    counts: [AtomicU64; Rule::ALL.len()],
}

impl Rules {
    /// Rules as configured.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            tables: Mutex::default(),
            iam: Mutex::default(),
            functions: Mutex::default(),
            limits: Mutex::default(),
            counts: Default::default(),
        }
    }

    /// An AWS figure at this stack's time scale.
    pub fn scaled(&self, figure: Duration) -> Duration {
        figure.mul_f64(self.config.time_scale)
    }

    /// How long a new role cannot be assumed by Lambda.
    pub fn iam_delay(&self) -> Duration {
        match self.config.iam_delay {
            Some(d) => d,
            None if self.config.enabled => self.scaled(AWS.role_not_assumable),
            None => Duration::ZERO,
        }
    }

    /// When the function's update in progress ends (its LastUpdateStatus turns Successful).
    pub fn update_ends(&self, region: &str, name: &str) -> Option<Instant> {
        lambda::update_ends(self, region, name, Instant::now())
    }

    fn count(&self, rule: Rule) {
        self.counts[rule as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a refusal and returns the response that carries it.
    fn refuse(&self, rule: Rule, response: Upstream) -> Upstream {
        self.count(rule);
        response
    }

    /// How many calls each rule refused (or answered from the past), by rule name.
    pub fn refusals(&self) -> BTreeMap<&'static str, u64> {
        Rule::ALL
            .iter()
            .map(|r| (r.name(), self.counts[*r as usize].load(Ordering::Relaxed)))
            .collect()
    }

    /// `lab local status`'s `strict` section.
    pub fn status(&self) -> serde_json::Value {
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
        })
    }

    /// Applies the rules around one forwarded call: a refusal answers without reaching moto; a call
    /// that goes through may change the rules' state and have its answer rewritten.
    pub async fn apply<F, Fut>(&self, moto: &Moto, call: &Call<'_>, forward: F) -> Upstream
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Upstream>,
    {
        let now = Instant::now();
        if let Some(op) = call
            .target()
            .and_then(|t| t.strip_prefix("DynamoDB_20120810."))
        {
            if self.config.enabled {
                return dynamodb::apply(self, op, call, now, forward).await;
            }
        } else if call.path.starts_with("/2015-03-31/functions") {
            return lambda::apply(self, moto, call, now, forward).await;
        } else if call.path == "/" && call.method == Method::POST && call.target().is_none() {
            return iam::apply(self, moto, call, now, forward).await;
        } else if call.path.starts_with("/restapis") && self.config.enabled {
            return apigateway::apply(self, call, now, forward).await;
        }
        forward().await
    }

    /// Whether the function can be invoked now (Pending and Inactive functions cannot).
    pub fn invoke_gate(&self, region: &str, name: &str) -> Result<(), NotReady> {
        if !self.config.enabled {
            return Ok(());
        }
        lambda::invoke_gate(self, region, name, Instant::now())
    }

    /// Test hook: the function goes Inactive, as after weeks idle.
    pub fn make_inactive(&self, region: &str, name: &str) {
        lambda::make_inactive(self, region, name);
    }

    /// Test hook: the function's next update ends Failed.
    pub fn fail_next_update(&self, region: &str, name: &str) {
        lambda::fail_next_update(self, region, name);
    }
}

/// Drops entries whose time has passed, so state keyed by client input stays bounded.
fn forget_past<K, V>(map: &mut std::collections::HashMap<K, V>, until: impl Fn(&V) -> Instant) {
    let now = Instant::now();
    map.retain(|_, v| until(v) > now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_scale_and_strict_off_keeps_only_an_explicit_iam_delay() {
        let rules = Rules::new(Config {
            enabled: true,
            time_scale: 0.05,
            iam_delay: None,
            memory_cap_mb: None,
        });
        assert_eq!(
            rules.scaled(AWS.delete_rest_api_window),
            Duration::from_millis(1500)
        );
        assert_eq!(rules.iam_delay(), AWS.role_not_assumable.mul_f64(0.05));
        let off = Rules::new(Config {
            enabled: false,
            time_scale: 1.0,
            iam_delay: None,
            memory_cap_mb: None,
        });
        assert_eq!(off.iam_delay(), Duration::ZERO);
        let explicit = Rules::new(Config {
            enabled: false,
            time_scale: 1.0,
            iam_delay: Some(Duration::from_millis(700)),
            memory_cap_mb: None,
        });
        assert_eq!(explicit.iam_delay(), Duration::from_millis(700));
    }

    #[test]
    fn query_forms_decode() {
        let body = Bytes::from_static(b"Action=DeleteRole&RoleName=my%2Brole&Version=2010-05-08");
        let headers = HeaderMap::new();
        let call = Call {
            region: "us-east-1",
            method: &Method::POST,
            path: "/",
            headers: &headers,
            body: &body,
        };
        let form = call.form();
        assert_eq!(form["Action"], "DeleteRole");
        assert_eq!(form["RoleName"], "my+role");
    }
}
