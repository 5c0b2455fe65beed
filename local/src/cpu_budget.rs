//! The host's cores as a budget. Lambda gives an instance its memory's share of a CPU (1769 MB = one
//! vCPU) whatever else runs; a laptop with two cores cannot give ten 1024 MB instances 0.58 vCPU each.
//! So an invocation whose share does not fit in what the running ones leave waits here, before its
//! event reaches the runtime (and before a cold instance starts, as its init needs CPU too): the
//! REPORT line's Duration then measures the function at its memory size, as Lambda's does, and the
//! wait, which Lambda never has, is counted apart, for `lab local status` and the tune and load
//! reports to say that the host was oversubscribed and by how much.
//!
//! What a running invocation holds is its share, unless it does not want it: an instance waiting on
//! I/O (a load generator waiting on the function it calls, a function calling another one) counts
//! at the CPU it wanted over the last sampling interval (or, before one has passed, over its earlier
//! calls: a warm instance of a handler that spends most of its call waiting on I/O holds little),
//! so a chain of invocations on one small host never waits on itself. What a process wants is the time its threads ran plus the time they were
//! runnable but waiting for a CPU or held back by their quota (`/proc/<pid>/task/*/schedstat`):
//! an instance starved by an oversubscribed host wants its whole share, one asleep wants none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use tokio::sync::Notify;

use super::proc_files::ThreadTimes;

/// Memory that buys one vCPU on Lambda.
const MB_PER_VCPU: u64 = 1769;

/// The smallest share the stack gives (its cgroup quota's floor, 1 ms in 20), in thousandths.
const MIN_SHARE_MILLI: u32 = 50;

/// How often a waiting invocation looks again, and the shortest interval a usage is measured over.
const SAMPLE: Duration = Duration::from_millis(20);

/// An instance measured below this part of its share (it waits on I/O) lends the rest.
const BUSY_MARGIN: f64 = 1.25;

/// The most instances whose past want is remembered (their pids; forgotten all at once past it).
const MAX_INSTANCES_KNOWN: usize = 4096;

/// The cores running instances may use between them, and what waiting for them cost.
pub(crate) struct CpuBudget {
    /// The host's cores, in thousandths of a CPU.
    total_milli: u32,
    state: Arc<Mutex<State>>,
    released: Arc<Notify>,
}

/// The running invocations and what the budget has seen since the stack started.
struct State {
    running: HashMap<u64, Running>,
    /// The running instances' thread times, their files kept open.
    threads: ThreadTimes,
    /// Each warm instance's want during its invocations (CPUs wanted per second of invocation),
    /// an average over its last calls: what it holds before this call has been measured.
    wants: HashMap<u32, f64>,
    next_id: u64,
    /// Invocations admitted.
    invocations: u64,
    /// Of those, the ones that waited for CPU.
    waited: u64,
    /// Every admission's wait, in microseconds (0 when it fitted at once).
    waits_us: Histogram<u64>,
    /// Shares asked for now (running and waiting), in thousandths of a CPU, and by how many.
    demand_milli: u64,
    demanding: u64,
    /// The most asked for at once, by how many invocations, and the admission it happened at.
    peak_demand_milli: u64,
    peak_demanding: u64,
    peak_at: u64,
}

/// One admitted invocation: its share, and its instance's last CPU sample once it has one.
struct Running {
    share_milli: u32,
    pid: Option<u32>,
    /// (when, seconds wanted) as the invocation started on its instance.
    start: Option<(Instant, f64)>,
    /// The instance's want over its earlier calls (CPUs), when it has served any.
    past_want: Option<f64>,
    /// (when, seconds the process's threads had run or waited to run then).
    sample: Option<(Instant, f64)>,
    /// The CPU it wanted over the last interval, in thousandths (`None` until measured).
    used_milli: Option<u32>,
}

impl Running {
    /// What it holds of the host now: its share, or less when it was measured idling.
    fn holds(&self) -> u32 {
        let wanted = self.used_milli.map(f64::from).or(self.past_want.map(|cpus| cpus * 1000.0));
        match wanted {
            Some(milli) => ((milli * BUSY_MARGIN) as u32).min(self.share_milli),
            None => self.share_milli,
        }
    }
}

/// An admitted invocation's share of the host, given back when it is dropped.
pub(crate) struct Admitted {
    id: u64,
    /// What it keeps once [`settle`](Self::settle)d.
    settles_to_milli: u32,
    state: Arc<Mutex<State>>,
    released: Arc<Notify>,
}

impl Admitted {
    /// Names the instance the invocation runs on, so its real use can be measured.
    pub(crate) fn running_on(&self, pid: u32) {
        let mut s = self.state.lock().expect("cpu budget lock");
        let s = &mut *s;
        let past = s.wants.get(&pid).copied();
        if let Some(r) = s.running.get_mut(&self.id) {
            r.pid = Some(pid);
            r.start = s.threads.wanted_s(pid).map(|wanted| (Instant::now(), wanted));
            r.past_want = past;
        }
    }

    /// Keeps what it settles to and gives the rest back (a cold start's init is over: the
    /// instance runs on its memory's share from now on).
    pub(crate) fn settle(&self) {
        let mut s = self.state.lock().expect("cpu budget lock");
        let Some(r) = s.running.get_mut(&self.id) else {
            return;
        };
        let excess = r.share_milli.saturating_sub(self.settles_to_milli);
        r.share_milli -= excess;
        s.demand_milli -= u64::from(excess);
        drop(s);
        self.released.notify_waiters();
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut s = self.state.lock().expect("cpu budget lock");
        if let Some(r) = s.running.remove(&self.id) {
            s.demand_milli -= u64::from(r.share_milli);
            s.demanding -= 1;
            // What the instance wanted over this call, averaged with its earlier calls.
            if let (Some(pid), Some((at, before))) = (r.pid, r.start) {
                let wall = at.elapsed().as_secs_f64();
                if let (Some(after), true) = (s.threads.wanted_s(pid), wall > 0.0) {
                    let want = ((after - before) / wall).max(0.0);
                    let averaged = r.past_want.map_or(want, |past| (past + want) / 2.0);
                    if s.wants.len() >= MAX_INSTANCES_KNOWN && !s.wants.contains_key(&pid) {
                        s.wants.clear();
                    }
                    s.wants.insert(pid, averaged);
                }
            }
        }
        drop(s);
        self.released.notify_waiters();
    }
}

impl CpuBudget {
    /// A budget of `cores` CPUs (the host's: `std::thread::available_parallelism`).
    pub(crate) fn new(cores: usize) -> Self {
        Self::of_milli((cores.max(1) * 1000) as u32)
    }

    /// A budget of `total_milli` thousandths of a CPU.
    fn of_milli(total_milli: u32) -> Self {
        Self {
            total_milli,
            state: Arc::new(Mutex::new(State {
                running: HashMap::new(),
                threads: ThreadTimes::default(),
                wants: HashMap::new(),
                next_id: 0,
                invocations: 0,
                waited: 0,
                waits_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                    .expect("1 µs to an hour, 3 digits"),
                demand_milli: 0,
                demanding: 0,
                peak_demand_milli: 0,
                peak_demanding: 0,
                peak_at: 0,
            })),
            released: Arc::new(Notify::new()),
        }
    }

    /// A budget of this host's cores (`LAB_LOCAL_CPU_BUDGET`, in CPUs, overrides it).
    pub(crate) fn of_host() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        match std::env::var("LAB_LOCAL_CPU_BUDGET").ok().and_then(|v| v.parse::<f64>().ok()) {
            Some(cpus) if cpus > 0.0 => Self::of_milli((cpus * 1000.0) as u32),
            _ => Self::new(cores),
        }
    }

    /// The share of a CPU `memory_mb` buys on Lambda, in thousandths: memory / 1769, at least the
    /// stack's 5% floor, and at most the whole host (a 10 GB function's 5.8 vCPU on 2 cores is 2).
    pub(crate) fn share_milli(&self, memory_mb: u32) -> u32 {
        let share = (u64::from(memory_mb) * 1000).div_ceil(MB_PER_VCPU);
        (share as u32).clamp(MIN_SHARE_MILLI, self.total_milli)
    }

    /// What a cold start's INIT phase runs on, in thousandths: two vCPUs, or the memory's share
    /// where that is more, within the host (see `cpu::init_quota_us`).
    pub(crate) fn init_share_milli(&self, memory_mb: u32) -> u32 {
        let init = (super::cpu::INIT_VCPUS * 1000) as u32;
        self.share_milli(memory_mb).max(init).min(self.total_milli)
    }

    /// Waits until `share_milli` thousandths of a CPU fit beside the running invocations, and
    /// says how long that took. [`Admitted::settle`] later keeps only `settles_to_milli` of it (a
    /// cold start asks for its init's two vCPUs and keeps its memory's share once init ends).
    pub(crate) async fn admit(
        &self,
        share_milli: u32,
        settles_to_milli: u32,
    ) -> (Admitted, Duration) {
        let asked = Instant::now();
        {
            let mut s = self.state.lock().expect("cpu budget lock");
            s.invocations += 1;
            s.demand_milli += u64::from(share_milli);
            s.demanding += 1;
            if s.demand_milli > s.peak_demand_milli {
                (s.peak_demand_milli, s.peak_demanding, s.peak_at) =
                    (s.demand_milli, s.demanding, s.invocations);
            }
        }
        loop {
            let released = self.released.notified();
            if let Some(admitted) = self.try_admit(share_milli, settles_to_milli, asked) {
                return admitted;
            }
            // Woken by a release, or after a sampling interval to measure the running again.
            let _ = tokio::time::timeout(SAMPLE, released).await;
        }
    }

    /// Admits the invocation if its share fits beside what the running ones hold.
    fn try_admit(
        &self,
        share: u32,
        settles_to: u32,
        asked: Instant,
    ) -> Option<(Admitted, Duration)> {
        let mut s = self.state.lock().expect("cpu budget lock");
        self.measure(&mut s);
        let held: u32 = s.running.values().map(Running::holds).sum();
        if self.total_milli.saturating_sub(held) < share {
            return None;
        }
        let waited = asked.elapsed();
        // Under a millisecond is the admission's own bookkeeping, not a wait for CPU.
        if waited >= Duration::from_millis(1) {
            s.waited += 1;
        }
        s.waits_us.saturating_record(waited.as_micros() as u64);
        let id = s.next_id;
        s.next_id += 1;
        s.running.insert(
            id,
            Running {
                share_milli: share,
                pid: None,
                start: None,
                past_want: None,
                sample: None,
                used_milli: None,
            },
        );
        let admitted = Admitted {
            id,
            settles_to_milli: settles_to.min(share),
            state: self.state.clone(),
            released: self.released.clone(),
        };
        Some((admitted, waited))
    }

    /// Samples the running instances' CPU time; each one's use over an interval of at least
    /// [`SAMPLE`] replaces its previous measure.
    fn measure(&self, s: &mut State) {
        let now = Instant::now();
        let State {
            running, threads, ..
        } = s;
        for r in running.values_mut() {
            // A sample younger than SAMPLE changes nothing: read /proc only when one is due (every
            // admission used to read every running instance's threads, most of the gateway's time).
            if r.sample.is_some_and(|(at, _)| now.duration_since(at) < SAMPLE) {
                continue;
            }
            let Some(cpu_s) = r.pid.and_then(|pid| threads.wanted_s(pid)) else {
                continue;
            };
            match r.sample {
                Some((at, before)) if now.duration_since(at) >= SAMPLE => {
                    let rate = (cpu_s - before) / now.duration_since(at).as_secs_f64();
                    r.used_milli = Some((rate.max(0.0) * 1000.0) as u32);
                    r.sample = Some((now, cpu_s));
                }
                Some(_) => {}
                None => r.sample = Some((now, cpu_s)),
            }
        }
    }

    /// The budget for `lab local status` and the reports: the host's cores, what was asked of them
    /// at most, and every wait (an HDR histogram, V2 deflate, base64, so a reader can subtract an
    /// earlier one and get a run's own waits).
    pub(crate) fn status(&self) -> serde_json::Value {
        let s = self.state.lock().expect("cpu budget lock");
        let mut bytes = Vec::new();
        let histogram = match V2DeflateSerializer::new().serialize(&s.waits_us, &mut bytes) {
            Ok(_) => base64::engine::general_purpose::STANDARD.encode(&bytes),
            Err(_) => String::new(),
        };
        let ms = |q: f64| s.waits_us.value_at_quantile(q) as f64 / 1000.0;
        serde_json::json!({
            "cores": f64::from(self.total_milli) / 1000.0,
            "running": s.running.len(),
            "invocations": s.invocations,
            "waited": s.waited,
            "wait_p50_ms": ms(0.5),
            "wait_p99_ms": ms(0.99),
            "wait_max_ms": s.waits_us.max() as f64 / 1000.0,
            "peak_demand_vcpu": s.peak_demand_milli as f64 / 1000.0,
            "peak_demanding": s.peak_demanding,
            "peak_at": s.peak_at,
            "waits_us_hdr": histogram,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_the_memorys_part_of_a_cpu_within_the_host() {
        let budget = CpuBudget::new(2);
        assert_eq!(budget.share_milli(1769), 1000);
        assert_eq!(budget.share_milli(1024), 579);
        assert_eq!(budget.share_milli(128), 73);
        assert_eq!(budget.share_milli(1), MIN_SHARE_MILLI);
        assert_eq!(budget.share_milli(10240), 2000, "never more than the host");
    }

    #[tokio::test]
    async fn an_invocation_that_does_not_fit_waits_for_one_to_end() {
        let budget = Arc::new(CpuBudget::new(2));
        // Three 1769 MB invocations ask for 3 vCPU of 2: the third waits.
        let one_vcpu = budget.share_milli(1769);
        let (first, w1) = budget.admit(one_vcpu, one_vcpu).await;
        let (_second, w2) = budget.admit(one_vcpu, one_vcpu).await;
        assert!(w1 < Duration::from_millis(1) && w2 < Duration::from_millis(1));
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.admit(one_vcpu, one_vcpu).await.1 })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "a third vCPU cannot run on 2 cores");
        drop(first);
        let waited = waiting.await.unwrap();
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
        let status = budget.status();
        assert_eq!(status["invocations"], 3);
        assert_eq!(status["waited"], 1);
        assert_eq!(status["peak_demanding"], 3);
        assert_eq!(status["peak_demand_vcpu"], 3.0);
        assert!(status["wait_max_ms"].as_f64().unwrap() >= 100.0, "{status}");
    }

    #[tokio::test]
    async fn a_cold_start_holds_up_to_two_vcpus_until_its_init_ends() {
        let budget = CpuBudget::new(2);
        assert_eq!(budget.init_share_milli(128), 2000);
        assert_eq!(budget.init_share_milli(10240), 2000, "within the host");
        let small = budget.share_milli(128);
        let (cold, _) = budget.admit(budget.init_share_milli(128), small).await;
        // A second cold start waits: the first one's init holds the whole host.
        let blocked = tokio::time::timeout(Duration::from_millis(60), budget.admit(2000, small));
        assert!(blocked.await.is_err(), "init holds the whole host");
        cold.settle();
        let (_warm, waited) = budget.admit(budget.share_milli(1769), 1000).await;
        assert!(waited < Duration::from_millis(1));
    }

    #[tokio::test]
    async fn an_instance_waiting_on_io_does_not_hold_its_share() {
        let budget = CpuBudget::new(2);
        let two = budget.share_milli(1769) * 2;
        // A "generator" holding the whole host but sleeping: this test process, measured idle.
        let (generator, _) = budget.admit(two, two).await;
        let sleeper = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        generator.running_on(sleeper.id());
        let admitted = tokio::time::timeout(Duration::from_secs(2), budget.admit(1000, 1000)).await;
        let mut sleeper = sleeper;
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        let (_, waited) = admitted.expect("an idle instance lends its share");
        assert!(waited >= SAMPLE, "measured first: {waited:?}");
    }
}
