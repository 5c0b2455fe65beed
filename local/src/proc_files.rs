//! `/proc` files kept open and read again in place. The stack reads an instance's thread times at
//! every invocation's start and end (the CPU budget) and its peak memory at every end (the REPORT
//! line); opening each file anew, sizing it and listing the threads cost about twenty system calls
//! an invocation, a tenth of the gateway's time at 2,500 invocations a second. A procfs file read
//! again at offset 0 is generated afresh, so one `pread` gives the current figures.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

/// Room for `/proc/<pid>/status` (about 1.5 KB) and anything smaller.
const BUF: usize = 4096;

/// One `/proc` file, open.
pub(crate) struct ProcFile(File);

impl ProcFile {
    /// Opens `path`.
    pub(crate) fn open(path: &str) -> io::Result<ProcFile> {
        File::open(path).map(ProcFile)
    }

    /// The file's current content, read from its start into `buf`.
    fn read<'b>(&self, buf: &'b mut [u8; BUF]) -> io::Result<&'b str> {
        let mut n = 0;
        while n < buf.len() {
            match self.0.read_at(&mut buf[n..], n as u64)? {
                0 => break,
                k => n += k,
            }
        }
        std::str::from_utf8(&buf[..n]).map_err(io::Error::other)
    }

    /// The value in kB of the line starting `key` (`VmHWM:` in a status file).
    pub(crate) fn kb_of(&self, key: &str) -> Option<u64> {
        let mut buf = [0u8; BUF];
        self.read(&mut buf)
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
    }
}

/// How long a process's list of threads is trusted before it is read again (a thread it starts
/// meanwhile is counted from then; one that ends drops out at the next read that fails).
const RELIST_EVERY: Duration = Duration::from_secs(1);

/// The most processes whose threads are kept open (forgotten all at once past it).
const MAX_PROCESSES: usize = 1024;

/// The schedstat files of each process's threads, kept open.
#[derive(Default)]
pub(crate) struct ThreadTimes {
    processes: HashMap<u32, Threads>,
}

struct Threads {
    files: Vec<ProcFile>,
    listed: Instant,
}

impl ThreadTimes {
    /// The seconds process `pid`'s threads have run on a CPU or waited runnable for one (their
    /// schedstat's first two fields, in nanoseconds), all threads together; `None` once it is gone.
    pub(crate) fn wanted_s(&mut self, pid: u32) -> Option<f64> {
        let fresh = self.processes.get(&pid).is_some_and(|t| t.listed.elapsed() < RELIST_EVERY);
        if fresh {
            if let Some(ns) = self.processes.get(&pid).and_then(|t| t.sum_ns()) {
                return Some(ns as f64 / 1e9);
            }
        }
        // Not listed, listed long ago, or a thread has ended: list the threads again.
        match Threads::list(pid) {
            Some(threads) => {
                let ns = threads.sum_ns().unwrap_or(0);
                if self.processes.len() >= MAX_PROCESSES && !self.processes.contains_key(&pid) {
                    self.processes.clear();
                }
                self.processes.insert(pid, threads);
                Some(ns as f64 / 1e9)
            }
            None => {
                self.processes.remove(&pid);
                None
            }
        }
    }
}

impl Threads {
    fn list(pid: u32) -> Option<Threads> {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let files = tasks
            .flatten()
            .filter_map(|t| ProcFile::open(&t.path().join("schedstat").to_string_lossy()).ok())
            .collect();
        Some(Threads {
            files,
            listed: Instant::now(),
        })
    }

    /// The threads' run + wait nanoseconds; `None` if any of them has ended.
    fn sum_ns(&self) -> Option<u64> {
        let mut buf = [0u8; BUF];
        let mut ns = 0;
        for file in &self.files {
            let text = file.read(&mut buf).ok()?;
            let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().unwrap_or(0));
            ns += fields.next()? + fields.next().unwrap_or(0);
        }
        Some(ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_file_reads_the_current_figures_each_time() {
        let mut times = ThreadTimes::default();
        let pid = std::process::id();
        let before = times.wanted_s(pid).expect("this process's threads");
        // Burn a few milliseconds of CPU: the same open files must show it.
        let until = Instant::now() + Duration::from_millis(20);
        let mut x = 0u64;
        while Instant::now() < until {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = times.wanted_s(pid).expect("still here");
        assert!(after >= before + 0.015, "{before} then {after}");
        assert_eq!(times.wanted_s(u32::MAX), None);
    }

    #[test]
    fn a_status_line_is_read_in_kilobytes() {
        let status = ProcFile::open(&format!("/proc/{}/status", std::process::id())).unwrap();
        let first = status.kb_of("VmHWM:").expect("VmHWM");
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        let again = status.kb_of("VmHWM:").expect("VmHWM");
        assert!(again >= first + 60 * 1024, "{first} kB then {again} kB");
    }
}
