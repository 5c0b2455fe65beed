//! Lambda Invoke for `--via lambda`: one call per request and never a retry (the SDK's standard
//! retry would turn throttles and 5xx into extra latency; none of Postman, k6 or oha retry), with
//! the failure named by its error code.

use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};

/// The outcome of one synchronous invocation (with `LogType=Tail` when lab's control asks for
/// the log; the load generator never does).
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// The function's response payload (or its error document).
    pub body: Vec<u8>,
    /// `X-Amz-Function-Error` (`Unhandled`, `Handled`) when the function failed.
    pub function_error: Option<String>,
    /// The decoded `LogResult`: the last 4 KB of the invocation's log, ending with the REPORT line.
    pub log_tail: String,
}

/// Why one invocation failed before the function could answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeFailure {
    /// Lambda refused for concurrency (TooManyRequestsException, HTTP 429).
    Throttled(String),
    /// Lambda answered with another error code (ResourceNotFoundException, ServiceException...).
    Api {
        /// The error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// No answer from Lambda (connection, unreadable response).
    Transport(String),
}

/// Invokes one function once per call.
#[async_trait]
pub trait Invoker: Send + Sync {
    /// The function's name, for reports.
    fn name(&self) -> &str;
    /// One synchronous invocation, no retry. A function error is an `Ok` with `function_error`.
    async fn invoke_once(&self, payload: &[u8]) -> Result<Invocation, InvokeFailure>;
}

/// Lambda Invoke through the SDK with its retries turned off.
pub struct SdkInvoker {
    client: aws_sdk_lambda::Client,
    name: String,
    tail: bool,
}

impl SdkInvoker {
    /// An invoker of `name` with `client`'s configuration, minus retries.
    pub fn new(client: &aws_sdk_lambda::Client, name: &str) -> SdkInvoker {
        let config = client
            .config()
            .to_builder()
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .build();
        SdkInvoker {
            client: aws_sdk_lambda::Client::from_conf(config),
            name: name.to_string(),
            tail: false,
        }
    }

    /// The same invoker asking for each invocation's log tail (`LogType=Tail`), whose last line
    /// is the invocation's REPORT line: Lambda's own figures for each request.
    pub fn with_log_tail(mut self) -> SdkInvoker {
        self.tail = true;
        self
    }
}

#[async_trait]
impl Invoker for SdkInvoker {
    fn name(&self) -> &str {
        &self.name
    }

    async fn invoke_once(&self, payload: &[u8]) -> Result<Invocation, InvokeFailure> {
        use aws_sdk_lambda::error::ProvideErrorMetadata;
        let sent = self
            .client
            .invoke()
            .function_name(&self.name)
            .invocation_type(InvocationType::RequestResponse)
            .set_log_type(self.tail.then_some(LogType::Tail))
            .payload(Blob::new(payload.to_vec()))
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Invocation {
                body: out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default(),
                function_error: out.function_error().map(str::to_string),
                log_tail: out.log_result().map(decode_tail).unwrap_or_default(),
            }),
            Err(e) => {
                let message = e.message().unwrap_or_default().to_string();
                Err(match e.code() {
                    Some("TooManyRequestsException") => InvokeFailure::Throttled(message),
                    Some(code) => InvokeFailure::Api {
                        code: code.to_string(),
                        message,
                    },
                    None => InvokeFailure::Transport(
                        aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
                    ),
                })
            }
        }
    }
}

/// `LogResult` is the tail's base64; an undecodable one reads as no tail.
fn decode_tail(b64: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}
