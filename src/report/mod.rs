//! Tables, terminal charts and self-contained HTML reports.
//!
//! These are presentation primitives only: `tune` and `load` decide what to show and build their own
//! tables and reports from the pieces here, so this module knows nothing of either.

pub mod chart;
pub mod combine;
pub use combine::combine;
pub mod format;
pub mod html;
pub mod table;
