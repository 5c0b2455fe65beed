//! Instances kept warm per function configuration, and the account-wide concurrency limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::cpu_budget::{Admitted, CpuBudget};
use super::functions::{FunctionConfig, FunctionKey};
use super::instance::{Instance, Limits};

/// Warm instances and the concurrency budget.
pub(crate) struct Pool {
    limit: usize,
    permits: Arc<Semaphore>,
    idle: Mutex<HashMap<FunctionKey, Vec<Instance>>>,
    /// The cgroups instances go into (CPU share, memory limit), where available.
    pub(crate) limits: Limits,
    /// The host's cores shared between running invocations, where CPU follows memory (without a
    /// CPU share an instance takes what it can, and no budget would make its figures Lambda's).
    cpu: Option<CpuBudget>,
}

/// An instance lent to one invocation, with the concurrency slot it occupies.
pub(crate) struct Lease {
    /// A warm instance of the configuration, if one was idle (else the caller starts one).
    pub(crate) instance: Option<Instance>,
    _permit: OwnedSemaphorePermit,
}

impl Pool {
    /// A pool allowing `limit` concurrent invocations across all functions (Lambda's account limit).
    pub(crate) fn new(limit: usize, limits: Limits) -> Self {
        Self {
            limit,
            permits: Arc::new(Semaphore::new(limit)),
            idle: Mutex::new(HashMap::new()),
            cpu: limits.cpu_root.is_some().then(CpuBudget::of_host),
            limits,
        }
    }

    /// Waits until `memory_mb`'s CPU share fits on the host beside the running invocations (see
    /// [`CpuBudget`]); `None` where CPU does not follow memory. The share is held until the
    /// [`Admitted`] is dropped.
    /// A cold start asks for what its init runs on (two vCPUs at least) and gives the rest back
    /// with [`Admitted::settle`] when init ends.
    pub(crate) async fn admit_cpu(
        &self,
        memory_mb: u32,
        cold: bool,
    ) -> Option<(Admitted, std::time::Duration)> {
        let budget = self.cpu.as_ref()?;
        // A cold start waits for its init's two vCPUs: its cgroup lets it use them, and a host
        // that gave it less would slow the instances already running.
        let asked = if cold {
            budget.init_share_milli(memory_mb)
        } else {
            budget.share_milli(memory_mb)
        };
        Some(budget.admit(asked, budget.share_milli(memory_mb)).await)
    }

    /// The CPU budget's figures for the status (`null` where CPU does not follow memory).
    pub(crate) fn cpu_status(&self) -> serde_json::Value {
        self.cpu.as_ref().map_or(serde_json::Value::Null, CpuBudget::status)
    }

    /// The concurrency limit.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Invocations running now.
    pub(crate) fn busy(&self) -> usize {
        self.limit - self.permits.available_permits()
    }

    /// Idle instances, all functions.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().expect("pool lock").values().map(Vec::len).sum()
    }

    /// Takes a concurrency slot and a warm instance of exactly this configuration, if one is idle.
    /// `None` means the limit is reached (the caller answers 429, as Lambda does).
    pub(crate) fn acquire(&self, config: &FunctionConfig) -> Option<Lease> {
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        let key = config.pool_key();
        let fingerprint = &config.fingerprint;
        let mut idle = self.idle.lock().expect("pool lock");
        let list = idle.entry(key).or_default();
        // Instances of an older configuration (memory, code, env changed) are retired here.
        list.retain(|i| i.fingerprint == *fingerprint && i.alive());
        let instance = list.pop();
        Some(Lease {
            instance,
            _permit: permit,
        })
    }

    /// Returns a still-healthy instance for reuse.
    pub(crate) fn release(&self, config: &FunctionConfig, instance: Instance) {
        if !instance.alive() || instance.fingerprint != config.fingerprint {
            return;
        }
        let key = config.pool_key();
        self.idle.lock().expect("pool lock").entry(key).or_default().push(instance);
    }

    /// Kills every idle instance of a function (deleted or redeployed), or of one of its versions
    /// when `key` is a [`FunctionConfig::pool_key`] of one; a function's versions go with it.
    pub(crate) fn retire(&self, key: &FunctionKey) {
        let versions = format!("{}:", key.1);
        self.idle
            .lock()
            .expect("pool lock")
            .retain(|k, _| k.0 != key.0 || (k.1 != key.1 && !k.1.starts_with(&versions)));
    }

    /// Kills every idle instance.
    pub(crate) fn clear(&self) {
        self.idle.lock().expect("pool lock").clear();
    }
}
