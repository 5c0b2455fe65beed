//! One command's session: where AWS is (the local stack, started on demand; an explicit endpoint;
//! or the SDK's chain) and the stack it works on. Shared by the dispatcher and the commands, so
//! neither imports the other.

use crate::aws::{Clients, Connection};
use crate::cli::{Global, UpArgs};
use crate::output::Output;
use crate::stack::{FunctionSettings, Names, Stack};

/// Resolves where AWS is: the local stack (started on demand), an explicit endpoint, or the SDK's chain.
pub(crate) async fn connection(global: &Global) -> anyhow::Result<Connection> {
    let mut conn = Connection {
        region: global.region.clone(),
        profile: global.profile.clone(),
        endpoint_url: global.endpoint_url.clone(),
        dummy_credentials: false,
    };
    if global.local {
        let endpoint = crate::local_stack::ensure_running(global).await?;
        crate::local_cpu::set_port(global.local_port);
        conn.endpoint_url = Some(endpoint);
        conn.dummy_credentials = true;
    }
    Ok(conn)
}

/// Opens the stack named by `--stack` with the desired function settings.
pub(crate) async fn open_stack(global: &Global, up: Option<&UpArgs>) -> anyhow::Result<Stack> {
    let names = Names::new(&global.stack)?;
    let conn = connection(global).await?;
    let clients = Clients::connect(&conn).await?;
    let settings = up
        .map(|a| FunctionSettings {
            memory: a.memory,
            timeout: a.timeout,
            arch: a.arch,
            language: a.handler.unwrap_or_default(),
        })
        .unwrap_or_default();
    let mut stack = Stack::open(clients, names, settings).await?;
    if up.is_some_and(|a| a.handler.is_none()) {
        // Without --handler, the function keeps the handler it runs: a second `up` (or `status`)
        // neither switches a Python stack back to Rust nor calls it drifted.
        if let Ok(Some(running)) = crate::stack::function::observe(&stack).await {
            if let Some(language) = crate::stack::function::Language::of_runtime(&running.runtime) {
                stack.settings.language = language;
            }
        }
    }
    stack.force = up.is_some_and(|a| a.force);
    stack.records = Some(lab_local::lab_home().join("stacks"));
    Ok(stack)
}

/// The `list` event the tutorial tunes and load-tests with.
pub(crate) fn default_event(stack: &Stack) -> serde_json::Value {
    crate::call::event::list(&stack.names.table, None, None)
}

/// Local figures only mean something if CPU follows memory, as on Lambda: say whether it does.
pub(crate) async fn note_local_cpu(global: &Global) {
    if !global.local || global.output == Output::Json {
        return;
    }
    if let Some(status) = lab_local::probe(global.local_port).await {
        eprintln!(
            "local stack CPU: {}",
            status["cpu"].as_str().unwrap_or("unknown")
        );
    }
}
