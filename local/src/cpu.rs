//! CPU in proportion to memory, as Lambda gives it (1,769 MB = one vCPU), through a cpu cgroup per
//! instance. Where cgroups are not writable the local stack runs unthrottled and says so.

use std::path::{Path, PathBuf};

use super::cgroup::{self, Flavor};

/// Memory that buys one full vCPU on Lambda.
pub(crate) const MB_PER_VCPU: u32 = 1769;
/// The CFS period the quota is a share of, in microseconds. Short, so that a handler shorter than
/// the kernel's default 100 ms period still runs at its share rather than at full speed until the
/// period's quota runs out (at 1,024 MB a 100 ms period lets 58 ms of CPU run unthrottled: a
/// 100 ms handler came out at 105-140 ms instead of 173 ms).
const PERIOD_US: u64 = 20_000;

/// The kernel's smallest quota.
const MIN_QUOTA_US: u64 = 1_000;

/// The parent cgroup of this local stack's instances, when one could be made.
pub(crate) fn setup(name: &str) -> Option<(PathBuf, Flavor)> {
    let (dir, flavor) = cgroup::parent("cpu", name)?;
    // A cgroup we cannot write limits into is no use.
    let probe = dir.join(format!("probe-{}", std::process::id()));
    std::fs::create_dir(&probe).ok()?;
    let ok = write_quota(&probe, flavor, quota_us(1769)).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok.then_some((dir, flavor))
}

/// The quota for a memory size: memory / 1769 of one CPU, at least the kernel's smallest quota
/// (1 ms of the period: 5%, below any memory size Lambda allows).
pub(crate) fn quota_us(memory_mb: u32) -> u64 {
    ((memory_mb as u64 * PERIOD_US) / MB_PER_VCPU as u64).max(MIN_QUOTA_US)
}

/// What Lambda gives a function's INIT phase: two vCPUs, or its memory's share where that is more
/// (measured: init code runs unthrottled on two vCPUs below 3008 MB; see the README's sources).
pub(crate) fn init_quota_us(memory_mb: u32) -> u64 {
    quota_us(memory_mb).max(INIT_VCPUS * PERIOD_US)
}

/// The vCPUs an INIT phase gets at least.
pub(crate) const INIT_VCPUS: u64 = 2;

fn write_quota(dir: &Path, flavor: Flavor, quota: u64) -> std::io::Result<()> {
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
    flavor: Flavor,
    /// The memory's share, which [`settle`](Self::settle) writes once init ends.
    quota_us: u64,
}

impl CpuShare {
    /// Makes a cgroup limited to what Lambda gives an INIT phase ([`init_quota_us`]); the instance
    /// joins it between fork and exec (through [`procs`](Self::procs)), so it never runs a moment
    /// unthrottled, and [`settle`](Self::settle) lowers it to the memory's share once init ends.
    pub(crate) fn prepare(root: &Path, instance: u64, memory_mb: u32) -> std::io::Result<Self> {
        let dir = root.join(format!("i{instance}"));
        std::fs::create_dir_all(&dir)?;
        let flavor = flavor_of(root);
        write_quota(&dir, flavor, init_quota_us(memory_mb))?;
        Ok(Self {
            dir,
            flavor,
            quota_us: quota_us(memory_mb),
        })
    }

    /// The memory's share of a CPU, from now on (init is over).
    pub(crate) fn settle(&self) -> std::io::Result<()> {
        write_quota(&self.dir, self.flavor, self.quota_us)
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
        assert_eq!(quota_us(1769), 20_000);
        assert_eq!(quota_us(128), 1_447);
        assert_eq!(quota_us(1024), 11_577);
        assert_eq!(quota_us(3538), 40_000);
        assert_eq!(quota_us(1), 1_000);
        assert_eq!(init_quota_us(128), 40_000, "init runs on two vCPUs");
        assert_eq!(
            init_quota_us(5307),
            60_000,
            "or on its share where that is more"
        );
    }
}
