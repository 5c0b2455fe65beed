//! [`VersionControl`] over the Lambda API: publish, alias, list, delete, invoke a qualifier.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_lambda::types::State;

use super::lambda::LambdaTarget;
use super::{AliasTarget, Invocation, LatestSettings, PublishedVersion, VersionControl};
use crate::aws::{all_items, ctx, ignore_not_found, AwsErrorExt};

fn version_of(c: &aws_sdk_lambda::types::FunctionConfiguration) -> PublishedVersion {
    PublishedVersion {
        version: c.version().unwrap_or_default().to_string(),
        description: c.description().unwrap_or_default().to_string(),
        memory_mb: c.memory_size().unwrap_or_default() as u32,
    }
}

#[async_trait]
impl VersionControl for LambdaTarget {
    async fn latest(&self) -> anyhow::Result<LatestSettings> {
        let c = self.configuration(None).await?;
        Ok(LatestSettings {
            memory_mb: c.memory_size().context("Lambda returned no MemorySize")? as u32,
            description: c.description().unwrap_or_default().to_string(),
        })
    }

    async fn configure(&self, settings: &LatestSettings) -> anyhow::Result<()> {
        self.update(settings.memory_mb, Some(&settings.description)).await
    }

    async fn publish(&self, description: &str) -> anyhow::Result<PublishedVersion> {
        // An update someone else started meanwhile makes Lambda refuse the publish: wait it out.
        let out = crate::aws::retry_while(
            &["ResourceConflictException"],
            Duration::from_secs(120),
            || {
                self.client
                    .publish_version()
                    .function_name(&self.name)
                    .description(description)
                    .send()
            },
        )
        .await
        .map_err(ctx("lambda:PublishVersion"))?;
        Ok(PublishedVersion {
            version: out.version().unwrap_or_default().to_string(),
            description: out.description().unwrap_or_default().to_string(),
            memory_mb: out.memory_size().unwrap_or_default() as u32,
        })
    }

    async fn put_alias(&self, name: &str, version: &str) -> anyhow::Result<()> {
        let created = self
            .client
            .create_alias()
            .function_name(&self.name)
            .name(name)
            .function_version(version)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // It exists (a run that was killed left it): point it at the new version, as the
            // power-tuning tool does.
            Err(e) if e.is_code(&["ResourceConflictException"]) => {
                self.client
                    .update_alias()
                    .function_name(&self.name)
                    .name(name)
                    .function_version(version)
                    .send()
                    .await
                    .map_err(ctx("lambda:UpdateAlias"))?;
                Ok(())
            }
            Err(e) => Err(crate::aws::explain("lambda:CreateAlias", e)),
        }
    }

    async fn aliases(&self) -> anyhow::Result<Vec<AliasTarget>> {
        let request = self.client.list_aliases().function_name(&self.name);
        let pages = all_items!(request, "lambda:ListAliases")?;
        Ok(pages
            .into_iter()
            .map(|a| AliasTarget {
                name: a.name().unwrap_or_default().to_string(),
                version: a.function_version().unwrap_or_default().to_string(),
            })
            .collect())
    }

    async fn versions(&self) -> anyhow::Result<Vec<PublishedVersion>> {
        let request = self.client.list_versions_by_function().function_name(&self.name);
        let all = all_items!(request, "lambda:ListVersionsByFunction")?;
        Ok(all.iter().map(version_of).filter(|v| v.version != "$LATEST").collect())
    }

    async fn delete_alias(&self, name: &str) -> anyhow::Result<()> {
        let result = self.client.delete_alias().function_name(&self.name).name(name).send().await;
        ignore_not_found("lambda:DeleteAlias", result)
    }

    async fn delete_version(&self, version: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            version.parse::<u64>().is_ok(),
            "refusing to delete {version:?}: only a numbered version is deleted, never the function"
        );
        let result = self
            .client
            .delete_function()
            .function_name(&self.name)
            .qualifier(version)
            .send()
            .await;
        ignore_not_found("lambda:DeleteFunction (version)", result)
    }

    async fn wait_active(&self, qualifier: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut backoff = crate::aws::Backoff::new();
        loop {
            let c = self.configuration(Some(qualifier)).await?;
            match c.state() {
                None | Some(State::Active) => return Ok(()),
                Some(State::Failed) => anyhow::bail!(
                    "{}:{qualifier} is in state Failed: {}",
                    self.name,
                    c.state_reason().unwrap_or("no reason given")
                ),
                _ if Instant::now() > deadline => {
                    anyhow::bail!(
                        "{}:{qualifier} did not become Active within 5 minutes",
                        self.name
                    )
                }
                _ => backoff.wait().await,
            }
        }
    }

    async fn concurrency_limit(&self) -> anyhow::Result<Option<u32>> {
        // Not being allowed to read it only means running unpaced, as the power-tuning tool does.
        let settings = self.client.get_account_settings().send().await.ok();
        Ok(settings
            .and_then(|s| s.account_limit().cloned())
            .and_then(|l| l.unreserved_concurrent_executions())
            .filter(|n| *n > 0)
            .map(|n| n as u32))
    }

    async fn invoke_at(&self, qualifier: &str, payload: &[u8]) -> anyhow::Result<Invocation> {
        self.invoke_qualified(Some(qualifier), payload).await
    }
}
