//! The embedded local AWS: moto for every control-plane API and DynamoDB, behind lab's gateway,
//! which runs the real `bootstrap` under the Lambda Runtime API and serves the REST API's stage URL.
//!
//! Split by job, as cargo-lambda's runtime is: `gateway` routes, `forward` passes calls to moto
//! and keeps what the runtime needs of them, `state` is what every handler shares, `invoke` runs
//! one call, `invoke_api` answers Lambda Invoke, `async_invoke` queues Event invocations (counted
//! in `event_counts`), `pool` keeps instances and the concurrency limit, `instance` is one process
//! (its output kept by `capture`), `runtime_api` is what it talks to, `stage` is API Gateway's data
//! plane (its routes in `routes`), `functions` the code and configuration, `logs` CloudWatch,
//! `cpu` the memory-proportional CPU share (two vCPUs during init), `cpu_budget` the host's cores
//! shared between running invocations, `memory` the memory limit (both over `cgroup`), `dates` the
//! dates it writes, `moto`
//! the backend, `supervisor` keeps moto running and durable (with `python/lab_moto.py`), `lab_api`
//! the gateway's own endpoints, `status_view` prints the status, `lifecycle` start/serve/stop, `dynamo`
//! the native DynamoDB item store, `strict` AWS's delays, transitions and limits in front of moto,
//! `iam` the identity policies it enforces.
//!
//! Dependencies point one way: `gateway` -> {`stage`, `invoke_api`, `lab_api`, `forward`} ->
//! `async_invoke` -> `invoke` -> `state` (ARCHITECTURE.md §3).

mod async_invoke;
mod call_meter;
mod capture;
mod cgroup;
mod cpu;
mod cpu_budget;
mod dates;
mod deployments;
mod dynamo;
mod event_counts;
mod forward;
mod functions;
mod gateway;
mod iam;
mod instance;
mod invoke;
mod invoke_api;
mod lab_api;
mod lifecycle;
mod logs;
mod memory;
mod moto;
mod pool;
mod proc_files;
mod routes;
mod runtime_api;
mod runtimes;
mod stage;
mod state;
mod status_view;
mod strict;
mod supervisor;

pub use dynamo::DataPlane;
pub use lifecycle::{
    cgroup_limits, endpoint, log_file, probe, reset, serve, start, state_dir, stop, CgroupLimits,
    Options, Started, Stopped,
};
pub use moto::{lab_home, MOTO_VERSION};
pub use routes::integration_status;
pub use status_view::print as print_status;
