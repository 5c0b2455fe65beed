//! AWS error responses in each service's own wire protocol, so the SDK parses them exactly as it
//! parses AWS's: the code reaches `ProvideErrorMetadata::code`, the status drives its retry rules.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

/// A response from moto (or one the rules wrote), with its body in hand so rules can read and
/// rewrite it before the client sees it.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// The headers (hop-by-hop ones left out).
    pub(crate) headers: HeaderMap,
    /// The whole body.
    pub(crate) body: Bytes,
}

impl Upstream {
    /// A response with a content type.
    pub(crate) fn new(
        status: StatusCode,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static(content_type));
        Self {
            status,
            headers,
            body: body.into(),
        }
    }

    /// True for a 2xx.
    pub(crate) fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The body as JSON (an empty object when it is not JSON).
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// Replaces the body with a JSON document.
    pub(crate) fn set_json(&mut self, doc: &serde_json::Value) {
        self.body = Bytes::from(doc.to_string());
        self.headers.remove("content-length");
        self.headers.remove("x-amz-crc32");
    }

    /// The response the gateway sends.
    pub(crate) fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        response
    }

    /// Adds a header (ignored when the value is not a valid header value).
    pub(crate) fn with_header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }
}

/// DynamoDB (awsJson1_0): `__type` carries the code, always HTTP 400 for client errors.
pub(crate) fn dynamodb(code: &str, message: &str) -> Upstream {
    Upstream::new(
        StatusCode::BAD_REQUEST,
        "application/x-amz-json-1.0",
        serde_json::json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
            "message": message,
        })
        .to_string(),
    )
}

/// Lambda and API Gateway (restJson1): `x-amzn-errortype` carries the code.
pub(crate) fn rest_json(status: StatusCode, code: &str, message: &str) -> Upstream {
    Upstream::new(
        status,
        "application/json",
        serde_json::json!({"Type": "User", "message": message, "__type": code}).to_string(),
    )
    .with_header("x-amzn-errortype", code)
}

/// IAM (awsQuery): an XML `ErrorResponse`.
pub(crate) fn iam(status: StatusCode, code: &str, message: &str) -> Upstream {
    let body = format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        xml_escape(message),
        uuid::Uuid::new_v4()
    );
    Upstream::new(status, "text/xml", body)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
