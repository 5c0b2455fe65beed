//! `lab call`: the tutorial's operations, over the stage URL (default) or Lambda Invoke.

use std::io::{IsTerminal, Read};

use anyhow::Context;
use serde_json::Value;

use crate::call::{event, transport, Via};
use crate::cli::{CallArgs, CallOp, Global};
use crate::exit::Exit;
use crate::output::Output;
use crate::session::open_stack;
use crate::stack::Stack;

/// Where calls go, resolved once.
pub(crate) enum Target {
    /// POST to the API Gateway stage URL.
    Http {
        /// The HTTP client.
        client: reqwest::Client,
        /// The stage URL.
        url: String,
    },
    /// Lambda Invoke, bypassing API Gateway.
    Lambda {
        /// The Lambda client.
        client: aws_sdk_lambda::Client,
        /// The function's name.
        function: String,
    },
}

impl Target {
    /// Resolves the stage URL (unless `--url`) or the function name.
    pub(crate) async fn resolve(
        stack: &Stack,
        via: Via,
        url: Option<&str>,
    ) -> anyhow::Result<Self> {
        Ok(match via {
            Via::Lambda => Self::Lambda {
                client: stack.clients.lambda.clone(),
                function: stack.names.function.clone(),
            },
            Via::Http => {
                let url = match url {
                    Some(u) => u.to_string(),
                    None => {
                        let id = crate::stack::api::find_id(stack).await?.ok_or_else(|| {
                            anyhow::anyhow!(
                                "stack {} has no REST API {}; run lab up first",
                                stack.names.stack,
                                stack.names.api
                            )
                        })?;
                        stack.invoke_url(&id)
                    }
                };
                Self::Http {
                    client: reqwest::Client::builder().build()?,
                    url,
                }
            }
        })
    }

    /// Sends one event.
    pub(crate) async fn send(&self, event: &Value) -> anyhow::Result<transport::Reply> {
        match self {
            Self::Http { client, url } => {
                let window = crate::call::propagation::CALL_WINDOW;
                let (reply, waited) =
                    crate::call::propagation::send(client, url, event, window).await?;
                if let Some(line) = waited.line() {
                    eprintln!("{line}");
                }
                Ok(reply)
            }
            Self::Lambda { client, function } => transport::lambda(client, function, event).await,
        }
    }
}

fn read_event(source: &str) -> anyhow::Result<Value> {
    let text = if source == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the event from stdin")?;
        s
    } else {
        std::fs::read_to_string(source).with_context(|| format!("cannot read --event {source}"))?
    };
    serde_json::from_str(&text).with_context(|| format!("--event {source} is not JSON"))
}

/// Builds the event for a subcommand.
pub(crate) fn build_event(stack: &Stack, args: &CallArgs) -> anyhow::Result<Value> {
    let table = &stack.names.table;
    if let Some(source) = &args.event {
        return read_event(source);
    }
    let Some(op) = &args.op else {
        anyhow::bail!(
            "say what to call: lab call create|read|update|delete|list|echo|ping, or --event FILE"
        );
    };
    Ok(match op {
        CallOp::Create { id, name, attrs } => event::create(table, id, name.as_deref(), attrs)?,
        CallOp::Read { id } => event::read(table, id),
        CallOp::Update { id, set, remove } => event::update(table, id, set, remove)?,
        CallOp::Delete { id } => event::delete(table, id),
        CallOp::List { limit, .. } => event::list(table, *limit, None),
        CallOp::Echo { payload } => {
            event::echo(serde_json::from_str(payload).context("--payload is not JSON")?)
        }
        CallOp::Ping => event::ping(),
    })
}

/// "Type: message", without repeating a type the handler already put in front of its message.
fn failure(reply: &transport::Reply) -> Option<String> {
    let (kind, message) = reply.error()?;
    Some(if message.starts_with(&format!("{kind}:")) {
        message
    } else {
        format!("{kind}: {message}")
    })
}

/// `lab call` from the command line.
pub(crate) async fn command(global: &Global, args: &CallArgs) -> anyhow::Result<Exit> {
    let stack = open_stack(global, None).await?;
    run(&stack, args, global.output, global.verbose).await?;
    Ok(Exit::Success)
}

/// Sends the call, prints the reply, and fails (non-zero exit) when the reply is an error.
pub(crate) async fn run(
    stack: &Stack,
    args: &CallArgs,
    output: Output,
    verbose: bool,
) -> anyhow::Result<()> {
    let event = build_event(stack, args)?;
    let target = Target::resolve(stack, args.via, args.url.as_deref()).await?;
    let follow = matches!(args.op, Some(CallOp::List { all: true, .. }));
    let mut reply = target.send(&event).await?;
    if verbose {
        eprintln!(
            "HTTP {} in {:.1} ms",
            reply.status,
            reply.latency.as_secs_f64() * 1000.0
        );
    }
    if let Some(failure) = failure(&reply) {
        anyhow::bail!("call failed: {failure}");
    }
    if follow {
        reply = follow_pages(&target, stack, &event, reply).await?;
    }
    let body = reply
        .json()
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&reply.body).into_owned()));
    if output == Output::Text && std::io::stdout().is_terminal() {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        println!("{body}");
    }
    Ok(())
}

/// `list --all`: keeps scanning from LastEvaluatedKey and merges the pages into one reply.
async fn follow_pages(
    target: &Target,
    stack: &Stack,
    first: &Value,
    mut reply: transport::Reply,
) -> anyhow::Result<transport::Reply> {
    let limit = first["payload"]["Limit"].as_u64().map(|l| l as u32);
    let mut merged = reply.json().unwrap_or_default();
    let mut pages = 1;
    while let Some(key) = merged.get("LastEvaluatedKey").cloned() {
        let next = target.send(&event::list(&stack.names.table, limit, Some(&key))).await?;
        if let Some(failure) = failure(&next) {
            anyhow::bail!("call failed on page {}: {failure}", pages + 1);
        }
        let page = next.json().unwrap_or_default();
        pages += 1;
        let items = page["Items"].as_array().cloned().unwrap_or_default();
        if let Some(all) = merged["Items"].as_array_mut() {
            all.extend(items);
        }
        for counter in ["Count", "ScannedCount"] {
            let total = merged[counter].as_u64().unwrap_or(0) + page[counter].as_u64().unwrap_or(0);
            merged[counter] = total.into();
        }
        match page.get("LastEvaluatedKey") {
            Some(k) => merged["LastEvaluatedKey"] = k.clone(),
            None => {
                if let Some(obj) = merged.as_object_mut() {
                    obj.remove("LastEvaluatedKey");
                }
            }
        }
    }
    reply.body = serde_json::to_vec(&merged)?;
    Ok(reply)
}
