//! `lab load`'s VU curves (Postman's profiles, k6 stages) read back from the per-second series of
//! real runs against a loopback server; `--threshold` through the real binary (exit 0 and 1); and
//! the merge of workers' serialized HDR histograms against one histogram fed the same samples.

use std::process::Command;
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use lab::load::{LoadArgs, Profile};
use lab_load::metrics::{Outcome, Recorder};
use lab_load::profile::{parse_stage, Shape};
use lab_load::worker::wire::RecorderWire;
use proptest::prelude::*;

/// A server answering every POST after 20 ms (each VU then sends about 50 requests a second).
async fn serve() -> String {
    let app = Router::new().route(
        "/",
        post(|| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            r#"{"Items":[]}"#
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

/// The most VUs the shape wants over `[from, to)` seconds, sampled every 10 ms.
fn peak(shape: &Shape, from: f64, to: f64) -> u32 {
    let steps = ((to - from) * 100.0).ceil().max(1.0) as u32;
    (0..steps)
        .map(|i| from + f64::from(i) / 100.0)
        .filter(|t| *t >= 0.0 && *t < shape.duration.as_secs_f64())
        .map(|t| shape.target_vus(Duration::from_secs_f64(t)))
        .max()
        .unwrap_or(0)
}

/// Runs `args` and checks every second's most active VUs against the shape: at least the peak of
/// the second's middle, at most the peak of the second widened by 300 ms each side (a VU leaving
/// finishes its request first; a busy machine wakes timers late).
async fn check_curve(name: &str, args: LoadArgs) -> Vec<u32> {
    let shape = args.shape().unwrap().unwrap();
    let url = serve().await;
    let r = lab::load::run(&args, url, None, "t", true).await.unwrap();
    let series = &r.runs[0].series;
    let seconds = shape.duration.as_secs() as usize;
    assert!(series.len() >= seconds, "{name}: {series:?}");
    let active: Vec<u32> = series[..seconds].iter().map(|p| p.active_vus).collect();
    assert_eq!(active.len(), seconds);
    for (s, &measured) in active.iter().enumerate() {
        let s = s as f64;
        let (lo, hi) = (
            peak(&shape, s + 0.3, s + 0.7),
            peak(&shape, s - 0.3, s + 1.3),
        );
        assert!(
            (lo..=hi).contains(&measured),
            "{name}: second {s} had {measured} VUs, the shape wants {lo}..={hi}: {active:?}"
        );
    }
    assert_eq!(r.runs[0].summary.errors, 0);
    active
}

fn args(f: impl FnOnce(&mut LoadArgs)) -> LoadArgs {
    let mut a = LoadArgs::default();
    f(&mut a);
    a
}

/// A profile that rises from `base` VUs to `vus` and back over `duration` (spike, peak).
fn from_base(profile: Profile, base: u32, vus: u32, duration: Duration) -> LoadArgs {
    args(|a| {
        a.vus = vus;
        a.duration = duration;
        a.profile = profile;
        a.base_vus = Some(base);
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postman_profiles_and_k6_stages_produce_their_vu_curves() {
    let d = Duration::from_secs(10);
    let ramp = args(|a| {
        a.vus = 8;
        a.duration = Duration::from_secs(6);
        a.ramp_up = Some(Duration::from_secs(3));
        a.initial_vus = Some(2);
    });
    let active = check_curve("ramp-up", ramp).await;
    // 2 + floor(2t): 3 VUs by 0.5 s, all 8 from 3 s.
    assert_eq!(
        (active[0], active[5]),
        (3, 8),
        "from the initial load to all: {active:?}"
    );
    let active = check_curve("spike", from_base(Profile::Spike, 1, 9, d)).await;
    // Base 1 until 4 s, a sharp rise to 9 at 5 s and straight back down to 1 at 6 s.
    assert_eq!((active[1], active[3], active[8]), (1, 1, 1), "{active:?}");
    assert!(active[4] >= 7 && active[5] >= 8, "{active:?}");
    let active = check_curve("peak", from_base(Profile::Peak, 2, 6, d)).await;
    // Held at all VUs from 4 to 6 s.
    assert_eq!(
        (active[0], active[4], active[5], active[9]),
        (2, 6, 6, 2),
        "{active:?}"
    );
    let stages = args(|a| {
        a.stages = Some(["2s:4", "2s:4", "2s:0"].iter().map(|s| parse_stage(s).unwrap()).collect());
    });
    let active = check_curve("stages", stages).await;
    assert_eq!((active[2], active[3]), (4, 4), "{active:?}");
}

fn lab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run lab")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_exit_0_when_they_hold_and_1_when_one_fails() {
    let url = serve().await;
    let base = [
        "load",
        "--url",
        &url,
        "--vus",
        "2",
        "--duration",
        "1s",
        "--load-profile",
        "fixed",
    ];
    let pass = lab(&[
        &base[..],
        &["--threshold", "p95<5s", "--threshold", "errors<1%"],
    ]
    .concat());
    let text = String::from_utf8_lossy(&pass.stdout);
    assert_eq!(pass.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("Threshold ✓ pass").count(), 2, "{text}");
    assert!(text.contains("All thresholds passed."), "{text}");

    let mut failing = base.to_vec();
    failing.extend([
        "--threshold",
        "rps>1000000",
        "--threshold",
        "p95<5s",
        "-o",
        "json",
    ]);
    let fail = lab(&failing);
    assert_eq!(
        fail.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&fail.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&fail.stdout).unwrap();
    assert_eq!(json["thresholds_passed"], false);
    let checked = json["runs"][0]["thresholds"].as_array().unwrap();
    assert_eq!(checked.len(), 2);
    assert_eq!(checked[0]["expression"], "rps>1000000");
    assert_eq!(
        (
            checked[0]["passed"].as_bool(),
            checked[1]["passed"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert!(checked[0]["actual"].as_f64().unwrap() > 0.0);

    let bad = lab(&[&base[..], &["--threshold", "p95<fast"]].concat());
    assert_eq!(
        bad.status.code(),
        Some(2),
        "clap refuses a malformed threshold"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Samples spread over workers, each recorder serialized and read back, then merged: exactly
    /// the counts, and the same percentiles, as one recorder fed every sample.
    #[test]
    fn merged_worker_histograms_equal_one_histogram(
        samples in prop::collection::vec((1u64..60_000_000, 0u8..4, 0u32..8), 1..400),
        workers in 1usize..6,
    ) {
        let mut whole = Recorder::new();
        let mut parts: Vec<Recorder> = (0..workers).map(|_| Recorder::new()).collect();
        for (i, &(us, kind, who)) in samples.iter().enumerate() {
            let outcome = match kind {
                0 | 1 => Outcome::Ok,
                2 => Outcome::Status(500),
                _ => Outcome::FunctionError("BadRequest".into()),
            };
            let latency = Duration::from_micros(us);
            whole.record(&outcome, latency, i % 3 != 0);
            parts[who as usize % workers].record(&outcome, latency, i % 3 != 0);
        }
        let mut merged = Recorder::new();
        for p in &parts {
            let wire: RecorderWire = serde_json::from_str(
                &serde_json::to_string(&RecorderWire::from_recorder(p)).unwrap(),
            )
            .unwrap();
            merged.merge(&wire.to_recorder().unwrap());
        }
        let window = (0.0, 10.0);
        let (a, b) = (whole.summary(Duration::from_secs(10), window, 0), merged.summary(Duration::from_secs(10), window, 0));
        prop_assert_eq!((a.requests, a.ok, a.errors, a.window_requests), (b.requests, b.ok, b.errors, b.window_requests));
        prop_assert_eq!(&a.latency, &b.latency);
        prop_assert_eq!(&a.ok_latency, &b.ok_latency);
        prop_assert_eq!(whole.errors().http_status, merged.errors().http_status);
        prop_assert_eq!(whole.errors().function_errors, merged.errors().function_errors);
        let (hw, hm) = (whole.all_latency(), merged.all_latency());
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            let (x, y) = (hw.value_at_quantile(q), hm.value_at_quantile(q));
            // Same buckets, so the same value; HDR's 3 digits would allow 0.1%.
            prop_assert!(x == y && hw.equivalent(x, y), "q {}: {} vs {}", q, x, y);
        }
        prop_assert_eq!(hw.len(), samples.len() as u64);
    }
}
