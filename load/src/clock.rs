//! The open model's arrival clock: wakes at each intended send time and queues it for the VUs (the
//! first free one takes it).
//!
//! tokio's timer has millisecond granularity: a `sleep_until` wakes on the next millisecond tick
//! after its deadline, so every arrival would leave up to a millisecond late. Latency counts from
//! the intended send (as wrk2 counts it), so that lateness would be reported as the server's. On
//! Linux the clock is a task on the runtime itself awaiting a `timerfd` armed at each arrival's
//! time: the kernel's precision, and one wake-up per arrival (the runtime's own, in its
//! `epoll_wait`), which then hands the arrival to a free VU on the same worker. Elsewhere, or if a
//! timerfd cannot be made, it is a thread of its own whose sleeps have the least timer slack: as
//! precise, but each arrival then costs two wake-ups (the thread's, then the VU's worker's), which
//! at a light rate is most of the generator's CPU per request. Each tick carries when the clock
//! woke for it, so the lateness of both steps is measured (the `lateness` module).

use std::thread;
use std::time::{Duration, Instant};

/// Arrivals ticked while every VU is busy: they keep their intended
/// times, so queueing them costs no accuracy, only memory, which this bounds.
const BACKLOG: usize = 4096;

/// How long the clock sleeps at most before checking that someone still listens, so that a
/// stopped test's clock goes away promptly even at a rate of one arrival a minute.
const CHECK_EVERY: Duration = Duration::from_millis(50);

/// The most the clock arms its timer ahead of an arrival's time to make up for its wake-up latency
/// (see [`learn_lead`]): a bound on how early an arrival can be sent.
pub(crate) const MAX_LEAD: Duration = Duration::from_micros(200);

/// The clock's estimate of its own wake-up latency, updated with one wake-up that came `late`
/// after the time asked for: a moving average over about the last eight, each capped at
/// [`MAX_LEAD`].
///
/// An idle core takes tens of microseconds to run a task whose timer has fired (measured here: a
/// median of 30–40 µs at 1,000 arrivals a second, most of the clock's lateness). Arming the timer
/// that much early sends arrivals on time on average rather than always late. An arrival sent
/// before its time counts its latency from its actual send ([`counted_from`]), so sending early
/// never shortens a latency; it only shifts that arrival by at most [`MAX_LEAD`].
pub(crate) fn learn_lead(lead: Duration, late: Duration) -> Duration {
    (lead * 7 + late.min(MAX_LEAD)) / 8
}

/// Where an arrival's latency counts from: its intended time (wrk2's correction for coordinated
/// omission: a late send is the generator's or the target's, and counted), or its actual send
/// when the clock sent it early, so an early send is never counted as a shorter latency.
pub(crate) fn counted_from(intended: Instant, sent: Instant) -> Instant {
    intended.min(sent)
}

/// One arrival's tick: its intended time, and when the clock woke for it (at most [`MAX_LEAD`]
/// earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tick {
    /// The intended send time.
    pub(crate) intended: Instant,
    /// When the clock was free to wake for it: the intended time, or later if the clock was held
    /// up handing over an earlier tick because [`BACKLOG`] ticks already waited for a free VU
    /// (that delay is the wait for a VU, not the clock's).
    pub(crate) free: Instant,
    /// When the clock woke for it (up to [`MAX_LEAD`] before `intended`: see [`learn_lead`]).
    pub(crate) woke: Instant,
}

/// Arrivals closer together than this on average are sent in groups (see [`coalescing`]).
const DENSE_GAP: Duration = Duration::from_micros(50);

/// How late a grouped arrival may be sent at most: the clock wakes this long after the first
/// arrival of a group and sends every arrival due by then.
const GROUP_SPAN: Duration = Duration::from_micros(250);

/// How long after an arrival's time the clock may wake for it, at `rate` arrivals a second.
///
/// Each wake-up for a single arrival also wakes the target, which sat idle since the last one: on
/// two cores shared with a loopback target, waking the target's thread from the send was a third
/// of the generator's CPU at 33,900 arrivals a second, twice oha's CPU per request. oha's clock
/// ticks each millisecond, so its arrivals go in bursts of 34 (and it counts their latency from
/// the tick, hiding its own lateness). Above 20,000 a second lab groups arrivals over
/// [`GROUP_SPAN`] instead: about 8 per wake-up at 33,900, for at most 0.25 ms of lateness, which is
/// counted in the latency and reported as the clock's (`summary.generator.clock`). Below that rate
/// every arrival gets a wake-up of its own, at its time.
pub(crate) fn coalescing(rate: f64) -> Duration {
    if rate > 0.0 && Duration::from_secs_f64(1.0 / rate) < DENSE_GAP {
        GROUP_SPAN
    } else {
        Duration::ZERO
    }
}

/// Starts a clock that sends each of `times` (in order) when it comes, or up to `group` after it
/// (see [`coalescing`]). It ends after the last, or as soon as the receiver is dropped.
pub(crate) fn start(
    times: impl Iterator<Item = Instant> + Send + 'static,
    group: Duration,
) -> flume::Receiver<Tick> {
    let (tx, rx) = flume::bounded(BACKLOG);
    #[cfg(target_os = "linux")]
    if let Ok(timer) = timerfd::Timer::new() {
        tokio::spawn(run(times, group, tx, timer));
        return rx;
    }
    start_thread(times, group, tx);
    rx
}

/// The clock as a thread of its own (off Linux, or without a timerfd), running the same loop.
fn start_thread(
    times: impl Iterator<Item = Instant> + Send + 'static,
    group: Duration,
    tx: flume::Sender<Tick>,
) {
    // As `std::thread::spawn` (and tokio for its own threads), a machine that cannot start one
    // more thread is a panic, which the run's clean-up catches like any other.
    thread::Builder::new()
        .name("lab-arrivals".into())
        .spawn(move || {
            precise_sleeps();
            futures::executor::block_on(run(times, group, tx, ThreadSleep));
        })
        .expect("start the arrival clock's thread");
}

/// How the clock waits for a time: never returning before it.
trait Sleep {
    /// Returns at `at` or just after; an error ends the clock.
    async fn until(&self, at: Instant) -> std::io::Result<()>;
}

/// The thread's sleep (its timer slack set to the least by [`precise_sleeps`]).
struct ThreadSleep;

impl Sleep for ThreadSleep {
    async fn until(&self, at: Instant) -> std::io::Result<()> {
        thread::sleep(at.saturating_duration_since(Instant::now()));
        Ok(())
    }
}

/// Sends each of `times` on `tx` when it comes (an arrival not yet due waits until `group` after
/// its time, and every arrival due by then goes with it), sleeping with `sleep` and waking its
/// learned lead early ([`learn_lead`]); ends after the last, or once no one listens.
async fn run(
    times: impl Iterator<Item = Instant>,
    group: Duration,
    tx: flume::Sender<Tick>,
    sleep: impl Sleep,
) {
    let mut held_until = None;
    let mut lead = Duration::ZERO;
    for at in times {
        let free = held_until.map_or(at, |h: Instant| h.max(at));
        let wake_at = at + group;
        let woke = loop {
            let now = Instant::now();
            if at <= now + lead {
                break now;
            }
            // Woken at least every CHECK_EVERY, so a stopped test's clock ends promptly.
            let asked = wake_at.checked_sub(lead).unwrap_or(wake_at).min(now + CHECK_EVERY);
            if tx.is_disconnected() || sleep.until(asked).await.is_err() {
                return;
            }
            lead = learn_lead(lead, Instant::now().saturating_duration_since(asked));
        };
        let tick = Tick {
            intended: at,
            free,
            woke,
        };
        match tx.try_send(tick) {
            Ok(()) => held_until = None,
            Err(flume::TrySendError::Full(tick)) => {
                if tx.send_async(tick).await.is_err() {
                    return;
                }
                held_until = Some(Instant::now());
            }
            Err(flume::TrySendError::Disconnected(_)) => return,
        }
    }
}

#[cfg(target_os = "linux")]
mod timerfd {
    //! A timer with the kernel's precision on the runtime's own reactor: a `timerfd` armed at an
    //! absolute CLOCK_MONOTONIC time (Rust's `Instant` on Linux), awaited as a readable fd.

    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Instant;

    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    /// One timerfd on the runtime's reactor, and the moment its clock and `Instant` were read
    /// together (to turn an `Instant` into the absolute time the kernel wants).
    pub(super) struct Timer {
        fd: AsyncFd<OwnedFd>,
        base: (Instant, libc::timespec),
    }

    impl super::Sleep for Timer {
        async fn until(&self, at: Instant) -> io::Result<()> {
            self.sleep_until(at).await
        }
    }

    impl Timer {
        /// A disarmed timer; fails where the kernel has no timerfd or there is no runtime.
        pub(super) fn new() -> io::Result<Timer> {
            // SAFETY: timerfd_create takes plain flags and returns a new fd or -1.
            let raw = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `raw` is a new fd that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            let mut now = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: clock_gettime writes one timespec.
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
            // SAFETY: the AsyncFd owns `fd`, which stays open and the same until it is dropped.
            let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
                .map_err(|e| io::Error::other(e.to_string()))?;
            Ok(Timer {
                fd,
                base: (Instant::now(), now),
            })
        }

        /// Returns at `at` or just after (never before).
        pub(super) async fn sleep_until(&self, at: Instant) -> io::Result<()> {
            let (base, ts) = self.base;
            let d = at.saturating_duration_since(base);
            let nanos = ts.tv_nsec as u64 + u64::from(d.subsec_nanos());
            let value = libc::timespec {
                tv_sec: ts.tv_sec
                    + d.as_secs() as libc::time_t
                    + (nanos / 1_000_000_000) as libc::time_t,
                tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
            };
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: value,
            };
            // SAFETY: arms our own fd with a valid itimerspec.
            let armed = unsafe {
                libc::timerfd_settime(
                    self.fd.as_raw_fd(),
                    libc::TFD_TIMER_ABSTIME,
                    &spec,
                    std::ptr::null_mut(),
                )
            };
            if armed < 0 {
                return Err(io::Error::last_os_error());
            }
            loop {
                let mut guard = self.fd.readable().await?;
                let read = guard.try_io(|fd| {
                    let mut expirations = [0u8; 8];
                    // SAFETY: reads at most 8 bytes into our buffer.
                    let n =
                        unsafe { libc::read(fd.as_raw_fd(), expirations.as_mut_ptr().cast(), 8) };
                    if n < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(())
                    }
                });
                match read {
                    Ok(result) => return result,
                    Err(_would_block) => continue,
                }
            }
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
        let times = every_2ms();
        assert_ticks(
            super::start(times.clone().into_iter(), Duration::ZERO),
            &times,
        )
        .await;
    }

    #[tokio::test]
    async fn the_thread_clock_ticks_each_time_in_order_never_early() {
        let times = every_2ms();
        let (tx, rx) = flume::bounded(BACKLOG);
        start_thread(times.clone().into_iter(), Duration::ZERO, tx);
        assert_ticks(rx, &times).await;
    }

    #[tokio::test]
    async fn dense_arrivals_go_in_groups_never_early() {
        assert_eq!(coalescing(1_000.0), Duration::ZERO);
        assert_eq!(coalescing(19_000.0), Duration::ZERO);
        assert_eq!(coalescing(33_900.0), GROUP_SPAN);
        // 40 arrivals 25 µs apart (40,000 a second): none early, and the first waits out the span
        // for the ones after it. (How late the rest go is the host's to decide: on a busy machine
        // any wake-up can be milliseconds late, so it is no property to test.)
        let start = Instant::now() + Duration::from_millis(5);
        let times: Vec<Instant> =
            (0..40u64).map(|k| start + Duration::from_micros(25 * k)).collect();
        let rx = super::start(times.clone().into_iter(), coalescing(40_000.0));
        for (k, want) in times.iter().enumerate() {
            let got = rx.recv_async().await.expect("a tick per time");
            assert_eq!(got.intended, *want);
            assert!(
                got.woke + MAX_LEAD >= *want,
                "the clock woke more than its lead early"
            );
            let late = got.woke.saturating_duration_since(*want);
            if k == 0 {
                assert!(
                    late >= GROUP_SPAN,
                    "the first of a group went alone, {late:?} late"
                );
            }
        }
    }

    #[test]
    fn the_lead_follows_the_wake_up_latency_up_to_its_cap() {
        let mut lead = Duration::ZERO;
        for _ in 0..64 {
            lead = learn_lead(lead, Duration::from_micros(40));
        }
        assert!(
            lead > Duration::from_micros(39) && lead <= Duration::from_micros(40),
            "{lead:?}"
        );
        for _ in 0..64 {
            lead = learn_lead(lead, Duration::from_secs(1));
        }
        assert!(lead <= MAX_LEAD && lead > MAX_LEAD * 9 / 10, "{lead:?}");
    }

    #[test]
    fn an_early_send_counts_its_latency_from_the_send() {
        let intended = Instant::now() + Duration::from_millis(1);
        let early = intended - Duration::from_micros(30);
        let late = intended + Duration::from_micros(30);
        assert_eq!(counted_from(intended, early), early);
        assert_eq!(counted_from(intended, late), intended);
    }

    /// A sleep that always wakes 2 ms after the time asked, and notes each time asked.
    struct LateSleep(std::sync::Arc<std::sync::Mutex<Vec<Instant>>>);

    impl Sleep for LateSleep {
        async fn until(&self, at: Instant) -> std::io::Result<()> {
            self.0.lock().unwrap().push(at);
            thread::sleep(at.saturating_duration_since(Instant::now()) + Duration::from_millis(2));
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_late_timer_is_armed_early_by_the_lead_it_learned() {
        // 30 arrivals 5 ms apart, on a timer always at least 2 ms late: the clock learns a lead
        // of (nearly) MAX_LEAD and asks for each later wake-up that much before the arrival's time.
        let start = Instant::now() + Duration::from_millis(5);
        let times: Vec<Instant> =
            (0..30u64).map(|k| start + Duration::from_millis(5 * k)).collect();
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = flume::bounded(BACKLOG);
        let sleep = LateSleep(asked.clone());
        tokio::spawn(run(times.clone().into_iter(), Duration::ZERO, tx, sleep))
            .await
            .unwrap();
        assert_eq!(rx.drain().count(), times.len(), "a tick per time");
        let asked = asked.lock().unwrap().clone();
        let last = *asked.last().expect("the clock slept");
        let lead = *times.last().unwrap() - last;
        assert!(
            lead > MAX_LEAD * 9 / 10 && lead <= MAX_LEAD,
            "asked to wake {lead:?} before the last arrival"
        );
    }

    fn every_2ms() -> Vec<Instant> {
        let start = Instant::now();
        (0..20u64).map(|k| start + Duration::from_millis(2 * k)).collect()
    }

    async fn assert_ticks(rx: flume::Receiver<Tick>, times: &[Instant]) {
        for want in times {
            let got = rx.recv_async().await.expect("a tick per time");
            assert_eq!(got.intended, *want);
            assert!(
                got.woke + MAX_LEAD >= *want,
                "the clock woke more than its lead early"
            );
            assert!(Instant::now() >= got.woke, "a tick came before its wake-up");
        }
        assert!(
            rx.recv_async().await.is_err(),
            "the clock ends after the last time"
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_runtime_clock_stops_when_no_one_listens() {
        // An endless schedule, one arrival a second: dropping the receiver must end the task.
        let start = Instant::now();
        let (tx, rx) = flume::bounded(BACKLOG);
        let times = (1u64..).map(move |k| start + Duration::from_secs(k));
        let task = tokio::spawn(run(
            times,
            Duration::ZERO,
            tx,
            timerfd::Timer::new().unwrap(),
        ));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!task.is_finished(), "the clock ended with a listener");
        drop(rx);
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("the clock outlived its receiver by a second")
            .unwrap();
    }

    #[tokio::test]
    async fn the_thread_clock_stops_when_no_one_listens() {
        // An endless schedule, one arrival a second: dropping the receiver must end the thread.
        let start = Instant::now();
        let (tx, rx) = flume::bounded(BACKLOG);
        start_thread(
            (1u64..).map(move |k| start + Duration::from_secs(k)),
            Duration::ZERO,
            tx,
        );
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
