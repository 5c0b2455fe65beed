//! One module per verb; `main.rs` only dispatches here.

pub mod call;
pub mod down;
pub mod invoke;
pub mod status;
pub mod tutorial;
pub mod up;
