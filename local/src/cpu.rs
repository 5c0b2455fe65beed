//! CPU in proportion to memory, as Lambda gives it (1,769 MB = one vCPU), through a cpu cgroup per
//! instance. Where cgroups are not writable the local stack runs unthrottled and says so.

use std::path::{Path, PathBuf};

use super::cgroup::{self, Flavor};

/// Memory that buys one full vCPU on Lambda.
pub(crate) const MB_PER_VCPU: u32 = 1769;
/// The CFS period the quota is a share of, in microseconds.
const PERIOD_US: u64 = 100_000;

/// The parent cgroup of this local stack's instances, when one could be made.
pub(crate) fn setup(name: &str) -> Option<(PathBuf, Flavor)> {
    let (dir, flavor) = cgroup::parent("cpu", name)?;
    // A cgroup we cannot write limits into is no use.
    let probe = dir.join(format!("probe-{}", std::process::id()));
    std::fs::create_dir(&probe).ok()?;
    let ok = write_quota(&probe, flavor, 1769).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok.then_some((dir, flavor))
}

/// The quota for a memory size: memory / 1769 of one CPU, at least 1% (Lambda's smallest share).
pub(crate) fn quota_us(memory_mb: u32) -> u64 {
    ((memory_mb as u64 * PERIOD_US) / MB_PER_VCPU as u64).max(PERIOD_US / 100)
}

fn write_quota(dir: &Path, flavor: Flavor, memory_mb: u32) -> std::io::Result<()> {
    let quota = quota_us(memory_mb);
    match flavor {
        Flavor::V1 => {
            std::fs::write(dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
            std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())
        }
        Flavor::V2 => std::fs::write(dir.join("cpu.max"), format!("{quota} {PERIOD_US}")),
    }
}

fn flavor_of(root: &Path) -> Flavor {
    if root.starts_with("/sys/fs/cgroup/cpu") {
        Flavor::V1
    } else {
        Flavor::V2
    }
}

/// One instance's cgroup; removed when dropped (after the process is gone).
#[derive(Debug)]
pub(crate) struct CpuShare {
    dir: PathBuf,
}

impl CpuShare {
    /// Makes a cgroup limited to the memory's share of a CPU; the instance joins it between fork
    /// and exec (through [`procs`](Self::procs)), so it never runs a moment unthrottled.
    pub(crate) fn prepare(root: &Path, instance: u64, memory_mb: u32) -> std::io::Result<Self> {
        let dir = root.join(format!("i{instance}"));
        std::fs::create_dir_all(&dir)?;
        write_quota(&dir, flavor_of(root), memory_mb)?;
        Ok(Self { dir })
    }

    /// The file a process writes `0` to, to join.
    pub(crate) fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }
}

impl Drop for CpuShare {
    fn drop(&mut self) {
        cgroup::remove_when_empty(self.dir.clone());
    }
}

/// Removes the stack's parent cgroup (on shutdown).
pub(crate) fn teardown(root: &Path) {
    cgroup::teardown(root);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_proportional_to_memory() {
        assert_eq!(quota_us(1769), 100_000);
        assert_eq!(quota_us(128), 7_235);
        assert_eq!(quota_us(1024), 57_885);
        assert_eq!(quota_us(3538), 200_000);
        assert_eq!(quota_us(1), 1_000);
    }
}
