use super::*;

async fn change_of(method: Method, uri: &str, body: &'static [u8]) -> Change {
    let uri: Uri = uri.parse().unwrap();
    let headers = HeaderMap::new();
    let body = Bytes::from_static(body);
    let call = Call::new("us-east-1", &method, uri.path(), &headers, &body);
    read_change(&call, uri.query()).await
}

#[tokio::test]
async fn lambda_calls_say_what_the_runtime_must_keep() {
    let name = || "f".to_string();
    assert_eq!(
        change_of(
            Method::POST,
            "/2015-03-31/functions",
            br#"{"FunctionName":"f","Code":{"ZipFile":"UEs="}}"#
        )
        .await,
        Change::Code {
            name: name(),
            pointer: "/Code/ZipFile",
            update: false
        }
    );
    assert_eq!(
        change_of(
            Method::PUT,
            "/2015-03-31/functions/f/code",
            br#"{"ZipFile":"UEs="}"#
        )
        .await
        .updated(),
        Some("f")
    );
    assert_eq!(
        change_of(
            Method::PUT,
            "/2015-03-31/functions/f/code",
            br#"{"S3Bucket":"b"}"#
        )
        .await,
        Change::Update { name: name() }
    );
    assert_eq!(
        change_of(Method::DELETE, "/2015-03-31/functions/f?Qualifier=3", b"").await,
        Change::DeleteVersion {
            name: name(),
            version: "3".into()
        }
    );
    assert_eq!(
        change_of(Method::DELETE, "/2015-03-31/functions/f", b"").await,
        Change::DeleteFunction { name: name() }
    );
    assert_eq!(
        change_of(Method::POST, "/2015-03-31/functions/f/versions", b"{}").await,
        Change::Publish { name: name() }
    );
    assert_eq!(
        change_of(Method::GET, "/2015-03-31/functions/f", b"").await,
        Change::None
    );
}
