//! What every request handler of the gateway shares: moto's client, the functions' code and
//! configuration, the instance pool, the log sink, the stage route cache, the regions seen, strict
//! mode's rules, moto's supervisor and the event counters. It depends on no request handler, so
//! every handler (`gateway`, `stage`, `invoke_api`, `lab_api`, `async_invoke`, `invoke`) points
//! at it and none at another through it (ARCHITECTURE.md §3).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::deployments::Deployments;
use super::dynamo::Store;
use super::event_counts::Events;
use super::functions::Registry;
use super::iam::Iam;
use super::logs::LogSink;
use super::moto::{Moto, ACCOUNT};
use super::pool::Pool;
use super::routes::RouteCache;
use super::strict::Rules;
use super::supervisor::Supervisor;

/// Shared state of the gateway.
pub(crate) struct Shared {
    /// moto's client.
    pub(crate) moto: Moto,
    /// Functions' code and configuration.
    pub(crate) registry: Registry,
    /// Warm instances and the concurrency limit.
    pub(crate) pool: Pool,
    /// Function output on its way to CloudWatch Logs.
    pub(crate) logs: LogSink,
    /// The stage URL's resolved routes.
    pub(crate) routes: RouteCache,
    /// What each stage serves: its deployment's definition, the previous one while a move propagates.
    pub(crate) deployments: Deployments,
    /// Regions seen in requests.
    pub(crate) regions: Regions,
    /// Strict mode's rules (AWS's delays, transitions and limits); with strict off, only an
    /// explicit IAM propagation delay applies.
    pub(crate) rules: Rules,
    /// IAM: who may make which call (strict mode).
    pub(crate) iam: Iam,
    /// The AWS endpoint a function's SDK calls (`AWS_ENDPOINT_URL`): the gateway itself, so its
    /// calls meet strict mode's rules, IAM and the native store, and are metered (call_meter).
    pub(crate) function_endpoint: String,
    /// A line for `lab local status`: how CPU is shared.
    pub(crate) cpu_mode: String,
    /// A line for `lab local status`: how memory is enforced.
    pub(crate) memory_mode: String,
    /// moto's process: restarted when it dies, its state restored.
    pub(crate) supervisor: Arc<Supervisor>,
    /// Asynchronous (Event) invocations accepted so far.
    pub(crate) events: Events,
    /// When the gateway started (its uptime in the status).
    pub(crate) started: Instant,
    /// The native item store, when it serves DynamoDB's item calls (`--dynamodb native`).
    pub(crate) dynamo: Option<Arc<Store>>,
}

/// What a gateway is made of.
pub(crate) struct Parts {
    /// moto's client.
    pub(crate) moto: Moto,
    /// Functions' code and configuration.
    pub(crate) registry: Registry,
    /// Instances and the concurrency limit.
    pub(crate) pool: Pool,
    /// Strict mode's rules.
    pub(crate) rules: Rules,
    /// IAM's evaluation.
    pub(crate) iam: Iam,
    /// Where functions send their AWS calls.
    pub(crate) function_endpoint: String,
    /// How CPU is shared, for the status.
    pub(crate) cpu_mode: String,
    /// How memory is enforced, for the status.
    pub(crate) memory_mode: String,
    /// moto's process, restarted when it dies.
    pub(crate) supervisor: Arc<Supervisor>,
    /// The native item store (`None`: moto serves items).
    pub(crate) dynamo: Option<Arc<Store>>,
}

impl Shared {
    /// A gateway in front of `moto`.
    pub(crate) fn new(parts: Parts) -> Self {
        let logs = LogSink::start(parts.moto.clone(), parts.supervisor.clone());
        Self {
            moto: parts.moto,
            registry: parts.registry,
            pool: parts.pool,
            logs,
            routes: RouteCache::default(),
            deployments: Deployments::default(),
            regions: Regions::default(),
            rules: parts.rules,
            iam: parts.iam,
            function_endpoint: parts.function_endpoint,
            cpu_mode: parts.cpu_mode,
            memory_mode: parts.memory_mode,
            supervisor: parts.supervisor,
            events: Events::default(),
            started: Instant::now(),
            dynamo: parts.dynamo,
        }
    }

    /// The account every ARN uses.
    pub(crate) fn account(&self) -> &'static str {
        ACCOUNT
    }
}

/// The regions requests name, for unsigned stage URL calls (which say none, so each is tried).
/// Keyed by client input: only plausible region names count, and at most [`MAX_REGIONS`].
pub(crate) struct Regions {
    seen: Mutex<BTreeSet<String>>,
}

/// The most regions remembered.
pub(crate) const MAX_REGIONS: usize = 64;

impl Default for Regions {
    fn default() -> Self {
        Self {
            seen: Mutex::new(["us-east-1".to_string()].into()),
        }
    }
}

impl Regions {
    /// Remembers a region a request named, if it is plausible and there is room.
    pub(crate) fn remember(&self, region: &str) {
        let plausible = region.len() <= 32
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let mut seen = self.seen.lock().expect("regions lock");
        if plausible && seen.len() < MAX_REGIONS {
            seen.insert(region.to_string());
        }
    }

    /// The regions seen, `us-east-1` always among them.
    pub(crate) fn list(&self) -> Vec<String> {
        self.seen.lock().expect("regions lock").iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_bounded_and_plausible() {
        let regions = Regions::default();
        regions.remember("eu-west-1");
        regions.remember("Not A Region");
        regions.remember(&"x".repeat(40));
        assert_eq!(regions.list(), ["eu-west-1", "us-east-1"]);
        for i in 0..MAX_REGIONS * 2 {
            regions.remember(&format!("r-{i}"));
        }
        assert_eq!(regions.list().len(), MAX_REGIONS);
        assert!(regions.list().contains(&"us-east-1".to_string()));
    }
}
