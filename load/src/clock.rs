//! The open model's arrival clock: a thread of its own that wakes at each intended send time and
//! queues it for the VUs (the first free one takes it).
//!
//! tokio's timer has millisecond granularity: a `sleep_until` wakes on the next millisecond tick
//! after its deadline, so every arrival would leave up to a millisecond late. Latency counts from
//! the intended send (as wrk2 counts it), so that lateness would be reported as the server's. A
//! thread's sleep, with its timer slack set to the least, wakes within microseconds of its deadline;
//! waking a free VU's task from it costs a few microseconds more. Each tick carries when the
//! thread woke for it, so the lateness of both steps is measured (the `lateness` module).

use std::thread;
use std::time::{Duration, Instant};

/// Arrivals ticked while every VU is busy: they keep their intended
/// times, so queueing them costs no accuracy, only memory, which this bounds.
const BACKLOG: usize = 4096;

/// How long the clock sleeps at most before checking that someone still listens, so that a
/// stopped test's clock goes away promptly even at a rate of one arrival a minute.
const CHECK_EVERY: Duration = Duration::from_millis(50);

/// One arrival's tick: its intended time, and when the clock woke for it (never earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tick {
    /// The intended send time.
    pub(crate) intended: Instant,
    /// When the clock was free to wake for it: the intended time, or later if the clock was held
    /// up handing over an earlier tick because [`BACKLOG`] ticks already waited for a free VU
    /// (that delay is the wait for a VU, not the clock's).
    pub(crate) free: Instant,
    /// When the clock thread woke for it.
    pub(crate) woke: Instant,
}

/// Starts a clock that sends each of `times` (in order) when it comes. It ends after the last, or
/// as soon as the receiver is dropped.
pub(crate) fn start(
    times: impl Iterator<Item = Instant> + Send + 'static,
) -> flume::Receiver<Tick> {
    let (tx, rx) = flume::bounded(BACKLOG);
    // As `std::thread::spawn` (and tokio for its own threads), a machine that cannot start one
    // more thread is a panic, which the run's clean-up catches like any other.
    thread::Builder::new()
        .name("lab-arrivals".into())
        .spawn(move || tick(times, &tx))
        .expect("start the arrival clock's thread");
    rx
}

fn tick(times: impl Iterator<Item = Instant>, tx: &flume::Sender<Tick>) {
    precise_sleeps();
    let mut held_until = None;
    for at in times {
        let free = held_until.map_or(at, |h: Instant| h.max(at));
        let woke = loop {
            let now = Instant::now();
            if at <= now {
                break now;
            }
            if tx.is_disconnected() {
                return;
            }
            thread::sleep((at - now).min(CHECK_EVERY));
        };
        let tick = Tick {
            intended: at,
            free,
            woke,
        };
        match tx.try_send(tick) {
            Ok(()) => held_until = None,
            Err(flume::TrySendError::Full(tick)) => {
                if tx.send(tick).is_err() {
                    return;
                }
                held_until = Some(Instant::now());
            }
            Err(flume::TrySendError::Disconnected(_)) => return,
        }
    }
}

/// Asks the kernel to wake this thread's sleeps on time rather than up to 50 µs late (the default
/// timer slack, which lets it batch wake-ups to save power): a generator's clock wants precision.
fn precise_sleeps() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer and changes only the calling thread's slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ticks_each_time_in_order_never_early() {
        let start = Instant::now();
        let times: Vec<Instant> =
            (0..20u64).map(|k| start + Duration::from_millis(2 * k)).collect();
        let rx = super::start(times.clone().into_iter());
        for want in &times {
            let got = rx.recv_async().await.expect("a tick per time");
            assert_eq!(got.intended, *want);
            assert!(got.woke >= *want, "the clock woke before the time");
            assert!(Instant::now() >= got.woke, "a tick came before its wake-up");
        }
        assert!(
            rx.recv_async().await.is_err(),
            "the clock ends after the last time"
        );
    }

    #[tokio::test]
    async fn stops_when_no_one_listens() {
        // An endless schedule, one arrival a second: dropping the receiver must end the thread.
        let start = Instant::now();
        let rx = super::start((1u64..).map(move |k| start + Duration::from_secs(k)));
        let threads = || {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "lab-arrivals")
                })
                .count()
        };
        // The thread names itself once it runs, a moment after it is spawned.
        let deadline = Instant::now() + Duration::from_secs(5);
        while threads() == 0 {
            assert!(
                Instant::now() < deadline,
                "the clock runs on no thread of its own"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        drop(rx);
        while threads() > 0 {
            assert!(Instant::now() < deadline, "the clock outlived its receiver");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
