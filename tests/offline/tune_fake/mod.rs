//! A Lambda function in memory for the tuning tests: `$LATEST`, published versions and aliases, and
//! invocations that answer with synthetic REPORT lines. The k-th invocation of a version takes
//! `100 + 128000 / memory + k` ms (plus a 50 ms Init Duration when k = 0, its cold start), billed at
//! the next whole ms. A size can be given another base than `100 + 128000 / memory` ([`Fake::base`])
//! and a wobble of ±A ms, + on even k and − on odd ([`Fake::wobble`]), for noise a run must see
//! through.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Result};
use async_trait::async_trait;
use lab::control::{
    AliasTarget, FunctionControl, Invocation, LatestSettings, PublishedVersion, VersionControl,
};
use lab::tune::measure::RetryPolicy;
use lab::tune::run::{execute, RunOptions};
use lab::tune::{TuneArgs, TuneConfig, TuneResult};
use serde_json::json;

/// Retries without waiting: the policy is what is tested, not the clock.
pub fn options() -> RunOptions {
    RunOptions {
        retry: RetryPolicy {
            base_delay: std::time::Duration::ZERO,
            error_delay: std::time::Duration::ZERO,
            ..RetryPolicy::default()
        },
        progress: false,
    }
}

/// A tuning run of `fake` with the arguments `set` gives (a `list` payload otherwise), never
/// interrupted.
pub async fn tune(fake: &Arc<Fake>, set: impl FnOnce(&mut TuneArgs)) -> Result<TuneResult> {
    tune_until(fake, set, std::future::pending()).await
}

/// Runs `fake` with the default arguments and asserts that the run fails with an error whose
/// text (causes included) contains each of `parts`.
pub async fn assert_tune_fails(fake: &Arc<Fake>, parts: &[&str]) {
    let result = tune(fake, |_| {}).await;
    let err = format!("{:#}", result.expect_err("the run should have failed"));
    for part in parts {
        assert!(err.contains(part), "{part:?} is not in: {err}");
    }
}

/// Like [`tune`], interrupted when `interrupt` gives a signal's name and number.
pub async fn tune_until(
    fake: &Arc<Fake>,
    set: impl FnOnce(&mut TuneArgs),
    interrupt: impl std::future::Future<Output = (&'static str, i32)>,
) -> Result<TuneResult> {
    let mut args = TuneArgs::default();
    set(&mut args);
    let cfg = TuneConfig::resolve(&args, json!({"operation": "list"}))?;
    execute(&cfg, fake.clone(), "us-east-1", &options(), interrupt).await
}

/// What the fake does for an invocation at a memory size.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Mode {
    Normal,
    /// Always a function error of this type.
    FunctionError(&'static str),
    /// A function error for the first n invocations at this size, then normal.
    FailFirst(u32),
    /// No REPORT line in the log tail.
    NoReport,
    /// A REPORT line that names twice the memory size.
    WrongMemory,
    /// The invocation panics (a bug in the caller would look the same from the run's side).
    Panic,
}

#[derive(Default)]
pub struct State {
    pub latest: LatestSettings,
    pub versions: Vec<PublishedVersion>,
    pub aliases: HashMap<String, String>,
    next_version: u32,
    /// `$LATEST` changed since the last publish (Lambda publishes nothing new otherwise).
    changed: bool,
    calls_per_version: HashMap<String, u32>,
    failures: HashMap<u32, u32>,
    /// `$LATEST`'s memory at every invocation: it must always be the original.
    pub latest_at_invoke: Vec<u32>,
}

pub struct Fake {
    pub state: Mutex<State>,
    /// Memory sizes `$LATEST` was configured with, in order.
    pub configures: Mutex<Vec<u32>>,
    pub invocations: AtomicU32,
    pub modes: HashMap<u32, Mode>,
    pub fail_configure: Option<u32>,
    pub throttle_first: AtomicU32,
    pub slow: bool,
    /// What GetAccountSettings says.
    pub concurrency: Option<u32>,
    in_flight: AtomicU32,
    pub max_in_flight: AtomicU32,
    /// Base durations (ms) in place of `100 + 128000 / memory`, by memory size.
    pub bases: HashMap<u32, f64>,
    /// ±A ms added to every other invocation, by memory size.
    pub wobbles: HashMap<u32, f64>,
}

impl Fake {
    pub fn new(memory_mb: u32) -> Fake {
        let state = State {
            latest: LatestSettings {
                memory_mb,
                description: "the user's own".into(),
            },
            ..State::default()
        };
        Fake {
            state: Mutex::new(state),
            configures: Mutex::new(Vec::new()),
            invocations: AtomicU32::new(0),
            modes: HashMap::new(),
            fail_configure: None,
            throttle_first: AtomicU32::new(0),
            slow: false,
            concurrency: None,
            in_flight: AtomicU32::new(0),
            max_in_flight: AtomicU32::new(0),
            bases: HashMap::new(),
            wobbles: HashMap::new(),
        }
    }

    /// This fake, taking `ms` (plus k) at `memory_mb` instead of `100 + 128000 / memory`.
    pub fn base(mut self, memory_mb: u32, ms: f64) -> Fake {
        self.bases.insert(memory_mb, ms);
        self
    }

    /// This fake, `amplitude` ms slower on even and faster on odd invocations at `memory_mb`.
    pub fn wobble(mut self, memory_mb: u32, amplitude: f64) -> Fake {
        self.wobbles.insert(memory_mb, amplitude);
        self
    }

    /// The duration (ms, before Init) of invocation `k` at `memory`.
    pub fn duration(&self, memory: u32, k: u32) -> f64 {
        let base = self.bases.get(&memory).copied().unwrap_or(100.0 + 128_000.0 / memory as f64);
        let wobble = self.wobbles.get(&memory).copied().unwrap_or(0.0);
        base + k as f64 + if k.is_multiple_of(2) { wobble } else { -wobble }
    }

    /// This fake, doing `mode` at `memory_mb`.
    pub fn with(mut self, memory_mb: u32, mode: Mode) -> Fake {
        self.modes.insert(memory_mb, mode);
        self
    }

    /// This fake, answering slowly (so that an interrupt lands mid-run).
    pub fn slow(mut self) -> Fake {
        self.slow = true;
        self
    }

    pub fn latest(&self) -> LatestSettings {
        self.state.lock().unwrap().latest.clone()
    }

    /// (versions, aliases) left on the function.
    pub fn leftovers(&self) -> (usize, usize) {
        let s = self.state.lock().unwrap();
        (s.versions.len(), s.aliases.len())
    }

    fn report(&self, version: &str, memory: u32) -> String {
        let mut s = self.state.lock().unwrap();
        let k = {
            let n = s.calls_per_version.entry(version.to_string()).or_default();
            *n += 1;
            *n - 1
        };
        let original = s.latest.memory_mb;
        s.latest_at_invoke.push(original);
        let duration = self.duration(memory, k);
        let init = if k == 0 {
            "\tInit Duration: 50.00 ms"
        } else {
            ""
        };
        let billed = (duration + if k == 0 { 50.0 } else { 0.0 }).ceil();
        let reported = if self.modes.get(&memory) == Some(&Mode::WrongMemory) {
            memory * 2
        } else {
            memory
        };
        format!(
            "START RequestId: {k} Version: {version}\nEND RequestId: {k}\nREPORT RequestId: {k}\tDuration: {duration:.2} ms\t\
             Billed Duration: {billed} ms\tMemory Size: {reported} MB\tMax Memory Used: {} MB{init}\n",
            30 + k
        )
    }

    fn fails_now(&self, memory: u32, mode: Mode) -> Option<&'static str> {
        match mode {
            Mode::FunctionError(kind) => Some(kind),
            Mode::FailFirst(n) => {
                let mut s = self.state.lock().unwrap();
                let seen = s.failures.entry(memory).or_default();
                *seen += 1;
                (*seen <= n).then_some("Flaky")
            }
            _ => None,
        }
    }
}

#[async_trait]
impl FunctionControl for Fake {
    fn name(&self) -> &str {
        "FakeFunction"
    }
    async fn architecture(&self) -> Result<lab::arch::Arch> {
        Ok(lab::arch::Arch::X86_64)
    }
    async fn memory(&self) -> Result<u32> {
        Ok(self.latest().memory_mb)
    }
    async fn set_memory(&self, mb: u32) -> Result<()> {
        self.state.lock().unwrap().latest.memory_mb = mb;
        Ok(())
    }
    async fn invoke(&self, _payload: &[u8]) -> Result<Invocation> {
        bail!("tuning must never invoke $LATEST")
    }
}

#[async_trait]
impl VersionControl for Fake {
    async fn latest(&self) -> Result<LatestSettings> {
        Ok(Fake::latest(self))
    }
    async fn configure(&self, settings: &LatestSettings) -> Result<()> {
        if self.fail_configure == Some(settings.memory_mb) {
            return Err(anyhow!(
                "InvalidParameterValueException: no {} MB today",
                settings.memory_mb
            ));
        }
        if self.slow {
            // An update takes a while on Lambda too; the run must be interruptible meanwhile.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        self.configures.lock().unwrap().push(settings.memory_mb);
        let mut s = self.state.lock().unwrap();
        s.latest = settings.clone();
        s.changed = true;
        Ok(())
    }
    async fn publish(&self, description: &str) -> Result<PublishedVersion> {
        let mut s = self.state.lock().unwrap();
        if let (false, Some(last)) = (s.changed, s.versions.last()) {
            return Ok(last.clone());
        }
        s.changed = false;
        s.next_version += 1;
        let v = PublishedVersion {
            version: s.next_version.to_string(),
            description: description.to_string(),
            memory_mb: s.latest.memory_mb,
        };
        s.versions.push(v.clone());
        Ok(v)
    }
    async fn put_alias(&self, name: &str, version: &str) -> Result<()> {
        let mut s = self.state.lock().unwrap();
        s.aliases.insert(name.to_string(), version.to_string());
        Ok(())
    }
    async fn aliases(&self) -> Result<Vec<AliasTarget>> {
        let s = self.state.lock().unwrap();
        Ok(s.aliases
            .iter()
            .map(|(name, version)| AliasTarget {
                name: name.clone(),
                version: version.clone(),
            })
            .collect())
    }
    async fn versions(&self) -> Result<Vec<PublishedVersion>> {
        Ok(self.state.lock().unwrap().versions.clone())
    }
    async fn delete_alias(&self, name: &str) -> Result<()> {
        self.state.lock().unwrap().aliases.remove(name);
        Ok(())
    }
    async fn delete_version(&self, version: &str) -> Result<()> {
        let mut s = self.state.lock().unwrap();
        if s.aliases.values().any(|v| v == version) {
            bail!("ResourceConflictException: an alias points at version {version}");
        }
        s.versions.retain(|v| v.version != version);
        Ok(())
    }
    async fn wait_active(&self, qualifier: &str) -> Result<()> {
        let s = self.state.lock().unwrap();
        s.aliases
            .get(qualifier)
            .map(|_| ())
            .ok_or_else(|| anyhow!("no alias {qualifier}"))
    }
    async fn concurrency_limit(&self) -> Result<Option<u32>> {
        Ok(self.concurrency)
    }
    async fn invoke_at(&self, qualifier: &str, _payload: &[u8]) -> Result<Invocation> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if self.slow {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let result = self.answer(qualifier);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

impl Fake {
    fn answer(&self, qualifier: &str) -> Result<Invocation> {
        let throttled = self
            .throttle_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if throttled {
            return Err(anyhow!("TooManyRequestsException: Rate exceeded"));
        }
        let (version, memory) = {
            let s = self.state.lock().unwrap();
            let version = s
                .aliases
                .get(qualifier)
                .cloned()
                .ok_or_else(|| anyhow!("no alias {qualifier}"))?;
            let memory = s.versions.iter().find(|v| v.version == version).unwrap().memory_mb;
            (version, memory)
        };
        self.invocations.fetch_add(1, Ordering::SeqCst);
        let mode = self.modes.get(&memory).copied().unwrap_or(Mode::Normal);
        if mode == Mode::Panic {
            panic!("the fake panics at {memory} MB");
        }
        let log_tail = if mode == Mode::NoReport {
            String::new()
        } else {
            self.report(&version, memory)
        };
        Ok(match self.fails_now(memory, mode) {
            Some(kind) => Invocation {
                body: format!(r#"{{"errorType":"{kind}","errorMessage":"{kind}: synthetic"}}"#)
                    .into_bytes(),
                function_error: Some("Unhandled".into()),
                log_tail,
            },
            None => Invocation {
                body: br#"{"Items":[]}"#.to_vec(),
                function_error: None,
                log_tail,
            },
        })
    }
}
