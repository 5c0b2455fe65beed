//! What `tune` and `load` need from a deployed function, independent of how it is reached.
//!
//! The production implementation (`crate::control::lambda::LambdaTarget`) talks to Lambda through the SDK
//! (real AWS or the local stack); tests of pure logic may implement the trait over fixed data.

use anyhow::Result;
use async_trait::async_trait;

pub mod lambda;

/// The outcome of one synchronous invocation made with `LogType=Tail`.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// The function's response payload (or its error document).
    pub body: Vec<u8>,
    /// `X-Amz-Function-Error` (`Unhandled`, `Handled`) when the function failed.
    pub function_error: Option<String>,
    /// The decoded `LogResult`: the last 4 KB of the invocation's log, ending with the REPORT line.
    pub log_tail: String,
}

/// A Lambda function whose memory can be changed and which can be invoked.
#[async_trait]
pub trait FunctionControl: Send + Sync {
    /// The function's name (for messages and reports).
    fn name(&self) -> &str;
    /// The architecture (`x86_64` or `arm64`), which sets the price per GB-second.
    async fn architecture(&self) -> Result<String>;
    /// The configured memory size in MB.
    async fn memory(&self) -> Result<u32>;
    /// Sets the memory size and waits until `LastUpdateStatus` is `Successful`.
    async fn set_memory(&self, mb: u32) -> Result<()>;
    /// Invokes synchronously with `LogType=Tail`. A function error is an `Ok` with `function_error` set;
    /// `Err` means the call itself failed (throttled, network, missing function).
    async fn invoke(&self, payload: &[u8]) -> Result<Invocation>;
}
