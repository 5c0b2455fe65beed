//! `FunctionControl` over the Lambda API (real AWS or the local stack).

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine;

use super::{FunctionControl, Invocation};
use crate::aws::ctx;

/// A deployed function, reached through the SDK.
pub struct LambdaTarget {
    client: aws_sdk_lambda::Client,
    name: String,
}

impl LambdaTarget {
    /// Wraps a client and a function name.
    pub fn new(client: aws_sdk_lambda::Client, name: &str) -> Self {
        Self {
            client,
            name: name.to_string(),
        }
    }
}

#[async_trait]
impl FunctionControl for LambdaTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn architecture(&self) -> anyhow::Result<String> {
        let c = self
            .client
            .get_function_configuration()
            .function_name(&self.name)
            .send()
            .await
            .map_err(ctx("lambda:GetFunctionConfiguration"))?;
        Ok(c.architectures()
            .first()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| "x86_64".into()))
    }

    async fn memory(&self) -> anyhow::Result<u32> {
        let c = self
            .client
            .get_function_configuration()
            .function_name(&self.name)
            .send()
            .await
            .map_err(ctx("lambda:GetFunctionConfiguration"))?;
        c.memory_size()
            .map(|m| m as u32)
            .context("Lambda returned no MemorySize")
    }

    async fn set_memory(&self, mb: u32) -> anyhow::Result<()> {
        use crate::stack::function::{wait_function_ready, UpdateFailed};
        // A failed update (Lambda kept the old memory) is applied once more before giving up.
        for attempt in 0..2 {
            match wait_function_ready(&self.client, &self.name).await {
                Err(e) if !e.is::<UpdateFailed>() => return Err(e),
                _ => {}
            }
            // Someone else's update may still be in progress: wait for it and go again.
            crate::aws::retry_while(
                &["ResourceConflictException"],
                std::time::Duration::from_secs(120),
                || {
                    self.client
                        .update_function_configuration()
                        .function_name(&self.name)
                        .memory_size(mb as i32)
                        .send()
                },
            )
            .await
            .map_err(ctx("lambda:UpdateFunctionConfiguration"))?;
            match wait_function_ready(&self.client, &self.name).await {
                Err(e) if attempt == 0 && e.is::<UpdateFailed>() => continue,
                other => return other,
            }
        }
        unreachable!("the second attempt always returns")
    }

    async fn invoke(&self, payload: &[u8]) -> anyhow::Result<Invocation> {
        let out = crate::stack::function::retry_waking(&self.client, &self.name, || {
            self.client
                .invoke()
                .function_name(&self.name)
                .invocation_type(InvocationType::RequestResponse)
                .log_type(LogType::Tail)
                .payload(Blob::new(payload.to_vec()))
                .send()
        })
        .await?
        .map_err(ctx("lambda:Invoke"))?;
        let log_tail = out
            .log_result()
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        Ok(Invocation {
            body: out
                .payload()
                .map(|p| p.as_ref().to_vec())
                .unwrap_or_default(),
            function_error: out.function_error().map(str::to_string),
            log_tail,
        })
    }
}
