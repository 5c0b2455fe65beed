//! The generator function's side of `lab load --workers`: what lab sends a worker and what it
//! answers ([`wire`]), and the worker's Runtime API loop ([`serve`]), which runs its share with the
//! same runner as a run in lab's process.

pub mod serve;
pub mod wire;
