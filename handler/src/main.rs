//! The Lambda `bootstrap`: one DynamoDB client built at init, then [`handler::handle`] per invocation.

use std::sync::Arc;

use aws_config::BehaviorVersion;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

// A current-thread runtime: the handler awaits one invocation at a time, and at small memory sizes Lambda
// gives a fraction of a vCPU, so worker threads would only add start-up time and memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Built once at init and reused: credentials, endpoint resolution and the connection pool are the
    // expensive part of a DynamoDB call, and warm invocations should not pay for them again.
    let config = handler::with_https(aws_config::defaults(BehaviorVersion::latest()))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let allowed: Arc<Option<String>> = Arc::new(handler::allowed_table_from_env());

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let client = client.clone();
        let allowed = Arc::clone(&allowed);
        async move { handler::handle(&client, allowed.as_deref(), event.payload).await }
    }))
    .await
}
