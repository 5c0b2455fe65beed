//! The Lambda Runtime API each instance's `bootstrap` talks to: the handler crate's
//! [`handler::runtime_api`], the one implementation, which the handler's own tests drive too.

pub(crate) use handler::runtime_api::{serve, Job, Outcome, RuntimeState, RESPONSE_LIMIT};
