//! What `tune` and `load` need from a deployed function, independent of how it is reached:
//! [`FunctionControl`] (memory and invocations of `$LATEST`, for `load`) and [`VersionControl`]
//! (published versions and aliases, for `tune`, which measures without touching `$LATEST`'s traffic).
//!
//! The production implementation (`crate::control::lambda::LambdaTarget`) talks to Lambda through the SDK
//! (real AWS or the local stack); tests of pure logic may implement the traits over fixed data.

use anyhow::Result;
use async_trait::async_trait;

use crate::arch::Arch;

pub(crate) mod lambda;
mod versions;

/// The outcome of one synchronous invocation: the load generator's type, since its `--via lambda`
/// path and lab's control return the same thing.
pub use lab_load::invoke::Invocation;

/// A Lambda function whose memory can be changed and which can be invoked.
#[async_trait]
pub trait FunctionControl: Send + Sync {
    /// The function's name (for messages and reports).
    fn name(&self) -> &str;
    /// The architecture, which sets the price per GB-second.
    async fn architecture(&self) -> Result<Arch>;
    /// The configured memory size in MB.
    async fn memory(&self) -> Result<u32>;
    /// Sets the memory size and waits until `LastUpdateStatus` is `Successful`.
    async fn set_memory(&self, mb: u32) -> Result<()>;
    /// Invokes synchronously with `LogType=Tail`. A function error is an `Ok` with `function_error` set;
    /// `Err` means the call itself failed (throttled, network, missing function).
    async fn invoke(&self, payload: &[u8]) -> Result<Invocation>;
}

/// `$LATEST`'s settings that tuning changes while it publishes versions, and puts back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatestSettings {
    /// Memory size in MB.
    pub memory_mb: u32,
    /// The function's description.
    pub description: String,
}

/// A published version, as Lambda lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersion {
    /// The version number.
    pub version: String,
    /// Its description: the one given to PublishVersion, else `$LATEST`'s when it was published.
    pub description: String,
    /// Its memory size in MB.
    pub memory_mb: u32,
}

/// An alias and the version it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasTarget {
    /// The alias name.
    pub name: String,
    /// The version it points at.
    pub version: String,
}

/// Versions and aliases of a function, as aws-lambda-power-tuning uses them: configure `$LATEST`,
/// publish it, point an alias at the version, invoke the alias, delete both afterwards.
#[async_trait]
pub trait VersionControl: FunctionControl {
    /// `$LATEST`'s memory and description.
    async fn latest(&self) -> Result<LatestSettings>;
    /// Sets `$LATEST`'s memory and description and waits until the update is `Successful` (Lambda
    /// refuses PublishVersion while it is `InProgress`).
    async fn configure(&self, settings: &LatestSettings) -> Result<()>;
    /// Publishes `$LATEST` as a version with `description`. Lambda answers with the latest existing
    /// version (and its own description) when `$LATEST` did not change since it was published.
    async fn publish(&self, description: &str) -> Result<PublishedVersion>;
    /// Creates the alias, or points it at `version` when it exists.
    async fn put_alias(&self, name: &str, version: &str) -> Result<()>;
    /// Every alias of the function.
    async fn aliases(&self) -> Result<Vec<AliasTarget>>;
    /// Every published version (not `$LATEST`).
    async fn versions(&self) -> Result<Vec<PublishedVersion>>;
    /// Deletes an alias; an absent one is no error.
    async fn delete_alias(&self, name: &str) -> Result<()>;
    /// Deletes a version; an absent one is no error.
    async fn delete_version(&self, version: &str) -> Result<()>;
    /// Waits until the version or alias is `Active` (a new version may start `Pending`).
    async fn wait_active(&self, qualifier: &str) -> Result<()>;
    /// The account's unreserved concurrency (`GetAccountSettings`), when it can be read: the most
    /// invocations that can run at once without being throttled.
    async fn concurrency_limit(&self) -> Result<Option<u32>>;
    /// Invokes a version or alias synchronously with `LogType=Tail`; errors as
    /// [`FunctionControl::invoke`].
    async fn invoke_at(&self, qualifier: &str, payload: &[u8]) -> Result<Invocation>;
}
