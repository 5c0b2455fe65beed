//! Resource names of one stack (ARCHITECTURE.md §4, "A resource"): the tutorial's names by default, `NAME-*` for other stacks.

use serde::Serialize;

/// The stack name used when `--stack` is not given; it keeps the tutorial's resource names.
pub(crate) const DEFAULT_STACK: &str = "lab";
/// The tag every resource carries; its value is the stack name.
pub(crate) const STACK_TAG: &str = "lab:stack";
/// The API resource path part, as in the tutorial.
pub(crate) const RESOURCE_PATH: &str = "DynamoDBManager";
/// The HTTP method of the tutorial's API.
pub(crate) const HTTP_METHOD: &str = "POST";
/// The stage the tutorial deploys to.
pub(crate) const STAGE: &str = "prod";

/// Every name `lab` derives from a stack name.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Names {
    /// The stack name (`--stack`), the tag every resource carries.
    pub(crate) stack: String,
    /// The IAM policy (`lambda-custom-policy` for the tutorial's stack, `<stack>-policy` otherwise).
    pub(crate) policy: String,
    /// The execution role (`lambda-apigateway-role`, or `<stack>-role`).
    pub(crate) role: String,
    /// The function (`LambdaFunctionOverHttps`, or `<stack>-fn`).
    pub(crate) function: String,
    /// The table (`lambda-apigateway`, or `<stack>-table`).
    pub(crate) table: String,
    /// The REST API (`DynamoDBOperations`, or `<stack>-api`).
    pub(crate) api: String,
    /// The function's log group (`/aws/lambda/<function>`).
    pub(crate) log_group: String,
}

impl Names {
    /// Derives the names for `stack`, rejecting names AWS would refuse later, half-way through `up`.
    pub(crate) fn new(stack: &str) -> anyhow::Result<Self> {
        let valid = !stack.is_empty()
            && stack.len() <= 40
            && stack.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && stack.starts_with(|c: char| c.is_ascii_alphabetic());
        if !valid {
            anyhow::bail!(
                "invalid --stack {stack:?}: use 1-40 letters, digits or '-', starting with a letter"
            );
        }
        let names = if stack == DEFAULT_STACK {
            Self {
                stack: stack.into(),
                policy: "lambda-custom-policy".into(),
                role: "lambda-apigateway-role".into(),
                function: "LambdaFunctionOverHttps".into(),
                table: "lambda-apigateway".into(),
                api: "DynamoDBOperations".into(),
                log_group: String::new(),
            }
        } else {
            Self {
                stack: stack.into(),
                policy: format!("{stack}-policy"),
                role: format!("{stack}-role"),
                function: format!("{stack}-fn"),
                table: format!("{stack}-table"),
                api: format!("{stack}-api"),
                log_group: String::new(),
            }
        };
        Ok(Self {
            log_group: format!("/aws/lambda/{}", names.function),
            ..names
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_stack_keeps_the_tutorial_names() {
        let n = Names::new(DEFAULT_STACK).unwrap();
        assert_eq!(n.function, "LambdaFunctionOverHttps");
        assert_eq!(n.table, "lambda-apigateway");
        assert_eq!(n.log_group, "/aws/lambda/LambdaFunctionOverHttps");
    }

    #[test]
    fn other_stacks_are_prefixed() {
        let n = Names::new("demo").unwrap();
        assert_eq!(n.role, "demo-role");
        assert_eq!(n.log_group, "/aws/lambda/demo-fn");
    }

    #[test]
    fn bad_stack_names_are_refused() {
        for bad in ["", "1abc", "a b", "x/y", &"a".repeat(41)] {
            assert!(Names::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
