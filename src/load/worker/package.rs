//! The generator's package: the `lab-load-worker` binary of this workspace (the `lab-load` crate's
//! bootstrap), zipped as `bootstrap` for `provided.al2023`. `--worker-bootstrap FILE` names one.
//! Otherwise, for the local stack, it is built in the dev profile from the project's sources, as
//! `up --local` builds the handler (seconds, and never stale: a test build of lab no longer builds
//! it, since it is another crate's binary); for AWS, or without the sources, the one installed
//! beside `lab` is used, or, when that one cannot run on Lambda (another architecture, a glibc newer
//! than provided.al2023's), it is built in the `lambda` profile.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::arch::Arch;
use crate::package::{self, Executable, Package};

/// The binary's name, beside `lab`.
pub(crate) const BINARY: &str = "lab-load-worker";

/// The zipped generator and its architecture. `local` relaxes the glibc
/// check: the local stack runs the binary on this machine.
pub(crate) fn worker_package(explicit: Option<&Path>, local: bool) -> Result<(Package, Arch)> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => locate_or_build(local)?,
    };
    let arch = architecture(&path)?;
    if !local {
        package::check_glibc(&path)?;
    }
    let zipped = package::zip_bootstrap(&path, package::Deflate::for_local(local))?;
    if zipped.bytes.len() > package::DIRECT_UPLOAD_LIMIT {
        bail!(
            "the zip of {} is {:.1} MB, over Lambda's 50 MB limit for a direct upload; build it in the lambda profile (cargo build --profile lambda -p lab-load --bin {BINARY})",
            path.display(),
            zipped.bytes.len() as f64 / 1048576.0
        );
    }
    Ok((zipped, arch))
}

fn architecture(path: &Path) -> Result<Arch> {
    let mut head = Vec::with_capacity(64);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
            64,
        ),
        &mut head,
    )?;
    match package::executable_kind(&head) {
        Executable::Elf(Ok(arch)) => Ok(arch),
        _ => bail!(
            "{} is not a Linux x86_64 or arm64 executable; pass --worker-bootstrap with a Linux build of {BINARY}",
            path.display()
        ),
    }
}

fn locate_or_build(local: bool) -> Result<PathBuf> {
    if local {
        if let Ok(root) = package::project_root() {
            return package::build_local(&root, BINARY);
        }
    }
    let sibling = std::env::current_exe()
        .context("cannot find lab's own path")?
        .with_file_name(BINARY);
    if sibling.is_file() {
        let fits =
            local || package::max_glibc(&sibling).is_none_or(|found| found <= package::MAX_GLIBC);
        if fits && architecture(&sibling).is_ok() {
            return Ok(sibling);
        }
    }
    build(
        &package::project_root()?,
        if local { host_arch()? } else { Arch::X86_64 },
    )
}

fn host_arch() -> Result<Arch> {
    Arch::host_cpu().with_context(|| {
        format!(
            "the local stack runs Linux x86_64 or arm64 binaries, not {}",
            std::env::consts::ARCH
        )
    })
}

/// Builds the generator in the `lambda` profile, as `up` builds the handler.
fn build(root: &Path, arch: Arch) -> Result<PathBuf> {
    let generator = crate::package::LambdaBinary {
        package: "lab-load",
        bin: BINARY,
        instead: "--worker-bootstrap",
    };
    crate::package::build_for_lambda(root, arch, &generator)
}
