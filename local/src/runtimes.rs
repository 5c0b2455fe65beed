//! Lambda's managed runtimes on the local stack, without Docker. A Python function runs under
//! awslambdaric (PyPI) and a Node.js one under aws-lambda-ric (npm): the runtime interface clients
//! Lambda's own base images run, installed into lab's cache on first use, as moto is
//! (`local/runtimes/` pins them; `scripts/install-deps` installs the same pins ahead of the tests).
//! `provided.al2023` and `provided.al2` run the zip's `bootstrap`, as before. Any other runtime,
//! and any layer, is refused at CreateFunction and UpdateFunctionConfiguration with one line.
//!
//! The interpreter is the host's: `python3.13` when the host has one, else `python3`, with a
//! warning in the function's log when its version is not the one the runtime names (Node.js alike).

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{bail, Context};

use crate::moto::{run_step, which};

/// The Python runtimes Lambda supports today (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
pub(crate) const PYTHON: &[&str] = &[
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
];
/// The Node.js runtimes Lambda supports today (same page).
pub(crate) const NODE: &[&str] = &["nodejs20.x", "nodejs22.x", "nodejs24.x"];
/// The OS-only runtimes: the zip's `bootstrap` is the runtime.
pub(crate) const PROVIDED: &[&str] = &["provided.al2023", "provided.al2"];

/// The pins, one place each: `scripts/install-deps` reads the same files.
const PYTHON_REQUIREMENTS: &str = include_str!("../runtimes/python-requirements.txt");
const NODE_PACKAGE: &str = include_str!("../runtimes/node-package.json");

/// What runs a function's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The zip's `bootstrap` (`provided.*`, or no runtime at all).
    Provided,
    /// `python3.<minor>` under awslambdaric.
    Python {
        /// The minor version the runtime names.
        minor: u32,
    },
    /// `nodejs<major>.x` under aws-lambda-ric.
    Node {
        /// The major version the runtime names.
        major: u32,
    },
}

/// The kind of a runtime the local stack runs; `None` for any other.
pub(crate) fn kind(runtime: &str) -> Option<Kind> {
    if runtime.is_empty() || PROVIDED.contains(&runtime) {
        return Some(Kind::Provided);
    }
    if PYTHON.contains(&runtime) {
        let minor = runtime.strip_prefix("python3.")?.parse().ok()?;
        return Some(Kind::Python { minor });
    }
    if NODE.contains(&runtime) {
        let major = runtime.strip_prefix("nodejs")?.strip_suffix(".x")?.parse().ok()?;
        return Some(Kind::Node { major });
    }
    None
}

/// Why a CreateFunction or UpdateFunctionConfiguration body cannot run here, in one line: a
/// runtime the local stack does not run, or layers.
pub(crate) fn refusal(body: &serde_json::Value) -> Option<String> {
    if let Some(runtime) = body["Runtime"].as_str() {
        if kind(runtime).is_none() {
            return Some(format!(
                "runtime {runtime} cannot run on lab's local stack: it runs {}, {} and {} \
                 (deploy to AWS for any other)",
                PYTHON.join(", "),
                NODE.join(", "),
                PROVIDED.join(", ")
            ));
        }
    }
    let layers = body["Layers"].as_array().is_some_and(|l| !l.is_empty());
    layers.then(|| {
        "layers are not supported on lab's local stack: put the layer's files in the function's \
         zip (Python: its python/ folder's contents at the root; Node.js: node_modules/)"
            .to_string()
    })
}

/// How to start an instance of a function: the program, its arguments, the runtime's own
/// environment variables, and a warning for the function's log.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// The executable.
    pub(crate) program: PathBuf,
    /// Its arguments.
    pub(crate) args: Vec<OsString>,
    /// Variables the runtime sets besides the ones every function has.
    pub(crate) env: Vec<(String, String)>,
    /// Said in the function's log at init: the host's interpreter is not the one requested.
    pub(crate) note: Option<String>,
}

/// A managed runtime's client as this host runs it: the interpreter probed and the client
/// installed, once per runtime and stack (a cold start then spawns at once, as a `bootstrap` does).
#[derive(Debug, Clone)]
struct Client {
    program: PathBuf,
    /// Before the handler.
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    /// Node.js: the client's modules, first on `NODE_PATH` before the function's code.
    node_modules: Option<PathBuf>,
    note: Option<String>,
}

/// A `bootstrap` ELF for another instruction set than the function's does not start on Lambda:
/// the invocation fails with `Runtime.InvalidEntrypoint`, "fork/exec /var/task/bootstrap: exec
/// format error". The same answer here, and for one this host's CPU cannot run (an arm64
/// bootstrap on an x86_64 host: Lambda would run it, this machine cannot). Anything that is not
/// an ELF this check knows is left to exec.
fn check_machine(bootstrap: &Path, architecture: &str) -> anyhow::Result<()> {
    let mut header = [0u8; 20];
    let read = std::fs::File::open(bootstrap)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    if read.is_err() || &header[..4] != b"\x7fELF" || header[5] != 1 {
        return Ok(());
    }
    let machine = match u16::from_le_bytes([header[18], header[19]]) {
        0x3e => "x86_64",
        0xb7 => "arm64",
        _ => return Ok(()),
    };
    let host = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    };
    if machine != architecture {
        bail!(
            "fork/exec /var/task/bootstrap: exec format error (the bootstrap is a {machine} ELF; \
             the function's architecture is {architecture})"
        );
    }
    if machine != host {
        bail!(
            "fork/exec /var/task/bootstrap: exec format error (a {machine} bootstrap cannot run \
             on this host's {host} CPU; Lambda would run it: tune or invoke it on AWS)"
        );
    }
    Ok(())
}

/// The clients resolved so far, by runtime. A failure is not kept: the next cold start retries.
static CLIENTS: std::sync::LazyLock<Mutex<HashMap<String, Client>>> =
    std::sync::LazyLock::new(Mutex::default);

/// How to run `runtime`'s `handler` from `code_dir`, installing its runtime interface client
/// into lab's cache first when it is not there (blocking work, off the async threads).
pub(crate) async fn launch(
    config: &crate::functions::FunctionConfig,
    code_dir: &Path,
) -> anyhow::Result<Launch> {
    let (runtime, handler) = (config.runtime.as_str(), config.handler.as_str());
    let Some(kind) = kind(runtime) else {
        bail!("runtime {runtime} cannot run on lab's local stack");
    };
    if kind == Kind::Provided {
        check_machine(&code_dir.join("bootstrap"), &config.architecture)?;
        return Ok(Launch {
            program: code_dir.join("bootstrap"),
            args: Vec::new(),
            env: Vec::new(),
            note: None,
        });
    }
    let known = CLIENTS.lock().expect("clients lock").get(runtime).cloned();
    let client = match known {
        Some(client) => client,
        None => {
            let id = runtime.to_string();
            let client = tokio::task::spawn_blocking(move || match kind {
                Kind::Python { minor } => python_client(&id, minor),
                Kind::Node { major } => node_client(&id, major),
                Kind::Provided => unreachable!("handled above"),
            })
            .await
            .context("the runtime's installer panicked")??;
            let mut clients = CLIENTS.lock().expect("clients lock");
            clients.insert(runtime.to_string(), client.clone());
            client
        }
    };
    let mut args = client.args;
    args.push(handler.into());
    let mut env = client.env;
    if let Some(modules) = client.node_modules {
        env.push((
            "NODE_PATH".into(),
            format!("{}:{}", modules.display(), code_dir.display()),
        ));
    }
    Ok(Launch {
        program: client.program,
        args,
        env,
        note: client.note,
    })
}

/// `python -m awslambdaric` from the venv that has it.
fn python_client(runtime: &str, minor: u32) -> anyhow::Result<Client> {
    let wanted = format!("3.{minor}");
    let version_of = ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"];
    let (host, version) = interpreter(&[&format!("python{wanted}"), "python3"], &version_of)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{runtime} needs Python 3 on the host (apt-get install python3 python3-venv)"
            )
        })?;
    let ric = pinned(PYTHON_REQUIREMENTS, "awslambdaric==");
    let dir = crate::moto::user_cache().join(format!("runtime-python{version}-awslambdaric-{ric}"));
    install(&dir, |dir| {
        run_step(
            Command::new(&host).args(["-m", "venv"]).arg(dir),
            "python3 -m venv",
        )?;
        let pins = PYTHON_REQUIREMENTS.lines().filter(|l| !l.trim().is_empty());
        run_step(
            Command::new(dir.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(pins),
            "pip install awslambdaric",
        )
    })?;
    Ok(Client {
        program: dir.join("bin/python"),
        args: ["-m", "awslambdaric"].map(OsString::from).to_vec(),
        env: vec![
            ("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{runtime}")),
            ("LAMBDA_RUNTIME_DIR".into(), dir.display().to_string()),
        ],
        node_modules: None,
        note: mismatch(runtime, &wanted, &version),
    })
}

/// `node aws-lambda-ric/bin/index.mjs`, with the client's modules and the code on `NODE_PATH` as
/// Lambda has its runtime's and `/var/task`.
fn node_client(runtime: &str, major: u32) -> anyhow::Result<Client> {
    let (node, version) = interpreter(&["node"], &["--version"]).ok_or_else(|| {
        anyhow::anyhow!("{runtime} needs Node.js on the host (apt-get install nodejs npm)")
    })?;
    let host_major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    let ric = pinned(NODE_PACKAGE, "\"aws-lambda-ric\": \"");
    let dir =
        crate::moto::user_cache().join(format!("runtime-node{host_major}-aws-lambda-ric-{ric}"));
    install(&dir, |dir| {
        std::fs::write(dir.join("package.json"), NODE_PACKAGE)?;
        // aws-lambda-ric builds its native client (curl and aws-lambda-cpp) from source.
        run_step(
            Command::new(which("npm").unwrap_or_else(|| "npm".into()))
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(dir),
            "npm install aws-lambda-ric (it needs cmake, autoconf, automake, libtool, make and g++: \
             apt-get install cmake autoconf automake libtool make g++)",
        )
    })?;
    let modules = dir.join("node_modules");
    Ok(Client {
        program: node,
        args: vec![modules.join("aws-lambda-ric/bin/index.mjs").into()],
        env: vec![
            ("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{runtime}")),
            ("LAMBDA_RUNTIME_DIR".into(), dir.display().to_string()),
        ],
        node_modules: Some(modules),
        note: mismatch(runtime, &major.to_string(), &host_major),
    })
}

/// "python3.13 requested, host has 3.11: running on 3.11", when they differ.
fn mismatch(runtime: &str, wanted: &str, host: &str) -> Option<String> {
    (wanted != host)
        .then(|| format!("lab local: {runtime} requested, host has {host}: running on {host}"))
}

/// The version a pin file gives after `prefix`, up to the next quote or line end.
fn pinned(file: &str, prefix: &str) -> String {
    file.lines()
        .find_map(|l| l.trim().split_once(prefix).map(|(_, rest)| rest))
        .map(|rest| rest.split(['"', ' ']).next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// Installs into `dir` once: under a lock (stacks started side by side may all need it), and
/// marked done only when complete, so an interrupted install is redone rather than half used.
fn install(dir: &Path, steps: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let done = dir.join(".lab-installed");
    if done.is_file() {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let lock_path = PathBuf::from(format!("{}.lock", dir.display()));
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    // SAFETY: flock on a descriptor this function owns; released when `lock` closes.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        bail!(
            "cannot lock {}: {}",
            lock_path.display(),
            std::io::Error::last_os_error()
        );
    }
    if done.is_file() {
        return Ok(());
    }
    eprintln!("lab local: installing {} (first use only)", dir.display());
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    steps(dir)?;
    std::fs::write(&done, b"")?;
    Ok(())
}

/// The first of `programs` that runs, and what it prints of its version. A file on `PATH` is not
/// enough: pyenv's shims exist for versions the host does not have, and fail when run.
fn interpreter(programs: &[&str], version_args: &[&str]) -> Option<(PathBuf, String)> {
    programs.iter().find_map(|program| {
        let path = which(program)?;
        let out = Command::new(&path).args(version_args).output().ok()?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !version.is_empty()).then_some((path, version))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_are_classified() {
        assert_eq!(kind("provided.al2023"), Some(Kind::Provided));
        assert_eq!(kind(""), Some(Kind::Provided));
        assert_eq!(kind("python3.13"), Some(Kind::Python { minor: 13 }));
        assert_eq!(kind("nodejs22.x"), Some(Kind::Node { major: 22 }));
        assert_eq!(kind("java21"), None);
        assert_eq!(kind("python2.7"), None);
        assert_eq!(kind("nodejs16.x"), None);
    }

    #[test]
    fn refusals_are_one_line_and_name_what_runs() {
        let java = refusal(&serde_json::json!({"Runtime": "java21"})).unwrap();
        assert!(!java.contains('\n'));
        assert!(
            java.contains("java21") && java.contains("python3.13") && java.contains("nodejs22.x")
        );
        let layers = refusal(
            &serde_json::json!({"Runtime": "python3.13", "Layers": ["arn:aws:lambda:us-east-1:1:layer:x:1"]}),
        );
        assert!(layers.unwrap().starts_with("layers are not supported"));
        assert_eq!(
            refusal(&serde_json::json!({"Runtime": "python3.12", "Layers": []})),
            None
        );
    }

    #[test]
    fn pins_are_read_from_their_files() {
        assert!(!pinned(PYTHON_REQUIREMENTS, "awslambdaric==").is_empty());
        assert!(pinned(NODE_PACKAGE, "\"aws-lambda-ric\": \"").starts_with(char::is_numeric));
        assert_eq!(
            mismatch("python3.13", "3.13", "3.11").unwrap(),
            "lab local: python3.13 requested, host has 3.11: running on 3.11"
        );
        assert_eq!(mismatch("python3.11", "3.11", "3.11"), None);
    }
}
