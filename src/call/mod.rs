//! The tutorial's calls: event builders and the two transports (stage URL, Lambda Invoke).

pub mod event;
pub mod transport;

pub use transport::Via;
