//! What the kernel accounts for a local instance's cpu cgroup, read as the tests' independent
//! check of the limits the local stack sets.

use std::path::{Path, PathBuf};

/// An instance's cpu cgroup, found through `/proc/<pid>/cgroup` (v1: the `cpu` hierarchy; v2: the
/// unified one).
pub struct CpuCgroup {
    dir: PathBuf,
    v2: bool,
}

impl CpuCgroup {
    /// The cpu cgroup process `pid` is in.
    pub fn of(pid: u64) -> Self {
        let listing = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").is_file();
        let path = listing
            .lines()
            .filter_map(|line| line.splitn(3, ':').collect::<Vec<_>>().try_into().ok())
            .find_map(|[_, controllers, path]: [&str; 3]| {
                let wanted = if v2 {
                    controllers.is_empty()
                } else {
                    controllers.split(',').any(|c| c == "cpu")
                };
                wanted.then(|| path.trim_start_matches('/').to_string())
            })
            .unwrap_or_else(|| panic!("instance {pid} has no cpu cgroup: {listing}"));
        let root = if v2 {
            "/sys/fs/cgroup"
        } else {
            "/sys/fs/cgroup/cpu"
        };
        Self {
            dir: Path::new(root).join(path),
            v2,
        }
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}", self.dir.join(file).display()))
    }

    /// The quota, in CPUs.
    pub fn cpus(&self) -> f64 {
        let (quota, period) = if self.v2 {
            let max = self.read("cpu.max");
            let (q, p) = max.trim().split_once(' ').unwrap();
            (q.to_string(), p.to_string())
        } else {
            (
                self.read("cpu.cfs_quota_us"),
                self.read("cpu.cfs_period_us"),
            )
        };
        quota.trim().parse::<f64>().unwrap() / period.trim().parse::<f64>().unwrap()
    }

    /// Seconds the kernel has held the cgroup back for exceeding its quota.
    pub fn throttled_s(&self) -> f64 {
        let (key, per_s) = if self.v2 {
            ("throttled_usec", 1e6)
        } else {
            ("throttled_time", 1e9)
        };
        let stat = self.read("cpu.stat");
        let value = stat
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {key} in cpu.stat: {stat}"));
        value / per_s
    }
}
