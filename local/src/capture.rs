//! An instance's output, kept for the log of its next invocation as Lambda keeps it: line by line,
//! each line cut at [`MAX_LINE_BYTES`] (Lambda truncates a log event at 256 KB), and at most
//! [`MAX_LINES`] lines between two invocations (the oldest go first, and a line says how many
//! went). A function that prints without end costs the gateway a bounded amount of memory.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// The longest line kept; the rest of a longer one is dropped.
pub(crate) const MAX_LINE_BYTES: usize = 256 * 1024;

/// The most lines kept between two invocations.
pub(crate) const MAX_LINES: usize = 10_000;

/// Lines printed since the last invocation took them.
#[derive(Default)]
pub(crate) struct Capture {
    kept: Mutex<Kept>,
    /// Duplicates of the read ends `read_lines` reads: what is still in them has not been read.
    pipes: Mutex<Vec<OwnedFd>>,
}

/// The newest lines, and how many older ones went.
#[derive(Default)]
struct Kept {
    lines: VecDeque<String>,
    dropped: u64,
}

impl Capture {
    /// Keeps a line, cut at [`MAX_LINE_BYTES`]; the oldest goes when [`MAX_LINES`] are kept.
    pub(crate) fn push(&self, mut line: String) {
        if line.len() > MAX_LINE_BYTES {
            let mut end = MAX_LINE_BYTES;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
        }
        let mut kept = self.kept.lock().expect("capture lock");
        if kept.lines.len() >= MAX_LINES {
            kept.lines.pop_front();
            kept.dropped += 1;
        }
        kept.lines.push_back(line);
    }

    /// Follows a pipe that [`read_lines`] reads, so that [`caught_up`](Self::caught_up) can tell
    /// when it is empty.
    pub(crate) fn follow(&self, pipe: BorrowedFd<'_>) {
        if let Ok(fd) = pipe.try_clone_to_owned() {
            self.pipes.lock().expect("pipes lock").push(fd);
        }
    }

    /// Waits, at most `limit`, until the followed pipes are empty. A function writes its output
    /// before it answers, but the readers may not have taken it from the pipes when the answer
    /// arrives: without this wait a line can miss its own invocation's log and join the next.
    pub(crate) async fn caught_up(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.unread() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Bytes written to the followed pipes and not read yet.
    fn unread(&self) -> usize {
        let pipes = self.pipes.lock().expect("pipes lock");
        pipes
            .iter()
            .map(|fd| {
                let mut n: libc::c_int = 0;
                // SAFETY: FIONREAD writes one int to `n`; the descriptor is owned and open.
                let ok = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) } == 0;
                if ok {
                    n.max(0) as usize
                } else {
                    0
                }
            })
            .sum()
    }

    /// The lines kept so far, emptied; first a note when some were dropped.
    pub(crate) fn take(&self) -> Vec<String> {
        let mut kept = self.kept.lock().expect("capture lock");
        let dropped = std::mem::take(&mut kept.dropped);
        let lines = std::mem::take(&mut kept.lines);
        let note = (dropped > 0).then(|| {
            format!("lab local: {dropped} earlier lines were dropped (more than {MAX_LINES} lines between invocations)")
        });
        note.into_iter().chain(lines).collect()
    }
}

/// Reads `stream` into `capture` line by line until it ends, never holding more than
/// [`MAX_LINE_BYTES`] of one line (what follows is skipped up to the newline). Bytes that are not
/// UTF-8 are replaced, not a reason to stop reading.
pub(crate) async fn read_lines(stream: impl AsyncRead + Unpin, capture: &Capture) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    while let Ok(buf) = reader.fill_buf().await {
        if buf.is_empty() {
            if !line.is_empty() {
                capture.push(finish(&mut line));
            }
            break;
        }
        let (chunk, used, ends) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        reader.consume(used);
        if ends {
            capture.push(finish(&mut line));
        }
    }
}

/// The line read so far as text (without a `\r` before its newline), emptied for the next.
fn finish(line: &mut Vec<u8>) -> String {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let text = String::from_utf8_lossy(line).into_owned();
    line.clear();
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_cut_and_line_ends_kept() {
        let mut output = b"first\r\n".to_vec();
        output.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1000));
        output.extend(b"\nlast without newline");
        let capture = Capture::default();
        read_lines(output.as_slice(), &capture).await;
        let lines = capture.take();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "first");
        assert_eq!(lines[1].len(), MAX_LINE_BYTES);
        assert_eq!(lines[2], "last without newline");
        assert!(capture.take().is_empty(), "taken");
    }

    #[test]
    fn at_most_max_lines_are_kept_and_the_drop_is_said() {
        let capture = Capture::default();
        for i in 0..MAX_LINES + 5 {
            capture.push(format!("line {i}"));
        }
        let lines = capture.take();
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert!(
            lines[0].contains("5 earlier lines were dropped"),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "line 5");
        assert_eq!(lines[MAX_LINES], format!("line {}", MAX_LINES + 4));
        // A line cut in the middle of a character stays valid text.
        capture.push("é".repeat(MAX_LINE_BYTES));
        assert!(capture.take()[0].len() <= MAX_LINE_BYTES);
    }

    #[tokio::test]
    async fn caught_up_waits_for_what_is_still_in_the_pipe() {
        use std::io::Write as _;
        use std::os::fd::{AsFd as _, OwnedFd};
        let (reader, mut writer) = std::io::pipe().unwrap();
        let capture = std::sync::Arc::new(Capture::default());
        capture.follow(reader.as_fd());
        writer.write_all(b"printed before the answer\n").unwrap();
        assert!(capture.unread() > 0, "the line waits in the pipe");
        let reader =
            tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).unwrap();
        let reading = capture.clone();
        tokio::spawn(async move { read_lines(reader, &reading).await });
        capture.caught_up(Duration::from_secs(5)).await;
        assert_eq!(capture.unread(), 0);
        tokio::task::yield_now().await;
        assert_eq!(capture.take(), ["printed before the answer"]);
    }
}
