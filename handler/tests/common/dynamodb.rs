//! DynamoDB clients with dummy credentials and the tutorial's table shape. Shared by the tests and
//! the benchmark example (`examples/runtime_bench.rs` includes this file by path).

use aws_sdk_dynamodb::config::{BehaviorVersion, Builder, Credentials, Region};
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;

/// A client configuration for `endpoint` with these static credentials, as the SDK would be set up
/// in Lambda (region `us-east-1`, the handler's HTTPS client).
pub fn config_for(endpoint: &str, key_id: &str, secret: &str) -> Builder {
    aws_sdk_dynamodb::Config::builder()
        .http_client(handler::https_client())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key_id, secret, None, None, "lab-tests"))
        .endpoint_url(endpoint)
}

/// A DynamoDB client for `endpoint` with dummy credentials.
pub fn client_for(endpoint: &str) -> Client {
    Client::from_conf(config_for(endpoint, "test", "test").build())
}

/// CreateTable for the tutorial's table shape (partition key `id`, type S, on demand), not sent.
pub fn tutorial_table(client: &Client, name: &str) -> CreateTableFluentBuilder {
    let id = AttributeDefinition::builder()
        .attribute_name("id")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute definition");
    let key = KeySchemaElement::builder()
        .attribute_name("id")
        .key_type(KeyType::Hash)
        .build()
        .expect("key schema");
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(id)
        .key_schema(key)
        .billing_mode(BillingMode::PayPerRequest)
}
