//! The DynamoDB table: partition key `id` (string), on-demand capacity.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TableDescription, TableStatus, Tag,
};

use super::{Action, Change, ResourceStatus, Stack, Step};
use crate::aws::ctx;

const RESOURCE: &str = "table";

struct Observed {
    arn: String,
    status: String,
    key: String,
    billing: String,
    /// `None` while the table is not ACTIVE: DynamoDB answers ListTagsOfResource with
    /// ResourceNotFoundException until then, so ownership cannot be known yet.
    owned: Option<bool>,
}

/// DescribeTable: the only call that answers for a table in every state.
async fn describe_table(stack: &Stack) -> anyhow::Result<Option<TableDescription>> {
    let answer = stack
        .clients
        .dynamodb
        .describe_table()
        .table_name(&stack.names.table)
        .send()
        .await;
    Ok(crate::aws::found("dynamodb:DescribeTable", answer)?.and_then(|out| out.table))
}

/// Reads the table. With `settle`, a table in transition is waited out first (CREATING or
/// UPDATING until ACTIVE, DELETING until gone), so the answer is one `up` and `down` can act on.
async fn observe(stack: &Stack, settle: bool) -> anyhow::Result<Option<Observed>> {
    let Some(mut table) = describe_table(stack).await? else {
        return Ok(None);
    };
    if settle {
        match table.table_status() {
            Some(TableStatus::Deleting) => {
                wait_gone(stack).await?;
                return Ok(None);
            }
            Some(TableStatus::Active) | None => {}
            Some(_) => {
                wait_active(stack).await?;
                let Some(now) = describe_table(stack).await? else {
                    return Ok(None);
                };
                table = now;
            }
        }
    }
    let arn = table.table_arn().unwrap_or_default().to_string();
    let key = table
        .key_schema()
        .iter()
        .map(|k| {
            let ty = table
                .attribute_definitions()
                .iter()
                .find(|d| d.attribute_name() == k.attribute_name())
                .map(|d| d.attribute_type().as_str().to_string())
                .unwrap_or_default();
            format!("{}:{} ({})", k.attribute_name(), ty, k.key_type().as_str())
        })
        .collect::<Vec<_>>()
        .join(", ");
    let active = matches!(table.table_status(), Some(TableStatus::Active) | None);
    let owned = if active {
        Some(owned_by_tags(stack, &arn).await?)
    } else {
        None
    };
    Ok(Some(Observed {
        status: table.table_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        billing: table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str().to_string())
            .unwrap_or_else(|| "PROVISIONED".into()),
        owned,
        key,
        arn,
    }))
}

/// How long an empty tag set is read again: DynamoDB's tagging is eventually consistent
/// (TagResource: "ListTagsOfResource ... might return ... an empty tag set. Wait for a few seconds";
/// hashicorp/terraform-provider-aws#39326), so a table just made or tagged may show none.
const TAGS_SETTLE: Duration = Duration::from_secs(15);

/// Whether the table carries this stack's tag. An empty tag set is read again for up to
/// [`TAGS_SETTLE`] before it counts: lab's own table, tagged a moment ago, is not refused.
async fn owned_by_tags(stack: &Stack, arn: &str) -> anyhow::Result<bool> {
    let deadline = Instant::now() + TAGS_SETTLE;
    let mut backoff = crate::aws::Backoff::new();
    loop {
        let tags = stack
            .clients
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(ctx("dynamodb:ListTagsOfResource"))?;
        if !tags.tags().is_empty() || Instant::now() + backoff.peek() > deadline {
            return Ok(stack.owns(tags.tags().iter().map(|t| (t.key(), t.value()))));
        }
        backoff.wait().await;
    }
}

const DESIRED_KEY: &str = "id:S (HASH)";

/// Creates the table and waits until it is ACTIVE. A wrong key schema is an error: fixing it would
/// mean deleting the data, which `up` never does.
pub(crate) async fn ensure(stack: &Stack) -> anyhow::Result<Change> {
    let ddb = &stack.clients.dynamodb;
    let name = &stack.names.table;
    let step = Step::start(RESOURCE, name);
    let action = match observe(stack, true).await? {
        Some(observed) => {
            stack.check_owned(RESOURCE, name, observed.owned.unwrap_or(false))?;
            if observed.key != DESIRED_KEY {
                anyhow::bail!(
                    "table {name} has key schema {} but the handler needs {DESIRED_KEY}; delete the table (lab down) or use another --stack",
                    observed.key
                );
            }
            Action::Unchanged
        }
        None => {
            let tags = stack.tag_list(|k, v| Tag::builder().key(k).value(v).build())?;
            let out = ddb
                .create_table()
                .table_name(name)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("id")
                        .attribute_type(ScalarAttributeType::S)
                        .build()?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("id")
                        .key_type(KeyType::Hash)
                        .build()?,
                )
                .billing_mode(BillingMode::PayPerRequest)
                .set_tags(Some(tags))
                .send()
                .await;
            crate::aws::tolerate("dynamodb:CreateTable", &["ResourceInUseException"], out)?;
            Action::Created
        }
    };
    wait_active(stack).await?;
    Ok(step.done(action, Some(stack.table_arn())))
}

async fn wait_active(stack: &Stack) -> anyhow::Result<()> {
    poll_table(stack, "did not become ACTIVE within 5 minutes", |table| {
        let Some(table) = table else {
            anyhow::bail!(
                "table {} disappeared while lab waited for it to become ACTIVE; run the command again",
                stack.names.table
            );
        };
        Ok(table.table_status() == Some(&TableStatus::Active))
    })
    .await
}

/// Waits until the table is gone.
async fn wait_gone(stack: &Stack) -> anyhow::Result<()> {
    poll_table(
        stack,
        "is still being deleted after 5 minutes; run lab down again later",
        |table| Ok(table.is_none()),
    )
    .await
}

/// Polls DescribeTable (never the tags, which a table in transition does not answer) until `done`
/// says so, for at most 5 minutes; `late` ends the error message past that.
async fn poll_table(
    stack: &Stack,
    late: &str,
    done: impl Fn(Option<&TableDescription>) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut backoff = crate::aws::Backoff::new();
    while !done(describe_table(stack).await?.as_ref())? {
        if Instant::now() > deadline {
            anyhow::bail!("table {} {late}", stack.names.table);
        }
        backoff.wait().await;
    }
    Ok(())
}

/// Existence, ARN, key schema, billing mode, status.
pub(crate) async fn describe(stack: &Stack) -> anyhow::Result<ResourceStatus> {
    let name = &stack.names.table;
    Ok(match observe(stack, false).await? {
        None => ResourceStatus::absent(RESOURCE, name),
        Some(o) => {
            let mut status = ResourceStatus::present(RESOURCE, name, Some(o.arn.clone()))
                .with("key", &o.key)
                .with("billing", &o.billing)
                .with("status", &o.status);
            if o.key != DESIRED_KEY {
                status.drift.push(format!("key schema is {}, expected {DESIRED_KEY}", o.key));
            }
            match o.owned {
                Some(owned) => status.note_untagged(owned),
                None => status.drift.push(format!(
                    "tags unreadable while the table is {} (DynamoDB answers them only for ACTIVE tables)",
                    o.status
                )),
            }
            status
        }
    })
}

/// Deletes the table (with its data) and waits until it is gone.
pub(crate) async fn destroy(stack: &Stack) -> anyhow::Result<Change> {
    let name = &stack.names.table;
    let step = Step::start(RESOURCE, name);
    let observed = match stack.deletable(&step, observe(stack, true).await?, |o| o.owned) {
        ControlFlow::Continue(found) => found,
        ControlFlow::Break(done) => return Ok(done),
    };
    let ddb = &stack.clients.dynamodb;
    crate::aws::ignore_not_found(
        "dynamodb:DeleteTable",
        ddb.delete_table().table_name(name).send().await,
    )?;
    wait_gone(stack).await?;
    Ok(step.done(Action::Deleted, Some(observed.arn)))
}
