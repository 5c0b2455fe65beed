//! The tutorial's steps, shared by `lab tutorial` and `lab tutorial --compare-handlers`: up's
//! options, the sample calls, the tune, the load test, down.

use std::sync::Arc;

use clap::Parser;
use serde_json::Value;

use crate::call::Via;
use crate::cli::TutorialArgs;
use crate::commands::{call::Target, down};
use crate::control::lambda::LambdaTarget;
use crate::output::Output;
use crate::stack::function::Language;
use crate::stack::Stack;

#[derive(Parser)]
struct TuneLine {
    #[command(flatten)]
    args: crate::tune::TuneArgs,
}

#[derive(Parser)]
struct LoadLine {
    #[command(flatten)]
    args: crate::load::LoadArgs,
}

/// A step's heading (text output only).
pub(super) fn section(title: &str, output: Output) {
    if output == Output::Text {
        println!("\n== {title} ==");
    }
}

/// The tutorial's sample calls, in its order; each must succeed.
pub(super) async fn sample_calls(stack: &Stack, output: Output) -> anyhow::Result<Vec<Value>> {
    let target = Target::resolve(stack, Via::Http, None).await?;
    let table = &stack.names.table;
    let events = [
        crate::call::event::echo(
            serde_json::json!({"somekey1": "somevalue1", "somekey2": "somevalue2"}),
        ),
        crate::call::event::create(table, "1234ABCD", None, &["number:=5".to_string()])?,
        crate::call::event::create(table, "1", Some("Bob"), &[])?,
        crate::call::event::read(table, "1"),
        crate::call::event::list(table, None, None),
    ];
    let mut replies = Vec::new();
    for event in events {
        let reply = target.send(&event).await?;
        if let Some((kind, message)) = reply.error() {
            anyhow::bail!(
                "sample call {} failed: {kind}: {message}",
                event["operation"]
            );
        }
        let body = reply.json().unwrap_or_default();
        if output == Output::Text {
            println!("{:<7} -> {body}", event["operation"].as_str().unwrap_or(""));
        }
        replies.push(body);
    }
    Ok(replies)
}

/// Power tuning of the stack's function at 128..1024 MB (the tutorial's strategy, cost), with its
/// HTML report at `report`.
pub(super) async fn tune_step(
    stack: &Stack,
    num: u32,
    report: &std::path::Path,
    json: bool,
) -> anyhow::Result<crate::tune::TuneResult> {
    let target = Arc::new(LambdaTarget::new(
        stack.clients.lambda.clone(),
        &stack.names.function,
    ));
    let (num, report) = (num.to_string(), report.display().to_string());
    let tune =
        TuneLine::try_parse_from(["tune", "--num", &num, "--parallel", "--report", &report])?;
    let event = crate::session::default_event(stack);
    let cfg = crate::tune::TuneConfig::resolve(&tune.args, event)?;
    crate::tune::run(&cfg, (target.clone(), target), stack.region(), json).await
}

/// The tutorial's load test through the stage URL at each of `memory` (MB, comma-separated), with
/// its HTML report at `report`.
pub(super) async fn load_step(
    stack: &Stack,
    args: &TutorialArgs,
    url: String,
    memory: &str,
    report: &std::path::Path,
    json: bool,
) -> anyhow::Result<crate::load::LoadResult> {
    let target = Arc::new(LambdaTarget::new(
        stack.clients.lambda.clone(),
        &stack.names.function,
    ));
    let (vus, report) = (args.vus.to_string(), report.display().to_string());
    let mut line = vec![
        "load",
        "--vus",
        &vus,
        "--duration",
        &args.duration,
        "--memory",
        memory,
        "--report",
        &report,
    ];
    if args.compare_handlers {
        // The latency target, checked (and reported) by the load test itself.
        line.extend(["--threshold", &args.target.expression]);
    }
    let load = LoadLine::try_parse_from(line)?;
    crate::load::run(&load.args, url, Some(target), &stack.names.table, json).await
}

/// `up`'s options for the tutorial: the console's defaults but a 30 s timeout (the console's 3 s
/// is too short for a cold start at 128 MB under a load test).
pub(super) fn up_args(args: &TutorialArgs, handler: Language) -> crate::cli::UpArgs {
    crate::cli::UpArgs {
        memory: 128,
        timeout: 30,
        arch: crate::arch::Arch::X86_64,
        zip: None,
        bootstrap: (handler == Language::Rust).then(|| args.bootstrap.clone()).flatten(),
        force: false,
        handler: Some(handler),
    }
}

/// Removes the stack (the tutorial's last step) unless `--keep`.
pub(super) async fn down_step(
    stack: &Stack,
    args: &TutorialArgs,
    output: Output,
) -> anyhow::Result<()> {
    if args.keep {
        return Ok(());
    }
    section("5. down", output);
    let down_args = crate::cli::DownArgs {
        yes: true,
        keep_table: false,
        force: false,
    };
    down::run(stack, &down_args, output).await?;
    Ok(())
}
