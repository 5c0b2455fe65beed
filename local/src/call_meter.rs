//! Time the gateway spends answering a function instance's own AWS calls (the handler's DynamoDB
//! calls). On AWS those answers come from DynamoDB; locally they come from this process, on the
//! same cores, so they are the emulator's share of an invocation's duration. Each instance signs
//! with a session token naming it, the gateway adds each of its calls' time to the instance's meter,
//! and the invocation reports the sum as `x-lab-dataplane-us`, beside `x-lab-function-us`, for load
//! tests to print the emulator's share of each request's latency.
//!
//! An instance runs one invocation at a time (as on Lambda), so its meter read after the
//! invocation is exactly that invocation's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;

/// The session token an instance signs with: this prefix and its id.
const TOKEN_PREFIX: &str = "lab-local-function-session-";

/// Meters by instance id.
static METERS: LazyLock<Mutex<HashMap<u64, Arc<AtomicU64>>>> = LazyLock::new(Mutex::default);

/// One instance's meter; unregistered when dropped (with its instance).
pub(crate) struct Meter {
    id: u64,
    spent_us: Arc<AtomicU64>,
}

impl Meter {
    /// Registers a meter for instance `id`.
    pub(crate) fn register(id: u64) -> Self {
        let spent_us = Arc::new(AtomicU64::new(0));
        METERS.lock().expect("meters lock").insert(id, spent_us.clone());
        Self { id, spent_us }
    }

    /// The session token the instance signs with (`AWS_SESSION_TOKEN`).
    pub(crate) fn token(&self) -> String {
        format!("{TOKEN_PREFIX}{}", self.id)
    }

    /// Microseconds spent on the instance's calls since the last take; starts again from zero.
    pub(crate) fn take(&self) -> u64 {
        self.spent_us.swap(0, Ordering::Relaxed)
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        METERS.lock().expect("meters lock").remove(&self.id);
    }
}

/// The meter of the instance that signed a call, if an instance did.
pub(crate) fn of(headers: &HeaderMap) -> Option<Arc<AtomicU64>> {
    let token = headers.get("x-amz-security-token")?.to_str().ok()?;
    let id: u64 = token.strip_prefix(TOKEN_PREFIX)?.parse().ok()?;
    METERS.lock().expect("meters lock").get(&id).cloned()
}

/// Adds a call's time to a meter.
pub(crate) fn charge(meter: &AtomicU64, spent: Duration) {
    meter.fetch_add(spent.as_micros() as u64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_signed_with_an_instances_token_is_charged_to_it_until_it_is_gone() {
        let meter = Meter::register(u64::MAX - 7);
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-security-token", meter.token().parse().unwrap());
        charge(&of(&headers).expect("found"), Duration::from_micros(250));
        charge(&of(&headers).expect("found"), Duration::from_micros(50));
        assert_eq!(meter.take(), 300);
        assert_eq!(meter.take(), 0, "a take starts again from zero");
        let other = HeaderMap::new();
        assert!(of(&other).is_none(), "an unsigned call is nobody's");
        drop(meter);
        assert!(of(&headers).is_none(), "a gone instance has no meter");
    }
}
