//! Memory enforced while a function runs, as Lambda stops a function at its memory size: a memory
//! cgroup per instance, limited to the function's memory (no swap), joined between fork and exec so
//! nothing the function allocates escapes it. The kernel kills the instance mid-call when it goes
//! past; the cgroup's OOM count tells that kill apart from any other. Where memory cgroups are not
//! writable the local stack checks the peak after each call instead, and says so.

use std::path::{Path, PathBuf};

use super::cgroup::{self, Flavor};

/// The parent memory cgroup of this local stack's instances, when one could be made and joined.
pub(crate) fn setup(name: &str) -> Option<(PathBuf, Flavor)> {
    let (dir, flavor) = cgroup::parent("memory", name)?;
    // A cgroup that cannot be limited and joined is no use: try both with a throwaway process.
    let probe = MemoryLimit::prepare(&dir, flavor, u64::from(std::process::id()) << 20, 64).ok()?;
    let joined = std::process::Command::new("/bin/sh")
        .args(["-c", "echo 0 > \"$1\"", "sh"])
        .arg(probe.dir.join("cgroup.procs"))
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    drop(probe);
    joined.then_some((dir, flavor))
}

/// One instance's memory cgroup; removed when dropped (after the process is gone).
#[derive(Debug)]
pub(crate) struct MemoryLimit {
    dir: PathBuf,
    flavor: Flavor,
}

impl MemoryLimit {
    /// Makes the instance's cgroup with its limit; the process joins it through [`procs`](Self::procs).
    pub(crate) fn prepare(
        root: &Path,
        flavor: Flavor,
        instance: u64,
        memory_mb: u32,
    ) -> std::io::Result<Self> {
        let dir = root.join(format!("i{instance}"));
        std::fs::create_dir_all(&dir)?;
        let limit = Self { dir, flavor };
        let bytes = (u64::from(memory_mb) << 20).to_string();
        match flavor {
            Flavor::V1 => {
                std::fs::write(limit.dir.join("memory.limit_in_bytes"), &bytes)?;
                // With swap accounting on, memory + swap gets the same limit: no swapping past it.
                let memsw = limit.dir.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    std::fs::write(memsw, &bytes)?;
                }
            }
            Flavor::V2 => {
                std::fs::write(limit.dir.join("memory.max"), &bytes)?;
                let _ = std::fs::write(limit.dir.join("memory.swap.max"), "0");
            }
        }
        Ok(limit)
    }

    /// The file a process writes `0` to, to join.
    pub(crate) fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Whether the kernel killed a process of this cgroup for going past the limit.
    pub(crate) fn oom_killed(&self) -> bool {
        let (file, key) = match self.flavor {
            Flavor::V1 => ("memory.oom_control", "oom_kill"),
            Flavor::V2 => ("memory.events", "oom_kill"),
        };
        let text = std::fs::read_to_string(self.dir.join(file)).unwrap_or_default();
        let count = |k: &str| -> u64 {
            text.lines().find_map(|l| l.strip_prefix(k)?.trim().parse().ok()).unwrap_or(0)
        };
        // Kernels before 4.13 have no oom_kill count in v1: hitting the limit (failcnt) says it then.
        count(&format!("{key} ")) > 0
            || (self.flavor == Flavor::V1 && !text.contains(key) && self.failcnt() > 0)
    }

    fn failcnt(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("memory.failcnt"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for MemoryLimit {
    fn drop(&mut self) {
        cgroup::remove_when_empty(self.dir.clone());
    }
}

/// Joins the cgroup whose `cgroup.procs` is `procs`, from the child between fork and exec: only
/// async-signal-safe calls (open, write, close) on a path prepared before the fork.
///
/// # Safety
/// Call only in a `pre_exec` closure; `procs` must be a valid C string.
pub(crate) unsafe fn join(procs: &std::ffi::CStr) -> std::io::Result<()> {
    // SAFETY: a valid C string; a plain open of a cgroup file.
    let fd = unsafe { libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: one byte from a static buffer to the descriptor just opened, then closed.
    let written = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
    // SAFETY: as above.
    unsafe { libc::close(fd) };
    if written == 1 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Removes the stack's parent cgroup (on shutdown).
pub(crate) fn teardown(root: &Path) {
    cgroup::teardown(root);
}
