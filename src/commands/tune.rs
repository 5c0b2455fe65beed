//! `lab tune`: power tuning of the stack's function, or of any function named by `--function` or
//! the input's `lambdaARN` (the sweep itself is `crate::tune`).

use std::sync::Arc;

use crate::exit::Exit;
use crate::session::{default_event, note_local_cpu, open_stack};

/// `lab tune`: the function named by `--function` or the input's `lambdaARN`,
/// else the stack's (with `stack_event`, the tutorial's `list` event, as the default payload;
/// another function gets the power-tuning tool's default, `null`). A signal that stopped the run
/// (after its cleanup) is an [`crate::exit::Interrupted`] error.
pub(crate) async fn command(
    global: &crate::cli::Global,
    args: &crate::tune::TuneArgs,
    json: bool,
) -> anyhow::Result<Exit> {
    // Bad input is refused before the stack is opened (and the local stack started).
    let named = crate::tune::TuneConfig::resolve(args, serde_json::Value::Null)?.function;
    let stack = &open_stack(global, None).await?;
    note_local_cpu(global).await;
    let stack_event = default_event(stack);
    let own = &stack.names.function;
    let is_own = named.as_deref().is_none_or(|f| f == own);
    let default_payload = if is_own {
        stack_event
    } else {
        serde_json::Value::Null
    };
    let cfg = crate::tune::TuneConfig::resolve(args, default_payload)?;
    let function = named.unwrap_or_else(|| own.clone());
    let target =
        crate::control::lambda::LambdaTarget::for_function(&stack.clients.lambda, &function)
            .await?;
    let region = target.region().unwrap_or_else(|| stack.region().to_string());
    let target = Arc::new(target);
    crate::tune::run(&cfg, (target.clone(), target), &region, json).await?;
    Ok(Exit::Success)
}
