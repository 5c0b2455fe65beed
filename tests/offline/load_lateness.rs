//! The open model's own lateness through the real binary: `lab load --url --rate` against a loopback
//! server reports how late it sent each arrival (`summary.generator` in `-o json`, by stage with
//! `-v`), and a generator held up (its process stopped now and then with SIGSTOP, as a busy machine
//! would starve it) says so beside the figures, and leaves a latency threshold only its lateness
//! decides undecided (exit 3).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;

/// A server answering every POST at once.
async fn serve() -> String {
    let app = Router::new().route("/", post(|| async { r#"{"Items":[]}"# }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

fn open_model(url: &str, rate: &str, duration: &str) -> Vec<String> {
    [
        "load",
        "--url",
        url,
        "--vus",
        "5",
        "--rate",
        rate,
        "--duration",
        duration,
        "--load-profile",
        "fixed",
    ]
    .map(String::from)
    .to_vec()
}

fn ms(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a figure: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_carries_the_generators_lateness_by_stage() {
    let url = serve().await;
    let mut args = open_model(&url, "200", "2s");
    args.extend(["-o", "json"].map(String::from));
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_lab")).args(&args).output().expect("run lab")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &json["runs"][0]["summary"];
    // 400 arrivals over 2 s, each sent or dropped.
    let sent = s["requests"].as_u64().unwrap();
    assert_eq!(sent + s["dropped_iterations"].as_u64().unwrap(), 400, "{s}");
    let g = &s["generator"];
    for stage in [
        "own",
        "clock",
        "hand_off",
        "dispatch",
        "vu_wait",
        "net_latency",
    ] {
        for figure in [
            "avg_ms", "min_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms",
        ] {
            assert!(ms(&g[stage][figure]) >= 0.0, "{stage}.{figure}: {g}");
        }
    }
    // Latency counts from the intended send, so it holds the generator's lateness: no percentile of
    // the lateness exceeds the latency's (the lateness is kept to 2 significant digits: 1%).
    for p in ["p50_ms", "p99_ms", "max_ms"] {
        assert!(
            ms(&g["own"][p]) <= ms(&s[p]) * 1.01 + 0.001,
            "{p}: own lateness above latency: {g}"
        );
        assert!(
            ms(&g["net_latency"][p]) <= ms(&s[p]) * 1.001 + 0.001,
            "{p}: {g}"
        );
    }
    // `late` is present in the document either way (null when on schedule).
    assert!(g["late"].is_null() || g["late"].is_string(), "{g}");
    assert_generator_cpu(&json["runs"][0]);
    // The closed model has no intended send times, hence no lateness.
    let closed = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(["load", "--url", &url, "--vus", "2", "--duration", "1s"])
            .args(["--load-profile", "fixed", "-o", "json"])
            .output()
            .expect("run lab")
    })
    .await
    .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&closed.stdout).unwrap();
    assert!(json["runs"][0]["summary"]["generator"].is_null(), "{json}");
    // Its threads' wait for a core is measured all the same.
    assert_generator_cpu(&json["runs"][0]);
}

/// `--arrival-group`: the clock holds each arrival up to the hold to send it with the ones after it,
/// and the hold is counted (in the latency, as the clock's lateness) and said (the opening line,
/// `arrival_group_ms`). The same rate without it sends each arrival at its time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrival_group_holds_arrivals_and_counts_the_hold() {
    let url = serve().await;
    let run = |extra: &'static [&'static str]| {
        let mut args = open_model(&url, "500", "2s");
        args.extend(extra.iter().map(|a| a.to_string()));
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_lab")).args(&args).output().expect("run lab")
        })
    };
    let grouped = run(&["--arrival-group", "10ms", "-o", "json"]).await.unwrap();
    let alone = run(&["-o", "json"]).await.unwrap();
    let said = run(&["--arrival-group", "10ms"]).await.unwrap();
    for out in [&grouped, &alone, &said] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let doc = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (grouped, alone) = (doc(&grouped), doc(&alone));
    assert_eq!(grouped["arrival_group_ms"], 10.0, "{grouped}");
    assert_eq!(alone["arrival_group_ms"], 0.0, "{alone}");
    let clock =
        |d: &serde_json::Value, p: &str| ms(&d["runs"][0]["summary"]["generator"]["clock"][p]);
    // 500 arrivals a second held up to 10 ms: groups of about five, the first held about 10 ms,
    // the last hardly at all, so the hold is spread evenly over 0..10 ms (p50 about 5, p90 about 9),
    // on top of whatever the clock's wake-up costs without a hold.
    assert!(
        clock(&grouped, "p50_ms") >= clock(&alone, "p50_ms") + 2.5,
        "{grouped}\n{alone}"
    );
    assert!(clock(&grouped, "p90_ms") >= 6.0, "{grouped}");
    // Counted: the hold is in the latency, whose p50 is at least the hold's.
    let s = &grouped["runs"][0]["summary"];
    assert!(ms(&s["p50_ms"]) >= clock(&grouped, "p50_ms") * 0.99, "{s}");
    let stderr = String::from_utf8_lossy(&said.stderr);
    assert!(
        stderr.contains("arrivals sent in groups, each held up to 10.0 ms"),
        "{stderr}"
    );
}

/// The run's `generator_cpu` as the kernel counted it (this suite runs on Linux): a wait within
/// the run's length per thread, and the sentence exactly when it says the generator starved.
fn assert_generator_cpu(run: &serde_json::Value) {
    let c = &run["generator_cpu"];
    let elapsed_ms = ms(&run["summary"]["elapsed_s"]) * 1000.0;
    let waited = ms(&c["waited_ms"]);
    // At most every thread of the process waiting all along (a few dozen threads at most).
    assert!((0.0..=elapsed_ms * 64.0).contains(&waited), "{c}");
    assert!((ms(&c["share"]) - waited / elapsed_ms).abs() < 0.05, "{c}");
    assert!(
        ms(&c["per_run_ms"]) >= 0.0 && ms(&c["per_run_ms"]) <= waited,
        "{c}"
    );
    match c["starved"].as_str() {
        Some(s) => assert!(s.starts_with("generator starved of CPU"), "{c}"),
        None => assert!(c["starved"].is_null(), "{c}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generator_held_up_says_so_and_its_lateness_decides_no_threshold() {
    let url = serve().await;
    let mut args = open_model(&url, "200", "4s");
    // Fails on the latency as reported, holds net of the generator's own lateness (the server
    // answers at once). p90, not p99: 40% of the arrivals fall in a stop and are sent up to 200 ms
    // late, so the reported p90 is about 150 ms. Net of that, the catch-up after each stop (forty
    // arrivals on five VUs) stays far below 100 ms even on a busy machine. A p99 also counts the few
    // requests a stop froze mid-answer: their wait is the generator's too, but it is not a late
    // send. With the rest of the suite keeping answers at about 6 ms, a stop caught about one each,
    // and p99 net came to 201 ms (once, in a clean clone's first run).
    args.extend(["--threshold", "p90<100ms", "-v"].map(String::from));
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(&args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run lab");
        let pid = child.id() as libc::pid_t;
        let signal = |sig| {
            // SAFETY: kill(2) on our own child's pid, which it keeps until we wait on it.
            unsafe { libc::kill(pid, sig) };
        };
        // Stop the generator's process 200 ms in every 500 ms while it runs: its clock, scheduler
        // and VUs all stand still, as on a machine too busy to run them, while the server (this
        // process) goes on answering.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(300));
            if child.try_wait().unwrap().is_some() {
                break;
            }
            signal(libc::SIGSTOP);
            std::thread::sleep(Duration::from_millis(200));
            signal(libc::SIGCONT);
        }
        child.wait_with_output().expect("lab's output")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let sentence = text
        .lines()
        .find(|l| l.starts_with("generator late by p99 "))
        .unwrap_or_else(|| panic!("no lateness sentence in:\n{text}"));
    // "generator late by p99 X ms: latency above X ms may be the generator's", X the same twice.
    let x = sentence
        .strip_prefix("generator late by p99 ")
        .and_then(|r| r.split_once(" ms: latency above "))
        .unwrap_or_else(|| panic!("{sentence}"));
    assert_eq!(
        x.1,
        format!("{} ms may be the generator's", x.0),
        "{sentence}"
    );
    let late_ms: f64 = x.0.parse().unwrap();
    assert!(late_ms >= 20.0, "held up 200 ms at a time: {sentence}");
    assert!(
        text.contains("by stage, p99: clock "),
        "-v shows the stages:\n{text}"
    );
    assert!(text.contains("Threshold ? undecided  p90<100ms"), "{text}");
    assert_eq!(
        out.status.code(),
        Some(3),
        "an undecided threshold exits 3:\n{text}"
    );
}
