//! Independent reads and set-up through the SDK, as any client of the local stack would make them.

use std::time::{Duration, Instant};

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::{LastUpdateStatus, State};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Asserts that a read failed with the service's own answer `code` (its not-found, say): any
/// other failure, a refused connection included, does not show that the thing is gone.
pub fn assert_error_code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, E>,
    code: &str,
    what: &str,
) {
    match result {
        Ok(found) => panic!("{what}: expected {code}, found {found:?}"),
        Err(e) => assert_eq!(e.code(), Some(code), "{what}: {e:?}"),
    }
}

/// `$LATEST`'s configuration.
pub async fn function_config(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> GetFunctionConfigurationOutput {
    lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetFunctionConfiguration {name}: {e:?}"))
}

/// Polls until the function is Active and its last update Successful (strict mode keeps a new
/// function Pending and an update InProgress a moment, and serves the previous configuration).
pub async fn wait_ready(lambda: &aws_sdk_lambda::Client, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = function_config(lambda, name).await;
        let active = matches!(c.state(), None | Some(State::Active));
        let updated = matches!(
            c.last_update_status(),
            None | Some(LastUpdateStatus::Successful)
        );
        if active && updated {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never became ready: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates a table shaped as the tutorial's (partition key `id`, on demand), tagged
/// `lab:stack=STACK` when a stack is given (untagged: someone else's).
pub async fn create_table(ddb: &aws_sdk_dynamodb::Client, name: &str, stack: Option<&str>) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, Tag,
    };
    let id = AttributeDefinition::builder()
        .attribute_name("id")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap();
    let key = KeySchemaElement::builder()
        .attribute_name("id")
        .key_type(KeyType::Hash)
        .build()
        .unwrap();
    let tags = stack.map(|s| vec![Tag::builder().key("lab:stack").value(s).build().unwrap()]);
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(id)
        .key_schema(key)
        .billing_mode(BillingMode::PayPerRequest)
        .set_tags(tags)
        .send()
        .await
        .unwrap();
}
