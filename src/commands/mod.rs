//! One module per verb; `app` only dispatches here.

pub(crate) mod call;
pub(crate) mod compare;
pub(crate) mod completions;
pub(crate) mod down;
pub(crate) mod invoke;
pub(crate) mod load;
pub(crate) mod local;
pub(crate) mod policy;
pub(crate) mod status;
pub(crate) mod steps;
pub(crate) mod tune;
pub(crate) mod tutorial;
pub(crate) mod tutorial_steps;
pub(crate) mod up;
