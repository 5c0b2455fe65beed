//! `lab tutorial`: the whole tutorial in one command: up, the sample calls, tune, load at 128 and
//! 1024 MB, the reports, and down unless `--keep`.

use std::sync::Arc;

use clap::Parser;
use serde_json::Value;

use crate::call::Via;
use crate::cli::{Global, TutorialArgs};
use crate::commands::{call::Target, down, up};
use crate::control::lambda::LambdaTarget;
use crate::exit::Exit;
use crate::output::Output;
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

fn section(title: &str, output: Output) {
    if output == Output::Text {
        println!("\n== {title} ==");
    }
}

/// The tutorial's sample calls, in its order; each must succeed.
async fn sample_calls(stack: &Stack, output: Output) -> anyhow::Result<Vec<Value>> {
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

/// Runs the tutorial end to end.
pub(crate) async fn run(global: &Global, args: &TutorialArgs) -> anyhow::Result<Exit> {
    let output = global.output;
    let json = output == Output::Json;
    let up_args = crate::cli::UpArgs {
        memory: 128,
        timeout: 30,
        arch: crate::arch::Arch::X86_64,
        zip: None,
        bootstrap: args.bootstrap.clone(),
        force: false,
        handler: Some(crate::stack::function::Language::Rust),
    };
    let source = up::PackageSource::prepare(&up_args, crate::stack::function::Language::Rust)?;
    let stack = crate::session::open_stack(global, Some(&up_args)).await?;
    section("1. up: every console step", output);
    // In JSON mode every step prints its own document: a stream that `jq` reads one by one.
    let up_report = up::run(&stack, source, output).await?;
    let result = async {
        section("2. the tutorial's sample calls", output);
        let calls = sample_calls(&stack, output).await?;
        let target = Arc::new(LambdaTarget::new(
            stack.clients.lambda.clone(),
            &stack.names.function,
        ));
        section("3. power tuning (128..1024 MB, strategy cost)", output);
        let tune_report = args.report.with_extension("tune.html");
        let (num, report) = (args.num.to_string(), tune_report.display().to_string());
        let tune =
            TuneLine::try_parse_from(["tune", "--num", &num, "--parallel", "--report", &report])?;
        let event = crate::session::default_event(&stack);
        let cfg = crate::tune::TuneConfig::resolve(&tune.args, event)?;
        crate::tune::run(&cfg, target.clone(), stack.region(), json).await?;
        section("4. load test at 128 MB and 1024 MB", output);
        let load_report = args.report.with_extension("load.html");
        let (vus, report) = (args.vus.to_string(), load_report.display().to_string());
        let load = LoadLine::try_parse_from([
            "load",
            "--vus",
            &vus,
            "--duration",
            &args.duration,
            "--memory",
            "128,1024",
            "--report",
            &report,
        ])?;
        let url = up_report.invoke_url.clone();
        crate::load::run(&load.args, url, Some(target), &stack.names.table, json).await?;
        crate::report::combine(
            &args.report,
            &[tune_report.as_path(), load_report.as_path()],
            "lab tutorial: serverless-powertuning",
        )?;
        // The parts live on only inside the combined page.
        let _ = std::fs::remove_file(&tune_report);
        let _ = std::fs::remove_file(&load_report);
        if !json {
            println!("\nReport: {}", args.report.display());
        }
        if json {
            crate::output::print_json(&serde_json::json!({"calls": calls, "report": args.report}))?;
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if !args.keep {
        section("5. down", output);
        let down_args = crate::cli::DownArgs {
            yes: true,
            keep_table: false,
            force: false,
        };
        down::run(&stack, &down_args, output).await?;
    }
    result?;
    Ok(Exit::Success)
}
