//! The limits the local stack sets through cgroups, measured where this machine allows them: CPU in
//! proportion to memory, and memory enforced mid-call. Whether it allows them is found when the
//! tests run, by the probe a starting stack runs (`lab_local::cgroup_limits`); where it does not,
//! each test is reported as ignored with the reason (and the end-to-end tests check that the stack
//! says how it runs instead). libtest decides ignores when it compiles, so this binary has a
//! harness of its own (libtest-mimic), which nextest and `cargo test` run like any other.

#[path = "../common/mod.rs"]
mod common;

use common::fixture::{limits_stack, out_of_memory, payload, Fixture};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::json;

fn main() {
    let args = Arguments::from_args();
    let limits = lab_local::cgroup_limits();
    let trials = vec![
        trial(
            "cpu_follows_memory_where_cgroups_are_writable",
            cpu_follows_memory,
        )
        .with_ignored_flag(!limits.cpu),
        trial(
            "out_of_memory_stops_the_call_mid_way_where_cgroups_are_writable",
            out_of_memory_stops_the_call_mid_way,
        )
        .with_ignored_flag(!limits.memory),
    ];
    if !args.list {
        for (allowed, what, instead) in [
            (
                limits.cpu,
                "cpu",
                "the local stack runs functions unthrottled",
            ),
            (
                limits.memory,
                "memory",
                "the local stack checks the peak after each call",
            ),
        ] {
            if !allowed {
                eprintln!("ignored: {what} cgroups are not writable here: {instead}");
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// A trial that runs `test` on a runtime of its own; a panic is its failure.
fn trial<F, Fut>(name: &'static str, test: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    Trial::test(name, move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(test()))).map_err(
            |panic| {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into());
                Failed::from(message)
            },
        )
    })
}

/// CPU follows memory (1769 MB = one vCPU) through the stack's cpu cgroups.
///
/// The check reads the kernel's own accounting of each instance's cgroup (its quota, and the time
/// it was held back for exceeding it) rather than comparing wall times: on a busy machine a whole
/// CPU's quota does not make a spin fast, as the other processes compete for the cores, but only
/// the quota makes the kernel throttle it.
async fn cpu_follows_memory() {
    let fx = Fixture::start(&[]).await;
    let cpu = fx.local.status()["cpu"].as_str().unwrap().to_string();
    assert!(cpu.starts_with("proportional"), "{cpu}");
    let mut runs = Vec::new();
    for mb in [256, 1792] {
        // A long timeout: at 256 MB the spin's 0.2 s of CPU take at least 1.4 s.
        fx.configure(mb, Some(20)).await;
        let cgroup = crate::common::cgroup::CpuCgroup::of(fx.pid().await);
        let before = cgroup.throttled_s();
        let started = std::time::Instant::now();
        let r = fx.invoke(json!({"spin": 0.2})).await;
        assert!(r.function_error().is_none(), "{}", payload(&r));
        let wall = started.elapsed().as_secs_f64();
        runs.push((mb, cgroup.cpus(), cgroup.throttled_s() - before, wall));
    }
    let [(_, small_cpus, _, small_wall), (_, big_cpus, big_held, _)] = runs[..] else {
        unreachable!()
    };
    // The quotas are the memory's share of a CPU: 256 / 1769 and 1792 / 1769.
    assert!(
        (small_cpus - 256.0 / 1769.0).abs() < 0.001,
        "{runs:?} ({cpu})"
    );
    assert!(
        (big_cpus - 1792.0 / 1769.0).abs() < 0.001,
        "{runs:?} ({cpu})"
    );
    // 14% of a CPU: the kernel hands out no more, so 0.2 s of work takes at least 1.4 s however
    // idle the machine (other load only slows it more). A whole CPU's quota never holds a single
    // thread back, however busy the machine: waiting for a core is not throttling.
    assert!(
        small_wall > 0.8,
        "256 MB was not throttled: {runs:?} ({cpu})"
    );
    assert!(
        big_held < 0.05,
        "1792 MB was held back by its quota: {runs:?} (mb, CPUs, s throttled, s wall) ({cpu})"
    );
}

/// Where the machine allows a memory cgroup the kernel stops the function during the allocation:
/// it never reaches the next line.
async fn out_of_memory_stops_the_call_mid_way() {
    let (local, lambda) = limits_stack().await;
    let memory = local.status()["memory"].as_str().unwrap().to_string();
    assert!(memory.starts_with("enforced"), "{memory}");
    let ran_on = out_of_memory(&local, &lambda).await;
    assert!(!ran_on, "the function ran past its memory size ({memory})");
}
