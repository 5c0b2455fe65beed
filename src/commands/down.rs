//! `lab down`: removes what `up` made, in reverse order, then checks that nothing is left.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::cli::{DownArgs, Output};
use crate::output::{print_json, Steps};
use crate::stack::{self, Action, Change, Stack};

/// The result of `down`.
#[derive(Debug, Serialize)]
pub struct DownReport {
    pub stack: String,
    pub changes: Vec<Change>,
    /// Resources of this stack still found after the teardown (should be empty).
    pub left: Vec<String>,
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

/// Tears down the stack. Asks before deleting the table unless `--yes`.
pub async fn run(stack: &Stack, args: &DownArgs, output: Output) -> anyhow::Result<DownReport> {
    let delete_table = confirm_table(stack, args)?;
    let steps = Steps::new(output);
    let mut changes = Vec::new();
    macro_rules! step {
        ($what:expr, $fut:expr) => {{
            let pb = steps.start($what);
            match $fut.await {
                Ok(change) => {
                    steps.finish(&pb, &change);
                    changes.push(change);
                }
                Err(e) => {
                    steps.fail(&pb, $what, &e);
                    return Err(e);
                }
            }
        }};
    }
    step!("permission", stack::permission::destroy(stack));
    step!("rest api", stack::api::destroy(stack));
    step!("function", stack::function::destroy(stack));
    step!("log group", stack::log_group::destroy(stack));
    if delete_table {
        step!("table", stack::table::destroy(stack));
    } else {
        let change = Change::new(
            "table",
            &stack.names.table,
            Action::Kept,
            None,
            std::time::Instant::now(),
        )
        .with_details(vec!["kept at your request".into()]);
        steps.finish(&steps.start("table"), &change);
        changes.push(change);
    }
    step!("role", stack::role::destroy(stack));
    step!("policy", stack::policy::destroy(stack));

    let kept: Vec<&str> = changes
        .iter()
        .filter(|c| c.action == Action::Kept)
        .map(|c| c.resource)
        .collect();
    let status = super::status::collect(stack, None).await?;
    let left: Vec<String> = status
        .resources
        .iter()
        .filter(|r| {
            r.exists
                && !kept.contains(&r.resource)
                && !r.drift.iter().any(|d| d.starts_with("not tagged"))
        })
        .map(|r| format!("{} {}", r.resource, r.name))
        .collect();
    let report = DownReport {
        stack: stack.names.stack.clone(),
        changes,
        left,
    };
    if output == Output::Json {
        print_json(&report)?;
    } else if report.left.is_empty() {
        println!("Stack {} is gone.", report.stack);
    }
    if !report.left.is_empty() {
        anyhow::bail!(
            "still present after down: {}; run lab down again",
            report.left.join(", ")
        );
    }
    Ok(report)
}
