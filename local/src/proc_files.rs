//! `/proc` files kept open and read again in place. The stack reads an instance's thread times at
//! every invocation's start and end (the CPU budget) and its peak memory at every end (the REPORT
//! line); opening each file anew, sizing it and listing the threads cost about twenty system calls
//! an invocation, a tenth of the gateway's time at 2,500 invocations a second. A procfs file read
//! again at offset 0 is generated afresh, so one `pread` gives the current figures.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

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

/// The most processes whose threads are kept open (forgotten all at once past it).
const MAX_PROCESSES: usize = 1024;

/// The schedstat files of each process's threads, kept open.
#[derive(Default)]
pub(crate) struct ThreadTimes {
    processes: HashMap<u32, Threads>,
}

/// One process's `stat` (for its thread count) and its threads' `schedstat` files.
struct Threads {
    stat: ProcFile,
    files: Vec<ProcFile>,
}

impl ThreadTimes {
    /// The seconds process `pid`'s threads have run on a CPU or waited runnable for one (their
    /// schedstat's first two fields, in nanoseconds), all threads together; `None` once it is gone.
    pub(crate) fn wanted_s(&mut self, pid: u32) -> Option<f64> {
        if let Some(ns) = self.processes.get(&pid).and_then(Threads::sum_ns) {
            return Some(ns as f64 / 1e9);
        }
        // Not seen before, or its threads changed: list them again.
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
        let stat = ProcFile::open(&format!("/proc/{pid}/stat")).ok()?;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let files = tasks
            .flatten()
            .filter_map(|t| ProcFile::open(&t.path().join("schedstat").to_string_lossy()).ok())
            .collect();
        Some(Threads { stat, files })
    }

    /// The process's thread count (`stat`'s 20th field, counted after the command's closing
    /// parenthesis, as the command may hold spaces).
    fn count(&self) -> Option<usize> {
        let mut buf = [0u8; BUF];
        let text = self.stat.read(&mut buf).ok()?;
        let after = &text[text.rfind(')')? + 1..];
        after.split_whitespace().nth(17)?.parse().ok()
    }

    /// The threads' run + wait nanoseconds; `None` if a thread has started or ended since they
    /// were listed (or the process is gone).
    fn sum_ns(&self) -> Option<u64> {
        if self.count()? != self.files.len() {
            return None;
        }
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
    use std::time::{Duration, Instant};

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
    fn a_thread_started_after_the_listing_is_counted() {
        let mut times = ThreadTimes::default();
        let pid = std::process::id();
        times.wanted_s(pid).expect("this process's threads");
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let burner = std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_millis(30);
            let mut x = 0u64;
            while Instant::now() < until {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
            std::hint::black_box(x);
            tx.send(()).unwrap();
            // Alive (so listed) until the reading below is taken.
            let _ = done_rx.recv();
        });
        let before = times.wanted_s(pid).unwrap();
        rx.recv().unwrap();
        let after = times.wanted_s(pid).unwrap();
        done_tx.send(()).unwrap();
        burner.join().unwrap();
        assert!(after >= before + 0.02, "{before} then {after}");
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
