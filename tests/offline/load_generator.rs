//! The load generator against a real HTTP server on 127.0.0.1 (axum), and over a fake function for
//! `--via lambda` and `--memory`. Timing assertions use generous bounds only.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use async_trait::async_trait;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use lab::control::{FunctionControl, Invocation};
use lab::load::stop_signal;
use lab::load::{LoadArgs, LoadResult, Profile, Via};

/// How the test server answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// 200 with a `list`-like body after `delay`.
    Ok { delay: Duration },
    /// By arrival order n: n % 4 == 1 -> 429, n % 4 == 2 -> 200 with a Lambda error document,
    /// otherwise 200.
    Mixed,
    /// Stalls for the first 500 ms of every second since `since` (a request arriving then is
    /// answered at the half-second mark), answers at once otherwise: a server pausing once a second.
    Stall { since: Instant },
}

#[derive(Clone)]
struct Server {
    behaviour: Behaviour,
    count: Arc<AtomicU64>,
}

async fn handle(State(s): State<Server>, body: String) -> impl IntoResponse {
    assert!(body.contains("\"operation\""), "unexpected body {body}");
    let n = s.count.fetch_add(1, Ordering::SeqCst);
    match s.behaviour {
        Behaviour::Ok { delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            (
                StatusCode::OK,
                r#"{"Items":[],"Count":0,"ScannedCount":0}"#.to_string(),
            )
        }
        Behaviour::Stall { since } => {
            let into = since.elapsed();
            let fraction = into.as_secs_f64().fract();
            if fraction < 0.5 {
                let release =
                    since + Duration::from_secs(into.as_secs()) + Duration::from_millis(500);
                tokio::time::sleep_until(release.into()).await;
            }
            (StatusCode::OK, r#"{"Items":[]}"#.to_string())
        }
        Behaviour::Mixed => match n % 4 {
            1 => (
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"message":"Too Many Requests"}"#.to_string(),
            ),
            2 => (
                StatusCode::OK,
                r#"{"errorType":"BadRequest","errorMessage":"BadRequest: x"}"#.to_string(),
            ),
            _ => (StatusCode::OK, r#"{"Items":[],"Count":0}"#.to_string()),
        },
    }
}

/// Starts a server on an ephemeral port; returns its URL and its request counter.
async fn serve(behaviour: Behaviour) -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let app = Router::new().route("/prod/DynamoDBManager", post(handle)).with_state(Server {
        behaviour,
        count: count.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/prod/DynamoDBManager"), count)
}

/// A server answering every request after `delay_ms` with a `list`-like body.
fn ok_after(delay_ms: u64) -> Behaviour {
    Behaviour::Ok {
        delay: Duration::from_millis(delay_ms),
    }
}

/// A load run with the arguments `set` gives against a server behaving as `behaviour`: the result,
/// and how many requests the server saw.
async fn run_against(
    behaviour: Behaviour,
    set: impl FnOnce(&mut LoadArgs),
) -> (LoadResult, Arc<AtomicU64>) {
    let (url, served) = serve(behaviour).await;
    let r = lab::load::run(&load(set), url, None, "t", true).await;
    (r.unwrap(), served)
}

/// The CLI's defaults, but a fixed load (every VU from the start) unless `extra` says otherwise,
/// so that counts do not depend on a ramp.
fn load(extra: impl FnOnce(&mut LoadArgs)) -> LoadArgs {
    let mut a = LoadArgs {
        profile: Profile::Fixed,
        ..LoadArgs::default()
    };
    extra(&mut a);
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_model_sends_exactly_max_requests() {
    let started = Instant::now();
    let (r, served) = run_against(ok_after(0), |a| {
        a.vus = 4;
        a.duration = Duration::from_secs(30);
        a.max_requests = Some(200);
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "max-requests should end the run early"
    );
    let s = &r.runs[0].summary;
    assert_eq!((s.requests, s.ok, s.errors), (200, 200, 0));
    assert_eq!(served.load(Ordering::SeqCst), 200);
    assert!(
        s.latency.p50_ms.unwrap() > 0.0 && s.latency.p99_ms.unwrap() >= s.latency.p50_ms.unwrap()
    );
    assert!(s.throughput_rps > 0.0);
    // The per-second series adds up to the total.
    assert_eq!(
        r.runs[0].series.iter().map(|p| p.requests).sum::<u64>(),
        200
    );
    assert_eq!(
        r.runs[0].histogram.iter().map(|b| b.count).sum::<u64>(),
        200
    );
    assert_eq!(r.model, "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_accounted_by_kind() {
    let (r, _) = run_against(Behaviour::Mixed, |a| {
        a.vus = 3;
        a.duration = Duration::from_secs(30);
        a.max_requests = Some(200);
        a.payload = Some("ping".into());
    })
    .await;
    let run = &r.runs[0];
    // 200 arrivals: n % 4 == 1 -> 50 x 429, n % 4 == 2 -> 50 function errors, 100 fine.
    assert_eq!(
        (run.summary.requests, run.summary.ok, run.summary.errors),
        (200, 100, 100)
    );
    assert_eq!(run.errors.http_status.get(&429), Some(&50));
    assert_eq!(run.errors.function_errors.get("BadRequest"), Some(&50));
    assert_eq!((run.errors.timeouts, run.errors.connection), (0, 0));
    assert_eq!(run.summary.error_rate, 0.5);
    assert!(run.errors.example.is_some());
    assert_eq!(run.series.iter().map(|p| p.errors).sum::<u64>(), 100);
}

/// An open-model run: `rate` arrivals a second for `secs` seconds, taken by `vus` VUs.
async fn open_run(behaviour: Behaviour, vus: u32, rate: f64, secs: u64) -> LoadResult {
    let (result, _) = run_against(behaviour, |a| {
        a.vus = vus;
        a.rate = Some(rate);
        a.duration = Duration::from_secs(secs);
    })
    .await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_keeps_the_rate() {
    let r = open_run(ok_after(2), 10, 50.0, 2).await;
    let s = &r.runs[0].summary;
    // Arrivals at k / 50 s for k = 0..=99 (those before the 2 s end): 100 in all, each sent or dropped.
    assert_eq!(s.requests + s.dropped_iterations, 100);
    assert!((80..=100).contains(&s.requests), "{} requests", s.requests);
    assert!(
        (25.0..=75.0).contains(&s.throughput_rps),
        "{} req/s",
        s.throughput_rps
    );
    assert_eq!(r.model, "open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_drops_arrivals_when_no_vu_is_free_and_counts_waiting() {
    // One VU, 100 arrivals/s, each request taking 50 ms: the VU can take at most ~20 of the 100.
    let r = open_run(ok_after(50), 1, 100.0, 1).await;
    let s = &r.runs[0].summary;
    assert_eq!(s.requests + s.dropped_iterations, 100);
    assert!(
        s.dropped_iterations >= 50,
        "{} dropped",
        s.dropped_iterations
    );
    assert!(s.requests >= 5, "{} sent", s.requests);
    assert!(
        s.latency.p50_ms.unwrap() >= 45.0,
        "latency includes the server's 50 ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_counts_a_stall_from_the_intended_send_time() {
    // 100 arrivals/s against a server that stalls the first half of every second, 20 VUs: during
    // a stall the 20 VUs are all held and later arrivals wait for one. Counted from the intended
    // send time (wrk2, oha --latency-correction), every arrival in a stall waits until its end:
    // half the requests take U(0, 500 ms), so p75 is about 250 ms and p90 about 400 ms. Counted
    // from the actual send, the arrivals sent at the release would look instant and p75 near 0.
    let (r, _) = run_against(
        Behaviour::Stall {
            since: Instant::now(),
        },
        |a| {
            a.vus = 20;
            a.rate = Some(100.0);
            a.duration = Duration::from_secs(3);
            a.thresholds = vec![
                lab::load::threshold::parse_threshold("p(75)>=150ms").unwrap(),
                lab::load::threshold::parse_threshold("p(25)<50ms").unwrap(),
            ];
        },
    )
    .await;
    let run = &r.runs[0];
    let s = &run.summary;
    assert_eq!(s.requests + s.dropped_iterations, 300);
    assert_eq!((s.dropped_iterations, s.errors), (0, 0), "{s:?}");
    assert_eq!(run.thresholds.len(), 2);
    for t in &run.thresholds {
        assert!(t.passed, "{}: {}", t.expression, t.shown);
    }
    let p90 = s.latency.p90_ms.unwrap();
    assert!(
        (300.0..560.0).contains(&p90),
        "p90 {p90} ms should be the stall's"
    );
    assert_eq!(r.thresholds_passed, Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramp_up_adds_vus_over_time() {
    let (r, _) = run_against(ok_after(5), |a| {
        a.vus = 4;
        a.profile = Profile::RampUp;
        a.duration = Duration::from_secs(5);
        a.ramp_up = Some(Duration::from_secs(3));
    })
    .await;
    let series = &r.runs[0].series;
    assert!(series.len() >= 4, "{series:?}");
    let active: Vec<u32> = series.iter().take(4).map(|p| p.active_vus).collect();
    // From 1 VU, one more each second: [1, 2, 3, 4].
    assert!(active.windows(2).all(|w| w[0] <= w[1]), "{active:?}");
    // Each VU joins when the curve says (timers never fire early): exactly one more per second.
    assert_eq!(active, vec![1, 2, 3, 4], "{series:?}");
    // More VUs, more requests per second (each VU is limited by the 5 ms server).
    assert!(series[3].requests > series[0].requests, "{series:?}");
    assert_eq!(r.ramp_up_s, Some(3.0));
    // Throughput is counted after the ramp-up only.
    assert_eq!(r.runs[0].summary.window_from_s, 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_counted() {
    let (r, _) = run_against(ok_after(5000), |a| {
        a.vus = 1;
        a.max_requests = Some(2);
        a.timeout = Duration::from_millis(200);
    })
    .await;
    assert_eq!(r.runs[0].errors.timeouts, 2);
    assert_eq!(r.runs[0].summary.ok, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_returns_the_results_so_far() {
    let (url, _) = serve(ok_after(5)).await;
    let args = load(|a| {
        a.vus = 2;
        a.duration = Duration::from_secs(60);
    });
    let (stop, _) = stop_signal();
    let stop = Arc::new(stop);
    let trigger = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.stop();
    });
    let started = Instant::now();
    let r = lab::load::run_with_stop(&args, url, None, "t", true, &stop).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(r.interrupted && r.runs[0].interrupted);
    assert!(r.runs[0].summary.requests > 0);
}

/// A function for `--via lambda` and `--memory`: remembers its memory; every 4th call is a
/// function error.
struct Fake {
    memory: Mutex<u32>,
    sets: Mutex<Vec<u32>>,
    calls: AtomicU32,
}

#[async_trait]
impl FunctionControl for Fake {
    fn name(&self) -> &str {
        "FakeFunction"
    }
    async fn architecture(&self) -> Result<lab::arch::Arch> {
        Ok(lab::arch::Arch::Arm64)
    }
    async fn memory(&self) -> Result<u32> {
        Ok(*self.memory.lock().unwrap())
    }
    async fn set_memory(&self, mb: u32) -> Result<()> {
        self.sets.lock().unwrap().push(mb);
        *self.memory.lock().unwrap() = mb;
        Ok(())
    }
    async fn invoke(&self, payload: &[u8]) -> Result<Invocation> {
        assert!(payload.starts_with(b"{"));
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(if n % 4 == 3 {
            Invocation {
                body: br#"{"errorType":"NotFound","errorMessage":"NotFound: no item"}"#.to_vec(),
                function_error: Some("Unhandled".into()),
                log_tail: String::new(),
            }
        } else {
            Invocation {
                body: br#"{"Items":[]}"#.to_vec(),
                function_error: None,
                log_tail: String::new(),
            }
        })
    }
}

fn fake(memory: u32) -> Arc<Fake> {
    Arc::new(Fake {
        memory: Mutex::new(memory),
        sets: Mutex::new(Vec::new()),
        calls: AtomicU32::new(0),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn via_lambda_invokes_the_function() {
    let f = fake(128);
    let args = load(|a| {
        a.vus = 1;
        a.via = Via::Lambda;
        a.max_requests = Some(40);
    });
    let r = lab::load::run(&args, String::new(), Some(f.clone()), "t", true).await.unwrap();
    assert_eq!(f.calls.load(Ordering::SeqCst), 40);
    assert_eq!(r.runs[0].errors.function_errors.get("NotFound"), Some(&10));
    assert_eq!(r.target, "lambda:FakeFunction");
    assert!(lab::load::run(&args, String::new(), None, "t", true).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_comparison_restores_memory_and_writes_a_self_contained_report() {
    let (url, served) = serve(ok_after(1)).await;
    let f = fake(256);
    let path = std::env::temp_dir().join(format!("lab-load-report-{}.html", std::process::id()));
    let args = load(|a| {
        a.vus = 2;
        a.max_requests = Some(50);
        a.memory = Some(vec![128, 1024]);
        a.report = Some(path.clone());
    });
    let r = lab::load::run(&args, url, Some(f.clone()), "t", false).await.unwrap();
    assert_eq!(r.runs.len(), 2);
    assert_eq!(f.sets.lock().unwrap().as_slice(), &[128, 1024, 256]);
    assert_eq!(*f.memory.lock().unwrap(), 256);
    assert_eq!(
        (r.original_memory_mb, r.restored_memory_mb),
        (Some(256), Some(256))
    );
    // A warm-up request from each of the 2 VUs per size, plus 50 measured.
    assert_eq!(served.load(Ordering::SeqCst), 2 * (2 + 50));
    assert_eq!(r.runs.len(), 2, "one run per memory size");
    assert!(r.runs.iter().all(|run| run.summary.requests == 50 && run.verdict.is_some()));

    let html = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    crate::common::html::assert_self_contained(&html);
    assert!(html.contains("id=\"load-comparison\""));
    for run in &r.runs {
        let s = &run.summary;
        let mb = run.memory_mb.unwrap();
        assert!(html.contains(&format!("data-memory=\"{mb}\"")));
        assert!(html.contains(&format!("data-p95-ms=\"{}\"", s.latency.p95_ms.unwrap())));
        assert!(html.contains(&format!("data-avg-ms=\"{}\"", s.latency.avg_ms.unwrap())));
        assert!(html.contains(&format!("data-throughput=\"{}\"", s.throughput_rps)));
    }
    assert!(html.contains("data-active-vus="));
    assert!(html.contains("<svg"));
}
