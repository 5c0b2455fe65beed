//! A finished run judged: statistics per size, the winner, `--auto-optimize`, the result.

use anyhow::{anyhow, Context, Result};

use super::auto::AutoReport;
use super::config::TuneConfig;
use super::power::{self, PowerOutcome, PowerResult};
use super::pricing::Pricing;
use super::result::{Plan, Timings, TuneResult, Winner};
use super::versions::Cleanup;
use crate::arch::Arch;
use crate::control::{LatestSettings, VersionControl};

/// What went wrong with the sizes that have no statistics, as one error.
fn all_failed(what: &str, powers: &[PowerResult]) -> anyhow::Error {
    let reasons: Vec<String> = powers
        .iter()
        .filter_map(|p| Some(format!("{} MB: {}", p.memory_mb, p.failure()?)))
        .collect();
    anyhow!("{what}: {}", reasons.join("; "))
}

/// What judging a finished run needs.
pub(crate) struct Finished<'a> {
    /// The run's settings.
    pub(crate) cfg: &'a TuneConfig,
    /// The function.
    pub(crate) target: &'a dyn VersionControl,
    /// Its region (prices, the visualization's currency).
    pub(crate) region: &'a str,
    /// Its prices.
    pub(crate) pricing: Pricing,
    /// Its architecture.
    pub(crate) architecture: Arch,
    /// `$LATEST` before the run.
    pub(crate) original: LatestSettings,
    /// The account's concurrency the invocations were paced by.
    pub(crate) concurrency_limit: Option<u32>,
}

impl Finished<'_> {
    /// Statistics per size, the winner (none in a dry run, which analyses nothing), the winner
    /// applied with `--auto-optimize`, and the whole result.
    pub(crate) async fn judge(
        &self,
        outcomes: &[PowerOutcome],
        versions: Cleanup,
        timings: Timings,
        auto: Option<AutoReport>,
    ) -> Result<TuneResult> {
        let cfg = self.cfg;
        let metric = cfg.metric;
        let mut powers: Vec<_> = outcomes
            .iter()
            .map(|o| o.to_result(&self.pricing, cfg.discard, metric))
            .collect();
        let analysed = !cfg.dry_run;
        let judged = if analysed {
            let model = cfg.cost_model;
            let j = power::judge(&mut powers, cfg.strategy, cfg.balanced_weight, model);
            Some(j.ok_or_else(|| all_failed("every memory size failed", &powers))?)
        } else if powers.iter().any(|p| p.stats.is_none()) {
            return Err(all_failed("dry run failed", &powers));
        } else {
            None
        };
        let (restored, optimized_alias) = match &judged {
            Some(j) if cfg.auto_optimize => self.apply(powers[j.winner].memory_mb).await?,
            _ => (self.original.memory_mb, None),
        };
        let include = cfg.include_output_results;
        let (strategy, weight) = (cfg.strategy, cfg.balanced_weight);
        let results = analysed
            .then(|| super::pt_output::document(&powers, strategy, weight, include, self.region))
            .flatten();
        let winner = judged.map(|j| Winner::of(&powers, &j, cfg));
        Ok(TuneResult {
            results,
            function: self.target.name().to_string(),
            region: self.region.to_string(),
            architecture: self.architecture,
            pricing: self.pricing,
            plan: Plan::of(cfg, self.original.memory_mb),
            winner,
            cost_model: cfg.cost_model,
            tuning_cost: powers.iter().map(|p| p.total_cost).sum(),
            invocations: outcomes
                .iter()
                .map(|o| (o.samples.len() + o.failed_reports.len()) as u64)
                .sum(),
            original_memory_mb: Some(self.original.memory_mb),
            restored_memory_mb: Some(restored),
            versions,
            optimized_alias,
            timings,
            concurrency_limit: self.concurrency_limit,
            confidence_method: super::confidence::METHOD,
            auto,
            host_cpu: None,
            build_note: None,
            arches: Vec::new(),
            arch_comparisons: Vec::new(),
            powers,
        })
    }

    /// `--auto-optimize`: `$LATEST` at the winner; or, with an alias, a version at the winner
    /// behind that alias and `$LATEST` as it was (the tool leaves `$LATEST` at the winner then too;
    /// its README promises only the alias).
    async fn apply(&self, memory_mb: u32) -> Result<(u32, Option<(String, String)>)> {
        let at_winner = LatestSettings {
            memory_mb,
            description: self.original.description.clone(),
        };
        if at_winner != self.original {
            self.target
                .configure(&at_winner)
                .await
                .context("setting the winning memory size")?;
        }
        let Some(alias) = &self.cfg.auto_optimize_alias else {
            return Ok((memory_mb, None));
        };
        let published = async {
            let description = format!(
                "lab tune: {memory_mb} MB, best for {}",
                self.cfg.strategy.as_str()
            );
            let version = self.target.publish(&description).await?;
            self.target.put_alias(alias, &version.version).await?;
            Ok::<_, anyhow::Error>(version.version)
        }
        .await;
        if at_winner != self.original {
            self.target
                .configure(&self.original)
                .await
                .context("restoring $LATEST after publishing the winner")?;
        }
        let version = published.with_context(|| format!("pointing {alias} at the winner"))?;
        Ok((self.original.memory_mb, Some((alias.clone(), version))))
    }
}
