//! `lab policy`: the least-privilege identity policy an operator needs to run lab's verbs on a
//! real account, as a document `aws iam create-policy` accepts. One statement per verb group,
//! resources scoped to the stack's names, account and region; built from [`needs::NEEDS`], the
//! table of every SDK call lab makes (a test holds it against the source).

pub(crate) mod needs;

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::{Global, PolicyArgs};
use crate::exit::Exit;
use crate::output::Output;
use crate::stack::names::Names;
use needs::{Group, Need, Res, NEEDS};

/// Where the policy's ARNs point: partition, region, account and the stack's names.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub(crate) partition: String,
    /// The stack's region.
    pub(crate) region: String,
    /// The account id.
    pub(crate) account: String,
    /// The stack's names.
    pub(crate) names: Names,
    /// The function `invoke` and `tune` target: the stack's unless `--function` names another,
    /// `*` for any.
    pub(crate) target: String,
}

impl Scope {
    fn lambda(&self, function: &str) -> String {
        format!(
            "arn:{}:lambda:{}:{}:function:{function}",
            self.partition, self.region, self.account
        )
    }

    fn log_group(&self, name: &str) -> [String; 2] {
        let group = format!(
            "arn:{}:logs:{}:{}:log-group:{name}",
            self.partition, self.region, self.account
        );
        // Some log actions are authorised on the group's ARN with the `:*` stream suffix.
        [group.clone(), format!("{group}:*")]
    }

    fn role(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:role/{name}", self.partition, self.account)
    }

    fn apigateway(&self, path: &str) -> String {
        format!("arn:{}:apigateway:{}::{path}", self.partition, self.region)
    }

    fn worker(&self) -> Names {
        crate::load::worker::deploy::worker_names(&self.names)
    }

    /// The ARNs of a row's resource; empty for a call that needs no permission.
    pub(crate) fn arns(&self, res: Res) -> Vec<String> {
        let worker = self.worker();
        match res {
            Res::NoneNeeded => vec![],
            Res::Account(_) => vec!["*".into()],
            Res::Policy => vec![format!(
                "arn:{}:iam::{}:policy/{}",
                self.partition, self.account, self.names.policy
            )],
            Res::Roles => vec![self.role(&self.names.role), self.role(&worker.role)],
            Res::WorkerRole => vec![self.role(&worker.role)],
            Res::Table => vec![format!(
                "arn:{}:dynamodb:{}:{}:table/{}",
                self.partition, self.region, self.account, self.names.table
            )],
            Res::LogGroups => {
                let mut v = self.log_group(&self.names.log_group).to_vec();
                v.extend(self.log_group(&worker.log_group));
                v
            }
            Res::WorkerLogGroup => self.log_group(&worker.log_group).to_vec(),
            Res::LogGroupList => vec![format!(
                "arn:{}:logs:{}:{}:log-group:*",
                self.partition, self.region, self.account
            )],
            Res::Functions => vec![
                self.lambda(&self.names.function),
                self.lambda(&worker.function),
            ],
            Res::Function => vec![self.lambda(&self.names.function)],
            Res::WorkerFunction => vec![self.lambda(&worker.function)],
            Res::Target => vec![
                self.lambda(&self.target),
                self.lambda(&format!("{}:*", self.target)),
            ],
            Res::TuneCopies => {
                // Long names are shortened before the suffix (`tune::arches::copy_name`).
                let stem = match self.target.get(..40) {
                    Some(head) if self.target.len() > 48 => format!("{head}*"),
                    _ => self.target.clone(),
                };
                let copies = format!("{stem}-lab-tune-*");
                vec![self.lambda(&copies), self.lambda(&format!("{copies}:*"))]
            }
            // The stack's function runs under the stack's role; another function's role is not
            // known until lab reads the function, so any role (PassRole's condition keeps it to
            // Lambda).
            Res::TargetRole if self.target == self.names.function => {
                vec![self.role(&self.names.role)]
            }
            Res::TargetRole => vec![self.role("*")],
            Res::RestApis => vec![self.apigateway("/restapis")],
            Res::RestApi => vec![self.apigateway("/restapis/*")],
            Res::ApiTags => vec![self.apigateway("/tags/*")],
        }
    }
}

/// Why a group's statement uses no resource-level scoping for some actions, or scopes them wider
/// than one resource: said in the `--explain` output and the README.
fn scoping_note(res: Res) -> Option<&'static str> {
    match res {
        Res::Account(why) => Some(why),
        Res::RestApi => {
            Some("API Gateway assigns the API's id at CreateRestApi, so the path cannot name it in advance")
        }
        Res::LogGroupList => Some("DescribeLogGroups lists by prefix: its resource is the region's log-group:*"),
        _ => None,
    }
}

/// The groups `--verbs` selects (all without it); an unknown verb is one clear error.
pub(crate) fn groups(verbs: Option<&str>) -> anyhow::Result<Vec<Group>> {
    let Some(verbs) = verbs else {
        return Ok(Group::ALL.to_vec());
    };
    let mut chosen = BTreeSet::new();
    for verb in verbs.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let group =
            Group::ALL.into_iter().find(|g| g.verbs().contains(&verb)).ok_or_else(|| {
                let known: Vec<&str> = Group::ALL.iter().flat_map(|g| g.verbs()).copied().collect();
                anyhow::anyhow!(
                    "--verbs: unknown verb {verb:?}; use some of {}",
                    known.join(",")
                )
            })?;
        chosen.insert(group);
    }
    // `load --workers` is a load run too: it finds the stage URL and sets memory as `load` does.
    if chosen.contains(&Group::LoadWorkers) {
        chosen.insert(Group::Load);
    }
    if chosen.is_empty() {
        anyhow::bail!("--verbs is empty; name at least one verb, e.g. --verbs up,down");
    }
    Ok(chosen.into_iter().collect())
}

fn rows(group: Group) -> impl Iterator<Item = &'static Need> {
    NEEDS.iter().filter(move |n| n.groups.contains(&group))
}

/// The policy document for `groups` in `scope`.
pub(crate) fn document(scope: &Scope, groups: &[Group]) -> Value {
    let mut statements = Vec::new();
    for &group in groups {
        // Three statements at most: the scoped actions, iam:PassRole (with its condition), and
        // the actions that have no resource-level permission.
        let mut scoped = (BTreeSet::new(), BTreeSet::new());
        let mut pass = (BTreeSet::new(), BTreeSet::new());
        let mut account = BTreeSet::new();
        for need in rows(group) {
            let arns = scope.arns(need.res);
            match need.res {
                Res::NoneNeeded => {}
                Res::Account(_) => {
                    account.insert(need.action);
                }
                _ if need.action == "iam:PassRole" => {
                    pass.0.insert(need.action);
                    pass.1.extend(arns);
                }
                _ => {
                    scoped.0.insert(need.action);
                    scoped.1.extend(arns);
                }
            }
        }
        if !scoped.0.is_empty() {
            statements.push(json!({
                "Sid": group.sid(),
                "Effect": "Allow",
                "Action": scoped.0,
                "Resource": scoped.1,
            }));
        }
        if !pass.0.is_empty() {
            statements.push(json!({
                "Sid": format!("{}PassRoleOnlyToLambda", group.sid()),
                "Effect": "Allow",
                "Action": pass.0,
                "Resource": pass.1,
                "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            }));
        }
        if !account.is_empty() {
            statements.push(json!({
                "Sid": format!("{}AccountWideNoResourceLevelPermission", group.sid()),
                "Effect": "Allow",
                "Action": account,
                "Resource": "*",
            }));
        }
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// One line of `--explain`: an action beside the call that needs it.
#[derive(Debug, Serialize)]
pub(crate) struct Explained {
    /// The verbs.
    pub(crate) verbs: String,
    /// The IAM action.
    pub(crate) action: &'static str,
    /// The resources it is granted on.
    pub(crate) resources: Vec<String>,
    /// The call site: file and SDK operation (or what implies it).
    pub(crate) call: String,
    /// What lab does with it, and why the scope is what it is.
    pub(crate) why: String,
}

/// Every action of `groups` beside the call that needs it.
pub(crate) fn explain(scope: &Scope, groups: &[Group]) -> Vec<Explained> {
    let mut out = Vec::new();
    for &group in groups {
        for need in rows(group) {
            let call = if need.op.is_empty() {
                format!("{} (implied)", need.site)
            } else {
                format!("{} {}", need.site, need.op)
            };
            let why = match scoping_note(need.res) {
                Some(note) => format!("{}; {note}", need.why),
                None => need.why.to_string(),
            };
            out.push(Explained {
                verbs: group.verbs().join("/"),
                action: need.action,
                resources: scope.arns(need.res),
                call,
                why,
            });
        }
    }
    out
}

/// `lab policy`: prints the document (or, with `--explain`, each action and its call).
pub(crate) async fn command(global: &Global, args: &PolicyArgs) -> anyhow::Result<Exit> {
    let groups = groups(args.verbs.as_deref())?;
    let names = Names::new(&global.stack)?;
    let scope = match (&args.account, &global.region) {
        (Some(account), Some(region)) => {
            if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
                anyhow::bail!("--account {account:?} is not an account id; give its 12 digits");
            }
            Scope {
                partition: args.partition.clone(),
                region: region.clone(),
                account: account.clone(),
                target: args.function.clone().unwrap_or_else(|| names.function.clone()),
                names,
            }
        }
        // Ask STS (which answers every identity) for what was not given.
        _ => {
            let stack = crate::session::open_stack(global, None).await?;
            Scope {
                partition: stack.partition.clone(),
                region: stack.region().to_string(),
                account: args.account.clone().unwrap_or(stack.account.clone()),
                target: args.function.clone().unwrap_or_else(|| names.function.clone()),
                names,
            }
        }
    };
    if args.explain {
        let rows = explain(&scope, &groups);
        match global.output {
            Output::Json => crate::output::print_json(&rows)?,
            Output::Text => {
                for r in &rows {
                    println!("{:<14} {:<34} {}", r.verbs, r.action, r.call);
                    if !r.resources.is_empty() {
                        println!("{:<14} {:<34} on {}", "", "", r.resources.join(", "));
                    }
                    println!("{:<14} {:<34} {}", "", "", r.why);
                }
            }
        }
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&document(&scope, &groups))?
        );
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        let names = Names::new("demo").unwrap();
        Scope {
            partition: "aws".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            target: names.function.clone(),
            names,
        }
    }

    #[test]
    fn narrowing_to_up_keeps_only_its_statements() {
        let doc = document(&scope(), &groups(Some("up,down")).unwrap());
        let sids: Vec<&str> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, ["UpStatusDown", "UpStatusDownPassRoleOnlyToLambda"]);
        let text = doc.to_string();
        assert!(text.contains("arn:aws:dynamodb:eu-west-1:123456789012:table/demo-table"));
        assert!(
            !text.contains("lambda:PublishVersion"),
            "tune's actions leaked into up's"
        );
    }

    #[test]
    fn unknown_verb_is_one_clear_error() {
        let err = groups(Some("up,deploy")).unwrap_err().to_string();
        assert!(err.contains("unknown verb \"deploy\""), "{err}");
    }

    #[test]
    fn account_wide_actions_say_why() {
        let doc = document(&scope(), &groups(Some("tune")).unwrap());
        let wide: Vec<&Value> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Resource"] == "*")
            .collect();
        assert_eq!(wide.len(), 1);
        assert_eq!(wide[0]["Action"], json!(["lambda:GetAccountSettings"]));
        assert!(wide[0]["Sid"].as_str().unwrap().contains("NoResourceLevelPermission"));
    }

    #[test]
    fn sids_are_alphanumeric_and_unique() {
        let doc = document(&scope(), &Group::ALL);
        let mut seen = BTreeSet::new();
        for s in doc["Statement"].as_array().unwrap() {
            let sid = s["Sid"].as_str().unwrap();
            assert!(sid.chars().all(|c| c.is_ascii_alphanumeric()), "{sid}");
            assert!(seen.insert(sid.to_string()), "duplicate {sid}");
        }
        // IAM refuses a managed policy over 6,144 characters, whitespace not counted.
        let size = serde_json::to_string(&doc).unwrap().len();
        assert!(size <= 6144, "the whole policy is {size} characters");
    }
}
