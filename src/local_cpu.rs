//! What the local stack says of its host's CPU while a tune or a load test ran. Lambda gives every
//! instance its memory's share of a CPU; a small host cannot give ten instances theirs at once, so
//! the local stack holds back an invocation whose share does not fit (its CPU budget) and counts
//! the wait. A run reads the stack's budget before and after (its status, `lab_local::probe`)
//! and reports its own waits next to its figures: the REPORT durations exclude them,
//! as Lambda has none, and the latencies include them.
//!
//! The stack is the process's: `session` names its port when a command runs on the local stack.

use std::sync::OnceLock;

use base64::Engine;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use serde::Serialize;

static PORT: OnceLock<u16> = OnceLock::new();

/// Names the local stack this process runs against (`--local`), by its port.
pub(crate) fn set_port(port: u16) {
    let _ = PORT.set(port);
}

/// Whether this process runs against the local stack, which runs every function on this host's
/// CPU.
pub(crate) fn is_local() -> bool {
    PORT.get().is_some()
}

/// The budget at one moment.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    invocations: u64,
    waited: u64,
    waits_us: Histogram<u64>,
}

/// The host's CPU during one run, as the report shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HostCpu {
    /// The host's cores.
    pub cores: f64,
    /// Invocations the run made on the stack.
    pub invocations: u64,
    /// Of those, the ones that waited for CPU before they ran.
    pub waited: u64,
    /// The waits' median and 99th percentile, milliseconds (every invocation counted).
    pub wait_p50_ms: f64,
    /// See `wait_p50_ms`.
    pub wait_p99_ms: f64,
    /// The most CPU asked for at once during the run, and by how many invocations (`None` when the
    /// stack's peak came before the run).
    pub peak_demand_vcpu: Option<f64>,
    /// See `peak_demand_vcpu`.
    pub peak_demanding: Option<u64>,
}

impl HostCpu {
    /// Whether the host held invocations back.
    pub fn oversubscribed(&self) -> bool {
        self.waited > 0
    }

    /// The sentence the reports print next to the figures, or `None` when nothing waited.
    pub fn sentence(&self) -> Option<String> {
        if !self.oversubscribed() {
            return None;
        }
        let asked = match (self.peak_demand_vcpu, self.peak_demanding) {
            (Some(vcpu), Some(n)) => format!("{n} invocations asked for {vcpu:.2} vCPU"),
            _ => "invocations asked for more".to_string(),
        };
        Some(format!(
            "host CPU oversubscribed: {asked} on {} cores; {} of {} invocations waited for CPU, p50 {:.1} ms, p99 {:.1} ms: the latencies include the waits, the REPORT durations (as Lambda's) do not",
            self.cores, self.waited, self.invocations, self.wait_p50_ms, self.wait_p99_ms
        ))
    }
}

/// The stack's status document, if this process runs against a local stack that answers.
async fn status() -> Option<serde_json::Value> {
    lab_local::probe(*PORT.get()?).await
}

fn histogram(budget: &serde_json::Value) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(budget["waits_us_hdr"].as_str()?)
        .ok()?;
    Deserializer::new().deserialize(&mut bytes.as_slice()).ok()
}

/// On the local stack, when `function` runs an unoptimised Rust build (cargo's dev profile, as
/// `lab up --local` deploys by default), the sentence tune and load print next to their figures:
/// its Duration and Init are the debug build's, not those of the build `lab up` ships to AWS.
/// `None` elsewhere, and for any other code.
pub(crate) async fn unoptimised_build(function: &str) -> Option<String> {
    let status = status().await?;
    let listed = status["unoptimised_functions"]
        .as_array()?
        .iter()
        .any(|f| f["name"] == function);
    listed.then(|| {
        format!(
            "{function} runs an unoptimised (dev-profile) Rust build: its Duration and Init are \
             several times what the build lab ships to AWS shows (scripts/bench-local-handler.sh), \
             so these figures do not forecast AWS's; deploy the shipped build for figures that do \
             (cargo build --profile lambda -p handler --bin bootstrap, then lab up --local \
             --bootstrap target/lambda/bootstrap)"
        )
    })
}

/// The budget now; `None` off the local stack, or where CPU does not follow memory there.
pub(crate) async fn snapshot() -> Option<Snapshot> {
    let status = status().await?;
    let budget = &status["cpu_budget"];
    Some(Snapshot {
        invocations: budget["invocations"].as_u64()?,
        waited: budget["waited"].as_u64()?,
        waits_us: histogram(budget)?,
    })
}

/// The run's own share of the budget since `before`.
pub(crate) async fn since(before: &Option<Snapshot>) -> Option<HostCpu> {
    let before = before.as_ref()?;
    let status = status().await?;
    let budget = &status["cpu_budget"];
    let mut waits = histogram(budget)?;
    waits.subtract(&before.waits_us).ok()?;
    let invocations = budget["invocations"].as_u64()?.saturating_sub(before.invocations);
    let in_run = budget["peak_at"].as_u64().is_some_and(|at| at > before.invocations);
    let ms = |q: f64| waits.value_at_quantile(q) as f64 / 1000.0;
    Some(HostCpu {
        cores: budget["cores"].as_f64()?,
        invocations,
        waited: budget["waited"].as_u64()?.saturating_sub(before.waited),
        wait_p50_ms: ms(0.5),
        wait_p99_ms: ms(0.99),
        peak_demand_vcpu: in_run.then(|| budget["peak_demand_vcpu"].as_f64()).flatten(),
        peak_demanding: in_run.then(|| budget["peak_demanding"].as_u64()).flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentence_says_how_much_was_asked_of_how_little_and_what_it_cost() {
        let mut cpu = HostCpu {
            cores: 2.0,
            invocations: 50,
            waited: 0,
            wait_p50_ms: 0.0,
            wait_p99_ms: 0.0,
            peak_demand_vcpu: Some(5.79),
            peak_demanding: Some(10),
        };
        assert_eq!(cpu.sentence(), None, "nothing waited: nothing to say");
        cpu.waited = 37;
        cpu.wait_p50_ms = 12.04;
        cpu.wait_p99_ms = 80.0;
        let said = cpu.sentence().unwrap();
        assert!(
            said.starts_with("host CPU oversubscribed: 10 invocations asked for 5.79 vCPU on 2 cores; 37 of 50 invocations waited for CPU, p50 12.0 ms, p99 80.0 ms"),
            "{said}"
        );
    }
}
