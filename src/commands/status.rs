//! `lab status`: every resource with its id, key configuration and drift.

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;

use crate::cli::{Global, UpArgs};
use crate::exit::Exit;
use crate::output::print_json;
use crate::output::Output;
use crate::session::open_stack;
use crate::stack::{self, ResourceStatus, Stack};

/// The whole stack as found.
#[derive(Debug, Serialize)]
pub(crate) struct StatusReport {
    /// The stack's name.
    pub(crate) stack: String,
    /// The region it lives in.
    pub(crate) region: String,
    /// One status per resource, in the order `up` creates them.
    pub(crate) resources: Vec<ResourceStatus>,
    /// The stage URL, when the API is deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invoke_url: Option<String>,
    /// What was found, as a whole.
    pub(crate) state: StackState,
}

/// The stack as a whole: `complete`, `drifted`, `partial` or `absent` in text and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StackState {
    /// Every resource exists as `up` makes it.
    Complete,
    /// Every resource exists; some differ from what `up` makes.
    Drifted,
    /// Some resources exist, some do not.
    Partial,
    /// No resource exists.
    Absent,
}

impl StackState {
    /// Its name, as text and JSON spell it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StackState::Complete => "complete",
            StackState::Drifted => "drifted",
            StackState::Partial => "partial",
            StackState::Absent => "absent",
        }
    }

    /// The exit code a script branches on: 0 complete, 2 absent, 3 partial or drifted.
    pub(crate) fn exit(self) -> Exit {
        match self {
            StackState::Complete => Exit::Success,
            StackState::Absent => Exit::Absent,
            StackState::Drifted | StackState::Partial => Exit::Incomplete,
        }
    }
}

/// `lab status` from the command line: with `--zip` or `--bootstrap`, the function's code is
/// compared with that package.
pub(crate) async fn command(global: &Global, args: &UpArgs) -> anyhow::Result<Exit> {
    let stack = open_stack(global, Some(args)).await?;
    let sha = match (&args.zip, &args.bootstrap) {
        (Some(zip), _) => Some(crate::package::from_zip(zip, args.arch)?.sha256_b64),
        (_, Some(bin)) => {
            let local = stack.clients.endpoint_url.is_some();
            let deflate = crate::package::Deflate::for_local(local);
            Some(crate::package::zip_bootstrap(bin, deflate)?.sha256_b64)
        }
        _ => None,
    };
    let report = collect(&stack, sha.as_deref()).await?;
    print(&report, global.output)?;
    Ok(report.state.exit())
}

/// Reads every resource (concurrently) and classifies the stack.
pub(crate) async fn collect(
    stack: &Stack,
    package_sha: Option<&str>,
) -> anyhow::Result<StatusReport> {
    let (policy, role, table, logs, function, api) = tokio::try_join!(
        stack::policy::describe(stack),
        stack::role::describe(stack),
        stack::table::describe(stack),
        stack::log_group::describe(stack),
        stack::function::describe(stack, None, package_sha),
        stack::api::describe(stack),
    )?;
    let (api, invoke_url) = api;
    let api_id = api.id.clone();
    let permission = stack::permission::describe(stack, api_id.as_deref()).await?;
    let resources = vec![policy, role, table, logs, function, api, permission];
    let existing = resources.iter().filter(|r| r.exists).count();
    let state = if existing == 0 {
        StackState::Absent
    } else if existing < resources.len() {
        StackState::Partial
    } else if resources.iter().any(|r| !r.drift.is_empty()) {
        StackState::Drifted
    } else {
        StackState::Complete
    };
    Ok(StatusReport {
        stack: stack.names.stack.clone(),
        region: stack.region().to_string(),
        resources,
        invoke_url,
        state,
    })
}

/// Prints the report as a table or JSON.
pub(crate) fn print(report: &StatusReport, output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        return print_json(report);
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            "resource",
            "name",
            "exists",
            "id / ARN",
            "configuration",
            "drift",
        ]);
    for r in &report.resources {
        let config =
            r.config.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n");
        table.add_row(vec![
            r.resource.to_string(),
            r.name.clone(),
            if r.exists { "yes".into() } else { "no".into() },
            r.id.clone().unwrap_or_default(),
            config,
            if r.drift.is_empty() {
                "-".into()
            } else {
                r.drift.join("\n")
            },
        ]);
    }
    println!("{table}");
    println!(
        "stack {} in {}: {}",
        report.stack,
        report.region,
        report.state.as_str()
    );
    if let Some(url) = &report.invoke_url {
        println!("Invoke URL: {url}");
    }
    Ok(())
}
