//! `FunctionControl` over the Lambda API (real AWS or the local stack).

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine;

use super::{FunctionControl, Invocation};
use crate::arch::Arch;
use crate::aws::ctx;

/// A deployed function, reached through the SDK.
pub(crate) struct LambdaTarget {
    pub(super) client: aws_sdk_lambda::Client,
    pub(super) name: String,
}

impl LambdaTarget {
    /// Wraps a client and a function name.
    pub(crate) fn new(client: aws_sdk_lambda::Client, name: &str) -> Self {
        Self {
            client,
            name: name.to_string(),
        }
    }

    /// Any function in the account: a name (in the client's region) or an unqualified ARN, whose
    /// region wins over the client's, as aws-lambda-power-tuning reads the region from the ARN.
    pub(crate) async fn for_function(
        client: &aws_sdk_lambda::Client,
        name_or_arn: &str,
    ) -> anyhow::Result<Self> {
        let parts: Vec<&str> = name_or_arn.split(':').collect();
        if !name_or_arn.starts_with("arn:") {
            anyhow::ensure!(
                !name_or_arn.is_empty() && parts.len() == 1,
                "--function takes a function name or an unqualified ARN (got {name_or_arn:?}): \
                 tuning publishes its own versions from $LATEST"
            );
            return Ok(Self::new(client.clone(), name_or_arn));
        }
        anyhow::ensure!(
            parts.len() == 7 && parts[2] == "lambda" && parts[5] == "function",
            "{name_or_arn} is not an unqualified Lambda function ARN \
             (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME): tuning publishes its own versions from $LATEST"
        );
        let region = parts[3];
        let client = if client.config().region().map(|r| r.as_ref()) == Some(region) {
            client.clone()
        } else {
            let config = client
                .config()
                .to_builder()
                .region(aws_sdk_lambda::config::Region::new(region.to_string()))
                .build();
            aws_sdk_lambda::Client::from_conf(config)
        };
        // The caller's own function is called by name: not every Lambda-compatible endpoint decodes
        // an ARN in every path (moto's ListAliases does not). Lambda's answer for the name says
        // whether it is the same function; another account's stays addressed by its ARN.
        let own = client
            .get_function_configuration()
            .function_name(parts[6])
            .send()
            .await
            .ok()
            .and_then(|c| c.function_arn().map(str::to_string));
        let name = if own.as_deref() == Some(name_or_arn) {
            parts[6]
        } else {
            name_or_arn
        };
        Ok(Self::new(client, name))
    }

    /// The region the function's calls go to.
    pub(crate) fn region(&self) -> Option<String> {
        self.client.config().region().map(|r| r.to_string())
    }

    /// Applies a configuration update (with a repair of a failed one) and waits until it is
    /// `Successful`.
    pub(super) async fn update(&self, mb: u32, description: Option<&str>) -> anyhow::Result<()> {
        use crate::stack::function::{wait_function_ready, UpdateFailed};
        // A failed update (Lambda kept the old configuration) is applied once more before giving up.
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
                        .set_description(description.map(str::to_string))
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

    /// The configuration of `$LATEST`, or of a version or alias.
    pub(super) async fn configuration(
        &self,
        qualifier: Option<&str>,
    ) -> anyhow::Result<GetFunctionConfigurationOutput> {
        self.client
            .get_function_configuration()
            .function_name(&self.name)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
            .await
            .map_err(ctx("lambda:GetFunctionConfiguration"))
    }

    /// Invokes `$LATEST`, or a version or alias, synchronously with `LogType=Tail`, waking the
    /// function first if Lambda reports it idle.
    pub(super) async fn invoke_qualified(
        &self,
        qualifier: Option<&str>,
        payload: &[u8],
    ) -> anyhow::Result<Invocation> {
        let out = crate::stack::function::retry_waking(&self.client, &self.name, || {
            self.client
                .invoke()
                .function_name(&self.name)
                .set_qualifier(qualifier.map(str::to_string))
                .invocation_type(InvocationType::RequestResponse)
                .log_type(LogType::Tail)
                .payload(Blob::new(payload.to_vec()))
                .send()
        })
        .await?
        .map_err(ctx("lambda:Invoke"))?;
        Ok(Self::invocation(&out))
    }

    /// Decodes an Invoke answer.
    fn invocation(out: &aws_sdk_lambda::operation::invoke::InvokeOutput) -> Invocation {
        let log_tail = out
            .log_result()
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        Invocation {
            body: out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default(),
            function_error: out.function_error().map(str::to_string),
            log_tail,
        }
    }
}

#[async_trait]
impl FunctionControl for LambdaTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn architecture(&self) -> anyhow::Result<Arch> {
        let c = self.configuration(None).await?;
        // Lambda leaves the list empty for functions made before it had a choice: x86_64.
        Ok(c.architectures().first().and_then(Arch::from_lambda).unwrap_or_default())
    }

    async fn memory(&self) -> anyhow::Result<u32> {
        let c = self.configuration(None).await?;
        c.memory_size().map(|m| m as u32).context("Lambda returned no MemorySize")
    }

    async fn set_memory(&self, mb: u32) -> anyhow::Result<()> {
        self.update(mb, None).await
    }

    async fn invoke(&self, payload: &[u8]) -> anyhow::Result<Invocation> {
        self.invoke_qualified(None, payload).await
    }
}
