//! The handler's one error type.
//!
//! Every failure is classified into an [`ErrorKind`] because API Gateway (non-proxy integration) can only
//! tell errors apart by matching a regex against the Lambda `errorMessage`: the message therefore always
//! starts with `"<Kind>: "` and stays on one line (selection patterns do not match across newlines).

use std::fmt;

/// What went wrong, coarse enough to map onto one HTTP status each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The event is malformed or DynamoDB rejected it as invalid (HTTP 400).
    BadRequest,
    /// The event names a table this function is not allowed to touch (HTTP 403).
    Forbidden,
    /// The table does not exist (HTTP 404).
    NotFound,
    /// A `ConditionExpression` did not hold (HTTP 409).
    Conflict,
    /// Anything else: DynamoDB failed, the network failed, or a bug (HTTP 500).
    Internal,
}

impl ErrorKind {
    /// The name used as the Lambda `errorType` and as the message prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "BadRequest",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::Internal => "Internal",
        }
    }

    /// The HTTP status an API in front of the function should answer with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Internal => 500,
        }
    }

    /// Every kind, in a fixed order (for building one integration response per kind).
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::BadRequest,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Internal,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified failure with a human-readable, single-line message that names the field or the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    /// The classification, reported as the Lambda `errorType`.
    pub kind: ErrorKind,
    /// The cause, without the kind prefix (Display adds it).
    pub message: String,
}

impl HandlerError {
    /// Builds an error, flattening control characters so the message stays on one line.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = if message.chars().any(char::is_control) {
            message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
        } else {
            message
        };
        HandlerError { kind, message }
    }

    /// Shorthand for [`ErrorKind::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// Shorthand for [`ErrorKind::Forbidden`].
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// Shorthand for [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `message` is a pub field, so it may have been set without `new`: flatten again here rather than
        // trust it, because a newline would break API Gateway's selection patterns.
        write!(f, "{}: ", self.kind)?;
        for c in self.message.chars() {
            if c.is_control() {
                f.write_str(" ")?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for HandlerError {}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(err: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: err.kind.as_str().to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Quotes user-supplied text for an error message: escaped (so it cannot break the line) and cut short
/// (so a huge field name cannot blow up the error payload).
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &text[..cut]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_kind_prefix() {
        let err = HandlerError::bad_request("payload.Key is missing the partition key \"id\"");
        assert_eq!(
            err.to_string(),
            "BadRequest: payload.Key is missing the partition key \"id\""
        );
    }

    #[test]
    fn messages_stay_on_one_line() {
        let err = HandlerError::internal("line one\nline two\r\tend");
        assert_eq!(err.message, "line one line two  end");
        let raw = HandlerError {
            kind: ErrorKind::Conflict,
            message: "a\nb".into(),
        };
        assert_eq!(raw.to_string(), "Conflict: a b");
    }

    #[test]
    fn diagnostic_uses_kind_as_type() {
        let diag: lambda_runtime::Diagnostic =
            HandlerError::not_found("table \"t\" does not exist").into();
        assert_eq!(diag.error_type, "NotFound");
        assert_eq!(diag.error_message, "NotFound: table \"t\" does not exist");
    }

    #[test]
    fn quote_escapes_and_truncates() {
        assert_eq!(quote("a\"b\n"), "\"a\\\"b\\n\"");
        let long = "x".repeat(100);
        let q = quote(&long);
        assert!(q.ends_with("..."));
        assert_eq!(q.len(), 64 + 2 + 3);
        // Multi-byte characters must not be cut mid-way.
        let wide = "é".repeat(100);
        assert!(quote(&wide).ends_with("\"..."));
    }

    #[test]
    fn kinds_and_statuses() {
        let names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "BadRequest",
                "Forbidden",
                "NotFound",
                "Conflict",
                "Internal"
            ]
        );
        assert_eq!(ErrorKind::Conflict.http_status(), 409);
    }
}
