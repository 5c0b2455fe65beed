//! `/proc` files kept open and read again in place. The stack reads an instance's thread times at
//! every invocation's start and end (the CPU budget) and its peak memory at every end (the REPORT
//! line); opening each file anew, sizing it and listing the threads cost about twenty system calls
//! an invocation, a tenth of the gateway's time at 2,500 invocations a second. A procfs file read
//! again at offset 0 is generated afresh, so one `pread` gives the current figures.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Room for `/proc/<pid>/status` (about 1.5 KB) and anything smaller.
const BUF: usize = 4096;

/// One `/proc` file, open.
pub(crate) struct ProcFile(File);

impl ProcFile {
    /// Opens `path`.
    pub(crate) fn open(path: impl AsRef<Path>) -> io::Result<ProcFile> {
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
                if !self.processes.contains_key(&pid) {
                    // A new instance: let go of the files of those that have ended (their `stat`
                    // no longer reads), so only live instances hold descriptors.
                    self.processes.retain(|_, t| t.count().is_some());
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
        let stat = ProcFile::open(format!("/proc/{pid}/stat")).ok()?;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let files = tasks
            .flatten()
            .filter_map(|t| ProcFile::open(t.path().join("schedstat")).ok())
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

    use std::io::{BufRead, BufReader, Write};
    use std::process::{Child, Command, Stdio};

    /// A Python process that, at each line on its stdin, does the next step of `steps` and answers
    /// a line when done. The tests measure it rather than themselves: the test process's own
    /// threads come and go with the other tests (`cargo test` runs them side by side).
    struct Steps {
        child: Child,
        answers: BufReader<std::process::ChildStdout>,
    }

    impl Steps {
        fn start(steps: &str) -> Steps {
            let script = format!(
                "import sys, threading, time\n\
                 def burn(s):\n    t = time.monotonic() + s\n    while time.monotonic() < t: pass\n\
                 {steps}"
            );
            let mut child = Command::new("python3")
                .args(["-c", &script])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3");
            let answers = BufReader::new(child.stdout.take().unwrap());
            let mut steps = Steps { child, answers };
            steps.answer();
            steps
        }

        fn answer(&mut self) {
            let mut line = String::new();
            self.answers.read_line(&mut line).unwrap();
            assert!(!line.is_empty(), "the step process ended");
        }

        fn next(&mut self) {
            let stdin = self.child.stdin.as_mut().unwrap();
            stdin.write_all(b"\n").unwrap();
            stdin.flush().unwrap();
            self.answer();
        }
    }

    impl Drop for Steps {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[test]
    fn a_kept_file_reads_the_current_figures_each_time() {
        // Ready; then 50 ms of CPU on its one thread.
        let mut p = Steps::start(
            "print(flush=True)\nsys.stdin.readline(); burn(0.05); print(flush=True)\nsys.stdin.readline()",
        );
        let mut times = ThreadTimes::default();
        let before = times.wanted_s(p.child.id()).expect("the process's threads");
        p.next();
        let after = times.wanted_s(p.child.id()).expect("still there");
        // Busy (running or runnable) for 50 ms of wall time: that much run + wait time.
        assert!(after >= before + 0.04, "{before} then {after}");
        drop(p);
        assert_eq!(times.wanted_s(u32::MAX), None);
    }

    #[test]
    fn a_thread_started_after_the_listing_is_counted() {
        // Ready; then a second thread, idle until told; then 50 ms of CPU on that thread, which
        // then stays (an ended thread's time leaves /proc/<pid>/task with it).
        let mut p = Steps::start(
            "go = threading.Event(); done = threading.Event()\n\
             def second():\n    go.wait(); burn(0.05); done.set(); threading.Event().wait()\n\
             print(flush=True)\nsys.stdin.readline()\n\
             threading.Thread(target=second, daemon=True).start(); print(flush=True)\n\
             sys.stdin.readline(); go.set(); done.wait(); print(flush=True)\nsys.stdin.readline()",
        );
        let pid = p.child.id();
        let mut times = ThreadTimes::default();
        times.wanted_s(pid).expect("one thread, listed");
        p.next();
        // Listed again here: the thread count changed.
        let before = times.wanted_s(pid).unwrap();
        p.next();
        let after = times.wanted_s(pid).unwrap();
        assert!(after >= before + 0.04, "{before} then {after}");
    }

    #[test]
    fn an_ended_process_lets_go_of_its_files_when_a_new_one_is_listed() {
        let mut times = ThreadTimes::default();
        let mut first = Steps::start("print(flush=True)\nsys.stdin.readline()");
        times.wanted_s(first.child.id()).expect("listed");
        first.child.kill().unwrap();
        first.child.wait().unwrap();
        let second = Steps::start("print(flush=True)\nsys.stdin.readline()");
        times.wanted_s(second.child.id()).expect("listed");
        assert_eq!(
            times.processes.len(),
            1,
            "the ended process's files are still held"
        );
    }

    #[test]
    fn a_status_line_is_read_in_kilobytes() {
        let status = ProcFile::open(format!("/proc/{}/status", std::process::id())).unwrap();
        assert!(status.kb_of("VmHWM:").is_some_and(|kb| kb > 0));
        // 64 MB touched: the peak, read again through the same open file, is at least that (it may
        // have been higher already, if other tests in this process used more).
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        let peak = status.kb_of("VmHWM:").expect("VmHWM");
        assert!(peak >= 64 * 1024, "{peak} kB");
    }
}
