//! The embedded local AWS: moto for every control-plane API and DynamoDB, behind lab's gateway,
//! which runs the real `bootstrap` under the Lambda Runtime API and serves the REST API's stage URL.
//!
//! Split by job, as cargo-lambda's runtime is: `gateway` routes, `forward` passes calls to moto
//! and keeps what the runtime needs of them, `state` is what every handler shares, `invoke` runs
//! one call, `invoke_api` answers Lambda Invoke, `async_invoke` queues Event invocations (counted
//! in `event_counts`), `pool` keeps instances and the concurrency limit, `instance` is one process
//! (its output kept by `capture`), `runtime_api` is what it talks to, `stage` is API Gateway's data
//! plane (its routes in `routes`), `functions` the code and configuration, `logs` CloudWatch,
//! `cpu` the memory-proportional CPU share, `memory` the memory limit (both over `cgroup`), `moto`
//! the backend, `supervisor` keeps moto running and durable (with `moto_launcher.py`), `lab_api`
//! the gateway's own endpoints, `status_view` prints the status, `lifecycle` start/stop, `strict`
//! AWS's delays, transitions and limits in front of moto.
//!
//! Dependencies point one way: `gateway` -> {`stage`, `invoke_api`, `lab_api`, `forward`} ->
//! `async_invoke` -> `invoke` -> `state` (ARCHITECTURE.md §3).

pub mod async_invoke;
pub mod capture;
pub mod cgroup;
pub mod clock;
pub mod cpu;
pub mod event_counts;
pub mod forward;
pub mod functions;
pub mod gateway;
pub mod instance;
pub mod invoke;
pub mod invoke_api;
pub mod lab_api;
pub mod lifecycle;
pub mod logs;
pub mod memory;
pub mod moto;
pub mod pool;
pub mod routes;
pub mod runtime_api;
pub mod stage;
pub mod state;
pub mod status_view;
pub mod strict;
pub mod supervisor;
