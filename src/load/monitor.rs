//! The live view: one line on stderr, redrawn four times a second, reading only the shared
//! [`Timeline`]'s counters (the VUs never wait for the screen). The generator's runner starts it
//! through [`LiveView`], so the generator itself links no terminal crate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use lab_load::runner::{LiveView, RunSpec, Shown};
use lab_load::timeline::Timeline;

use crate::report::format;

/// The live view on the terminal, hidden when `visible` is false (JSON output) or stderr is not a
/// terminal.
pub(crate) struct Terminal {
    /// Whether to draw at all.
    pub(crate) visible: bool,
}

impl LiveView for Terminal {
    fn start(&self, timeline: Arc<Timeline>, spec: &RunSpec, max_vus: u32) -> Box<dyn Shown> {
        Box::new(Monitor::start(
            timeline,
            spec.duration,
            &spec.label,
            max_vus,
            self.visible,
        ))
    }
}

impl Shown for Monitor {
    fn finish(self: Box<Self>) {
        Monitor::finish(*self);
    }
}

/// A running live view; [`Monitor::finish`] removes it.
pub(crate) struct Monitor {
    bar: ProgressBar,
    task: JoinHandle<()>,
}

impl Monitor {
    /// Starts drawing `label` (e.g. `128 MB`) for a run of `duration` with at most `max_vus` VUs.
    /// Hidden when `visible` is false (JSON output) or stderr is not a terminal.
    pub(crate) fn start(
        timeline: Arc<Timeline>,
        duration: Duration,
        label: &str,
        max_vus: u32,
        visible: bool,
    ) -> Monitor {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(duration.as_millis().max(1) as u64), target);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:24}] {msg}")
                .expect("valid progress template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        let view = bar.clone();
        let total = format::seconds(duration.as_secs_f64());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let now = Instant::now();
                let elapsed = now.saturating_duration_since(timeline.start());
                let live = timeline.live(now);
                let p95 = live.last_second_p95_ms.map_or_else(|| "-".to_string(), format::ms);
                let error_rate = if live.requests == 0 {
                    0.0
                } else {
                    live.errors as f64 / live.requests as f64
                };
                view.set_position(elapsed.as_millis() as u64);
                view.set_message(format!(
                    "{} / {total} | VUs {}/{max_vus} | {} req/s | p95 {p95} | {} requests, {} errors ({})",
                    format::seconds(elapsed.as_secs() as f64),
                    live.active_vus,
                    live.last_second_requests,
                    live.requests,
                    live.errors,
                    format::pct(error_rate),
                ));
            }
        });
        Monitor { bar, task }
    }

    /// Stops and erases the live view.
    pub(crate) fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
