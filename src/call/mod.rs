//! The tutorial's calls: event builders, the two transports (stage URL, Lambda Invoke), and the
//! stage URL's answers while a change propagates (`propagation`).

pub(crate) mod event;
pub(crate) mod propagation;
pub(crate) mod transport;

pub use transport::Via;
