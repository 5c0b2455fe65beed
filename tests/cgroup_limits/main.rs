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
            "parallel_tuning_durations_follow_memory_on_a_small_host",
            parallel_tuning_follows_memory,
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

/// `lab tune --parallel --num 10` of a CPU-bound function at 128 to 1769 MB: 50 invocations at once
/// (ten at a time, the account's concurrency) ask for far more CPU than a small host has. The stack
/// holds back what does not fit, so each REPORT line's Duration is the function at its memory's
/// share of a CPU, as on Lambda: the durations follow 1769 / memory. Without the budget, ten
/// instances at 1769 MB would share two cores and the larger sizes would come out slower than
/// their share says (1024 MB slower than 512 MB, as the issue measured). The run says the host
/// was oversubscribed, and by how much.
async fn parallel_tuning_follows_memory() {
    let fx = Fixture::start(&[]).await;
    // Time enough for 128 MB's start and spin (its 7% of a CPU makes 0.15 s of CPU 2 s).
    fx.configure(1024, Some(30)).await;
    let sizes = [128u64, 256, 512, 1024, 1769];
    let powers = sizes.map(|m| m.to_string()).join(",");
    // 0.1 s of CPU: 1.4 s at 128 MB (its 7% of a CPU), 0.1 s at 1769 MB.
    let payload = json!({"spin": 0.1}).to_string();
    // `up` made the fixture answer a ping (its readiness probe): that REPORT line is not the tune's.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&fx.local.sdk().await);
    let mut before = std::collections::BTreeMap::<u64, Vec<f64>>::new();
    for _ in 0..50 {
        before = report_durations(&logs, "/aws/lambda/fx-fn").await;
        if !before.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let earlier: usize = before.values().map(Vec::len).sum();
    let result = fx.local.lab_json(&[
        "tune",
        "--function",
        "fx-fn",
        "--parallel",
        "--num",
        "10",
        "--powers",
        &powers,
        "--payload",
        &payload,
    ]);
    let powers = result["powers"].as_array().unwrap();
    assert_eq!(powers.len(), sizes.len(), "{result}");
    // Each REPORT line's Duration (the handler alone: init, on two vCPUs as on Lambda, is apart),
    // averaged per memory size, normalised to 1769 MB: duration x memory / 1769 is the same work
    // at every size when each size gets its share of a CPU.
    // The stack ships logs in the background: read until all fifty REPORT lines are there.
    let mut durations = std::collections::BTreeMap::<u64, Vec<f64>>::new();
    for _ in 0..100 {
        durations = report_durations(&logs, "/aws/lambda/fx-fn").await;
        if durations.values().map(Vec::len).sum::<usize>() >= 50 + earlier {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for (mb, lines) in &before {
        if let Some(all) = durations.get_mut(mb) {
            all.drain(..lines.len().min(all.len()));
        }
    }
    let normalised: Vec<(u64, usize, f64)> = durations
        .iter()
        .map(|(mb, d)| {
            (
                *mb,
                d.len(),
                d.iter().sum::<f64>() / d.len() as f64 * *mb as f64 / 1769.0,
            )
        })
        .collect();
    assert_eq!(
        normalised.iter().map(|(mb, n, _)| (*mb, *n)).collect::<Vec<_>>(),
        sizes.map(|mb| (mb, 10)),
        "ten REPORT lines per size"
    );
    eprintln!("REPORT Duration x MB / 1769 by memory size: {normalised:?}");
    let reference = normalised.last().unwrap().2;
    for (mb, _, work) in &normalised {
        let off = work / reference - 1.0;
        assert!(
            off.abs() <= 0.15,
            "{mb} MB is {:+.0}% off 1769/memory: {normalised:?} (MB, lines, mean ms x MB / 1769); {}",
            off * 100.0,
            result["host_cpu"]
        );
    }
    let host = &result["host_cpu"];
    assert!(host["waited"].as_u64().unwrap() > 0, "{host}");
    assert!(
        host["peak_demand_vcpu"].as_f64().unwrap() > host["cores"].as_f64().unwrap(),
        "{host}"
    );
}

/// (Memory Size MB, Duration ms) of a REPORT line.
fn report_figures(line: &str) -> Option<(u64, f64)> {
    let field = |name: &str| {
        let rest = line.split(&format!("{name}: ")).nth(1)?;
        rest.split_whitespace().next()?.parse::<f64>().ok()
    };
    line.starts_with("REPORT ").then_some(())?;
    Some((field("Memory Size")? as u64, field("Duration")?))
}

/// Every REPORT line's Duration in `group`, by Memory Size.
async fn report_durations(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
) -> std::collections::BTreeMap<u64, Vec<f64>> {
    let mut durations = std::collections::BTreeMap::<u64, Vec<f64>>::new();
    let mut token = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .set_next_token(token)
            .send()
            .await;
        let Ok(page) = page else {
            return durations;
        };
        for e in page.events() {
            if let Some((mb, ms)) = report_figures(e.message().unwrap_or_default()) {
                durations.entry(mb).or_default().push(ms);
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return durations;
        }
    }
}
