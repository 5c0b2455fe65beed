//! The tutorial's resources, each behind the same verbs: `ensure` (create or repair), `describe`
//! (existence, id, configuration, drift) and `destroy` (delete only what carries this stack's tag).
//!
//! The cloud is the source of truth: resources are found by name and the `lab:stack` tag, so no state
//! file has to survive between runs.

use std::ops::ControlFlow;

pub(crate) mod api;
pub(crate) mod function;
pub(crate) mod log_group;
pub(crate) mod names;
pub(crate) mod outcome;
pub(crate) mod permission;
pub(crate) mod policy;
pub(crate) mod role;
pub(crate) mod table;

use anyhow::Context as _;
use serde::Serialize;

use crate::arch::Arch;
use crate::aws::Clients;
pub(crate) use names::{Names, STACK_TAG};
pub(crate) use outcome::{Action, Change, ResourceStatus, Step};

/// The function settings `up` converges to.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FunctionSettings {
    /// Memory in MB (the tutorial keeps the console default, 128).
    pub(crate) memory: i32,
    /// Timeout in seconds (console default, 3).
    pub(crate) timeout: i32,
    /// The instruction set.
    pub(crate) arch: Arch,
    /// Which handler runs: lab's Rust one or the tutorial's Python one.
    pub(crate) language: function::Language,
}

impl Default for FunctionSettings {
    fn default() -> Self {
        Self {
            memory: 128,
            timeout: 3,
            arch: Arch::X86_64,
            language: function::Language::Rust,
        }
    }
}

/// Everything a resource module needs: clients, names, account and the desired settings.
#[derive(Debug, Clone)]
pub(crate) struct Stack {
    /// SDK clients, one per service.
    pub(crate) clients: Clients,
    /// Every resource's name, derived from `--stack`.
    pub(crate) names: Names,
    /// The account id, for ARNs.
    pub(crate) account: String,
    /// The partition (`aws`, `aws-cn`, `aws-us-gov`), for ARNs and URLs.
    pub(crate) partition: String,
    /// The function's desired configuration.
    pub(crate) settings: FunctionSettings,
    /// Allows `down` to delete resources that do not carry this stack's tag.
    pub(crate) force: bool,
    /// Where this machine keeps what `up` records of the stack (`api/record`); `None`: nowhere.
    pub(crate) records: Option<std::path::PathBuf>,
}

impl Stack {
    /// Resolves the account (STS) once; every ARN is derived from it.
    pub(crate) async fn open(
        clients: Clients,
        names: Names,
        settings: FunctionSettings,
    ) -> anyhow::Result<Self> {
        let identity = clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(crate::aws::ctx("sts:GetCallerIdentity"))?;
        let account = identity.account().context("STS returned no account id")?.to_string();
        let partition =
            identity.arn().and_then(|a| a.split(':').nth(1)).unwrap_or("aws").to_string();
        Ok(Self {
            clients,
            names,
            account,
            partition,
            settings,
            force: false,
            records: None,
        })
    }

    /// The region all resources live in.
    pub(crate) fn region(&self) -> &str {
        &self.clients.region
    }

    /// `arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE`.
    pub(crate) fn table_arn(&self) -> String {
        format!(
            "arn:{}:dynamodb:{}:{}:table/{}",
            self.partition,
            self.region(),
            self.account,
            self.names.table
        )
    }

    /// The managed policy's ARN (IAM is global: no region).
    pub(crate) fn policy_arn(&self) -> String {
        format!(
            "arn:{}:iam::{}:policy/{}",
            self.partition, self.account, self.names.policy
        )
    }

    /// The function's unqualified ARN.
    pub(crate) fn function_arn(&self) -> String {
        format!(
            "arn:{}:lambda:{}:{}:function:{}",
            self.partition,
            self.region(),
            self.account,
            self.names.function
        )
    }

    /// The `SourceArn` API Gateway presents when it invokes the function for `POST /DynamoDBManager`.
    pub(crate) fn api_source_arn(&self, api_id: &str) -> String {
        format!(
            "arn:{}:execute-api:{}:{}:{}/*/{}/{}",
            self.partition,
            self.region(),
            self.account,
            api_id,
            names::HTTP_METHOD,
            names::RESOURCE_PATH
        )
    }

    /// The stage URL: API Gateway's host form on AWS, LocalStack's path form behind a custom endpoint.
    pub(crate) fn invoke_url(&self, api_id: &str) -> String {
        match &self.clients.endpoint_url {
            Some(endpoint) => format!(
                "{}/restapis/{api_id}/{}/_user_request_/{}",
                endpoint.trim_end_matches('/'),
                names::STAGE,
                names::RESOURCE_PATH
            ),
            None => format!(
                "https://{api_id}.execute-api.{}.{}/{}/{}",
                self.region(),
                dns_suffix(&self.partition),
                names::STAGE,
                names::RESOURCE_PATH
            ),
        }
    }

    /// The tags every resource gets.
    pub(crate) fn tags(&self) -> std::collections::HashMap<String, String> {
        [(STACK_TAG.to_string(), self.names.stack.clone())].into()
    }

    /// [`tags`](Self::tags) as one service's tag type (IAM, DynamoDB and the worker's services each
    /// have their own), built by `build`.
    pub(crate) fn tag_list<T, E>(
        &self,
        build: impl Fn(String, String) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        self.tags().into_iter().map(|(k, v)| build(k, v)).collect()
    }

    /// True when a resource's tags say it belongs to this stack.
    pub(crate) fn owns<'a>(&self, mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        tags.any(|(k, v)| k == STACK_TAG && v == self.names.stack)
    }

    /// The start of every resource's `destroy`: one that is not there ends as `Absent`; one of
    /// someone else's (same name, no tag), or one whose tags could not be read (`owned` gives
    /// `None`), is left in place unless `--force` and ends as `Kept`, saying why. Otherwise the
    /// observation comes back, to delete.
    pub(crate) fn deletable<O>(
        &self,
        step: &Step,
        observed: Option<O>,
        owned: impl FnOnce(&O) -> Option<bool>,
    ) -> ControlFlow<Change, O> {
        let Some(found) = observed else {
            return ControlFlow::Break(step.done(Action::Absent, None));
        };
        let owned = owned(&found);
        if owned == Some(true) || self.force {
            return ControlFlow::Continue(found);
        }
        let why = match owned {
            Some(_) => format!("not tagged {STACK_TAG}={}", self.names.stack),
            None => "its tags could not be read, so it may not be this stack's".to_string(),
        };
        let details = vec![format!("{why}: left in place (pass --force to delete it)")];
        ControlFlow::Break(step.done(Action::Kept, None).with_details(details))
    }

    /// Refuses to touch a resource of someone else's unless `--force`.
    pub(crate) fn check_owned(
        &self,
        resource: &str,
        name: &str,
        owned: bool,
    ) -> anyhow::Result<()> {
        if owned || self.force {
            return Ok(());
        }
        anyhow::bail!(
            "{resource} {name} exists but is not tagged {STACK_TAG}={}; it was not made by this stack. Delete it yourself, or pass --force",
            self.names.stack
        )
    }
}

/// The DNS suffix of a partition's endpoints (aws-cn's are in `amazonaws.com.cn`).
pub(crate) fn dns_suffix(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "amazonaws.com.cn",
        "aws-iso" => "c2s.ic.gov",
        "aws-iso-b" => "sc2s.sgov.gov",
        _ => "amazonaws.com",
    }
}

/// Compares two JSON policy documents by meaning: key order, whitespace and a single string versus a
/// one-element list do not count as differences.
pub(crate) fn same_policy(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    normalize_policy(a) == normalize_policy(b)
}

fn normalize_policy(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !(k.as_str() == "Sid" && v.as_str() == Some("")))
                .map(|(k, v)| (k.clone(), normalize_policy(v)))
                .collect(),
        ),
        Value::Array(items) if items.len() == 1 => normalize_policy(&items[0]),
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize_policy).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// Decodes a policy document as IAM returns it (URL-encoded JSON).
pub(crate) fn decode_policy(document: &str) -> anyhow::Result<serde_json::Value> {
    let decoded =
        urlencoding::decode(document).context("policy document is not URL-encoded text")?;
    serde_json::from_str(&decoded).context("policy document is not JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policies_compare_by_meaning() {
        let a = json!({"Statement": [{"Action": ["b", "a"], "Resource": "x"}], "Version": "2012-10-17"});
        let b = json!({"Version": "2012-10-17", "Statement": {"Resource": ["x"], "Action": ["a", "b"]}});
        assert!(same_policy(&a, &b));
        let c =
            json!({"Version": "2012-10-17", "Statement": {"Resource": "*", "Action": ["a", "b"]}});
        assert!(!same_policy(&a, &c));
    }

    #[test]
    fn invoke_urls_follow_the_partition() {
        assert_eq!(dns_suffix("aws"), "amazonaws.com");
        assert_eq!(dns_suffix("aws-cn"), "amazonaws.com.cn");
        assert_eq!(dns_suffix("aws-us-gov"), "amazonaws.com");
    }

    #[test]
    fn url_encoded_documents_decode() {
        let v = decode_policy("%7B%22Version%22%3A%222012-10-17%22%7D").unwrap();
        assert_eq!(v["Version"], "2012-10-17");
    }
}
