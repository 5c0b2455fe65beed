//! Builds `handler/` into `bootstrap` and packs it into a byte-reproducible Lambda zip.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::arch::Arch;

/// `provided.al2023` ships glibc 2.34: a bootstrap needing newer symbols fails there at start.
pub(crate) const MAX_GLIBC: (u32, u32) = (2, 34);

/// A deployment package and the hash Lambda will report for it.
#[derive(Debug, Clone)]
pub struct Package {
    /// The zip file's bytes.
    pub bytes: Vec<u8>,
    /// Base64 of the SHA-256, as Lambda's `CodeSha256`.
    pub(crate) sha256_b64: String,
    /// Where it came from (for messages).
    pub(crate) source: String,
}

impl Package {
    fn new(bytes: Vec<u8>, source: String) -> Self {
        let sha256_b64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
        Self {
            bytes,
            sha256_b64,
            source,
        }
    }
}

/// Lambda's limit on a zip uploaded directly in CreateFunction/UpdateFunctionCode (larger ones go
/// through S3, which lab does not do).
pub(crate) const DIRECT_UPLOAD_LIMIT: usize = 50 * 1024 * 1024;

/// Reads a prebuilt zip (`--zip`), checking that it holds a `bootstrap` at its root that is a Linux
/// executable for `arch`, and that it fits Lambda's direct-upload limit.
pub(crate) fn from_zip(path: &Path, arch: Arch) -> anyhow::Result<Package> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read --zip {}", path.display()))?;
    let label = format!("--zip {}", path.display());
    check_upload_size(&label, bytes.len())?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes))
        .with_context(|| format!("{label} is not a zip file"))?;
    let Ok(entry) = archive.by_name("bootstrap") else {
        bail!("{label} has no `bootstrap` at its root; provided.al2023 needs one");
    };
    let mut head = Vec::with_capacity(64);
    std::io::Read::read_to_end(&mut std::io::Read::take(entry, 64), &mut head)?;
    check_executable(&format!("{label}'s bootstrap"), &head, arch)?;
    Ok(Package::new(bytes, path.display().to_string()))
}

/// Checks `--bootstrap` before any AWS call: a Linux executable for `arch` that will zip within
/// the upload limit. Cheap (a header and a size) unless the binary itself is over the limit, when
/// only zipping it tells.
pub(crate) fn check_bootstrap(path: &Path, arch: Arch) -> anyhow::Result<()> {
    let label = format!("--bootstrap {}", path.display());
    let head = read_head(path).with_context(|| format!("cannot read {label}"))?;
    check_executable(&label, &head, arch)?;
    let size = std::fs::metadata(path)?.len() as usize;
    if size > DIRECT_UPLOAD_LIMIT {
        check_upload_size(
            &format!("the zip of {label}"),
            zip_bootstrap(path, Deflate::Standard)?.bytes.len(),
        )?;
    }
    Ok(())
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(64);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(path)?, 64),
        &mut head,
    )?;
    Ok(head)
}

fn check_upload_size(label: &str, len: usize) -> anyhow::Result<()> {
    if len > DIRECT_UPLOAD_LIMIT {
        bail!(
            "{label} is {:.1} MB, over Lambda's 50 MB limit for a direct upload; build with the lambda profile (smaller) or strip the binary",
            len as f64 / 1048576.0
        );
    }
    Ok(())
}

/// What kind of executable the first bytes of a file say it is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Executable {
    /// A 64-bit ELF for one of Lambda's architectures, or another machine number.
    Elf(Result<Arch, u16>),
    /// A script (`#!`): Lambda's custom runtimes may be one, run by an interpreter in the image.
    Script,
    /// A macOS binary.
    MachO,
    /// A Windows binary.
    Pe,
    /// Neither an ELF nor a script.
    Unknown,
}

/// Reads the executable format and machine from a file's first bytes.
pub(crate) fn executable_kind(head: &[u8]) -> Executable {
    match head {
        [0x7f, b'E', b'L', b'F', 2, ..] if head.len() >= 20 => {
            let machine = u16::from_le_bytes([head[18], head[19]]);
            Executable::Elf(Arch::from_elf_machine(machine).ok_or(machine))
        }
        [0xcf, 0xfa, 0xed, 0xfe, ..]
        | [0xfe, 0xed, 0xfa, 0xcf, ..]
        | [0xca, 0xfe, 0xba, 0xbe, ..] => Executable::MachO,
        [b'M', b'Z', ..] => Executable::Pe,
        [b'#', b'!', ..] => Executable::Script,
        _ => Executable::Unknown,
    }
}

/// Every 64-bit Linux ELF in a zip whose machine Lambda runs, by path: what decides whether the
/// same package can run on the other instruction set (a `bootstrap`, a Python wheel's `.so`).
pub(crate) fn elf_files(zip: &[u8]) -> anyhow::Result<Vec<(String, Arch)>> {
    if zip.is_empty() {
        return Ok(Vec::new());
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .context("the function's package is not a zip")?;
    let mut found = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        if entry.is_dir() || entry.size() < 20 {
            continue;
        }
        let mut head = [0u8; 20];
        if std::io::Read::read_exact(&mut entry, &mut head).is_err() {
            continue;
        }
        if let Executable::Elf(Ok(arch)) = executable_kind(&head) {
            found.push((entry.name().to_string(), arch));
        }
    }
    Ok(found)
}

/// Refuses anything but a 64-bit Linux ELF for `arch` (or a `#!` script, which a custom runtime
/// may be): Lambda would only fail at the first invocation, with Runtime.InvalidEntrypoint.
pub(crate) fn check_executable(label: &str, head: &[u8], arch: Arch) -> anyhow::Result<()> {
    match executable_kind(head) {
        Executable::Elf(Ok(found)) if found == arch => Ok(()),
        Executable::Script => Ok(()),
        Executable::Elf(Ok(found)) => bail!(
            "{label} is a Linux {found} binary but the function is --arch {arch}; pass --arch {found} or build for {arch}"
        ),
        Executable::Elf(Err(machine)) => bail!(
            "{label} is an ELF for machine {machine:#x}, which Lambda does not run; build for x86_64 or arm64 Linux"
        ),
        Executable::MachO => bail!(
            "{label} is a macOS (Mach-O) binary; Lambda runs Linux: build with cargo zigbuild --target {}",
            arch.target_triple()
        ),
        Executable::Pe => bail!(
            "{label} is a Windows (PE) binary; Lambda runs Linux: build with cargo zigbuild --target {}",
            arch.target_triple()
        ),
        Executable::Unknown => bail!(
            "{label} is not an executable Lambda can run (no ELF header); pass a Linux {arch} binary"
        ),
    }
}

/// How hard a package is deflated. Where it goes decides: the local stack unpacks it on this machine,
/// so only time counts there (a 34 MB debug bootstrap deflates in about 0.3 s at level 1 and 4 s at
/// level 9); AWS gets zip's default level, within 1% of the smallest and four times faster than it.
/// The level is part of what makes the bytes (and so CodeSha256) reproducible: a destination always
/// gets the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deflate {
    /// Level 1, for the local stack.
    Fast,
    /// Level 6, for AWS.
    Standard,
}

impl Deflate {
    /// The level for a stack on the local stack (`local`) or on AWS.
    pub(crate) fn for_local(local: bool) -> Self {
        if local {
            Deflate::Fast
        } else {
            Deflate::Standard
        }
    }

    fn level(self) -> i64 {
        match self {
            Deflate::Fast => 1,
            Deflate::Standard => 6,
        }
    }
}

/// Zips one binary as `bootstrap`, mode 0755, with a fixed timestamp: the same binary always gives the
/// same bytes, so an unchanged handler is never re-uploaded.
pub fn zip_bootstrap(binary: &Path, deflate: Deflate) -> anyhow::Result<Package> {
    let data =
        std::fs::read(binary).with_context(|| format!("cannot read {}", binary.display()))?;
    let zip = zip_one("bootstrap", &data, 0o755, deflate)?;
    Ok(Package::new(zip, binary.display().to_string()))
}

/// A zip of one file at its root, with a fixed timestamp: the same bytes in always give the same
/// zip, so unchanged code is never re-uploaded.
fn zip_one(name: &str, data: &[u8], mode: u32, deflate: Deflate) -> anyhow::Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(deflate.level()))
        .unix_permissions(mode)
        .last_modified_time(zip::DateTime::default());
    zip.start_file(name, options)?;
    zip.write_all(data)?;
    zip.finish()?;
    Ok(out.into_inner())
}

/// The tutorial's own Python function (assets/tutorial/lambda_function.py), zipped as
/// `lambda_function.py` without lab's header (every line down to the first blank one): byte for
/// byte the code the tutorial pastes into the console. Built into lab, so it deploys from anywhere.
pub fn tutorial_python() -> anyhow::Result<Package> {
    const ASSET: &str = include_str!("../assets/tutorial/lambda_function.py");
    let code = ASSET
        .split_once("\n\n")
        .map(|(_, code)| code)
        .context("assets/tutorial/lambda_function.py has no blank line after its header")?;
    let zip = zip_one(
        "lambda_function.py",
        code.as_bytes(),
        0o644,
        Deflate::Standard,
    )?;
    Ok(Package::new(
        zip,
        "assets/tutorial/lambda_function.py (the tutorial's, verbatim)".to_string(),
    ))
}

/// The workspace that holds `handler/`: the current directory or one above it, else the one this
/// binary was built from.
pub(crate) fn project_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    for dir in cwd.ancestors() {
        if dir.join("handler/Cargo.toml").is_file() {
            return Ok(dir.to_path_buf());
        }
    }
    let built_from = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if built_from.join("handler/Cargo.toml").is_file() {
        return Ok(built_from);
    }
    bail!("cannot find the handler sources (handler/Cargo.toml); run lab from the project directory or pass --zip FILE")
}

/// Builds the handler for the local stack: a host build in the dev profile, which shares every
/// compiled dependency with `lab` itself and the tests (`--workspace` unifies their features),
/// so after the first build of lab it costs seconds. The local stack runs it natively.
pub(crate) fn build_local_handler(root: &Path) -> anyhow::Result<PathBuf> {
    build_local(root, "bootstrap")
}

/// Builds the workspace's binary `bin` for the local stack, as [`build_local_handler`] builds the
/// handler (the load generator's bootstrap is the other one).
pub(crate) fn build_local(root: &Path, bin: &str) -> anyhow::Result<PathBuf> {
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--workspace", "--bin", bin]);
    run_cargo(cmd, root, bin)?;
    Ok(root.join("target/debug").join(bin))
}

/// Builds the handler for AWS in the `lambda` profile (fat LTO, stripped: small and quick to
/// start), checked afterwards.
pub(crate) fn build_handler(root: &Path, arch: Arch) -> anyhow::Result<PathBuf> {
    let handler = LambdaBinary {
        package: "handler",
        bin: "bootstrap",
        instead: "--bootstrap/--zip with a Linux build",
    };
    let binary = build_for_lambda(root, arch, &handler)?;
    check_executable(&binary.display().to_string(), &read_head(&binary)?, arch)?;
    Ok(binary)
}

/// A binary that runs on Lambda: its package and name, and what the user can pass instead when it
/// cannot be built here.
pub(crate) struct LambdaBinary<'a> {
    /// The cargo package.
    pub(crate) package: &'a str,
    /// The binary target.
    pub(crate) bin: &'a str,
    /// The flag that takes a prebuilt one, for the error message.
    pub(crate) instead: &'a str,
}

/// Builds `what` for Linux `arch` in the `lambda` profile. With cargo-zigbuild installed it links
/// against glibc 2.34 exactly (and for arm64 from x86); otherwise a host build on Linux.
pub(crate) fn build_for_lambda(
    root: &Path,
    arch: Arch,
    what: &LambdaBinary,
) -> anyhow::Result<PathBuf> {
    let triple = arch.target_triple();
    let zig = Command::new("cargo")
        .args(["zigbuild", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = Command::new("cargo");
    let common = ["--profile", "lambda", "-p", what.package, "--bin", what.bin];
    let binary = if zig {
        cmd.arg("zigbuild").args(common).arg("--target");
        cmd.arg(format!("{triple}.2.34"));
        root.join("target").join(triple).join("lambda").join(what.bin)
    } else if Arch::linux_host() == Some(arch) {
        cmd.arg("build").args(common);
        root.join("target/lambda").join(what.bin)
    } else {
        bail!(
            "building {} for Linux {arch} on this {} {} machine needs cargo-zigbuild: pip install ziglang cargo-zigbuild (or pass {})",
            what.bin,
            std::env::consts::OS,
            std::env::consts::ARCH,
            what.instead
        );
    };
    run_cargo(cmd, root, what.bin)?;
    Ok(binary)
}

fn run_cargo(mut cmd: Command, root: &Path, bin: &str) -> anyhow::Result<()> {
    for name in inherited_crate_vars(std::env::vars_os().map(|(k, _)| k)) {
        cmd.env_remove(name);
    }
    let out = cmd.current_dir(root).output().with_context(|| {
        format!("cannot run cargo to build {bin}; is the Rust toolchain installed?")
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        bail!(
            "building {bin} failed:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

/// The variables cargo sets for the crate it runs (`cargo run`, a test), which lab inherits when it
/// runs that way: a child cargo must not see them, as build scripts that watch one (ring's watches
/// `CARGO_MANIFEST_DIR`) would then rebuild, and everything above them after, on every switch
/// between lab's builds and the tests' build.
fn inherited_crate_vars(
    names: impl Iterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    const EXACT: &[&str] = &[
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ];
    const PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_BIN_EXE_"];
    names
        .filter(|name| {
            let name = name.to_string_lossy();
            EXACT.contains(&name.as_ref()) || PREFIXES.iter().any(|p| name.starts_with(p))
        })
        .collect()
}

/// The highest `GLIBC_x.y` symbol version a binary needs (via objdump), if it can be read.
pub(crate) fn max_glibc(binary: &Path) -> Option<(u32, u32)> {
    let out = Command::new("objdump").arg("-T").arg(binary).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let version: String =
                rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            let mut parts = version.split('.').filter_map(|p| p.parse::<u32>().ok());
            Some((parts.next()?, parts.next().unwrap_or(0)))
        })
        .max()
}

/// Fails when the binary needs a newer glibc than `provided.al2023` has.
pub(crate) fn check_glibc(binary: &Path) -> anyhow::Result<Option<(u32, u32)>> {
    let found = max_glibc(binary);
    if let Some((major, minor)) = found {
        if (major, minor) > MAX_GLIBC {
            bail!(
                "{} needs GLIBC_{major}.{minor} but provided.al2023 has {}.{}; install cargo-zigbuild (pip install ziglang cargo-zigbuild) and run again",
                binary.display(),
                MAX_GLIBC.0,
                MAX_GLIBC.1
            );
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_cargo_sees_none_of_the_variables_cargo_set_for_the_running_crate() {
        let names = [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_BIN_EXE_lab",
            "CARGO_TARGET_TMPDIR",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "PATH",
        ]
        .map(std::ffi::OsString::from);
        let removed = inherited_crate_vars(names.into_iter());
        let removed: Vec<_> = removed.iter().map(|n| n.to_string_lossy().into_owned()).collect();
        assert_eq!(
            removed,
            [
                "CARGO_MANIFEST_DIR",
                "CARGO_PKG_NAME",
                "CARGO_BIN_EXE_lab",
                "CARGO_TARGET_TMPDIR"
            ]
        );
    }

    fn elf(machine: u16) -> Vec<u8> {
        let mut head = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        head.resize(18, 0);
        head.extend_from_slice(&machine.to_le_bytes());
        head
    }

    #[test]
    fn only_linux_elfs_for_the_chosen_arch_are_deployed() {
        assert!(check_executable("b", &elf(0x3e), Arch::X86_64).is_ok());
        assert!(check_executable("b", &elf(0xb7), Arch::Arm64).is_ok());
        let wrong_arch = check_executable("b", &elf(0xb7), Arch::X86_64).unwrap_err();
        assert!(wrong_arch.to_string().contains("--arch arm64"));
        let macho = check_executable("b", &[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1], Arch::Arm64);
        assert!(macho.unwrap_err().to_string().contains("Mach-O"));
        let pe = check_executable("b", b"MZ\x90\x00", Arch::X86_64);
        assert!(pe.unwrap_err().to_string().contains("Windows"));
        assert!(check_executable("b", &elf(0x28), Arch::X86_64).is_err());
        assert!(check_executable("b", b"#!/bin/sh\n", Arch::Arm64).is_ok());
    }

    #[test]
    fn zips_over_the_direct_upload_limit_are_refused() {
        assert!(check_upload_size("z", DIRECT_UPLOAD_LIMIT).is_ok());
        let e = check_upload_size("z", DIRECT_UPLOAD_LIMIT + 1).unwrap_err();
        assert!(e.to_string().contains("50 MB"));
    }

    #[test]
    fn zips_are_byte_reproducible_and_executable() {
        let dir = std::env::temp_dir().join(format!("lab-pkg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("some-binary");
        std::fs::write(&bin, b"\x7fELF not really").unwrap();
        let a = zip_bootstrap(&bin, Deflate::Fast).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = zip_bootstrap(&bin, Deflate::Fast).unwrap();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.sha256_b64, b.sha256_b64);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&a.bytes)).unwrap();
        let entry = archive.by_name("bootstrap").unwrap();
        assert_eq!(entry.unix_mode().unwrap() & 0o777, 0o755);
        drop(entry);
        let zip_path = dir.join("p.zip");
        std::fs::write(&zip_path, &a.bytes).unwrap();
        // Not an ELF: refused before any upload.
        assert!(from_zip(&zip_path, Arch::X86_64)
            .unwrap_err()
            .to_string()
            .contains("no ELF header"));
        std::fs::write(&zip_path, b"not a zip").unwrap();
        assert!(from_zip(&zip_path, Arch::X86_64).unwrap_err().to_string().contains("not a zip"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
