//! The native DynamoDB item store through the SDK, as any client sees it: Query on a table with a sort
//! key (ranges, both directions, pagination, Select COUNT), BatchWriteItem and BatchGetItem, DescribeTable's
//! ItemCount, a DeleteTable that drops the items, a call the store refuses in one line, and
//! `--dynamodb moto` handing items back to moto.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ScalarAttributeType, Select, WriteRequest,
};
use aws_sdk_dynamodb::Client;

use crate::common::LocalStack;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A table keyed by `pk` (S) and `sk` (N).
async fn composite_table(ddb: &Client, name: &str) {
    let attr = |name: &str, t| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(t)
            .build()
            .unwrap()
    };
    let key = |name: &str, t| {
        KeySchemaElement::builder().attribute_name(name).key_type(t).build().unwrap()
    };
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(attr("pk", ScalarAttributeType::S))
        .attribute_definitions(attr("sk", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

async fn sks(ddb: &Client, forward: bool, limit: i32) -> (Vec<String>, u32) {
    let mut seen = Vec::new();
    let mut start = None;
    let mut pages = 0;
    loop {
        let page = ddb
            .query()
            .table_name("events")
            .key_condition_expression("pk = :p AND sk BETWEEN :lo AND :hi")
            .filter_expression("attribute_exists(#v)")
            .expression_attribute_names("#v", "v")
            .expression_attribute_values(":p", s("a"))
            .expression_attribute_values(":lo", n(2))
            .expression_attribute_values(":hi", n(20))
            .scan_index_forward(forward)
            .limit(limit)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        pages += 1;
        for item in page.items() {
            let AttributeValue::N(sk) = &item["sk"] else {
                panic!("{item:?}")
            };
            seen.push(sk.clone());
        }
        match page.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => return (seen, pages),
        }
        assert!(pages < 20, "paging does not end");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_native_store_serves_queries_batches_and_forgets_deleted_tables() {
    let local = LocalStack::start_with(&[]);
    let ddb = Client::new(&local.sdk().await);
    composite_table(&ddb, "events").await;
    let writes: Vec<WriteRequest> = [1, 3, 5, 9, 12, 20, 30]
        .iter()
        .map(|sk| {
            let put = PutRequest::builder()
                .item("pk", s("a"))
                .item("sk", n(*sk))
                .item("v", n(sk * 10))
                .build()
                .unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .chain(std::iter::once(
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder().item("pk", s("b")).item("sk", n(5)).build().unwrap(),
                )
                .build(),
        ))
        .collect();
    let written = ddb.batch_write_item().request_items("events", writes).send().await.unwrap();
    assert!(written.unprocessed_items().is_none_or(|u| u.is_empty()));

    // Sort-key order, numbers by value, both ways, two items a page.
    let (up, pages) = sks(&ddb, true, 2).await;
    assert_eq!(up, ["3", "5", "9", "12", "20"]);
    assert_eq!(pages, 3);
    // A page that ends at its Limit carries a LastEvaluatedKey even when nothing follows, as
    // DynamoDB's does: five matches a page of five take two pages, the second empty.
    let (all, pages) = sks(&ddb, true, 5).await;
    assert_eq!((all.len(), pages), (5, 2));
    let (down, _) = sks(&ddb, false, 10).await;
    assert_eq!(down, ["20", "12", "9", "5", "3"]);

    let count = ddb
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p AND begins_with(#s, :x)")
        .expression_attribute_names("#s", "sk")
        .expression_attribute_values(":p", s("a"))
        .expression_attribute_values(":x", n(1))
        .select(Select::Count)
        .send()
        .await
        .unwrap_err();
    // begins_with on a number sort key: DynamoDB refuses the type.
    assert_eq!(count.code(), Some("ValidationException"), "{count:?}");
    let count = ddb
        .query()
        .table_name("events")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("a"))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    assert_eq!((count.count(), count.items().len()), (7, 0));

    let keys = [1, 30, 99].map(|sk| [("pk".to_string(), s("a")), ("sk".to_string(), n(sk))].into());
    let got = ddb
        .batch_get_item()
        .request_items(
            "events",
            aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(keys.to_vec()))
                .projection_expression("sk")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut found: Vec<_> =
        got.responses().unwrap()["events"].iter().map(|i| i["sk"].clone()).collect();
    found.sort_by_key(|v| v.as_n().unwrap().parse::<i64>().unwrap());
    assert_eq!(found, [n(1), n(30)]);

    let described = ddb.describe_table().table_name("events").send().await.unwrap();
    assert_eq!(described.table().unwrap().item_count(), Some(8));
    let status = local.status();
    assert_eq!(status["dynamodb"]["data_plane"], "native", "{status}");
    assert_eq!(status["dynamodb"]["items"], 8, "{status}");

    // A call the store does not serve says what to use instead.
    let legacy = ddb
        .get_item()
        .table_name("events")
        .key("pk", s("a"))
        .key("sk", n(1))
        .attributes_to_get("v")
        .send()
        .await
        .unwrap_err();
    assert!(
        legacy.message().unwrap().contains("use ProjectionExpression"),
        "{legacy:?}"
    );

    // DeleteTable drops the items: the table made again under that name starts empty.
    ddb.delete_table().table_name("events").send().await.unwrap();
    let gone = ddb.scan().table_name("events").send().await.unwrap_err();
    assert_eq!(gone.code(), Some("ResourceNotFoundException"));
    composite_table(&ddb, "events").await;
    let scan = ddb.scan().table_name("events").send().await.unwrap();
    assert_eq!(scan.count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_moto_hands_items_back_to_moto() {
    let local = LocalStack::start_with(&["--dynamodb", "moto"]);
    let ddb = Client::new(&local.sdk().await);
    composite_table(&ddb, "kept").await;
    ddb.put_item()
        .table_name("kept")
        .item("pk", s("a"))
        .item("sk", n(1))
        .send()
        .await
        .unwrap();
    let got = ddb
        .get_item()
        .table_name("kept")
        .key("pk", s("a"))
        .key("sk", n(1))
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["sk"], n(1));
    let status = local.status();
    assert_eq!(
        status["dynamodb"],
        serde_json::json!({"data_plane": "moto"}),
        "{status}"
    );
    let text = local.lab_ok(&["local", "status"]);
    assert!(text.contains("DynamoDB items: served by moto"), "{text}");
}
