//! IAM's eventual consistency: a new role cannot be assumed by Lambda for seconds, a new policy may
//! not be attachable yet, a role just detached still conflicts on delete, and a deleted role or
//! policy still answers Get* for a moment.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;

use super::records::Records;
use super::reply::{self, Upstream};
use super::{Context, Forward, Rule, Rules, AWS};
use crate::moto::Moto;

/// What IAM is still propagating, each entry with the moment it stops mattering (and each map
/// bounded: see [`Records`]).
#[derive(Default)]
pub(crate) struct State {
    /// Role name -> when Lambda can assume it.
    roles_assumable_at: Records<String, Instant>,
    /// Policy ARN -> when AttachRolePolicy finds it.
    policies_attachable_at: Records<String, Instant>,
    /// Role name -> until when DeleteRole still sees an attachment.
    detach_settles_at: Records<String, Instant>,
    /// ("role"|"policy", name or ARN) -> the Get* answer IAM keeps giving until then.
    ghosts: Records<(&'static str, String), (Instant, Bytes)>,
}

/// IAM's rules around one query-protocol call.
pub(crate) async fn apply(cx: &Context<'_>, forward: Forward<'_>) -> Upstream {
    let (rules, moto, call, now) = (cx.rules, cx.moto, cx.call, cx.now);
    let form = call.form();
    let action = form.get("Action").map(String::as_str).unwrap_or_default();
    let role = form.get("RoleName").cloned().unwrap_or_default();
    let policy = form.get("PolicyArn").cloned().unwrap_or_default();
    let strict = rules.config.enabled;
    if strict {
        if let Some(answer) = refusal(rules, action, &role, &policy, now) {
            return answer;
        }
    }
    // IAM keeps answering Get* with the entity for a moment after it is deleted: keep its last answer.
    let ghost = match action {
        "DeleteRole" if strict => capture(moto, call.region, "GetRole", "RoleName", &role).await,
        "DeletePolicy" if strict => {
            capture(moto, call.region, "GetPolicy", "PolicyArn", &policy).await
        }
        _ => None,
    };
    let up = forward.await;
    if !up.ok() {
        return up;
    }
    let mut state = rules.iam.lock().expect("iam lock");
    match action {
        "CreateRole" if !rules.iam_delay().is_zero() => {
            let at = now + rules.iam_delay();
            state.roles_assumable_at.insert(role, at, now);
        }
        "CreatePolicy" if strict => {
            if let Some(arn) = created_policy_arn(&up.body) {
                let at = now + rules.scaled(AWS.policy_not_attachable);
                state.policies_attachable_at.insert(arn, at, now);
            }
        }
        "DetachRolePolicy" if strict => {
            let at = now + rules.scaled(AWS.role_delete_conflict);
            state.detach_settles_at.insert(role, at, now);
        }
        "DeleteRole" | "DeletePolicy" => {
            let kind_key = if action == "DeleteRole" {
                ("role", role)
            } else {
                ("policy", policy)
            };
            if let Some(body) = ghost {
                let until = now + rules.scaled(AWS.iam_read_after_delete);
                state.ghosts.insert(kind_key, (until, body), now);
            }
        }
        _ => {}
    }
    up
}

/// IAM's answer to a call that comes too soon, if it refuses it.
fn refusal(
    rules: &Rules,
    action: &str,
    role: &str,
    policy: &str,
    now: Instant,
) -> Option<Upstream> {
    let state = rules.iam.lock().expect("iam lock");
    let (rule, answer) = match action {
        "AttachRolePolicy" if state.policies_attachable_at.live(&policy.into(), now).is_some() => (
            Rule::PolicyNotAttachable,
            reply::iam(
                StatusCode::NOT_FOUND,
                "NoSuchEntity",
                &format!("Policy {policy} does not exist or is not attachable."),
            ),
        ),
        "DeleteRole" if state.detach_settles_at.live(&role.into(), now).is_some() => (
            Rule::RoleDeleteConflict,
            reply::iam(
                StatusCode::CONFLICT,
                "DeleteConflict",
                "Cannot delete entity, must detach all policies first.",
            ),
        ),
        "GetRole" | "GetPolicy" => {
            let key = if action == "GetRole" {
                ("role", role.to_string())
            } else {
                ("policy", policy.to_string())
            };
            let (_, body) = state.ghosts.live(&key, now)?;
            (
                Rule::IamReadAfterDelete,
                Upstream::new(StatusCode::OK, "text/xml", body.clone()),
            )
        }
        _ => return None,
    };
    drop(state);
    Some(rules.refuse(rule, answer))
}

/// Lambda's CreateFunction refuses a role IAM has just created.
pub(crate) fn role_not_assumable(rules: &Rules, role_arn: &str, now: Instant) -> Option<Duration> {
    let role = role_arn.rsplit('/').next().unwrap_or_default();
    let state = rules.iam.lock().expect("iam lock");
    let at = state.roles_assumable_at.live(&role.to_string(), now)?;
    Some(*at - now)
}

/// The Get* answer for an entity about to be deleted, which IAM keeps giving for a moment.
async fn capture(
    moto: &Moto,
    region: &str,
    action: &str,
    field: &str,
    value: &str,
) -> Option<Bytes> {
    let form = format!(
        "Action={action}&Version=2010-05-08&{field}={}",
        urlencoding::encode(value)
    );
    match moto.query_call("iam", region, &form).await {
        Ok((200, body)) => Some(body),
        _ => None,
    }
}

/// The ARN in a CreatePolicy answer (`<Arn>...</Arn>`).
fn created_policy_arn(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let start = text.find("<Arn>")? + "<Arn>".len();
    let end = text[start..].find("</Arn>")? + start;
    Some(text[start..end].to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn policy_arn_is_read_from_the_create_answer() {
        let body = b"<CreatePolicyResponse><CreatePolicyResult><Policy><PolicyName>p</PolicyName><Arn>arn:aws:iam::1:policy/p</Arn></Policy></CreatePolicyResult></CreatePolicyResponse>";
        assert_eq!(
            super::created_policy_arn(body).as_deref(),
            Some("arn:aws:iam::1:policy/p")
        );
    }
}
