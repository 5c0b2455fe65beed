//! `lab down`: removes what `up` made, in reverse order, then checks that nothing is left.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use serde::Serialize;

use super::steps::Steps;
use crate::cli::{DownArgs, Global};
use crate::exit::Exit;
use crate::output::print_json;
use crate::output::Output;
use crate::session::open_stack;
use crate::stack::{self, Action, Change, Stack};

/// The result of `down`.
#[derive(Debug, Serialize)]
pub(crate) struct DownReport {
    /// The stack's name.
    pub(crate) stack: String,
    /// One change per resource, in the order they were removed.
    pub(crate) changes: Vec<Change>,
    /// Resources of this stack still found after the teardown (should be empty).
    pub(crate) left: Vec<String>,
}

fn confirm_table(stack: &Stack, args: &DownArgs) -> anyhow::Result<bool> {
    if args.keep_table {
        return Ok(false);
    }
    if args.yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "lab down deletes table {} and its data: pass --yes to confirm (or --keep-table to keep it)",
            stack.names.table
        );
    }
    eprint!(
        "Delete table {} and all its items? [y/N] ",
        stack.names.table
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// `lab down` from the command line.
pub(crate) async fn command(global: &Global, args: &DownArgs) -> anyhow::Result<Exit> {
    let mut stack = open_stack(global, None).await?;
    stack.force = args.force;
    run(&stack, args, global.output).await?;
    Ok(Exit::Success)
}

/// Tears down the stack. Asks before deleting the table unless `--yes`.
pub(crate) async fn run(
    stack: &Stack,
    args: &DownArgs,
    output: Output,
) -> anyhow::Result<DownReport> {
    let delete_table = confirm_table(stack, args)?;
    let steps = Steps::new(output);
    let mut changes = Vec::new();
    // In order, stopping at the first failure: each one's removal needs the previous one gone.
    changes.push(step(&steps, "permission", stack::permission::destroy(stack)).await?);
    changes.push(step(&steps, "rest api", stack::api::destroy(stack)).await?);
    changes.push(step(&steps, "function", stack::function::destroy(stack)).await?);
    changes.push(step(&steps, "log group", stack::log_group::destroy(stack)).await?);
    // The load generator `lab load --workers` deployed, if any: its function and log group here,
    // its role with the IAM removals below; reported only when it was there.
    let generator = crate::load::worker::deploy::worker_stack(stack, 128, stack.settings.arch);
    let function = stack::function::destroy(&generator);
    changes.extend(generator_step(&steps, "load generator", function).await?);
    let logs = stack::log_group::destroy(&generator);
    changes.extend(generator_step(&steps, "load generator logs", logs).await?);
    // Nothing left uses the table or the role: DynamoDB's DELETING and IAM's settling overlap.
    let table = step(&steps, "table", async {
        if delete_table {
            stack::table::destroy(stack).await
        } else {
            Ok(Change::new(
                "table",
                &stack.names.table,
                Action::Kept,
                None,
                Instant::now(),
            )
            .with_details(vec!["kept at your request".into()]))
        }
    });
    let iam = async {
        let role = step(&steps, "role", stack::role::destroy(stack)).await?;
        let policy = step(&steps, "policy", stack::policy::destroy(stack)).await?;
        let generator_role = stack::role::destroy(&generator);
        let generator_role = generator_step(&steps, "load generator role", generator_role).await?;
        anyhow::Ok([Some(role), Some(policy), generator_role])
    };
    let (table, iam) = tokio::join!(table, iam);
    changes.push(table?);
    changes.extend(iam?.into_iter().flatten());
    let left = leftovers(stack, &changes).await?;
    let report = DownReport {
        stack: stack.names.stack.clone(),
        changes,
        left,
    };
    if output == Output::Json {
        print_json(&report)?;
    } else if report.left.is_empty() {
        println!("{}", verdict(&report));
    }
    if !report.left.is_empty() {
        anyhow::bail!(
            "still present after down: {}; run lab down again",
            report.left.join(", ")
        );
    }
    Ok(report)
}

/// Runs one resource's removal under a spinner and shows its outcome.
async fn step(
    steps: &Steps,
    what: &str,
    work: impl std::future::Future<Output = anyhow::Result<Change>>,
) -> anyhow::Result<Change> {
    let pb = steps.start(what);
    match work.await {
        Ok(change) => {
            steps.finish(&pb, &change);
            Ok(change)
        }
        Err(e) => {
            steps.fail(&pb, what, &e);
            Err(e)
        }
    }
}

/// A removal of the load generator's, shown and reported only when there was something to remove:
/// most stacks never ran `lab load --workers`.
async fn generator_step(
    steps: &Steps,
    what: &str,
    work: impl std::future::Future<Output = anyhow::Result<Change>>,
) -> anyhow::Result<Option<Change>> {
    match work.await {
        Ok(change) if change.action == Action::Absent => Ok(None),
        Ok(change) => {
            let pb = steps.start(what);
            steps.finish(&pb, &change);
            Ok(Some(change))
        }
        Err(e) => {
            let pb = steps.start(what);
            steps.fail(&pb, what, &e);
            Err(e)
        }
    }
}

/// "Stack X is gone." only when nothing was kept; otherwise what was kept and why.
fn verdict(report: &DownReport) -> String {
    let kept: Vec<String> = report
        .changes
        .iter()
        .filter(|c| c.action == Action::Kept)
        .map(|c| format!("{} {} ({})", c.resource, c.name, c.details.join("; ")))
        .collect();
    if kept.is_empty() {
        format!("Stack {} is gone.", report.stack)
    } else {
        format!(
            "Stack {} is gone except what was kept: {}",
            report.stack,
            kept.join(", ")
        )
    }
}

/// Resources of this stack still found after the teardown. A resource this run deleted may still
/// be read for a few seconds (IAM's Get* after a delete): those are read again until they are gone
/// or a minute has passed; anything else found is a real leftover at once.
async fn leftovers(stack: &Stack, changes: &[Change]) -> anyhow::Result<Vec<String>> {
    let kept: Vec<&str> = changes
        .iter()
        .filter(|c| c.action == Action::Kept)
        .map(|c| c.resource)
        .collect();
    let deleted: Vec<&str> = changes
        .iter()
        .filter(|c| c.action == Action::Deleted)
        .map(|c| c.resource)
        .collect();
    let deadline = Instant::now() + stack::role::IAM_SETTLE;
    let mut backoff = crate::aws::Backoff::new();
    loop {
        let status = super::status::collect(stack, None).await?;
        let left: Vec<(&'static str, String)> = status
            .resources
            .iter()
            .filter(|r| r.exists && !kept.contains(&r.resource))
            .map(|r| (r.resource, format!("{} {}", r.resource, r.name)))
            .collect();
        let settling = left.iter().all(|(resource, _)| deleted.contains(resource));
        if left.is_empty() || !settling || Instant::now() + backoff.peek() > deadline {
            return Ok(left.into_iter().map(|(_, line)| line).collect());
        }
        backoff.wait().await;
    }
}
