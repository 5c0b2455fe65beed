//! Builds `handler/` into `bootstrap` and packs it into a byte-reproducible Lambda zip.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use base64::Engine;
use sha2::{Digest, Sha256};

/// `provided.al2023` ships glibc 2.34: a bootstrap needing newer symbols fails there at start.
pub const MAX_GLIBC: (u32, u32) = (2, 34);

/// A deployment package and the hash Lambda will report for it.
#[derive(Debug, Clone)]
pub struct Package {
    pub bytes: Vec<u8>,
    /// Base64 of the SHA-256, as Lambda's `CodeSha256`.
    pub sha256_b64: String,
    /// Where it came from (for messages).
    pub source: String,
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

/// Reads a prebuilt zip (`--zip`), checking that it holds a `bootstrap` at its root.
pub fn from_zip(path: &Path) -> anyhow::Result<Package> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read --zip {}", path.display()))?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes))
        .with_context(|| format!("--zip {} is not a zip file", path.display()))?;
    if archive.by_name("bootstrap").is_err() {
        bail!(
            "--zip {} has no `bootstrap` at its root; provided.al2023 needs one",
            path.display()
        );
    }
    Ok(Package::new(bytes, path.display().to_string()))
}

/// Zips one binary as `bootstrap`, mode 0755, with a fixed timestamp: the same binary always gives the
/// same bytes, so an unchanged handler is never re-uploaded.
pub fn zip_bootstrap(binary: &Path) -> anyhow::Result<Package> {
    let data =
        std::fs::read(binary).with_context(|| format!("cannot read {}", binary.display()))?;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(9))
            .unix_permissions(0o755)
            .last_modified_time(zip::DateTime::default());
        zip.start_file("bootstrap", options)?;
        zip.write_all(&data)?;
        zip.finish()?;
    }
    Ok(Package::new(out.into_inner(), binary.display().to_string()))
}

/// The workspace that holds `handler/`: the current directory or one above it, else the one this
/// binary was built from.
pub fn project_root() -> anyhow::Result<PathBuf> {
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

/// The Rust target triple for a Lambda architecture.
pub fn target_triple(arch: &str) -> &'static str {
    if arch == "arm64" {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    }
}

/// Builds the handler in the `lambda` profile. With cargo-zigbuild installed it links against glibc
/// 2.34 exactly (and for arm64 from x86); otherwise a host build, checked afterwards.
pub fn build_handler(root: &Path, arch: &str) -> anyhow::Result<PathBuf> {
    let triple = target_triple(arch);
    let zig = Command::new("cargo")
        .args(["zigbuild", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let host_arch = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    };
    let mut cmd = Command::new("cargo");
    let binary = if zig {
        cmd.args([
            "zigbuild",
            "--profile",
            "lambda",
            "-p",
            "handler",
            "--bin",
            "bootstrap",
            "--target",
        ])
        .arg(format!("{triple}.2.34"));
        root.join("target").join(triple).join("lambda/bootstrap")
    } else if arch == host_arch {
        cmd.args([
            "build",
            "--profile",
            "lambda",
            "-p",
            "handler",
            "--bin",
            "bootstrap",
        ]);
        root.join("target/lambda/bootstrap")
    } else {
        bail!("building for --arch {arch} on this {host_arch} machine needs cargo-zigbuild (pip install ziglang cargo-zigbuild)");
    };
    let out = cmd
        .current_dir(root)
        .output()
        .context("cannot run cargo to build the handler; is the Rust toolchain installed?")?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        bail!(
            "building the handler failed:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(binary)
}

/// The highest `GLIBC_x.y` symbol version a binary needs (via objdump), if it can be read.
pub fn max_glibc(binary: &Path) -> Option<(u32, u32)> {
    let out = Command::new("objdump")
        .arg("-T")
        .arg(binary)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut parts = version.split('.').filter_map(|p| p.parse::<u32>().ok());
            Some((parts.next()?, parts.next().unwrap_or(0)))
        })
        .max()
}

/// Fails when the binary needs a newer glibc than `provided.al2023` has.
pub fn check_glibc(binary: &Path) -> anyhow::Result<Option<(u32, u32)>> {
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
    fn zips_are_byte_reproducible_and_executable() {
        let dir = std::env::temp_dir().join(format!("lab-pkg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("some-binary");
        std::fs::write(&bin, b"\x7fELF not really").unwrap();
        let a = zip_bootstrap(&bin).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = zip_bootstrap(&bin).unwrap();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.sha256_b64, b.sha256_b64);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&a.bytes)).unwrap();
        let entry = archive.by_name("bootstrap").unwrap();
        assert_eq!(entry.unix_mode().unwrap() & 0o777, 0o755);
        drop(entry);
        let zip_path = dir.join("p.zip");
        std::fs::write(&zip_path, &a.bytes).unwrap();
        assert_eq!(from_zip(&zip_path).unwrap().sha256_b64, a.sha256_b64);
        std::fs::write(&zip_path, b"not a zip").unwrap();
        assert!(from_zip(&zip_path)
            .unwrap_err()
            .to_string()
            .contains("not a zip"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
