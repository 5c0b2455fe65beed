//! The end-to-end tests: `lab` and the real handler against a local stack of their own (moto, the
//! gateway, functions under the Runtime API), through the SDK and real HTTP. One binary, so the
//! suite links a few test programs instead of one a file.

#[path = "../common/mod.rs"]
mod common;

mod dynamo_native;
mod iam;
mod invoke_teardown;
mod lifecycle;
mod load_baseline_local;
mod load_lambda_figures;
mod load_workers_local;
mod local_hygiene;
mod local_persistence;
mod local_stack;
mod managed_runtimes;
mod propagation;
mod strict;
mod tune_arch;
mod tune_confidence_local;
mod tune_load_local;
mod tune_local;
mod tune_signals;
mod tune_versions;
