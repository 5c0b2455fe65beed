//! The tutorial's calls: event builders and the two transports (stage URL, Lambda Invoke).

pub(crate) mod event;
pub(crate) mod transport;

pub use transport::Via;
