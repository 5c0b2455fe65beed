//! lab's load generator (ARCHITECTURE.md §1, `lab-load`), after oha, k6 and wrk2: what sends the
//! requests of `lab load` and measures them, in lab's process or in a Lambda worker of
//! `--workers`. It knows nothing of lab's command line, stack or screen, so the worker's bootstrap
//! (`lab-load-worker`) links only this crate.
//!
//! Layout (the hot loop knows nothing of the screen, as in oha): [`duration`] the options'
//! duration syntax, [`payload`] what is sent, [`profile`] how load varies over time, [`client`]
//! sending and classifying, [`invoke`] Lambda Invoke without retries, `vu` the VU loops and the
//! open model's VUs pulling arrivals, `clock` the open model's arrivals, [`lateness`] how late the generator
//! sent them, [`cpu_wait`] how long its threads waited for a core, [`requests`] each request's own record (to join with Lambda's REPORT lines), [`metrics`] histograms, [`summary`] the figures, [`local_timing`] the local stack's own
//! share of latency, [`timeline`] the per-second series, [`runner`] one run in this process,
//! [`worker`] the Lambda worker's wire format and serve loop.

pub mod client;
mod clock;
pub mod cpu_wait;
pub mod duration;
pub mod histogram;
pub mod invoke;
pub mod lateness;
pub mod local_timing;
pub mod metrics;
pub mod payload;
pub mod profile;
mod raw_http;
pub mod requests;
pub mod runner;
pub mod summary;
pub mod timeline;
mod via;
mod vu;
pub mod worker;

pub use via::Via;
pub use vu::{stop_signal, Arrivals, Stop, StopHandle};
