//! The Lambda Runtime API each instance's `bootstrap` talks to: the handler crate's
//! [`handler::runtime_api`], the one implementation, which the handler's own tests drive too.

pub use handler::runtime_api::{channel, router, Job, Outcome, RuntimeState, RESPONSE_LIMIT};
