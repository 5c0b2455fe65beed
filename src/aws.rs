//! SDK configuration (credential chain, profile, region, endpoint) and AWS error classification.

use std::error::Error as StdError;
use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

/// Where and as whom the SDK clients talk.
#[derive(Debug, Clone, Default)]
pub(crate) struct Connection {
    /// `--region`; otherwise the SDK's chain (env, profile), then `us-east-1` for the local stack.
    pub(crate) region: Option<String>,
    /// `--profile`.
    pub(crate) profile: Option<String>,
    /// `--endpoint-url` or the local stack's address.
    pub(crate) endpoint_url: Option<String>,
    /// Use fixed dummy credentials (the local stack accepts any).
    pub(crate) dummy_credentials: bool,
}

/// One client per service, built from one shared configuration.
#[derive(Clone, Debug)]
pub(crate) struct Clients {
    /// IAM: the policy and the role.
    pub(crate) iam: aws_sdk_iam::Client,
    /// Lambda: the function, its permission, invocations.
    pub(crate) lambda: aws_sdk_lambda::Client,
    /// API Gateway: the REST API.
    pub(crate) apigateway: aws_sdk_apigateway::Client,
    /// DynamoDB: the table.
    pub(crate) dynamodb: aws_sdk_dynamodb::Client,
    /// CloudWatch Logs: the function's log group.
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    /// STS: who the caller is (the account in ARNs).
    pub(crate) sts: aws_sdk_sts::Client,
    /// The region every client uses.
    pub(crate) region: String,
    /// The endpoint override, if any (then stage URLs take the local form).
    pub(crate) endpoint_url: Option<String>,
}

impl Clients {
    /// Loads the configuration through the standard chain, applying the command-line overrides.
    pub(crate) async fn connect(conn: &Connection) -> anyhow::Result<Self> {
        let profile = conn.profile.clone().or_else(|| std::env::var("AWS_PROFILE").ok());
        if let (Some(profile), false) = (&profile, conn.dummy_credentials) {
            check_profile(profile)?;
            let _ = PROFILE.set(profile.clone());
        }
        let config = load_config(conn).await?;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            anyhow!("no AWS region is set: pass --region, set AWS_REGION, or use --local")
        })?;
        let endpoint_url = config.endpoint_url().map(str::to_string);
        Ok(Self {
            iam: aws_sdk_iam::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            apigateway: aws_sdk_apigateway::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            region,
            endpoint_url,
        })
    }
}

/// The profile in use, for the command that fixes its credentials.
static PROFILE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A named profile must be in the config or credentials file: a misspelled `--profile` is one
/// line saying so, not "no AWS region is set" later.
fn check_profile(profile: &str) -> anyhow::Result<()> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_default();
    let config = std::env::var_os("AWS_CONFIG_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| home.join(".aws/config"));
    let credentials = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| home.join(".aws/credentials"));
    let in_config = std::fs::read_to_string(&config).is_ok_and(|text| {
        text.lines().any(|l| {
            let l = l.trim();
            l == format!("[profile {profile}]") || (profile == "default" && l == "[default]")
        })
    });
    let in_credentials = std::fs::read_to_string(&credentials)
        .is_ok_and(|text| text.lines().any(|l| l.trim() == format!("[{profile}]")));
    if in_config || in_credentials {
        return Ok(());
    }
    anyhow::bail!(
        "profile {profile} not found in {} (nor in {}); check its name, or create it with aws configure --profile {profile} (aws configure sso for SSO)",
        config.display(),
        credentials.display()
    )
}

/// ` --profile NAME` for the profile in use, to append to a suggested command (empty without one).
fn profile_flag() -> String {
    PROFILE.get().map(|p| format!(" --profile {p}")).unwrap_or_default()
}

/// The command that renews the credentials, from the SDK's cause: an SSO session ends with
/// `aws sso login`.
fn credentials_fix(cause: &str) -> String {
    let profile = profile_flag();
    let lower = cause.to_ascii_lowercase();
    if lower.contains("sso") || lower.contains("token") && lower.contains("expired") {
        format!("run aws sso login{profile}")
    } else {
        format!("configure them (aws configure{profile}, AWS_PROFILE, --profile) or run against the local stack with --local")
    }
}

/// How long a connection may sit idle before TCP keepalive probes it: well under the 350 s after
/// which a NAT gateway drops an idle flow (AWS knowledge center, "lambda-vpc-timeout"), so a
/// synchronous invocation held open for up to 15 minutes keeps its flow alive.
pub(crate) const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);

/// An HTTPS client whose sockets send TCP keepalive probes after [`KEEPALIVE_IDLE`], for calls
/// that wait minutes for their answer (`load --workers` invokes its generators synchronously).
pub(crate) fn keepalive_https_client() -> anyhow::Result<aws_sdk_lambda::config::SharedHttpClient> {
    use aws_smithy_http_client::pool::{Client, ConnectionPool};
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let pool = ConnectionPool::builder()
        .tcp_keepalive(KEEPALIVE_IDLE)
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
        .map_err(|e| anyhow!("cannot build an HTTPS client with TCP keepalive: {e}"))?;
    let client = Client::new(&pool)
        .map_err(|e| anyhow!("cannot build an HTTPS client with TCP keepalive: {e}"))?;
    Ok(aws_sdk_lambda::config::SharedHttpClient::new(client))
}

async fn load_config(conn: &Connection) -> anyhow::Result<SdkConfig> {
    // Throttling is retried with exponential backoff and jitter; a few more attempts than the SDK's
    // default 3 ride out a busy account (tune and load invoke in bursts).
    let mut loader = handler::with_https(aws_config::defaults(BehaviorVersion::latest()))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(6));
    if let Some(profile) = &conn.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &conn.region {
        loader = loader.region(Region::new(region.clone()));
    } else if conn.dummy_credentials {
        // Env and profile, then us-east-1; never the instance metadata service, which only costs
        // a timeout against the local stack.
        let chain = aws_config::meta::region::RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(aws_config::profile::ProfileFileRegionProvider::new())
        .or_else("us-east-1");
        loader = loader.region(chain);
    }
    if let Some(url) = &conn.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if conn.dummy_credentials {
        loader = loader.credentials_provider(aws_sdk_iam::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "lab-local",
        ));
    }
    Ok(loader.load().await)
}

/// Error codes that mean "this resource does not exist", across the services lab uses.
const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NotFoundException",
];

/// Uniform questions about an SDK error, whatever the operation.
pub(crate) trait AwsErrorExt {
    /// The service's error code, when the body could be parsed.
    fn code(&self) -> Option<&str>;
    /// The HTTP status, when a response came back.
    fn status(&self) -> Option<u16>;
    /// True when the error says the resource is absent.
    fn is_not_found(&self) -> bool {
        self.code().is_some_and(|c| NOT_FOUND_CODES.contains(&c)) || self.status() == Some(404)
    }
    /// True for one of the given error codes.
    fn is_code(&self, codes: &[&str]) -> bool {
        self.code().is_some_and(|c| codes.contains(&c))
    }
}

impl<E: ProvideErrorMetadata> AwsErrorExt for SdkError<E, HttpResponse> {
    fn code(&self) -> Option<&str> {
        ProvideErrorMetadata::code(self)
    }
    fn status(&self) -> Option<u16> {
        self.raw_response().map(|r| r.status().as_u16())
    }
}

/// Turns an SDK error into a one-line message that names the action and, where it can, the fix.
pub(crate) fn explain<E>(action: &str, err: SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + Debug + 'static,
{
    let code = ProvideErrorMetadata::code(&err).map(str::to_string);
    let message = ProvideErrorMetadata::message(&err).map(str::to_string);
    let status = err.raw_response().map(|r| r.status().as_u16());
    let chain = error_chain(&err);
    match (code.as_deref(), &err) {
        (Some(c), _) if c.contains("AccessDenied") || c == "UnauthorizedOperation" => anyhow!(
            "{action}: access denied ({}); grant that action to your identity or pick another --profile",
            message.unwrap_or_default()
        ),
        (Some(c), _) if c.contains("Throttl") || c == "TooManyRequestsException" => anyhow!(
            "{action}: throttled by AWS after retries ({c}); wait a moment and run the command again"
        ),
        (Some(c), _) if c == "UnrecognizedClientException" || c == "InvalidClientTokenId" || c == "ExpiredToken" || c == "ExpiredTokenException" => anyhow!(
            "{action}: the credentials were rejected ({c}: {}); refresh them (aws sso login{}, or new keys) or use --local",
            message.clone().unwrap_or_default(),
            profile_flag()
        ),
        (Some(c), _) => anyhow!("{action}: {c}: {}", message.unwrap_or_default()),
        (None, SdkError::DispatchFailure(_)) if chain.contains("credentials") || chain.contains("Credentials") => anyhow!(
            "{action}: no usable AWS credentials ({}); {}",
            chain.split_whitespace().collect::<Vec<_>>().join(" "),
            credentials_fix(&chain)
        ),
        (None, SdkError::DispatchFailure(_)) if chain.contains("dns error") || chain.contains("failed to lookup") => anyhow!(
            "{action}: cannot resolve the service endpoint; check --region (is it a real region?) and your network"
        ),
        (None, SdkError::DispatchFailure(_)) => anyhow!(
            "{action}: cannot reach the endpoint ({chain}); if you use --local, is the local stack running? (lab local status)"
        ),
        (None, _) if status.is_some() => anyhow!(
            "{action}: HTTP {} with an unreadable body",
            status.unwrap_or_default()
        ),
        (None, _) => anyhow!("{action}: {chain}"),
    }
}

/// The whole source chain on one line: the SDK's top-level Display alone is often just "service error".
pub(crate) fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// For deletes: "not found" means done (an earlier or concurrent run already removed it).
pub(crate) fn ignore_not_found<T, E>(
    action: &str,
    result: Result<T, SdkError<E, HttpResponse>>,
) -> anyhow::Result<()>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + Debug + 'static,
{
    found(action, result).map(drop)
}

/// For creates: done when AWS says it already exists under one of `codes` (another run won the
/// race; the caller converges on the next read), any other error explained.
pub(crate) fn tolerate<T, E>(
    action: &str,
    codes: &[&str],
    result: Result<T, SdkError<E, HttpResponse>>,
) -> anyhow::Result<()>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + Debug + 'static,
{
    match result {
        Err(e) if !e.is_code(codes) => Err(explain(action, e)),
        _ => Ok(()),
    }
}

/// For reads: the answer when the resource exists, `None` when AWS says it does not, and any other
/// error explained.
pub(crate) fn found<T, E>(
    action: &str,
    result: Result<T, SdkError<E, HttpResponse>>,
) -> anyhow::Result<Option<T>>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + Debug + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(explain(action, e)),
    }
}

/// Convenience: `.map_err(ctx("CreateTable"))` on any SDK result.
pub(crate) fn ctx<E>(
    action: &'static str,
) -> impl FnOnce(SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + Debug + 'static,
{
    move |e| explain(action, e)
}

/// Every item of a paginated SDK call (`$request`, a fluent builder whose operation pages), or the
/// first error, explained as `$action`. A macro, because each operation's paginator is a type of
/// its own with no trait in common.
macro_rules! all_items {
    ($request:expr, $action:literal) => {
        $request
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err($crate::aws::ctx($action))
    };
}
pub(crate) use all_items;

/// The delays between polls of a state AWS is moving through (a table CREATING, a function
/// Pending, IAM settling): from 100 ms, doubling, at most 500 ms. The transitions last seconds, so
/// a longer cap only overshoots them (a 10 s wait polled every 5 s ends up to 5 s late), and two
/// reads a second of one resource is far inside every control-plane quota.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    /// The longest delay between two polls.
    pub(crate) const CAP: Duration = Duration::from_millis(500);

    /// Starts at 100 ms.
    pub(crate) fn new() -> Self {
        Self {
            next: Duration::from_millis(100),
        }
    }

    /// Sleeps for the current delay, then doubles it (up to [`Self::CAP`]).
    pub(crate) async fn wait(&mut self) {
        tokio::time::sleep(self.advance()).await;
    }

    /// The current delay, doubling it (up to [`Self::CAP`]) for the next time.
    pub(crate) fn advance(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Self::CAP);
        delay
    }

    /// The delay the next [`wait`](Self::wait) sleeps.
    pub(crate) fn peek(&self) -> Duration {
        self.next
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// What an SDK call returns.
pub(crate) type SdkResult<T, E> = Result<T, SdkError<E, HttpResponse>>;

/// Retries a call while AWS answers one of `codes`: eventual consistency that settles in seconds
/// (IAM's NoSuchEntity right after a create, DeleteConflict right after a detach), with
/// [`Backoff`]; after `budget` the last answer is returned as it is.
pub(crate) async fn retry_while<
    T,
    E: ProvideErrorMetadata,
    Fut: Future<Output = SdkResult<T, E>>,
>(
    codes: &[&str],
    budget: Duration,
    call: impl FnMut() -> Fut,
) -> SdkResult<T, E> {
    let mut backoff = Backoff::new();
    let wait_for = |e: &SdkError<E, HttpResponse>| e.is_code(codes).then(|| backoff.advance());
    retry(budget, wait_for, |_| {}, call).await
}

/// The `Retry-After` header of a throttled answer, in seconds.
pub(crate) fn retry_after<E>(err: &SdkError<E, HttpResponse>) -> Option<Duration> {
    let value = err.raw_response()?.headers().get("retry-after")?;
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(300.0)))
}

/// Runs a call whose SDK retries are off (API Gateway's DeleteRestApi, CreateDeployment) and
/// waits as long as a 429's `Retry-After` says, instead of guessing with the SDK's backoff: AWS
/// allows one DeleteRestApi per 30 s per account. Without the header (and for a 5xx), backoff
/// doubles from 1 s.
/// `on_wait` is told each wait (for a progress line).
pub(crate) async fn honour_retry_after<
    T,
    E: ProvideErrorMetadata,
    Fut: Future<Output = SdkResult<T, E>>,
>(
    budget: Duration,
    on_wait: impl FnMut(Duration),
    call: impl FnMut() -> Fut,
) -> SdkResult<T, E> {
    let mut fallback = Duration::from_secs(1);
    let mut server_errors = 0;
    let wait_for = move |e: &SdkError<E, HttpResponse>| {
        let throttled = e.status() == Some(429) || e.is_code(&["TooManyRequestsException"]);
        // With the SDK's retries off, a transient 5xx is ours to retry too (three times, as the
        // SDK would).
        let server_error = e.status().is_some_and(|s| s >= 500);
        let retried = throttled || (server_error && server_errors < 3);
        if !retried {
            return None;
        }
        server_errors += u32::from(server_error);
        let wait = retry_after(e).unwrap_or(fallback);
        fallback = (fallback * 2).min(Duration::from_secs(30));
        Some(wait)
    };
    retry(budget, wait_for, on_wait, call).await
}

/// The loop both retries share: calls until an answer `wait_for` gives no wait for, or whose wait
/// would end after `budget`; that answer is returned as it is. `on_wait` is told each wait.
async fn retry<T, E, Fut: Future<Output = SdkResult<T, E>>>(
    budget: Duration,
    mut wait_for: impl FnMut(&SdkError<E, HttpResponse>) -> Option<Duration>,
    mut on_wait: impl FnMut(Duration),
    mut call: impl FnMut() -> Fut,
) -> SdkResult<T, E> {
    let deadline = Instant::now() + budget;
    loop {
        let err = match call().await {
            Err(e) => e,
            answer => return answer,
        };
        match wait_for(&err) {
            Some(wait) if Instant::now() + wait < deadline => {
                on_wait(wait);
                tokio::time::sleep(wait).await;
            }
            _ => return Err(err),
        }
    }
}

/// True when Lambda refuses an invocation because the function is not Active yet: Pending after a
/// create, or waking from Inactive. A retry after a short wait succeeds.
pub(crate) fn is_function_waking<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    let message = ProvideErrorMetadata::message(err).unwrap_or_default();
    match ProvideErrorMetadata::code(err) {
        Some("CodeArtifactUserPendingException" | "ResourceNotReadyException") => true,
        Some("ResourceConflictException") => message.contains("state: Pending"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timer Linux runs on the established socket from local port `port` to `remote`
    /// (`/proc/net/tcp`'s `tr`: 0 none, 1 retransmit, 2 keepalive); an older socket on the same
    /// port in TIME_WAIT is another socket.
    fn tcp_timer(port: u16, remote: u16) -> Option<u8> {
        let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
        let port_of = |field: &str| u16::from_str_radix(field.rsplit(':').next()?, 16).ok();
        table.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let established = fields.get(3) == Some(&"01");
            if !established
                || port_of(fields.get(1)?) != Some(port)
                || port_of(fields.get(2)?) != Some(remote)
            {
                return None;
            }
            fields.get(5)?.split(':').next()?.parse().ok()
        })
    }

    /// Sends an Invoke through `http` to a listener that never answers; the timer on the client's
    /// socket while the call waits.
    async fn timer_while_waiting(http: aws_sdk_lambda::config::SharedHttpClient) -> Option<u8> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listening = listener.local_addr().unwrap();
        let endpoint = format!("http://{listening}");
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_lambda::config::Credentials::for_tests())
            .endpoint_url(endpoint)
            .http_client(http)
            .build();
        let client = aws_sdk_lambda::Client::from_conf(config);
        let call = tokio::spawn(async move { client.invoke().function_name("f").send().await });
        let accepted = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
        let Ok(Ok((_socket, peer))) = accepted else {
            panic!("the client never connected: {:?}", call.await);
        };
        let mut timer = None;
        for _ in 0..40 {
            timer = tcp_timer(peer.port(), listening.port());
            if timer == Some(2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        call.abort();
        timer
    }

    #[tokio::test]
    async fn the_long_call_client_keeps_an_idle_connection_alive_and_the_default_does_not() {
        if !std::path::Path::new("/proc/net/tcp").exists() {
            return; // Linux only: where the kernel shows a socket's timers.
        }
        let keepalive = timer_while_waiting(keepalive_https_client().unwrap()).await;
        assert_eq!(
            keepalive,
            Some(2),
            "no keepalive timer on the waiting socket"
        );
        let default = timer_while_waiting(handler::https_client()).await;
        assert_eq!(
            default,
            Some(0),
            "the default client is expected to send no keepalive"
        );
    }
}
