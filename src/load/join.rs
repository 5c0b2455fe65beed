//! Joining a run with Lambda's own figures ([`super::lambda_figures`]): what the join needs (the
//! function's log group, its prices, the generator's when `--workers` run), and reading the log
//! after a run. A failed read never fails the test: the run's result says why the figures are
//! missing instead.

use anyhow::Result;
use lab_load::runner::Measured;
use lab_load::Via;

use super::function_log;
use super::lambda_figures::{self, LambdaFigures};
use super::worker::Fleet;
use crate::arch::Arch;
use crate::tune::pricing::Pricing;

/// What joining a run with the function's REPORT lines needs.
pub(crate) struct LambdaJoin {
    /// CloudWatch Logs (the local stack's logs locally).
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    /// The function under test.
    pub(crate) function: String,
    /// Its prices (region and instruction set).
    pub(crate) pricing: Pricing,
    /// The region, for the generator's prices.
    pub(crate) region: String,
    /// How requests reach the function.
    pub(crate) via: Via,
}

/// Lines logged this long after a run's last answer still belong to it (a request that timed out
/// on the client can end on Lambda later).
const AFTER_MS: i64 = 1_000;

impl LambdaJoin {
    /// The join for `function` in `region`, priced for `arch`.
    pub(crate) fn new(
        logs: aws_sdk_cloudwatchlogs::Client,
        function: &str,
        region: &str,
        arch: Arch,
        via: Via,
    ) -> LambdaJoin {
        LambdaJoin {
            logs,
            function: function.to_string(),
            pricing: Pricing::for_region(region, arch),
            region: region.to_string(),
            via,
        }
    }

    /// Lambda's figures for `measured` (made by this process, or by the `workers`), or why there
    /// are none.
    pub(crate) async fn figures(
        &self,
        measured: &Measured,
        workers: Option<&Fleet>,
    ) -> Result<LambdaFigures> {
        let start = measured.started_epoch_ms;
        let end = start as i64 + measured.elapsed.as_millis() as i64 + AFTER_MS;
        let group = format!("/aws/lambda/{}", self.function);
        match workers {
            None if self.via == Via::Lambda => Ok(lambda_figures::from_tails(
                &measured.requests,
                &self.pricing,
            )),
            None => {
                let mut ends: Vec<i64> = measured
                    .requests
                    .iter()
                    .map(|r| start as i64 + (r.done_us / 1000) as i64)
                    .collect();
                ends.sort_unstable();
                let expected = measured.requests.iter().filter(|r| r.reached_function).count();
                let logged = function_log::reports(
                    &self.logs,
                    &group,
                    (start.floor() as i64, end),
                    &ends,
                    expected,
                )
                .await?;
                Ok(lambda_figures::from_log(
                    &measured.requests,
                    &logged,
                    start,
                    &self.pricing,
                ))
            }
            Some(fleet) => {
                let expected = measured.recorder.reached_function() as usize;
                let window = (start.floor() as i64, end);
                let logged =
                    function_log::reports(&self.logs, &group, window, &[], expected).await?;
                let mut figures =
                    lambda_figures::from_totals(expected as u64, &logged, &self.pricing);
                let generator_group = format!("/aws/lambda/{}", fleet.function());
                let workers = function_log::reports(
                    &self.logs,
                    &generator_group,
                    (window.0 - WORKER_LEAD_MS, window.1 + WORKER_TAIL_MS),
                    &[],
                    fleet.count() as usize,
                )
                .await?;
                let pricing = Pricing::for_region(&self.region, fleet.arch());
                figures.generator_cost = Some(lambda_figures::cost_of(&workers, &pricing));
                Ok(figures)
            }
        }
    }
}

/// A worker starts before the run's clock (it waits for the common start) and ends after it:
/// its REPORT line is stamped up to this long either side.
const WORKER_LEAD_MS: i64 = 30_000;
const WORKER_TAIL_MS: i64 = 30_000;
