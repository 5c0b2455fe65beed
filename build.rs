//! Probes, on the machine that builds the tests, whether the local stack will be able to limit its
//! functions through cgroups, with the same probes `src/local/cpu.rs` and `src/local/memory.rs`
//! run when a stack starts. The end-to-end tests that measure those limits are compiled as ignored
//! (with the reason) where the probe fails, instead of passing without having checked anything:
//! libtest has no way to skip a test at run time.
//!
//! - `lab_cpu_cgroups_writable`: a cpu cgroup can be made and given a quota (v2 `cpu.max`, or v1
//!   `cpu.cfs_quota_us`).
//! - `lab_memory_cgroups_writable`: a memory cgroup can be made, limited and joined.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(lab_cpu_cgroups_writable)");
    println!("cargo::rustc-check-cfg=cfg(lab_memory_cgroups_writable)");
    let probe = format!("lab-build-probe-{}", std::process::id());
    if probe_cgroup(&probe, "cpu", cpu_limit) {
        println!("cargo::rustc-cfg=lab_cpu_cgroups_writable");
    }
    if probe_cgroup(&probe, "memory", memory_limit) {
        println!("cargo::rustc-cfg=lab_memory_cgroups_writable");
    }
}

/// Makes `name` under the controller's hierarchy (v2: the unified one, with the controller
/// delegated to children), a child in it that `limit` must manage to limit, then removes both.
fn probe_cgroup(name: &str, controller: &str, limit: fn(&Path, bool) -> bool) -> bool {
    let unified = Path::new("/sys/fs/cgroup/cgroup.controllers");
    let v2 = unified.is_file();
    let base = if v2 {
        let controllers = std::fs::read_to_string(unified).unwrap_or_default();
        if !controllers.split_whitespace().any(|c| c == controller) {
            return false;
        }
        PathBuf::from("/sys/fs/cgroup")
    } else {
        Path::new("/sys/fs/cgroup").join(controller)
    };
    let dir = base.join(name);
    if std::fs::create_dir_all(&dir).is_err() {
        return false;
    }
    if v2 {
        let _ = std::fs::write(dir.join("cgroup.subtree_control"), format!("+{controller}"));
    }
    let child = dir.join("probe");
    let ok = std::fs::create_dir(&child).is_ok() && limit(&child, v2);
    let _ = std::fs::remove_dir(&child);
    let _ = std::fs::remove_dir(&dir);
    ok
}

/// One vCPU's quota, as the local stack writes it for 1769 MB.
fn cpu_limit(dir: &Path, v2: bool) -> bool {
    if v2 {
        std::fs::write(dir.join("cpu.max"), "100000 100000").is_ok()
    } else {
        std::fs::write(dir.join("cpu.cfs_period_us"), "100000").is_ok()
            && std::fs::write(dir.join("cpu.cfs_quota_us"), "100000").is_ok()
    }
}

/// A 64 MB limit, and a throwaway process that joins the cgroup.
fn memory_limit(dir: &Path, v2: bool) -> bool {
    let bytes = (64u64 << 20).to_string();
    let limited = if v2 {
        std::fs::write(dir.join("memory.max"), &bytes).is_ok()
    } else {
        // With swap accounting on, memory + swap gets the same limit, as the stack sets it.
        let memsw = dir.join("memory.memsw.limit_in_bytes");
        std::fs::write(dir.join("memory.limit_in_bytes"), &bytes).is_ok()
            && (!memsw.exists() || std::fs::write(memsw, &bytes).is_ok())
    };
    limited
        && std::process::Command::new("/bin/sh")
            .args(["-c", "echo 0 > \"$1\"", "sh"])
            .arg(dir.join("cgroup.procs"))
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}
