//! Helpers for the tuning tests on the local stack: a function made through the SDK (not by `lab up`),
//! and a snapshot of everything tuning must leave as it found it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};

use crate::common::aws::{function_config, wait_ready};

/// Lambda's trust policy for a function's role.
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The handler's bootstrap, zipped as `lab up --local` would.
pub fn handler_zip() -> Vec<u8> {
    lab::package::zip_bootstrap(&crate::common::bootstrap_bin(), lab::package::Deflate::Fast)
        .unwrap()
        .bytes
}

/// Creates `name` with `zip` through the SDK, waits out IAM's delay and the Pending state, and
/// returns its ARN.
pub async fn create_function(
    sdk: &aws_config::SdkConfig,
    name: &str,
    zip: Vec<u8>,
    memory_mb: i32,
) -> String {
    create_function_with(
        sdk,
        name,
        zip,
        memory_mb,
        Runtime::Providedal2023,
        "bootstrap",
    )
    .await
}

/// [`create_function`] with a runtime and handler of the caller's choice.
pub async fn create_function_with(
    sdk: &aws_config::SdkConfig,
    name: &str,
    zip: Vec<u8>,
    memory_mb: i32,
    runtime: Runtime,
    handler: &str,
) -> String {
    let iam = aws_sdk_iam::Client::new(sdk);
    let role = format!("{name}-role");
    let arn = match iam.get_role().role_name(&role).send().await {
        Ok(r) => r.role().unwrap().arn().to_string(),
        Err(_) => {
            let r = iam
                .create_role()
                .role_name(&role)
                .assume_role_policy_document(TRUST)
                .send()
                .await
                .unwrap();
            r.role().unwrap().arn().to_string()
        }
    };
    let lambda = aws_sdk_lambda::Client::new(sdk);
    let env = Environment::builder().variables("OWN_SETTING", "kept").build();
    let deadline = Instant::now() + Duration::from_secs(60);
    let created = loop {
        let attempt = lambda
            .create_function()
            .function_name(name)
            .runtime(runtime.clone())
            .handler(handler)
            .role(&arn)
            .memory_size(memory_mb)
            .timeout(7)
            .description("the owner's description")
            .environment(env.clone())
            .code(FunctionCode::builder().zip_file(Blob::new(zip.clone())).build())
            .send()
            .await;
        match attempt {
            Ok(c) => break c,
            // A new role is not assumable at once (strict mode, as on AWS).
            Err(e)
                if format!("{e:?}").contains("cannot be assumed") && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("CreateFunction {name}: {e:?}"),
        }
    };
    wait_ready(&lambda, name).await;
    created.function_arn().unwrap().to_string()
}

/// Everything about a function that tuning must leave exactly as it was.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub memory: Option<i32>,
    pub description: Option<String>,
    pub timeout: Option<i32>,
    pub env: Option<std::collections::HashMap<String, String>>,
    pub code_sha256: Option<String>,
    pub aliases: Vec<(String, String)>,
    pub versions: Vec<(String, Option<i32>)>,
}

/// `$LATEST`'s settings, the aliases (name, version) and the published versions (number, memory).
pub async fn snapshot(lambda: &aws_sdk_lambda::Client, name: &str) -> Snapshot {
    let c = function_config(lambda, name).await;
    let aliases = lambda.list_aliases().function_name(name).send().await.unwrap();
    let versions = lambda.list_versions_by_function().function_name(name).send().await.unwrap();
    let mut aliases: Vec<(String, String)> = aliases
        .aliases()
        .iter()
        .map(|a| {
            (
                a.name().unwrap().to_string(),
                a.function_version().unwrap().to_string(),
            )
        })
        .collect();
    aliases.sort();
    Snapshot {
        memory: c.memory_size(),
        description: c.description().map(str::to_string),
        timeout: c.timeout(),
        env: c.environment().and_then(|e| e.variables().cloned()),
        code_sha256: c.code_sha256().map(str::to_string),
        aliases,
        versions: versions
            .versions()
            .iter()
            .map(|v| (v.version().unwrap().to_string(), v.memory_size()))
            .collect(),
    }
}

/// Publishes `$LATEST` as the owner's own version and points an alias `prod` at it: tuning must
/// leave both alone.
pub async fn owners_alias(lambda: &aws_sdk_lambda::Client, name: &str) -> String {
    let v = lambda.publish_version().function_name(name).send().await.unwrap();
    let version = v.version().unwrap().to_string();
    lambda
        .create_alias()
        .function_name(name)
        .name("prod")
        .function_version(&version)
        .send()
        .await
        .unwrap();
    version
}
