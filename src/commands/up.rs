//! `lab up`: every console step of the tutorial, independent branches concurrently.

use std::future::Future;

use serde::Serialize;

use super::steps::Steps;
use crate::cli::{Global, UpArgs};
use crate::exit::Exit;
use crate::output::print_json;
use crate::output::Output;
use crate::package::{self, Package};
use crate::session::open_stack;
use crate::stack::function::Language;
use crate::stack::{self, Change, Stack};

/// Where the deployment package comes from.
#[derive(Debug, Clone)]
pub(crate) enum PackageSource {
    /// Build `handler/` (the default).
    Build,
    /// `--zip FILE`, already read and checked.
    Zip(Package),
    /// `--bootstrap FILE`, checked; zipped while the other branches run.
    Bootstrap(std::path::PathBuf),
    /// `--handler python`: the tutorial's own function, built into lab.
    Python,
}

impl PackageSource {
    /// From `up`'s flags. A prebuilt `--zip` or `--bootstrap` is checked here (a Linux ELF for
    /// `--arch`, within the 50 MB upload limit), before any AWS call, so bad input leaves nothing
    /// half-made.
    pub(crate) fn prepare(args: &UpArgs, language: Language) -> anyhow::Result<Self> {
        let arch = args.arch;
        if language == Language::Python {
            if args.zip.is_some() || args.bootstrap.is_some() {
                anyhow::bail!(
                    "--handler python deploys the tutorial's own Python function; --zip and \
                     --bootstrap are for the Rust handler: drop one or the other"
                );
            }
            return Ok(Self::Python);
        }
        Ok(match (&args.zip, &args.bootstrap) {
            (Some(zip), _) => Self::Zip(package::from_zip(zip, arch)?),
            (_, Some(bin)) => {
                package::check_bootstrap(bin, arch)?;
                Self::Bootstrap(bin.clone())
            }
            _ => Self::Build,
        })
    }
}

/// `lab up` from the command line: the package checked before any AWS call, then every step.
pub(crate) async fn command(global: &Global, args: &UpArgs) -> anyhow::Result<Exit> {
    let stack = open_stack(global, Some(args)).await?;
    let source = PackageSource::prepare(args, stack.settings.language)?;
    run(&stack, source, global.output).await?;
    Ok(Exit::Success)
}

/// The result of `up`.
#[derive(Debug, Serialize)]
pub(crate) struct UpReport {
    /// The stack's name.
    pub(crate) stack: String,
    /// The region it lives in.
    pub(crate) region: String,
    /// One change per resource.
    pub(crate) changes: Vec<Change>,
    /// The stage URL the tutorial calls.
    pub(crate) invoke_url: String,
    /// A curl command that calls it with the tutorial's echo event.
    pub(crate) curl: String,
    /// Seconds from the last change until the stage answered `ping`.
    pub(crate) ready_after_s: f64,
}

/// Runs a step under a spinner, turning its change or error into a line.
async fn step<T, F>(steps: &Steps, what: &str, fut: F) -> anyhow::Result<T>
where
    F: Future<Output = anyhow::Result<T>>,
    T: AsChange,
{
    let pb = steps.start(what);
    match fut.await {
        Ok(v) => {
            steps.finish(&pb, v.change());
            Ok(v)
        }
        Err(e) => {
            steps.fail(&pb, what, &e);
            Err(e)
        }
    }
}

/// Step results that carry a [`Change`].
trait AsChange {
    fn change(&self) -> &Change;
}
impl AsChange for Change {
    fn change(&self) -> &Change {
        self
    }
}
impl AsChange for (Change, String) {
    fn change(&self) -> &Change {
        &self.0
    }
}

/// Builds (or reads) the package off the async runtime: cargo takes minutes the first time.
async fn package(
    source: PackageSource,
    arch: crate::arch::Arch,
    local: bool,
) -> anyhow::Result<(Package, String)> {
    tokio::task::spawn_blocking(move || {
        let (pkg, note) = match source {
            PackageSource::Zip(pkg) => (pkg, "prebuilt zip".to_string()),
            PackageSource::Python => (package::tutorial_python()?, "python3.13".to_string()),
            PackageSource::Bootstrap(bin) => (
                package::zip_bootstrap(&bin, package::Deflate::for_local(local))?,
                "prebuilt bootstrap".to_string(),
            ),
            PackageSource::Build => {
                let root = package::project_root()?;
                if local {
                    let bin = package::build_local_handler(&root)?;
                    let note = "dev build for the local stack".to_string();
                    (
                        package::zip_bootstrap(&bin, package::Deflate::for_local(local))?,
                        note,
                    )
                } else {
                    let bin = package::build_handler(&root, arch)?;
                    let note = package::check_glibc(&bin)?
                        .map(|(a, b)| format!("needs GLIBC_{a}.{b}"))
                        .unwrap_or_else(|| "glibc not checked (no objdump)".into());
                    (
                        package::zip_bootstrap(&bin, package::Deflate::for_local(local))?,
                        note,
                    )
                }
            }
        };
        Ok((pkg, note))
    })
    .await?
}

/// Converges every resource; prints progress, then the invoke URL and a curl line.
pub(crate) async fn run(
    stack: &Stack,
    source: PackageSource,
    output: Output,
) -> anyhow::Result<UpReport> {
    let steps = Steps::new(output);
    let local = stack.clients.endpoint_url.is_some();
    let pkg_pb = steps.start("package");
    let iam_branch = async {
        let policy = step(&steps, "policy", stack::policy::ensure(stack)).await?;
        let (role, arn) = step(&steps, "role", stack::role::ensure(stack)).await?;
        Ok::<_, anyhow::Error>((vec![policy, role], arn))
    };
    let data_branch = async {
        let table = step(&steps, "table", stack::table::ensure(stack)).await?;
        let logs = step(&steps, "log group", stack::log_group::ensure(stack)).await?;
        Ok::<_, anyhow::Error>(vec![table, logs])
    };
    let build = async {
        let out = package(source, stack.settings.arch, local).await;
        match &out {
            Ok((pkg, note)) => {
                pkg_pb.finish_and_clear();
                steps.note(&format!(
                    "✔ package    {} ({:.1} MB zip, {note})",
                    pkg.source,
                    pkg.bytes.len() as f64 / 1e6
                ));
            }
            Err(e) => steps.fail(&pkg_pb, "package", e),
        }
        out
    };
    let (iam, data, pkg) = tokio::join!(iam_branch, data_branch, build);
    let (mut changes, role_arn) = iam?;
    changes.extend(data?);
    let (pkg, _) = pkg?;
    changes.push(
        step(
            &steps,
            "function",
            stack::function::ensure(stack, &role_arn, &pkg),
        )
        .await?,
    );
    let (api_change, api_id) = step(&steps, "rest api", stack::api::ensure(stack)).await?;
    changes.push(api_change);
    changes.push(
        step(
            &steps,
            "permission",
            stack::permission::ensure(stack, &api_id),
        )
        .await?,
    );
    let invoke_url = stack.invoke_url(&api_id);
    // Only once the stage reaches the function: a new permission or deployment takes seconds to
    // propagate, and a caller right after `up` would meet API Gateway's 500s.
    let pb = steps.start("stage");
    let (ready_after, status) = match crate::call::propagation::wait_ready(&invoke_url).await {
        Ok(ready) => ready,
        Err(e) => {
            steps.fail(&pb, "stage", &e);
            return Err(e);
        }
    };
    pb.finish_and_clear();
    let answer = match status {
        200 => "it answers ping".to_string(),
        other => format!("ping reached the function, which answered HTTP {other}"),
    };
    steps.note(&format!(
        "✔ stage      ready after {:.1} s ({answer})",
        ready_after.as_secs_f64()
    ));
    let sample = include_str!("../../assets/events/create-bob.json")
        .trim()
        .replace("lambda-apigateway", &stack.names.table);
    let curl = format!("curl -X POST -d '{sample}' {invoke_url}");
    let report = UpReport {
        stack: stack.names.stack.clone(),
        region: stack.region().to_string(),
        changes,
        invoke_url,
        curl,
        ready_after_s: ready_after.as_secs_f64(),
    };
    if output == Output::Json {
        print_json(&report)?;
    } else {
        let touched =
            report.changes.iter().filter(|c| c.action != stack::Action::Unchanged).count();
        if touched == 0 {
            eprintln!("Everything is up to date; nothing changed.");
        }
        println!("Invoke URL: {}", report.invoke_url);
        println!("Try it:     {}", report.curl);
    }
    Ok(report)
}
