//! Benchmark driver: plays the Lambda service for one or more function processes and times them.
//!
//! ```text
//! runtime_bench --endpoint http://127.0.0.1:PORT [--invocations 100] [--warmup 5] [--cold-runs 5]
//!               [--sizes 10,100,1000] --fn rust=target/lambda/bootstrap
//!               --fn "python=VENV/bin/python -m awslambdaric lambda_function.lambda_handler"
//! ```
//!
//! It seeds tables `bench-<size>` on the DynamoDB endpoint (moto), then for each function measures:
//! cold start (process spawn to the first answered `read`, and to its first poll for work), and warm
//! per-invocation times of `read` and `list` per table size, as seen by the Runtime API (event queued to
//! answer posted), plus peak RSS. It prints a table with ratios against the first function and one JSON
//! line per function. Figures only, no assertions: `scripts/bench-handler.sh` runs it.
//!
//! The function processes inherit this process's environment plus what Lambda sets (`AWS_LAMBDA_*`,
//! region, dummy credentials unless set, `AWS_ENDPOINT_URL`), so both runtimes reach the same moto.

use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use dynamodb::{client_for, tutorial_table};
use handler::runtime_api::{Outcome, RuntimeApi};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

// The tests' DynamoDB set-up: the same client configuration and table shape as they use.
#[allow(dead_code)]
#[path = "../tests/common/dynamodb.rs"]
mod dynamodb;

const TIMEOUT: Duration = Duration::from_secs(120);

struct Args {
    endpoint: String,
    invocations: usize,
    warmup: usize,
    cold_runs: usize,
    sizes: Vec<usize>,
    fns: Vec<(String, Vec<String>)>,
}

fn usage(problem: &str) -> ! {
    eprintln!("runtime_bench: {problem}");
    eprintln!(
        "usage: runtime_bench --endpoint URL [--invocations N] [--warmup N] [--cold-runs N] \
         [--sizes 10,100,1000] --fn LABEL=COMMAND [--fn LABEL=COMMAND ...]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        endpoint: String::new(),
        invocations: 100,
        warmup: 5,
        cold_runs: 5,
        sizes: vec![10, 100, 1000],
        fns: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let number = |text: String| {
            text.parse::<usize>()
                .unwrap_or_else(|_| usage(&format!("not a number: {text}")))
        };
        match flag.as_str() {
            "--endpoint" => args.endpoint = value(),
            "--invocations" => args.invocations = number(value()).max(1),
            "--warmup" => args.warmup = number(value()),
            "--cold-runs" => args.cold_runs = number(value()).max(1),
            "--sizes" => {
                args.sizes = value().split(',').map(|s| number(s.trim().to_owned())).collect()
            }
            "--fn" => {
                let spec = value();
                let Some((label, cmd)) = spec.split_once('=') else {
                    usage("--fn takes LABEL=COMMAND")
                };
                let cmd: Vec<String> = cmd.split_whitespace().map(str::to_owned).collect();
                if cmd.is_empty() {
                    usage("--fn has an empty command");
                }
                args.fns.push((label.to_owned(), cmd));
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if args.endpoint.is_empty() || args.fns.is_empty() {
        usage("--endpoint and at least one --fn are required");
    }
    args
}

fn table_name(size: usize) -> String {
    format!("bench-{size}")
}

/// Items are strings only: the tutorial's Python handler cannot return numbers (Decimal), and the point
/// is to time both handlers on work both can do.
async fn seed(client: &aws_sdk_dynamodb::Client, size: usize) -> Result<(), String> {
    let table = table_name(size);
    let created = tutorial_table(client, &table).send().await;
    if let Err(e) = created {
        use aws_sdk_dynamodb::error::ProvideErrorMetadata;
        if e.code() == Some("ResourceInUseException") {
            return Ok(()); // seeded by an earlier run against the same moto
        }
        return Err(format!("create {table}: {e:?}"));
    }
    let ids: Vec<usize> = (0..size).collect();
    for chunk in ids.chunks(25) {
        let writes = chunk
            .iter()
            .map(|i| {
                let item = [
                    ("id", format!("item-{i:05}")),
                    ("name", format!("Name number {i}")),
                    ("note", "x".repeat(64)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
                .collect();
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(|e| e.to_string())?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, String>>()?;
        client
            .batch_write_item()
            .request_items(&table, writes)
            .send()
            .await
            .map_err(|e| format!("seed {table}: {e:?}"))?;
    }
    Ok(())
}

fn spawn(cmd: &[String], api: &RuntimeApi, endpoint: &str) -> Result<Child, String> {
    let mut command = Command::new(&cmd[0]);
    command
        .args(&cmd[1..])
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        if std::env::var_os(var).is_none() {
            command.env(var, "test");
        }
    }
    command.spawn().map_err(|e| format!("spawn {}: {e}", cmd.join(" ")))
}

fn read_event(size: usize) -> Value {
    json!({"operation": "read", "tableName": table_name(size), "payload": {"Key": {"id": "item-00000"}}})
}

fn list_event(size: usize) -> Value {
    json!({"operation": "list", "tableName": table_name(size), "payload": {}})
}

/// The CPU time the process's threads have had, in milliseconds (their schedstat; Linux only).
fn cpu_ms(child: &Child) -> Option<f64> {
    let pid = child.id()?;
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut ns = 0u64;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        ns += stat.split_whitespace().next().and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    }
    Some(ns as f64 / 1e6)
}

/// Peak resident set size in KiB, from /proc (Linux only; None elsewhere).
fn peak_rss_kib(child: &Child) -> Option<u64> {
    let pid = child.id()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median, p90 and mean.
fn summary(mut samples: Vec<f64>) -> (f64, f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    (at(0.5), at(0.9), mean)
}

async fn start_api() -> Result<RuntimeApi, String> {
    RuntimeApi::start()
        .await
        .map_err(|e| format!("cannot start the runtime API: {e}"))
}

/// An outcome's body, for an error message.
fn text(outcome: &Outcome) -> String {
    String::from_utf8_lossy(outcome.body()).into_owned()
}

async fn stop(mut child: Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

/// One function's figures, in the order they were measured: metric name -> milliseconds (or MiB).
type Figures = Vec<(String, f64)>;

fn figure(figures: &Figures, metric: &str) -> Option<f64> {
    figures.iter().find(|(m, _)| m == metric).map(|(_, v)| *v)
}

async fn measure(args: &Args, cmd: &[String]) -> Result<Figures, String> {
    let mut figures = Figures::new();
    let first_size = args.sizes.first().copied().unwrap_or(10);

    let mut cold = Vec::new();
    let mut init = Vec::new();
    for _ in 0..args.cold_runs {
        let api = start_api().await?;
        let started = Instant::now();
        let child = spawn(cmd, &api, &args.endpoint)?;
        // Queued before the process is up, as Lambda does for the invocation that triggers a cold start.
        let outcome = api.invoke(read_event(first_size).to_string(), TIMEOUT).await?;
        let total = started.elapsed();
        if let Outcome::Error { .. } = outcome {
            return Err(format!("cold read failed: {}", text(&outcome)));
        }
        cold.push(ms(total));
        if let Some(polled) = api.first_poll() {
            init.push(ms(polled.duration_since(started)));
        }
        stop(child).await;
    }
    let (median, _, _) = summary(cold);
    figures.push(("cold start to first response (median)".into(), median));
    let (median, _, _) = summary(init);
    figures.push(("init to first poll (median)".into(), median));

    let api = start_api().await?;
    let child = spawn(cmd, &api, &args.endpoint)?;
    for size in &args.sizes {
        for (op, event) in [("read", read_event(*size)), ("list", list_event(*size))] {
            let body = event.to_string();
            for _ in 0..args.warmup {
                api.invoke(body.clone(), TIMEOUT).await?;
            }
            let mut samples = Vec::with_capacity(args.invocations);
            let cpu_before = cpu_ms(&child);
            for _ in 0..args.invocations {
                let started = Instant::now();
                let outcome = api.invoke(body.clone(), TIMEOUT).await?;
                samples.push(ms(started.elapsed()));
                if let Outcome::Error { .. } = outcome {
                    return Err(format!("{op} on {size} items failed: {}", text(&outcome)));
                }
            }
            let (median, p90, _) = summary(samples);
            figures.push((format!("warm {op}, {size:>4} items (median)"), median));
            figures.push((format!("warm {op}, {size:>4} items (p90)"), p90));
            // The function's own CPU per call: the backend's time is in the wall figures, not here.
            if let (Some(before), Some(after)) = (cpu_before, cpu_ms(&child)) {
                let per_call = (after - before) / args.invocations.max(1) as f64;
                figures.push((format!("warm {op}, {size:>4} items (CPU)"), per_call));
            }
        }
    }
    if let Some(kib) = peak_rss_kib(&child) {
        figures.push(("peak RSS (MiB)".into(), kib as f64 / 1024.0));
    }
    stop(child).await;
    Ok(figures)
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let client = client_for(&args.endpoint);
    for size in &args.sizes {
        if let Err(e) = seed(&client, *size).await {
            eprintln!("runtime_bench: {e}");
            std::process::exit(1);
        }
    }

    let mut results: Vec<(String, Option<Figures>)> = Vec::new();
    for (label, cmd) in &args.fns {
        eprintln!("runtime_bench: measuring {label} ({})", cmd.join(" "));
        match measure(&args, cmd).await {
            Ok(f) => results.push((label.clone(), Some(f))),
            Err(e) => {
                eprintln!("runtime_bench: {label}: {e}");
                results.push((label.clone(), None));
            }
        }
    }

    let mut metrics: Vec<String> = Vec::new();
    for (metric, _) in results.iter().filter_map(|(_, f)| f.as_ref()).flatten() {
        if !metrics.contains(metric) {
            metrics.push(metric.clone());
        }
    }
    let base = results.first().and_then(|(_, f)| f.clone());
    print!("{:<42}", "metric (ms unless noted)");
    for (label, _) in &results {
        print!("{label:>12}");
    }
    for (label, _) in results.iter().skip(1) {
        print!("{:>14}", format!("{label}/{}", results[0].0));
    }
    println!();
    for metric in &metrics {
        print!("{metric:<42}");
        for (_, f) in &results {
            match f.as_ref().and_then(|f| figure(f, metric)) {
                Some(v) => print!("{v:>12.2}"),
                None => print!("{:>12}", "-"),
            }
        }
        for (_, f) in results.iter().skip(1) {
            let ratio = f
                .as_ref()
                .and_then(|f| figure(f, metric))
                .zip(base.as_ref().and_then(|b| figure(b, metric)))
                .map(|(v, b)| v / b);
            match ratio {
                Some(r) if r.is_finite() => print!("{:>13.1}x", r),
                _ => print!("{:>14}", "-"),
            }
        }
        println!();
    }
    for (label, f) in &results {
        let figures: serde_json::Map<String, Value> =
            f.iter().flatten().map(|(m, v)| (m.clone(), json!(v))).collect();
        println!("{}", json!({"function": label, "figures": figures}));
    }
}
