//! IAM's evaluation of identity policies, as the IAM User Guide's "Policy evaluation logic" gives
//! it for one account: an explicit Deny wins, then an Allow, and without either the request is
//! implicitly denied. Statements match on Action/NotAction and Resource/NotResource (wildcards
//! `*` and `?`; actions case-insensitive, resources not) and on the condition operators lab's and
//! the tutorial's policies use (String*, Arn*, Bool, their `IfExists` forms).

use std::collections::BTreeMap;

use serde_json::Value;

/// One request as IAM evaluates it.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    /// `service:Operation`.
    pub(crate) action: &'a str,
    /// The resource's ARN, or `*`.
    pub(crate) resource: &'a str,
    /// Condition keys (lower-cased) and their values, e.g. `iam:passedtoservice`.
    pub(crate) context: BTreeMap<String, Vec<String>>,
}

impl<'a> Request<'a> {
    /// A request without condition keys.
    pub(crate) fn new(action: &'a str, resource: &'a str) -> Self {
        Self {
            action,
            resource,
            context: BTreeMap::new(),
        }
    }

    /// The request with a condition key set.
    pub(crate) fn with(mut self, key: &str, value: &str) -> Self {
        self.context.insert(key.to_ascii_lowercase(), vec![value.to_string()]);
        self
    }
}

/// IAM's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// A statement allows it and none denies it.
    Allow,
    /// A Deny statement matches.
    ExplicitDeny,
    /// Nothing allows it.
    ImplicitDeny,
}

/// Evaluates `documents` (policy documents as JSON) for `request`.
pub(crate) fn evaluate(documents: &[Value], request: &Request) -> Decision {
    let mut allowed = false;
    for statement in documents.iter().flat_map(statements) {
        if !matches(statement, request) {
            continue;
        }
        match statement["Effect"].as_str() {
            Some("Deny") => return Decision::ExplicitDeny,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// A document's statements: `Statement` is an object or an array of them.
fn statements(document: &Value) -> Vec<&Value> {
    match &document["Statement"] {
        Value::Array(list) => list.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => vec![],
    }
}

/// A string or an array of strings, as IAM's elements take them.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn matches(statement: &Value, request: &Request) -> bool {
    let action = |p: &str| {
        wildcard(
            &p.to_ascii_lowercase(),
            &request.action.to_ascii_lowercase(),
        )
    };
    let resource = |p: &str| wildcard(p, request.resource);
    let action_ok = match (&statement["Action"], &statement["NotAction"]) {
        (a, _) if !a.is_null() => strings(a).into_iter().any(action),
        (_, n) if !n.is_null() => !strings(n).into_iter().any(action),
        _ => false,
    };
    let resource_ok = match (&statement["Resource"], &statement["NotResource"]) {
        (r, _) if !r.is_null() => strings(r).into_iter().any(resource),
        (_, n) if !n.is_null() => !strings(n).into_iter().any(resource),
        _ => false,
    };
    action_ok && resource_ok && conditions(&statement["Condition"], request)
}

/// `*` matches any run of characters, `?` any one (IAM's wildcards; ARNs are matched whole).
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Every operator block must hold (IAM ANDs operators and keys, ORs a key's values).
fn conditions(block: &Value, request: &Request) -> bool {
    let Some(block) = block.as_object() else {
        return true;
    };
    block.iter().all(|(operator, keys)| {
        keys.as_object().is_some_and(|keys| {
            keys.iter().all(|(key, wanted)| {
                let values = request.context.get(&key.to_ascii_lowercase());
                condition(operator, values.map(Vec::as_slice), &strings(wanted))
            })
        })
    })
}

/// One operator on one key. A missing key fails a positive operator and passes a negated one
/// (or anything with `IfExists`), as IAM's reference says.
fn condition(operator: &str, values: Option<&[String]>, wanted: &[&str]) -> bool {
    let (operator, if_exists) = match operator.strip_suffix("IfExists") {
        Some(op) => (op, true),
        None => (operator, false),
    };
    let (operator, all_values) = match operator.split_once(':') {
        Some(("ForAllValues", op)) => (op, true),
        Some((_, op)) => (op, false),
        None => (operator, false),
    };
    let negated = operator.contains("Not");
    let Some(values) = values.filter(|v| !v.is_empty()) else {
        return if_exists || negated || all_values;
    };
    let one = |value: &str| -> bool {
        let hit = |w: &&str| match operator {
            "StringEquals" | "StringNotEquals" | "ArnEquals" | "ArnNotEquals" => *w == value,
            "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => w.eq_ignore_ascii_case(value),
            "StringLike" | "StringNotLike" | "ArnLike" | "ArnNotLike" => wildcard(w, value),
            "Bool" => w.eq_ignore_ascii_case(value),
            // An operator this evaluator does not know never matches: the statement is skipped,
            // which for an Allow is the safe side.
            _ => false,
        };
        let any = wanted.iter().any(hit);
        if negated {
            !any
        } else {
            any
        }
    };
    if all_values {
        values.iter().all(|v| one(v))
    } else {
        values.iter().any(|v| one(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/lambda-apigateway";

    #[test]
    fn explicit_deny_beats_allow_which_beats_nothing() {
        let allow =
            json!({"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]});
        let deny = json!({"Statement": {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE}});
        let put = Request::new("dynamodb:PutItem", TABLE);
        let delete = Request::new("dynamodb:DeleteItem", TABLE);
        assert_eq!(
            evaluate(std::slice::from_ref(&allow), &put),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&[allow, deny.clone()], &delete),
            Decision::ExplicitDeny
        );
        assert_eq!(evaluate(&[deny], &put), Decision::ImplicitDeny);
        assert_eq!(evaluate(&[], &put), Decision::ImplicitDeny);
    }

    #[test]
    fn actions_ignore_case_and_resources_do_not() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": ["DynamoDB:put*"], "Resource": "arn:aws:dynamodb:*:*:table/lambda-?pigateway"}]});
        assert_eq!(
            evaluate(
                std::slice::from_ref(&doc),
                &Request::new("dynamodb:PutItem", TABLE)
            ),
            Decision::Allow
        );
        let upper = TABLE.replace("lambda", "LAMBDA");
        assert_eq!(
            evaluate(&[doc], &Request::new("dynamodb:PutItem", &upper)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_and_not_resource_invert_the_match() {
        let doc = json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:dynamodb:*:*:table/secret"}]});
        assert_eq!(
            evaluate(
                std::slice::from_ref(&doc),
                &Request::new("dynamodb:Scan", TABLE)
            ),
            Decision::Allow
        );
        assert_eq!(
            evaluate(
                std::slice::from_ref(&doc),
                &Request::new("iam:GetRole", "*")
            ),
            Decision::ImplicitDeny
        );
        let secret = "arn:aws:dynamodb:us-east-1:1:table/secret";
        assert_eq!(
            evaluate(&[doc], &Request::new("dynamodb:Scan", secret)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn conditions_as_lab_and_the_tutorial_write_them() {
        let pass = json!({"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}}]});
        let role = "arn:aws:iam::1:role/r";
        let to = |svc| Request::new("iam:PassRole", role).with("iam:PassedToService", svc);
        assert_eq!(
            evaluate(std::slice::from_ref(&pass), &to("lambda.amazonaws.com")),
            Decision::Allow
        );
        assert_eq!(
            evaluate(std::slice::from_ref(&pass), &to("ec2.amazonaws.com")),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate(&[pass], &Request::new("iam:PassRole", role)),
            Decision::ImplicitDeny
        );

        let source = json!({"Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*",
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:1:abc/*/POST/DynamoDBManager"}}}]});
        let from = |arn| Request::new("lambda:InvokeFunction", "f").with("aws:SourceArn", arn);
        assert_eq!(
            evaluate(
                std::slice::from_ref(&source),
                &from("arn:aws:execute-api:us-east-1:1:abc/prod/POST/DynamoDBManager")
            ),
            Decision::Allow
        );
        assert_eq!(
            evaluate(
                &[source],
                &from("arn:aws:execute-api:us-east-1:1:xyz/prod/POST/DynamoDBManager")
            ),
            Decision::ImplicitDeny
        );

        let not = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringNotLikeIfExists": {"aws:RequestedRegion": "eu-*"}}}]});
        let region = |r| Request::new("dynamodb:Scan", TABLE).with("aws:RequestedRegion", r);
        assert_eq!(
            evaluate(std::slice::from_ref(&not), &region("us-east-1")),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate(&[not], &region("eu-west-1")),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*", ""));
        assert!(wildcard("a*c", "abbbc"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "ac"));
        assert!(wildcard(
            "arn:aws:logs:*:*:log-group:/aws/lambda/f:*",
            "arn:aws:logs:r:1:log-group:/aws/lambda/f:*"
        ));
        assert!(!wildcard("table/a", "table/ab"));
    }
}
