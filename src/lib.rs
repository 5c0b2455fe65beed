//! `lab`: the serverless-powertuning tutorial as one operator CLI.
//!
//! The binary (`src/main.rs`) only dispatches (`app::run`); every job lives in its own module here.

pub mod app;
pub mod arch;
pub mod aws;
pub mod call;
pub mod cli;
pub mod commands;
pub mod control;
pub mod flag_defaults;
pub mod load;
pub mod exit;
pub mod local_stack;
pub mod output;
pub mod package;
pub mod report;
pub mod session;
pub mod stack;
pub mod tune;
