//! What `tune` and `load` need from a deployed function, independent of how it is reached:
//! [`FunctionControl`] (memory and invocations of `$LATEST`, for `load`) and [`VersionControl`]
//! (published versions and aliases, for `tune`, which measures without touching `$LATEST`'s traffic).
//!
//! The production implementation (`crate::control::lambda::LambdaTarget`) talks to Lambda through the SDK
//! (real AWS or the local stack); tests of pure logic may implement the traits over fixed data.

use anyhow::Result;
use async_trait::async_trait;

use crate::arch::Arch;

mod copy;
pub(crate) mod lambda;
mod versions;

pub(crate) use copy::CopySettings;

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

/// What a copy of a function for another instruction set is made from: the original's package and
/// settings, as GetFunction gives them.
#[derive(Debug, Clone)]
pub struct FunctionPackage {
    /// The original function's name.
    pub function: String,
    /// The original's instruction set.
    pub arch: Arch,
    /// Its runtime (`provided.al2023`, `python3.13`...); `None` for a container image.
    pub runtime: Option<String>,
    /// A container image (built for one instruction set): no zip to copy.
    pub image: bool,
    /// The deployment zip (empty for an image).
    pub zip: Vec<u8>,
    /// Every Linux ELF in the zip for an instruction set Lambda runs: its path and machine.
    pub binaries: Vec<(String, Arch)>,
    /// The rest of the configuration the copy keeps.
    pub(crate) settings: CopySettings,
}

impl FunctionPackage {
    /// Whether the runtime runs the zip's own `bootstrap` (an OS-only runtime).
    pub fn custom_runtime(&self) -> bool {
        self.runtime.as_deref().is_some_and(|r| r.starts_with("provided"))
    }
}

/// Copies of a function for another instruction set, which `lab tune --arch` tunes beside the
/// original and removes afterwards.
#[async_trait]
pub trait ArchCopies: Send + Sync {
    /// The function's package and settings (GetFunction, and its `Code.Location` downloaded).
    async fn package(&self) -> Result<FunctionPackage>;
    /// Refuses a name that belongs to a function that is not lab's copy of this one.
    async fn check_copy_name(&self, name: &str) -> Result<()>;
    /// Makes `name`, a copy of the function at `arch` from `package` (a copy a killed run left is
    /// deleted and made again), waits until it is Active, and returns it.
    async fn create_copy(
        &self,
        package: &FunctionPackage,
        name: &str,
        arch: Arch,
    ) -> Result<std::sync::Arc<dyn VersionControl>>;
    /// Deletes lab's copy `name` (its versions and aliases with it); `false` when it was not
    /// there. Refuses a function that is not lab's copy of this one.
    async fn delete_copy(&self, name: &str) -> Result<bool>;
    /// Whether a function named `name` exists.
    async fn exists(&self, name: &str) -> Result<bool>;
}
