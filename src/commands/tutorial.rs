//! `lab tutorial`: the whole tutorial in one command: up, the sample calls, tune, load at 128 and
//! 1024 MB, the reports, and down unless `--keep`.

use crate::cli::{Global, TutorialArgs};
use crate::commands::tutorial_steps::{
    down_step, load_step, sample_calls, section, tune_step, up_args,
};
use crate::commands::up;
use crate::exit::Exit;
use crate::output::Output;
use crate::stack::function::Language;

/// Runs the tutorial end to end (with `--compare-handlers`, once per handler, side by side).
pub(crate) async fn run(global: &Global, args: &TutorialArgs) -> anyhow::Result<Exit> {
    if args.compare_handlers {
        return super::compare::run(global, args).await;
    }
    let output = global.output;
    let json = output == Output::Json;
    let up_args = up_args(args, Language::Rust);
    let source = up::PackageSource::prepare(&up_args, Language::Rust)?;
    let stack = crate::session::open_stack(global, Some(&up_args)).await?;
    section("1. up: every console step", output);
    // In JSON mode every step prints its own document: a stream that `jq` reads one by one.
    let up_report = up::run(&stack, source, output).await?;
    let result = async {
        section("2. the tutorial's sample calls", output);
        let calls = sample_calls(&stack, output).await?;
        section("3. power tuning (128..1024 MB, strategy cost)", output);
        let tune_report = args.report.with_extension("tune.html");
        tune_step(&stack, args.num, &tune_report, json).await?;
        section("4. load test at 128 MB and 1024 MB", output);
        let load_report = args.report.with_extension("load.html");
        let url = up_report.invoke_url.clone();
        load_step(&stack, args, url, "128,1024", &load_report, json).await?;
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
    down_step(&stack, args, output).await?;
    result?;
    Ok(Exit::Success)
}
