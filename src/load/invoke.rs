//! Any [`FunctionControl`] as the load generator's [`Invoker`] (the tests' in-memory functions,
//! and callers without an SDK client).

use std::sync::Arc;

use async_trait::async_trait;
use lab_load::invoke::{InvokeFailure, Invoker};

use crate::control::{FunctionControl, Invocation};

/// Any [`FunctionControl`] as an invoker (tests, and callers without an SDK client): its error is
/// classified by its text, since the trait returns `anyhow`.
pub(crate) struct ControlInvoker(pub Arc<dyn FunctionControl>);

#[async_trait]
impl Invoker for ControlInvoker {
    fn name(&self) -> &str {
        self.0.name()
    }

    async fn invoke_once(&self, payload: &[u8]) -> Result<Invocation, InvokeFailure> {
        self.0.invoke(payload).await.map_err(|e| {
            let text = format!("{e:#}");
            if text.contains("TooManyRequests") || text.contains("Throttl") {
                InvokeFailure::Throttled(text)
            } else {
                InvokeFailure::Transport(text)
            }
        })
    }
}
