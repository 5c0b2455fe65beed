//! The tests that need no local stack: the house rules on the sources, the benchmark table, the
//! CLI's input errors, the load generator against an HTTP server of its own, and tuning over an
//! in-memory function. One binary, so the suite links a few test programs instead of one a file.

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod bench_table;
mod errors;
mod load_generator;
mod load_lateness;
mod load_shapes;
mod tune_confidence;
mod tune_exits;
mod tune_fake;
mod tune_math;
mod tune_sweep;
