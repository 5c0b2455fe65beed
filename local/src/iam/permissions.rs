//! Propagation of a function's resource policy to API Gateway: after AddPermission or
//! RemovePermission the stage URL goes on evaluating the policy as it was for a while (a 6 s window
//! of 500s during a remove and re-add is reported in DataBiosphere/azul#8301; Terraform users pause
//! after deployments for it, hashicorp/terraform-provider-aws#17604).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A function's policy before its latest change, and when the change takes effect.
type Pending = (Instant, Option<Value>);

/// Permission changes still propagating, per (region, function).
#[derive(Default)]
pub(crate) struct PendingPermissions {
    changes: Mutex<HashMap<(String, String), Pending>>,
}

/// The most functions remembered (keyed by client input).
const MAX_PENDING: usize = 10_000;

impl PendingPermissions {
    /// A change to `function`'s policy was accepted; `previous` is the policy it replaced (`None`:
    /// there was none). During `delay` the stage URL still sees `previous` (an earlier pending
    /// change keeps its older policy, and its deadline moves to this change's).
    pub(crate) fn changed(
        &self,
        region: &str,
        function: &str,
        previous: Option<Value>,
        delay: Duration,
    ) {
        let now = Instant::now();
        let mut changes = self.changes.lock().expect("permissions lock");
        changes.retain(|_, (at, _)| *at > now);
        if changes.len() >= MAX_PENDING {
            return;
        }
        let key = (region.to_string(), function.to_string());
        let entry = changes.entry(key).or_insert((now, previous));
        entry.0 = now + delay;
    }

    /// Was a change to `function`'s policy still propagating at any moment since `since`? (A route
    /// read over that time may hold the policy from before the change.)
    pub(crate) fn propagating_since(&self, region: &str, function: &str, since: Instant) -> bool {
        let changes = self.changes.lock().expect("permissions lock");
        let key = (region.to_string(), function.to_string());
        changes.get(&key).is_some_and(|(at, _)| *at > since)
    }

    /// The policy the stage URL sees for `function` while a change propagates; `None` when the
    /// current policy is in effect.
    pub(crate) fn in_effect(&self, region: &str, function: &str) -> Option<Option<Value>> {
        let changes = self.changes.lock().expect("permissions lock");
        let (at, previous) = changes.get(&(region.to_string(), function.to_string()))?;
        (Instant::now() < *at).then(|| previous.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_that_ended_during_a_read_still_counts_for_that_read() {
        let pending = PendingPermissions::default();
        let read_started = Instant::now();
        pending.changed("r", "f", None, Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            pending.in_effect("r", "f").is_none(),
            "the change is in effect now"
        );
        assert!(pending.propagating_since("r", "f", read_started));
        assert!(!pending.propagating_since("r", "f", Instant::now()));
        assert!(!pending.propagating_since("r", "other", read_started));
    }

    #[test]
    fn the_old_policy_stands_until_the_change_propagates() {
        let pending = PendingPermissions::default();
        assert_eq!(pending.in_effect("r", "f"), None);
        pending.changed("r", "f", None, Duration::from_millis(200));
        assert_eq!(pending.in_effect("r", "f"), Some(None));
        let old = serde_json::json!({"Statement": []});
        // A second change keeps the policy from before the first.
        pending.changed("r", "f", Some(old), Duration::from_millis(200));
        assert_eq!(pending.in_effect("r", "f"), Some(None));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(pending.in_effect("r", "f"), None);
    }
}
