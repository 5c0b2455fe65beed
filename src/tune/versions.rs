//! The versions and aliases a run measures through, made and removed as aws-lambda-power-tuning's
//! initializer, publisher and cleaner do: for each size, `$LATEST` is set to it, the update is
//! waited out, a version is published and an alias points at it; `$LATEST` goes back to its own
//! settings before anything is measured; afterwards the aliases and versions go.
//!
//! Aliases are named `lab-tune-<MB>` (`lab-tune-<MB>-<i>` with `--only-cold-starts`), not the
//! tool's `RAM<MB>`: a name in lab's own namespace never takes over an alias the tool or the user
//! made, and anything left under it (after a SIGKILL) is recognisably lab's.
//!
//! Every version this run publishes carries the run's mark in its own description (`lab tune <run>
//! <MB> MB ...`, given to PublishVersion; `$LATEST`'s description is left alone). The mark is what
//! cleanup goes by: it lists the function's versions and deletes those with the mark, and the aliases
//! the run pointed (plus any `lab-tune-*` alias at a marked version). That also finds a version whose
//! PublishVersion answer never arrived (an interrupt mid-call), and never touches a version someone
//! else published: when `$LATEST` did not change since the owner's last version, Lambda answers with
//! that version, which the alias then uses and cleanup leaves.
//!
//! With `--only-cold-starts` each invocation needs a version of its own at the same memory, so, as
//! the tool does, `$LATEST`'s description changes before each publish (Lambda publishes nothing new
//! for an unchanged `$LATEST`) and is put back with the memory.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Result};
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::control::{LatestSettings, VersionControl};

/// The prefix of every alias lab makes.
pub(crate) const ALIAS_PREFIX: &str = "lab-tune-";
/// Deletions in flight at once: Lambda's control plane throttles bursts.
const DELETE_CONCURRENCY: usize = 4;

/// The alias for invocation `index` at `memory_mb` (`None` when one alias serves every invocation).
pub(crate) fn alias_name(memory_mb: u32, index: Option<usize>) -> String {
    match index {
        Some(i) => format!("{ALIAS_PREFIX}{memory_mb}-{i}"),
        None => format!("{ALIAS_PREFIX}{memory_mb}"),
    }
}

/// One alias the run made and the version behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// The memory size it runs at.
    pub(crate) memory_mb: u32,
    /// The alias.
    pub alias: String,
    /// The version number.
    pub version: String,
    /// Whether this run published it (else Lambda answered with an existing version, left alone).
    pub ours: bool,
}

/// What became of the run's versions and aliases.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cleanup {
    /// Every alias published, with its version.
    pub published: Vec<Published>,
    /// Kept by --keep-versions.
    pub kept: bool,
    /// Aliases deleted.
    pub removed_aliases: Vec<String>,
    /// Versions deleted.
    pub removed_versions: Vec<String>,
    /// Whether `$LATEST` had to be put back (it had been changed and not yet restored).
    pub latest_restored: bool,
}

impl Cleanup {
    /// One line for the terminal and for error messages.
    pub(crate) fn summary(&self, original: &LatestSettings) -> String {
        let latest = format!("$LATEST at {} MB", original.memory_mb);
        if self.kept {
            return format!(
                "{latest}; kept {} aliases (--keep-versions)",
                self.published.len()
            );
        }
        format!(
            "{latest}; removed {} aliases and {} versions",
            self.removed_aliases.len(),
            self.removed_versions.len()
        )
    }
}

/// One run's versions and aliases on one function.
pub(crate) struct Session {
    target: Arc<dyn VersionControl>,
    /// `$LATEST`'s settings before the run.
    pub(crate) original: LatestSettings,
    mark: String,
    published: Mutex<Vec<Published>>,
    /// `$LATEST`'s settings as this run last left them (an update is skipped when they match).
    current: Mutex<LatestSettings>,
}

impl Session {
    /// A session on `target`, whose `$LATEST` is `original` now.
    pub(crate) fn new(target: Arc<dyn VersionControl>, original: LatestSettings) -> Self {
        let run: u32 = rand::random();
        Self {
            target,
            mark: format!("lab tune {run:08x}"),
            published: Mutex::new(Vec::new()),
            current: Mutex::new(original.clone()),
            original,
        }
    }

    /// The aliases published so far.
    pub(crate) fn published(&self) -> Vec<Published> {
        self.published.lock().expect("published lock").clone()
    }

    /// Publishes a version at `memory_mb` for each alias in `aliases` and points the alias at it.
    /// `$LATEST` is updated only when it is not at that memory already.
    pub(crate) async fn publish(&self, memory_mb: u32, aliases: &[String]) -> Result<()> {
        for alias in aliases {
            let mark = format!("{} {memory_mb} MB {alias}", self.mark);
            let mut wanted = LatestSettings {
                memory_mb,
                description: self.original.description.clone(),
            };
            if aliases.len() > 1 {
                wanted.description = mark.clone();
            }
            let current = self.current.lock().expect("current lock").clone();
            if current != wanted {
                // Marked as changed before the call: an interrupt mid-update must still restore.
                *self.current.lock().expect("current lock") = wanted.clone();
                self.target.configure(&wanted).await?;
            }
            let version = self.target.publish(&mark).await?;
            if version.memory_mb != memory_mb {
                bail!(
                    "PublishVersion answered version {} at {} MB, not a version at {memory_mb} MB",
                    version.version,
                    version.memory_mb
                );
            }
            self.target.put_alias(alias, &version.version).await?;
            self.published.lock().expect("published lock").push(Published {
                memory_mb,
                alias: alias.clone(),
                ours: version.description == mark,
                version: version.version,
            });
        }
        Ok(())
    }

    /// Puts `$LATEST`'s memory and description back if they differ, and waits until the update is
    /// `Successful` (until then Lambda still runs the test size). Returns whether it changed them.
    pub(crate) async fn restore_latest(&self) -> Result<bool> {
        if self.target.latest().await? == self.original {
            return Ok(false);
        }
        self.target.configure(&self.original).await?;
        *self.current.lock().expect("current lock") = self.original.clone();
        Ok(true)
    }

    /// Restores `$LATEST`, then (unless `keep`) deletes the aliases and versions of this run, and
    /// checks none is left. Goes on past a failure and reports every one at the end.
    pub(crate) async fn cleanup(&self, keep: bool) -> Result<Cleanup> {
        let mut failures = Vec::new();
        let mut report = Cleanup {
            published: self.published(),
            kept: keep,
            ..Cleanup::default()
        };
        match self.restore_latest().await {
            Ok(changed) => report.latest_restored = changed,
            Err(e) => failures.push(format!("restoring $LATEST: {e:#}")),
        }
        if !keep {
            if let Err(e) = self.remove(&mut report).await {
                failures.push(format!("{e:#}"));
            }
        }
        if failures.is_empty() {
            Ok(report)
        } else {
            bail!("cleaning up failed: {}", failures.join("; "))
        }
    }

    /// This run's versions (by their mark), and the aliases it pointed or that are lab's and point at
    /// one of them (an alias whose CreateAlias answer never arrived).
    async fn ours(&self) -> Result<(Vec<String>, Vec<String>)> {
        let pointed: HashSet<String> = self.published().into_iter().map(|p| p.alias).collect();
        let versions: HashSet<String> = self
            .target
            .versions()
            .await?
            .into_iter()
            .filter(|v| v.description.starts_with(&self.mark))
            .map(|v| v.version)
            .collect();
        let aliases = self
            .target
            .aliases()
            .await?
            .into_iter()
            .filter(|a| {
                pointed.contains(&a.name)
                    || (a.name.starts_with(ALIAS_PREFIX) && versions.contains(&a.version))
            })
            .map(|a| a.name)
            .collect();
        let mut versions: Vec<String> = versions.into_iter().collect();
        versions.sort_by_key(|v| v.parse::<u64>().unwrap_or(u64::MAX));
        Ok((aliases, versions))
    }

    async fn remove(&self, report: &mut Cleanup) -> Result<()> {
        let (aliases, versions) = self.ours().await?;
        // Aliases first: Lambda refuses to delete a version an alias points at.
        let target = &self.target;
        let errors = delete_each(&aliases, |a| target.delete_alias(a)).await;
        if !errors.is_empty() {
            bail!("deleting aliases: {}", errors.join("; "));
        }
        let errors = delete_each(&versions, |v| target.delete_version(v)).await;
        if !errors.is_empty() {
            bail!("deleting versions: {}", errors.join("; "));
        }
        let (left_aliases, left_versions) = self.ours().await?;
        if !left_aliases.is_empty() || !left_versions.is_empty() {
            bail!(
                "still there after deleting: aliases {left_aliases:?}, versions {left_versions:?}"
            );
        }
        report.removed_aliases = aliases;
        report.removed_versions = versions;
        Ok(())
    }
}

/// Runs `delete` on every item, [`DELETE_CONCURRENCY`] at a time, and returns the errors.
async fn delete_each<'a, F, Fut>(items: &'a [String], delete: F) -> Vec<String>
where
    F: Fn(&'a str) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    stream::iter(items)
        .map(|item| delete(item))
        .buffer_unordered(DELETE_CONCURRENCY)
        .filter_map(|r| async move { r.err().map(|e| format!("{e:#}")) })
        .collect()
        .await
}
