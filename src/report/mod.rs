//! Tables, terminal charts and self-contained HTML reports.
//!
//! These are presentation primitives only: `tune` and `load` decide what to show and build their own
//! tables and reports from the pieces here, so this module knows nothing of either.

pub(crate) mod chart;
pub(crate) mod combine;
pub(crate) use combine::combine;
pub(crate) mod format;
pub(crate) mod html;
pub(crate) mod table;
