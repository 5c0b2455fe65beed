//! The embedded local AWS: moto for every control-plane API and DynamoDB, behind lab's gateway,
//! which runs the real `bootstrap` under the Lambda Runtime API and serves the REST API's stage URL.
//!
//! Split by job, as cargo-lambda's runtime is: `gateway` routes, `invoke` runs one call,
//! `async_invoke` queues Event invocations, `pool` keeps instances and the concurrency limit,
//! `instance` is one process, `runtime_api` is what it talks to, `stage` is API Gateway's data
//! plane, `functions` the code and configuration, `logs` CloudWatch, `cpu` the memory-proportional
//! CPU share, `memory` the memory limit, `moto` the backend, `supervisor` keeps moto running and
//! durable (with `moto_launcher.py`), `lab_api` the gateway's own endpoints, `lifecycle`
//! start/stop, `strict` AWS's delays, transitions and limits in front of moto.

pub mod async_invoke;
pub mod capture;
pub mod cgroup;
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
