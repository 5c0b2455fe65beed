//! `lab local start|stop|status|logs|reset|serve`: the embedded local AWS's lifecycle.

use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use anyhow::Context;

use crate::cli::{Global, LocalAction};
use crate::exit::Exit;
use crate::local_stack;
use crate::output::print_json;
use crate::output::Output;

/// Runs one `lab local` action.
pub(crate) async fn run(action: LocalAction, global: &Global) -> anyhow::Result<Exit> {
    let port = global.local_port;
    let text = global.output == Output::Text;
    match action {
        LocalAction::Start(args) => {
            local_stack::start(global, &args).await?;
            if !text {
                print_json(&lab_local::probe(port).await)?;
            }
        }
        LocalAction::Serve(args) => lab_local::serve(&local_stack::options(global, &args)).await?,
        LocalAction::Stop => {
            let stopped = lab_local::stop(port).await?;
            if text {
                match stopped {
                    lab_local::Stopped::NotRunning => {
                        eprintln!("The local stack on port {port} is not running.")
                    }
                    lab_local::Stopped::Stopped => eprintln!("Local stack on port {port} stopped."),
                }
            }
        }
        LocalAction::Reset => {
            lab_local::reset(port).await?;
            if text {
                eprintln!("Local stack on port {port} is empty.");
            }
        }
        LocalAction::Status => return status(global).await,
        LocalAction::Logs { follow } => logs(port, follow).await?,
    }
    Ok(Exit::Success)
}

/// `lab local status`: exit 0 when it runs, 3 when it does not.
async fn status(global: &Global) -> anyhow::Result<Exit> {
    let port = global.local_port;
    let endpoint = lab_local::endpoint(port);
    let status = lab_local::probe(port).await;
    if global.output == Output::Json {
        let mut doc = status.clone().unwrap_or_else(|| serde_json::json!({}));
        doc["running"] = serde_json::json!(status.is_some());
        doc["endpoint"] = serde_json::json!(endpoint);
        print_json(&doc)?;
    } else if let Some(s) = &status {
        lab_local::print_status(&endpoint, &lab_local::state_dir(port), s);
    } else {
        println!("not running (start it with: lab local start)");
    }
    Ok(if status.is_some() {
        Exit::Success
    } else {
        Exit::Incomplete
    })
}

/// `lab local logs [-f]`: the stack's log, then (with `-f`) what it appends.
async fn logs(port: u16, follow: bool) -> anyhow::Result<()> {
    let path = lab_local::log_file(port);
    let mut file = std::fs::File::open(&path)
        .with_context(|| format!("no log at {}: has the local stack run?", path.display()))?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    print!("{text}");
    if !follow {
        return Ok(());
    }
    let mut pos = file.stream_position()?;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut f = std::fs::File::open(&path)?;
        f.seek(SeekFrom::Start(pos))?;
        let mut more = String::new();
        f.read_to_string(&mut more)?;
        pos += more.len() as u64;
        print!("{more}");
    }
}
