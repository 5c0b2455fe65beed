//! DynamoDB's errors as the store raises them: the code that goes into `__type` and the message as
//! DynamoDB words it.

use crate::strict::reply::{self, Upstream};

/// A refusal in DynamoDB's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DdbError {
    /// The error code (`ValidationException`, `ConditionalCheckFailedException`...).
    pub(crate) code: &'static str,
    /// DynamoDB's message.
    pub(crate) message: String,
}

impl DdbError {
    /// A `ValidationException`.
    pub(crate) fn validation(message: &str) -> Self {
        Self {
            code: "ValidationException",
            message: message.to_string(),
        }
    }

    /// The failed condition of a conditional write.
    pub(crate) fn condition_failed() -> Self {
        Self {
            code: "ConditionalCheckFailedException",
            message: "The conditional request failed".to_string(),
        }
    }

    /// The table does not exist.
    pub(crate) fn no_table() -> Self {
        Self {
            code: "ResourceNotFoundException",
            message: "Requested resource not found".to_string(),
        }
    }

    /// The answer the client gets.
    pub(crate) fn reply(&self) -> Upstream {
        reply::dynamodb(self.code, &self.message)
    }
}

impl std::fmt::Display for DdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
