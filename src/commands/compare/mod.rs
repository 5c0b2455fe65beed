//! `lab tutorial --compare-handlers`: the tutorial's tune and load for lab's Rust handler and the
//! tutorial's own Python function, on the same stack one after the other (switching is an update),
//! and one report with them side by side: duration and cost per memory size, latency under the
//! tutorial's load, and the smallest memory at which each meets `--target`.

mod model;
mod render;

use crate::cli::{Global, TutorialArgs};
use crate::commands::tutorial_steps::{
    down_step, load_step, sample_calls, section, tune_step, up_args,
};
use crate::commands::up;
use crate::exit::Exit;
use crate::output::Output;
use crate::stack::function::Language;
use crate::stack::Stack;

use model::Measured;

/// Runs both handlers' tutorials and writes the comparison (removing the stack at the end unless
/// `--keep`, whatever happened).
pub(crate) async fn run(global: &Global, args: &TutorialArgs) -> anyhow::Result<Exit> {
    let output = global.output;
    if !args.target.is_latency() {
        anyhow::bail!(
            "--target {:?} is not a latency: write one such as p95<100ms (avg, med, p90, p95, p99)",
            args.target.expression
        );
    }
    let first = up_args(args, Language::Rust);
    // A bad --bootstrap is refused before anything is made.
    up::PackageSource::prepare(&first, Language::Rust)?;
    let mut stack = crate::session::open_stack(global, Some(&first)).await?;
    let mut parts = Vec::new();
    let result = measure_both(&mut stack, args, output, &mut parts).await;
    let written = result.and_then(|measured| finish(&stack, args, output, &measured, &parts));
    for part in &parts {
        let _ = std::fs::remove_file(part);
    }
    down_step(&stack, args, output).await?;
    written?;
    Ok(Exit::Success)
}

/// Up, sample calls, tune and load, once per handler; the part reports' paths are added to `parts`.
async fn measure_both(
    stack: &mut Stack,
    args: &TutorialArgs,
    output: Output,
    parts: &mut Vec<std::path::PathBuf>,
) -> anyhow::Result<Vec<Measured>> {
    let json = output == Output::Json;
    let mut measured = Vec::new();
    for (i, handler) in Language::ALL.into_iter().enumerate() {
        let step = |n: usize, what: &str| format!("{}.{n} {handler}: {what}", i + 1);
        section(&step(1, &format!("up --handler {handler}")), output);
        stack.settings.language = handler;
        let source = up::PackageSource::prepare(&up_args(args, handler), handler)?;
        let up = up::run(stack, source, output).await?;
        section(&step(2, "the tutorial's sample calls"), output);
        sample_calls(stack, output).await?;
        section(&step(3, "power tuning (128..1024 MB)"), output);
        let tune_report = args.report.with_extension(format!("{handler}.tune.html"));
        parts.push(tune_report.clone());
        let tune = tune_step(stack, args.num, &tune_report, json).await?;
        // Under load at every size tuning measured, so each has a latency to hold to the target.
        let sizes: Vec<String> = tune.powers.iter().map(|p| p.memory_mb.to_string()).collect();
        section(
            &step(4, &format!("load test at {} MB", sizes.join(", "))),
            output,
        );
        let load_report = args.report.with_extension(format!("{handler}.load.html"));
        parts.push(load_report.clone());
        let load = load_step(
            stack,
            args,
            up.invoke_url,
            &sizes.join(","),
            &load_report,
            json,
        )
        .await?;
        if load.interrupted {
            anyhow::bail!("the {handler} load test was interrupted: no comparison written");
        }
        measured.push(Measured {
            handler,
            tune,
            load,
        });
    }
    Ok(measured)
}

/// The comparison: printed (text or JSON) and written first in the combined report.
fn finish(
    stack: &Stack,
    args: &TutorialArgs,
    output: Output,
    measured: &[Measured],
    parts: &[std::path::PathBuf],
) -> anyhow::Result<()> {
    let comparison = model::compare(&args.target, measured, caveat(stack));
    let page = args.report.with_extension("compare.html");
    render::html(&comparison, &page)?;
    let mut all = vec![page.as_path()];
    all.extend(parts.iter().map(|p| p.as_path()));
    let combined = crate::report::combine(&args.report, &all, "lab tutorial: Rust against Python");
    let _ = std::fs::remove_file(&page);
    combined?;
    match output {
        Output::Json => crate::output::print_json(&serde_json::json!({
            "comparison": comparison,
            "report": args.report,
        }))?,
        Output::Text => {
            section("Rust against Python, side by side", output);
            print!("{}", render::text(&comparison));
            println!("\nReport: {}", args.report.display());
        }
    }
    Ok(())
}

/// On the local stack, what the Python figures cannot mean, said next to them.
fn caveat(stack: &Stack) -> Option<String> {
    stack.clients.endpoint_url.is_some().then(|| {
        "measured on lab's local stack: the Python function runs on this host's Python under \
         awslambdaric (Lambda's own runtime interface client), not in Lambda's python3.13 image, so \
         its cold starts and durations are the host interpreter's; CPU follows memory only where the \
         stack's status says so (each part below says whether it did)"
            .to_string()
    })
}
