//! A role's identity policies as IAM evaluates them for the function that assumed it: the attached
//! managed policies' default versions and the inline policies, read from moto and cached. An IAM
//! write through the gateway does not change what is enforced at once: the cached documents keep
//! applying for IAM's propagation delay, then are read again (IAM User Guide, "Changes that I make
//! are not always immediately visible").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::moto::Moto;

/// What a role's cache entry holds, and until when it stands for the role.
struct Entry {
    documents: Arc<Vec<Value>>,
    stale_at: Option<Instant>,
}

/// The most roles kept (keyed by what functions name, so bounded).
const MAX_ROLES: usize = 1_024;

/// Roles' policies, cached until an IAM write and its propagation delay.
#[derive(Default)]
pub(crate) struct RolePolicies {
    cache: Mutex<HashMap<String, Entry>>,
}

impl RolePolicies {
    /// `role`'s policy documents (moto's state, or the cached one while a change propagates).
    pub(crate) async fn get(
        &self,
        moto: &Moto,
        region: &str,
        role: &str,
    ) -> anyhow::Result<Arc<Vec<Value>>> {
        let now = Instant::now();
        if let Some(entry) = self.cache.lock().expect("roles lock").get(role) {
            if entry.stale_at.is_none_or(|at| now < at) {
                return Ok(entry.documents.clone());
            }
        }
        let documents = Arc::new(read(moto, region, role).await?);
        let mut cache = self.cache.lock().expect("roles lock");
        if cache.len() >= MAX_ROLES {
            cache.clear();
        }
        cache.insert(
            role.to_string(),
            Entry {
                documents: documents.clone(),
                stale_at: None,
            },
        );
        Ok(documents)
    }

    /// An IAM write went through: every cached role is read again once `delay` has passed (the
    /// earliest pending change keeps its own deadline).
    pub(crate) fn changed(&self, delay: Duration) {
        let at = Instant::now() + delay;
        for entry in self.cache.lock().expect("roles lock").values_mut() {
            entry.stale_at.get_or_insert(at);
        }
    }
}

/// Reads the role's attached (default version) and inline policies from moto.
async fn read(moto: &Moto, region: &str, role: &str) -> anyhow::Result<Vec<Value>> {
    let role_q = urlencoding::encode(role);
    let call = |form: String| async move {
        let (status, body) =
            moto.query_call("iam", region, &format!("{form}&Version=2010-05-08")).await?;
        anyhow::ensure!(status == 200, "moto IAM {form}: HTTP {status}");
        Ok::<String, anyhow::Error>(String::from_utf8_lossy(&body).into_owned())
    };
    let mut documents = Vec::new();
    let attached = call(format!("Action=ListAttachedRolePolicies&RoleName={role_q}")).await?;
    for arn in elements(&attached, "PolicyArn") {
        let arn_q = urlencoding::encode(&arn).into_owned();
        let policy = call(format!("Action=GetPolicy&PolicyArn={arn_q}")).await?;
        let Some(version) = elements(&policy, "DefaultVersionId").into_iter().next() else {
            continue;
        };
        let doc = call(format!(
            "Action=GetPolicyVersion&PolicyArn={arn_q}&VersionId={version}"
        ))
        .await?;
        documents.extend(elements(&doc, "Document").iter().filter_map(|d| document(d)));
    }
    let inline = call(format!("Action=ListRolePolicies&RoleName={role_q}")).await?;
    for name in elements(&inline, "member") {
        let name_q = urlencoding::encode(&name).into_owned();
        let doc = call(format!(
            "Action=GetRolePolicy&RoleName={role_q}&PolicyName={name_q}"
        ))
        .await?;
        documents.extend(elements(&doc, "PolicyDocument").iter().filter_map(|d| document(d)));
    }
    Ok(documents)
}

/// The text of every `<tag>…</tag>` in moto's XML, unescaped.
pub(crate) fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        out.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A policy document as IAM returns it: URL-encoded JSON (or plain JSON).
fn document(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = urlencoding::decode(text).ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_moto_xml() {
        let xml = "<R><AttachedPolicies><member><PolicyArn>arn:aws:iam::1:policy/p</PolicyArn></member><member><PolicyArn>arn:aws:iam::1:policy/q&amp;r</PolicyArn></member></AttachedPolicies></R>";
        assert_eq!(
            elements(xml, "PolicyArn"),
            ["arn:aws:iam::1:policy/p", "arn:aws:iam::1:policy/q&r"]
        );
        let doc = "%7B%22Statement%22%3A%5B%5D%7D";
        assert_eq!(document(doc).unwrap()["Statement"], serde_json::json!([]));
        assert_eq!(document("{&quot;a&quot;:1}"), None);
        assert_eq!(document(&unescape("{&quot;a&quot;:1}")).unwrap()["a"], 1);
    }
}
