//! What a verb did to each resource (`up` and `down`'s [`Change`]s, timed by a [`Step`]) and what
//! `status` reads of it ([`ResourceStatus`]).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::names::STACK_TAG;

/// What a verb did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    /// Made by this run.
    Created,
    /// Existed and was repaired.
    Updated,
    /// Existed as desired.
    Unchanged,
    /// Removed by this run.
    Deleted,
    /// Not there (nothing to remove).
    Absent,
    /// Left in place: not this stack's, or its ownership could not be read.
    Kept,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::Deleted => "deleted",
            Action::Absent => "absent",
            Action::Kept => "kept",
        };
        f.write_str(s)
    }
}

/// One line of `up` or `down`'s report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Change {
    /// The kind of resource (`table`, `role`, ...).
    pub(crate) resource: &'static str,
    /// Its name.
    pub(crate) name: String,
    /// What happened to it.
    pub(crate) action: Action,
    /// ARN or id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// What was repaired or why something was kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) details: Vec<String>,
    /// How long its step took.
    pub(crate) seconds: f64,
}

impl Change {
    /// A change with no details, timed from `started`.
    pub(crate) fn new(
        resource: &'static str,
        name: &str,
        action: Action,
        id: Option<String>,
        started: Instant,
    ) -> Self {
        Self {
            resource,
            name: name.to_string(),
            action,
            id,
            details: Vec::new(),
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// Adds what was repaired; an otherwise unchanged resource becomes `updated`.
    pub(crate) fn with_details(mut self, details: Vec<String>) -> Self {
        if !details.is_empty() && self.action == Action::Unchanged {
            self.action = Action::Updated;
        }
        self.details = details;
        self
    }
}

/// One resource's part in `up` or `down`: which resource, timed from its start, so that every way
/// it can end gives a [`Change`] with the same name and an honest duration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step<'a> {
    resource: &'static str,
    name: &'a str,
    started: Instant,
}

impl<'a> Step<'a> {
    /// Starts timing `resource` `name`.
    pub(crate) fn start(resource: &'static str, name: &'a str) -> Self {
        Step {
            resource,
            name,
            started: Instant::now(),
        }
    }

    /// How the step ended, with the resource's ARN or id when known.
    pub(crate) fn done(&self, action: Action, id: Option<String>) -> Change {
        Change::new(self.resource, self.name, action, id, self.started)
    }

    /// How a `destroy` ended, from the delete's answer: gone, now or already, is `Deleted`.
    pub(crate) fn deleted<T, E>(
        &self,
        action: &'static str,
        answer: crate::aws::SdkResult<T, E>,
        arn: String,
    ) -> anyhow::Result<Change>
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        crate::aws::ignore_not_found(action, answer)?;
        Ok(self.done(Action::Deleted, Some(arn)))
    }
}

/// One resource's line in `status`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ResourceStatus {
    /// The kind of resource.
    pub(crate) resource: &'static str,
    /// Its name.
    pub(crate) name: String,
    /// Whether it exists.
    pub(crate) exists: bool,
    /// ARN or id, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// Key configuration, as read back.
    pub(crate) config: BTreeMap<String, String>,
    /// Differences from what `up` would converge to.
    pub(crate) drift: Vec<String>,
}

impl ResourceStatus {
    /// A resource that was not found.
    pub(crate) fn absent(resource: &'static str, name: &str) -> Self {
        Self {
            resource,
            name: name.to_string(),
            exists: false,
            id: None,
            config: BTreeMap::new(),
            drift: vec!["missing".into()],
        }
    }

    /// A resource that was found.
    pub(crate) fn present(resource: &'static str, name: &str, id: Option<String>) -> Self {
        Self {
            resource,
            name: name.to_string(),
            exists: true,
            id,
            config: BTreeMap::new(),
            drift: Vec::new(),
        }
    }

    /// Records, as drift, that the resource lacks this stack's tag.
    pub(crate) fn note_untagged(&mut self, owned: bool) {
        if !owned {
            self.drift.push(format!("not tagged {STACK_TAG}"));
        }
    }

    /// Adds one configuration entry.
    pub(crate) fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.config.insert(key.to_string(), value.to_string());
        self
    }
}
