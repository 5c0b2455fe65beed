//! [`ArchCopies`] over the Lambda API: read a function's package (GetFunction's `Code.Location`),
//! make a copy of it for another instruction set, and delete that copy.
//!
//! A copy is tagged `lab:tune-copy-of = <function>`: a copy a killed run left is recognisably
//! lab's (the next run deletes and makes it again, from the code as it is now), and a function of
//! the same name that is not lab's copy of this one is never touched.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, EphemeralStorage, FunctionCode, PackageType, VpcConfig};

use super::lambda::LambdaTarget;
use super::{ArchCopies, FunctionPackage, VersionControl};
use crate::arch::Arch;
use crate::aws::{ctx, found, AwsErrorExt};

/// The tag that marks a copy, and names the function it copies.
pub(crate) const COPY_TAG: &str = "lab:tune-copy-of";
/// CreateFunction's direct upload limit (Lambda quotas: 50 MB zipped, for a direct upload).
const DIRECT_UPLOAD_LIMIT: usize = 50 * 1024 * 1024;

/// What the copy keeps of the original besides its code (GetFunction's configuration).
#[derive(Debug, Clone, Default)]
pub(crate) struct CopySettings {
    role: String,
    handler: Option<String>,
    timeout: Option<i32>,
    memory: Option<i32>,
    env: Option<std::collections::HashMap<String, String>>,
    layers: Vec<String>,
    ephemeral_mb: Option<i32>,
    subnets: Vec<String>,
    security_groups: Vec<String>,
}

impl LambdaTarget {
    /// The original's own name: a copy is made in the caller's account, so a function of another
    /// account (addressed by its ARN) cannot be copied.
    fn own_name(&self) -> anyhow::Result<&str> {
        if self.name.starts_with("arn:") {
            bail!(
                "--arch copies the function into this account, and {} is another account's: tune \
                 one instruction set, or run lab in that account",
                self.name
            );
        }
        Ok(&self.name)
    }

    /// The tags of `name`, `None` when there is no such function.
    async fn copy_tags(
        &self,
        name: &str,
    ) -> anyhow::Result<Option<std::collections::HashMap<String, String>>> {
        let got = self.client.get_function().function_name(name).send().await;
        Ok(found("lambda:GetFunction", got)?.map(|f| f.tags().cloned().unwrap_or_default()))
    }
}

/// Whether a function's `tags` mark it as lab's copy of `original`.
fn is_copy_of(tags: &std::collections::HashMap<String, String>, original: &str) -> bool {
    tags.get(COPY_TAG).map(String::as_str) == Some(original)
}

/// Downloads a deployment package from GetFunction's `Code.Location` (a presigned URL on AWS,
/// the gateway's `/_lab/code/...` on the local stack).
async fn download(location: &str) -> anyhow::Result<Vec<u8>> {
    let response = reqwest::Client::new()
        .get(location)
        .timeout(Duration::from_secs(300))
        .send()
        .await
        .context("downloading the function's package from Code.Location")?;
    let status = response.status();
    if !status.is_success() {
        let said = response.text().await.unwrap_or_default();
        bail!("downloading the function's package from Code.Location: HTTP {status}: {said}");
    }
    Ok(response.bytes().await.context("reading the function's package")?.to_vec())
}

#[async_trait]
impl ArchCopies for LambdaTarget {
    async fn package(&self) -> anyhow::Result<FunctionPackage> {
        let name = self.own_name()?.to_string();
        let out = self
            .client
            .get_function()
            .function_name(&name)
            .send()
            .await
            .map_err(ctx("lambda:GetFunction"))?;
        let c = out.configuration().context("GetFunction returned no configuration")?;
        let arch = c.architectures().first().and_then(Arch::from_lambda).unwrap_or_default();
        let image = c.package_type() == Some(&PackageType::Image);
        let zip = match (image, out.code().and_then(|code| code.location())) {
            (true, _) => Vec::new(),
            (false, Some(location)) => download(location).await?,
            (false, None) => bail!("GetFunction gave no Code.Location for {name}'s package"),
        };
        let vpc = c.vpc_config();
        Ok(FunctionPackage {
            function: name,
            arch,
            runtime: c.runtime().map(|r| r.as_str().to_string()),
            image,
            binaries: crate::package::elf_files(&zip)?,
            settings: CopySettings {
                role: c.role().unwrap_or_default().to_string(),
                handler: c.handler().map(str::to_string),
                timeout: c.timeout(),
                memory: c.memory_size(),
                env: c.environment().and_then(|e| e.variables()).cloned(),
                layers: c.layers().iter().filter_map(|l| l.arn().map(str::to_string)).collect(),
                ephemeral_mb: c.ephemeral_storage().map(|e| e.size()),
                subnets: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
                security_groups: vpc.map(|v| v.security_group_ids().to_vec()).unwrap_or_default(),
            },
            zip,
        })
    }

    async fn check_copy_name(&self, name: &str) -> anyhow::Result<()> {
        let original = self.own_name()?;
        match self.copy_tags(name).await? {
            Some(tags) if !is_copy_of(&tags, original) => bail!(
                "a function named {name} exists and is not lab's copy of {original} (no \
                 {COPY_TAG}={original} tag): rename or delete it, then run again"
            ),
            _ => Ok(()),
        }
    }

    async fn create_copy(
        &self,
        package: &FunctionPackage,
        name: &str,
        arch: Arch,
    ) -> anyhow::Result<Arc<dyn VersionControl>> {
        if package.zip.len() > DIRECT_UPLOAD_LIMIT {
            bail!(
                "{}'s package is {} MB, over CreateFunction's 50 MB direct upload: tune {arch} on a \
                 copy you deploy through S3",
                package.function,
                package.zip.len() / (1024 * 1024)
            );
        }
        // A copy a killed run left: made again from the code as it is now.
        self.delete_copy(name).await?;
        let s = &package.settings;
        let vpc = (!s.subnets.is_empty()).then(|| {
            VpcConfig::builder()
                .set_subnet_ids(Some(s.subnets.clone()))
                .set_security_group_ids(Some(s.security_groups.clone()))
                .build()
        });
        let environment = s
            .env
            .as_ref()
            .map(|vars| Environment::builder().set_variables(Some(vars.clone())).build());
        let ephemeral = match s.ephemeral_mb {
            Some(mb) => Some(EphemeralStorage::builder().size(mb).build()?),
            None => None,
        };
        self.client
            .create_function()
            .function_name(name)
            .role(&s.role)
            .set_runtime(package.runtime.as_deref().map(Into::into))
            .set_handler(s.handler.clone())
            .set_timeout(s.timeout)
            .set_memory_size(s.memory)
            .set_environment(environment)
            .set_layers((!s.layers.is_empty()).then(|| s.layers.clone()))
            .set_ephemeral_storage(ephemeral)
            .set_vpc_config(vpc)
            .architectures(arch.into())
            .description(format!(
                "lab tune --arch: a copy of {} for {arch}",
                package.function
            ))
            .tags(COPY_TAG, &package.function)
            .code(FunctionCode::builder().zip_file(Blob::new(package.zip.clone())).build())
            .send()
            .await
            .map_err(ctx("lambda:CreateFunction"))?;
        crate::stack::function::wait_function_ready(&self.client, name)
            .await
            .with_context(|| format!("waiting for the copy {name} to become Active"))?;
        Ok(Arc::new(LambdaTarget::new(self.client.clone(), name)))
    }

    async fn delete_copy(&self, name: &str) -> anyhow::Result<bool> {
        let original = self.own_name()?;
        match self.copy_tags(name).await? {
            None => return Ok(false),
            Some(tags) if !is_copy_of(&tags, original) => bail!(
                "refusing to delete {name}: it is not lab's copy of {original} (no {COPY_TAG} tag)"
            ),
            Some(_) => {}
        }
        let deleted = self.client.delete_function().function_name(name).send().await;
        match deleted {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(crate::aws::explain("lambda:DeleteFunction", e)),
        }
    }

    async fn exists(&self, name: &str) -> anyhow::Result<bool> {
        Ok(self.copy_tags(name).await?.is_some())
    }
}
