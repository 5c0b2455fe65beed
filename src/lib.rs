//! `lab`: the serverless-powertuning tutorial as one operator CLI.
//!
//! The binary (`src/main.rs`) only dispatches (`app::run`); every job lives in its own module here.

pub mod app;
pub mod arch;
pub(crate) mod aws;
pub(crate) mod call;
pub mod cli;
pub(crate) mod commands;
pub mod control;
pub mod exit;
pub(crate) mod flag_defaults;
pub mod load;
pub mod local_cpu;
pub(crate) mod local_stack;
pub(crate) mod output;
pub mod package;
pub(crate) mod report;
pub(crate) mod session;
pub(crate) mod stack;
pub mod tune;
