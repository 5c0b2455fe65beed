//! Every AWS call lab makes with the operator's credentials, and the IAM action it needs: one row
//! per call site (the file and the SDK operation), so a test can hold this table against the
//! source (`tests` below) and a new SDK call without its action fails the build's tests.

/// A verb group: one statement of `lab policy` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Group {
    /// `up`, `status`, `down` (down removes the load generator too).
    Stack,
    /// `call` (the stage URL needs no IAM; finding it and `--via lambda` do).
    Call,
    /// `invoke`: the stack's function or `--function`.
    Invoke,
    /// `tune`: the stack's function or `--function`, its versions and aliases.
    Tune,
    /// `load` from this machine.
    Load,
    /// `load --workers`: the generator function, its role and log group.
    LoadWorkers,
}

impl Group {
    /// Every group, in the policy's order.
    pub(crate) const ALL: [Group; 6] = [
        Group::Stack,
        Group::Call,
        Group::Invoke,
        Group::Tune,
        Group::Load,
        Group::LoadWorkers,
    ];

    /// The verbs a group serves, as `--verbs` names them.
    pub(crate) fn verbs(self) -> &'static [&'static str] {
        match self {
            Group::Stack => &["up", "status", "down"],
            Group::Call => &["call"],
            Group::Invoke => &["invoke"],
            Group::Tune => &["tune"],
            Group::Load => &["load"],
            Group::LoadWorkers => &["load-workers"],
        }
    }

    /// The statement id's stem (IAM allows only letters and digits in a Sid).
    pub(crate) fn sid(self) -> &'static str {
        match self {
            Group::Stack => "UpStatusDown",
            Group::Call => "Call",
            Group::Invoke => "Invoke",
            Group::Tune => "Tune",
            Group::Load => "Load",
            Group::LoadWorkers => "LoadWorkers",
        }
    }
}

/// What a row's resource is, resolved to ARNs by `super::Scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Res {
    /// No permission is needed at all (STS GetCallerIdentity).
    NoneNeeded,
    /// `*`: the action has no resource-level permission; the string says so, from the Service
    /// Authorization Reference.
    Account(&'static str),
    /// The stack's managed policy.
    Policy,
    /// The stack's role and the load generator's (down removes both).
    Roles,
    /// The load generator's role.
    WorkerRole,
    /// The stack's table.
    Table,
    /// The stack's and the generator's log groups.
    LogGroups,
    /// The generator's log group.
    WorkerLogGroup,
    /// Every log group of the region: DescribeLogGroups is a list call.
    LogGroupList,
    /// The stack's function and the generator (down removes both).
    Functions,
    /// The stack's function.
    Function,
    /// The generator function.
    WorkerFunction,
    /// The function a verb targets (the stack's, or `lab policy --function`), unqualified and
    /// qualified (tune's versions and aliases, invoke's `:QUALIFIER`).
    Target,
    /// `tune --arch`'s copies of the target (`<target>-lab-tune-<arch>`), unqualified and
    /// qualified (their versions and aliases).
    TuneCopies,
    /// The target's role, which a copy runs under: the stack's role for the stack's function;
    /// any role for `--function` (lab cannot name its role before it reads the function; PassRole
    /// stays limited to Lambda by its condition).
    TargetRole,
    /// `/restapis`: listing and creating APIs.
    RestApis,
    /// `/restapis/*`: one API and what is under it; its id is not known before CreateRestApi.
    RestApi,
    /// `/tags/*`: tagging an API as it is created.
    ApiTags,
}

/// One call site's need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Need {
    /// The source file that makes the call (relative to the crate root).
    pub(crate) site: &'static str,
    /// The SDK operation (the fluent builder's method), or "" for an action the call implies
    /// (tagging on create, PassRole).
    pub(crate) op: &'static str,
    /// The IAM action.
    pub(crate) action: &'static str,
    /// Its resource.
    pub(crate) res: Res,
    /// The verb groups that reach the call.
    pub(crate) groups: &'static [Group],
    /// What lab does with it.
    pub(crate) why: &'static str,
}

use Group::*;
use Res::*;

const fn need(
    site: &'static str,
    op: &'static str,
    action: &'static str,
    res: Res,
    groups: &'static [Group],
    why: &'static str,
) -> Need {
    Need {
        site,
        op,
        action,
        res,
        groups,
        why,
    }
}

const STK: &[Group] = &[Stack];
const WRK: &[Group] = &[LoadWorkers];
const STK_WRK: &[Group] = &[Stack, LoadWorkers];
const ALL: &[Group] = &[Stack, Call, Invoke, Tune, Load, LoadWorkers];

const NO_RESOURCE: &str = "Lambda's GetAccountSettings has no resource type (Service Authorization Reference, AWS Lambda)";

/// The table. Rows with the same site and op but another resource are the same call made for
/// another group (the load generator reuses `stack::role`, `stack::function`, `stack::log_group`).
pub(crate) const NEEDS: &[Need] = &[
    // Every verb: the account and partition. STS answers it for any identity.
    need("src/stack/mod.rs", "get_caller_identity", "sts:GetCallerIdentity", NoneNeeded, ALL, "the account and partition every ARN is built from (no permission needed: STS answers every identity)"),
    // The managed policy.
    need("src/stack/policy.rs", "get_policy", "iam:GetPolicy", Policy, STK, "read the function's policy and its tags"),
    need("src/stack/policy.rs", "get_policy_version", "iam:GetPolicyVersion", Policy, STK, "compare the policy's document with assets/policy.json"),
    need("src/stack/policy.rs", "create_policy", "iam:CreatePolicy", Policy, STK, "create the function's policy"),
    need("src/stack/policy.rs", "", "iam:TagPolicy", Policy, STK, "CreatePolicy with tags (the lab:stack tag)"),
    need("src/stack/policy.rs", "create_policy_version", "iam:CreatePolicyVersion", Policy, STK, "repair a drifted policy document"),
    need("src/stack/policy.rs", "list_policy_versions", "iam:ListPolicyVersions", Policy, STK, "drop the oldest version before a repair (IAM keeps five)"),
    need("src/stack/policy.rs", "delete_policy_version", "iam:DeletePolicyVersion", Policy, STK, "drop the oldest version before a repair; down"),
    need("src/stack/policy.rs", "list_entities_for_policy", "iam:ListEntitiesForPolicy", Policy, STK, "down: what the policy is still attached to"),
    need("src/stack/policy.rs", "detach_role_policy", "iam:DetachRolePolicy", Roles, STK, "down: detach the policy before deleting it"),
    need("src/stack/policy.rs", "delete_policy", "iam:DeletePolicy", Policy, STK, "down"),
    // The roles.
    need("src/stack/role.rs", "get_role", "iam:GetRole", Roles, STK, "read the role, its trust policy and tags"),
    need("src/stack/role.rs", "list_attached_role_policies", "iam:ListAttachedRolePolicies", Roles, STK, "is the policy attached"),
    need("src/stack/role.rs", "create_role", "iam:CreateRole", Roles, STK, "create the execution role"),
    need("src/stack/role.rs", "create_role", "iam:CreateRole", WorkerRole, WRK, "create the load generator's role"),
    need("src/stack/role.rs", "", "iam:TagRole", Roles, STK, "CreateRole with tags (the lab:stack tag)"),
    need("src/stack/role.rs", "", "iam:TagRole", WorkerRole, WRK, "CreateRole with tags (the lab:stack tag)"),
    need("src/stack/role.rs", "attach_role_policy", "iam:AttachRolePolicy", Roles, STK, "attach the function's policy"),
    need("src/stack/role.rs", "update_assume_role_policy", "iam:UpdateAssumeRolePolicy", Roles, STK, "repair a drifted trust policy"),
    need("src/stack/role.rs", "detach_role_policy", "iam:DetachRolePolicy", Roles, STK, "down: detach every managed policy"),
    need("src/stack/role.rs", "list_role_policies", "iam:ListRolePolicies", Roles, STK, "down: the inline policies to delete"),
    need("src/stack/role.rs", "delete_role_policy", "iam:DeleteRolePolicy", Roles, STK, "down: delete the inline policies (the generator's)"),
    need("src/stack/role.rs", "delete_role", "iam:DeleteRole", Roles, STK, "down"),
    need("src/load/worker/deploy.rs", "get_role", "iam:GetRole", WorkerRole, WRK, "is the generator's role there, and this stack's"),
    need("src/load/worker/deploy.rs", "put_role_policy", "iam:PutRolePolicy", WorkerRole, WRK, "the generator's inline policy (its logs, Invoke on the function)"),
    need("src/stack/function/mod.rs", "", "iam:PassRole", Roles, STK, "CreateFunction / UpdateFunctionConfiguration hand the role to Lambda"),
    need("src/stack/function/mod.rs", "", "iam:PassRole", WorkerRole, WRK, "CreateFunction hands the generator's role to Lambda"),
    // The table.
    need("src/stack/table.rs", "describe_table", "dynamodb:DescribeTable", Table, STK, "read the table and its status"),
    need("src/stack/table.rs", "list_tags_of_resource", "dynamodb:ListTagsOfResource", Table, STK, "is the table this stack's"),
    need("src/stack/table.rs", "create_table", "dynamodb:CreateTable", Table, STK, "create the table"),
    need("src/stack/table.rs", "", "dynamodb:TagResource", Table, STK, "CreateTable with tags (the lab:stack tag)"),
    need("src/stack/table.rs", "delete_table", "dynamodb:DeleteTable", Table, STK, "down"),
    // The log groups.
    need("src/stack/log_group.rs", "describe_log_groups", "logs:DescribeLogGroups", LogGroupList, STK_WRK, "find the log group by prefix (a list call: its resource is the region's log-group:*)"),
    need("src/stack/log_group.rs", "list_tags_for_resource", "logs:ListTagsForResource", LogGroups, STK, "is the log group this stack's"),
    need("src/stack/log_group.rs", "list_tags_for_resource", "logs:ListTagsForResource", WorkerLogGroup, WRK, "is the generator's log group this stack's"),
    need("src/stack/log_group.rs", "create_log_group", "logs:CreateLogGroup", LogGroups, STK, "create the function's log group"),
    need("src/stack/log_group.rs", "create_log_group", "logs:CreateLogGroup", WorkerLogGroup, WRK, "create the generator's log group"),
    need("src/stack/log_group.rs", "tag_resource", "logs:TagResource", LogGroups, STK, "tag it (CreateLogGroup with tags, or a group Lambda made first)"),
    need("src/stack/log_group.rs", "tag_resource", "logs:TagResource", WorkerLogGroup, WRK, "tag the generator's log group"),
    need("src/stack/log_group.rs", "put_retention_policy", "logs:PutRetentionPolicy", LogGroups, STK, "keep the logs a bounded time"),
    need("src/stack/log_group.rs", "put_retention_policy", "logs:PutRetentionPolicy", WorkerLogGroup, WRK, "keep the generator's logs a bounded time"),
    need("src/stack/log_group.rs", "delete_log_group", "logs:DeleteLogGroup", LogGroups, STK, "down (the generator's too)"),
    // The functions.
    need("src/stack/function/mod.rs", "get_function", "lambda:GetFunction", Functions, STK, "read the function, its code hash and tags"),
    need("src/stack/function/mod.rs", "get_function", "lambda:GetFunction", WorkerFunction, WRK, "read the generator"),
    need("src/stack/function/mod.rs", "list_tags", "lambda:ListTags", Functions, STK, "is the function this stack's (when GetFunction gives no tags)"),
    need("src/stack/function/mod.rs", "list_tags", "lambda:ListTags", WorkerFunction, WRK, "is the generator this stack's"),
    need("src/stack/function/mod.rs", "create_function", "lambda:CreateFunction", Function, STK, "create the function"),
    need("src/stack/function/mod.rs", "create_function", "lambda:CreateFunction", WorkerFunction, WRK, "create the generator"),
    need("src/stack/function/mod.rs", "", "lambda:TagResource", Function, STK, "CreateFunction with tags (the lab:stack tag)"),
    need("src/stack/function/mod.rs", "", "lambda:TagResource", WorkerFunction, WRK, "CreateFunction with tags (the lab:stack tag)"),
    need("src/stack/function/mod.rs", "update_function_code", "lambda:UpdateFunctionCode", Function, STK, "deploy new code"),
    need("src/stack/function/mod.rs", "update_function_code", "lambda:UpdateFunctionCode", WorkerFunction, WRK, "deploy the generator's new code"),
    need("src/stack/function/mod.rs", "update_function_configuration", "lambda:UpdateFunctionConfiguration", Function, STK, "repair memory, timeout, role, environment"),
    need("src/stack/function/mod.rs", "update_function_configuration", "lambda:UpdateFunctionConfiguration", WorkerFunction, WRK, "repair the generator's settings"),
    need("src/stack/function/mod.rs", "delete_function", "lambda:DeleteFunction", Functions, STK, "down (the generator's too)"),
    need("src/stack/function/state.rs", "get_function_configuration", "lambda:GetFunctionConfiguration", Function, STK, "wait until an update is done"),
    need("src/stack/function/state.rs", "get_function_configuration", "lambda:GetFunctionConfiguration", WorkerFunction, WRK, "wait until the generator is Active"),
    // The permission for API Gateway.
    need("src/stack/permission.rs", "get_policy", "lambda:GetPolicy", Function, STK, "read the function's resource policy"),
    need("src/stack/permission.rs", "add_permission", "lambda:AddPermission", Function, STK, "let API Gateway invoke the function"),
    need("src/stack/permission.rs", "remove_permission", "lambda:RemovePermission", Function, STK, "replace a drifted statement; down"),
    // The REST API.
    need("src/stack/api/mod.rs", "get_rest_apis", "apigateway:GET", RestApis, &[Stack, Call, Load], "find the API by name and tag (GET /restapis)"),
    need("src/stack/api/mod.rs", "get_rest_api", "apigateway:GET", RestApi, &[Stack, Call, Load], "read the API this machine recorded back by id (GetRestApis lags behind a create)"),
    need("src/stack/api/mod.rs", "create_rest_api", "apigateway:POST", RestApis, STK, "create the API (POST /restapis)"),
    need("src/stack/api/mod.rs", "", "apigateway:PUT", ApiTags, STK, "CreateRestApi with tags (API Gateway authorises the tags as PUT /tags/{arn})"),
    need("src/stack/api/mod.rs", "create_resource", "apigateway:POST", RestApi, STK, "create /DynamoDBManager"),
    need("src/stack/api/mod.rs", "get_resources", "apigateway:GET", RestApi, STK, "read the API's resources and methods"),
    need("src/stack/api/mod.rs", "get_method", "apigateway:GET", RestApi, STK, "compare the method with the tutorial's"),
    need("src/stack/api/mod.rs", "create_deployment", "apigateway:POST", RestApi, STK, "deploy to the prod stage"),
    need("src/stack/api/mod.rs", "get_stage", "apigateway:GET", RestApi, STK, "is the stage there"),
    need("src/stack/api/mod.rs", "get_deployment", "apigateway:GET", RestApi, STK, "the definition the stage serves (its deployment's fingerprint)"),
    need("src/stack/api/mod.rs", "delete_rest_api", "apigateway:DELETE", RestApi, STK, "down"),
    need("src/stack/api/method.rs", "delete_method", "apigateway:DELETE", RestApi, STK, "replace a drifted method"),
    need("src/stack/api/method.rs", "put_method", "apigateway:PUT", RestApi, STK, "the POST method"),
    need("src/stack/api/method.rs", "put_method_response", "apigateway:PUT", RestApi, STK, "the method's responses"),
    need("src/stack/api/method.rs", "put_integration", "apigateway:PUT", RestApi, STK, "the Lambda integration"),
    need("src/stack/api/method.rs", "put_integration_response", "apigateway:PUT", RestApi, STK, "the integration responses"),
    // Calls and invocations.
    need("src/call/transport.rs", "invoke", "lambda:InvokeFunction", Function, &[Call], "call --via lambda"),
    need("src/commands/invoke.rs", "invoke", "lambda:InvokeFunction", Target, &[Invoke], "invoke"),
    // What tuning and load tests do to the function under test.
    need("src/control/lambda.rs", "get_function_configuration", "lambda:GetFunctionConfiguration", Target, &[Tune, Load], "read the memory to restore it afterwards, and the instruction set (load prices it)"),
    need("src/control/lambda.rs", "update_function_configuration", "lambda:UpdateFunctionConfiguration", Target, &[Tune, Load], "set the memory size under test"),
    need("src/control/lambda.rs", "invoke", "lambda:InvokeFunction", Target, &[Tune, Load], "invoke at each size (load --via lambda)"),
    need("load/src/invoke.rs", "invoke", "lambda:InvokeFunction", Function, &[Load], "load --via lambda"),
    need("src/load/function_log.rs", "filter_log_events", "logs:FilterLogEvents", LogGroups, &[Load, LoadWorkers], "read the run's REPORT lines (Lambda's figures per request; the generator's cost)"),
    need("src/control/versions.rs", "publish_version", "lambda:PublishVersion", Target, &[Tune], "a version per memory size"),
    need("src/control/versions.rs", "create_alias", "lambda:CreateAlias", Target, &[Tune], "an alias per memory size"),
    need("src/control/versions.rs", "update_alias", "lambda:UpdateAlias", Target, &[Tune], "point an alias at its version"),
    need("src/control/versions.rs", "list_aliases", "lambda:ListAliases", Target, &[Tune], "find aliases a previous run left"),
    need("src/control/versions.rs", "list_versions_by_function", "lambda:ListVersionsByFunction", Target, &[Tune], "find versions a previous run left"),
    need("src/control/versions.rs", "delete_alias", "lambda:DeleteAlias", Target, &[Tune], "clean up the aliases"),
    need("src/control/versions.rs", "delete_function", "lambda:DeleteFunction", Target, &[Tune], "clean up the versions (DeleteFunction with a qualifier)"),
    need("src/control/versions.rs", "get_account_settings", "lambda:GetAccountSettings", Account(NO_RESOURCE), &[Tune], "pace the run under the account's concurrency"),
    // tune --arch: a copy of the function per other instruction set.
    need("src/control/copy.rs", "get_function", "lambda:GetFunction", Target, &[Tune], "--arch: read the function's settings and package (Code.Location) to copy"),
    need("src/control/copy.rs", "get_function", "lambda:GetFunction", TuneCopies, &[Tune], "--arch: find a copy a killed run left, and check it is gone"),
    need("src/control/copy.rs", "create_function", "lambda:CreateFunction", TuneCopies, &[Tune], "--arch: the copy for the other instruction set"),
    need("src/control/copy.rs", "", "lambda:TagResource", TuneCopies, &[Tune], "CreateFunction with tags (the lab:tune-copy-of tag)"),
    need("src/control/copy.rs", "", "iam:PassRole", TargetRole, &[Tune], "CreateFunction hands the function's own role to its --arch copy"),
    need("src/control/copy.rs", "delete_function", "lambda:DeleteFunction", TuneCopies, &[Tune], "--arch: remove the copy (its versions and aliases with it)"),
    // The generator.
    need("src/load/worker/mod.rs", "get_account_settings", "lambda:GetAccountSettings", Account(NO_RESOURCE), WRK, "how many generators may run at once"),
    need("src/load/worker/mod.rs", "invoke", "lambda:InvokeFunction", WorkerFunction, WRK, "run each generator's share"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The SDK operations a file calls: `.verb_noun()` with no arguments for the verbs AWS
    /// operations start with, `.invoke()`, and `on_method!(x, op)` (stack::api::method's macro).
    fn operations(text: &str) -> BTreeSet<String> {
        let call = regex::Regex::new(
            r"\.((?:get|list|create|delete|put|update|add|remove|tag|untag|publish|attach|detach|describe|filter)_[a-z_]+|invoke)\(\)",
        )
        .unwrap();
        let on_method = regex::Regex::new(r"on_method!\(\s*\w+\s*,\s*(\w+)\s*\)").unwrap();
        call.captures_iter(text)
            .chain(on_method.captures_iter(text))
            .map(|c| c[1].to_string())
            .collect()
    }

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Every SDK call in `src/` and the load generator's `load/src/` (which lab runs in its own
    /// process too) has its row, and every row names a call that is there: an SDK call added
    /// without its IAM action fails here, before an operator finds it on a real account.
    #[test]
    fn every_sdk_call_site_has_its_action() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        rust_files(&root.join("src"), &mut files);
        rust_files(&root.join("load/src"), &mut files);
        let mut found = BTreeSet::new();
        for file in files {
            let rel = file.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            if rel.starts_with("src/commands/policy") {
                continue;
            }
            let source = std::fs::read_to_string(&file).unwrap();
            // Tests' own SDK calls (against a listener of their own) are nobody's permission.
            let text = source.split("#[cfg(test)]").next().unwrap_or_default();
            if !text.contains(".send()") {
                continue;
            }
            for op in operations(text) {
                found.insert((rel.clone(), op));
            }
        }
        let listed: BTreeSet<(String, String)> = NEEDS
            .iter()
            .filter(|n| !n.op.is_empty())
            .map(|n| (n.site.to_string(), n.op.to_string()))
            .collect();
        let missing: Vec<_> = found.difference(&listed).collect();
        let stale: Vec<_> = listed.difference(&found).collect();
        assert!(
            missing.is_empty(),
            "SDK calls without their IAM action in commands::policy::needs: {missing:?}"
        );
        assert!(
            stale.is_empty(),
            "rows whose call is no longer in the source: {stale:?}"
        );
    }

    #[test]
    fn actions_are_service_colon_operation() {
        let re = regex::Regex::new(r"^[a-z-]+:[A-Za-z]+$").unwrap();
        for n in NEEDS {
            assert!(re.is_match(n.action), "{}", n.action);
            assert!(!n.groups.is_empty(), "{} has no group", n.action);
        }
    }
}
