//! `lab load`: the load test against a URL, or the stack's stage URL (with `--memory`, at each size).

use crate::cli::Global;
use crate::exit::Exit;
use crate::load::LoadArgs;
use crate::session::{note_local_cpu, open_stack};
use crate::stack::Names;

/// Runs the load test; [`Exit::Failure`] when a `--threshold` failed, [`Exit::Incomplete`] when
/// one was undecided (the results are printed either way).
pub(crate) async fn run(global: &Global, args: &LoadArgs, json: bool) -> anyhow::Result<Exit> {
    let args = &LoadArgs {
        verbose: global.verbose,
        // A function named on its own is reached the one way it can be: Lambda Invoke.
        via: match args.function {
            Some(_) => crate::call::Via::Lambda,
            None => args.via,
        },
        ..args.clone()
    };
    // A plain URL needs no AWS at all, unless memory sizes or Lambda Invoke are asked for.
    let needs_stack = args.url.is_none()
        || args.memory.is_some()
        || args.workers.is_some()
        || args.via == crate::call::Via::Lambda;
    if !needs_stack {
        let url = args.url.clone().unwrap_or_default();
        let table = Names::new(&global.stack)?.table;
        let result = crate::load::run(args, url, None, &table, json).await?;
        return Ok(result.exit());
    }
    let stack = open_stack(global, None).await?;
    note_local_cpu(global).await;
    if let Some(function) = &args.function {
        let result = crate::load::run_on_stack(args, String::new(), &stack, function, json).await?;
        return Ok(result.exit());
    }
    let url = match (&args.url, crate::stack::api::find_id(&stack).await?) {
        (Some(url), _) => url.clone(),
        (None, Some(id)) => stack.invoke_url(&id),
        (None, None) => anyhow::bail!(
            "stack {} has no REST API; run lab up first (or pass --url)",
            stack.names.stack
        ),
    };
    let result = crate::load::run_on_stack(args, url, &stack, &stack.names.function, json).await?;
    Ok(result.exit())
}
