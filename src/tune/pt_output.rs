//! aws-lambda-power-tuning's output document and visualization link, computed as its analyzer
//! computes them, so tools written for the power-tuning tool read `lab tune -o json` unchanged.
//!
//! The document: `power` (the size the tool would pick: its strategy on its own cost), `cost` (its
//! `averagePrice`), `duration` (its `averageDuration`), `stateMachine` (`executionCost`: 0, lab runs
//! no Step Functions; `lambdaCost`: the sum of every size's `totalCost`; `visualization`), and
//! `stats` (`value`, `averagePrice`, `averageDuration` per size) when `includeOutputResults` asks.

use base64::Engine;
use serde::Serialize;

use super::power::{candidates, PowerResult};
use super::pricing::is_china;
use super::strategy::{self, CostModel, Strategy};

/// The tool's visualization page; the figures travel in the URL's fragment, never to its server.
pub(crate) const VISUALIZATION_URL: &str = "https://lambda-power-tuning.show/";

/// The power-tuning tool's output, with its field names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PtOutput {
    /// The optimal memory size.
    pub(crate) power: u32,
    /// Its average cost per invocation (PT's model).
    pub(crate) cost: f64,
    /// Its average duration (ms).
    pub(crate) duration: f64,
    /// What the run cost, and the visualization link.
    #[serde(rename = "stateMachine")]
    pub(crate) state_machine: PtStateMachine,
    /// Every size's averages, with `includeOutputResults`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stats: Option<Vec<PtStat>>,
}

/// `stateMachine` of the tool's output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PtStateMachine {
    /// Step Functions' charge: none, lab runs no state machine.
    #[serde(rename = "executionCost")]
    pub(crate) execution_cost: f64,
    /// Every invocation of the run, PT's model.
    #[serde(rename = "lambdaCost")]
    pub(crate) lambda_cost: f64,
    /// The lambda-power-tuning.show link with the sizes, durations and costs encoded.
    pub(crate) visualization: String,
}

/// One size in `stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PtStat {
    /// Memory size in MB.
    pub(crate) value: u32,
    /// Average cost per invocation (PT's model).
    #[serde(rename = "averagePrice")]
    pub(crate) average_price: f64,
    /// Average duration (ms).
    #[serde(rename = "averageDuration")]
    pub(crate) average_duration: f64,
}

/// The tool's document for `powers` (sizes without statistics are left out, as the tool leaves out
/// a size whose average duration is missing). `None` when no size has statistics.
pub(crate) fn document(
    powers: &[PowerResult],
    strategy: Strategy,
    weight: f64,
    include_stats: bool,
    region: &str,
) -> Option<PtOutput> {
    let candidates = candidates(powers, CostModel::Pt);
    let plain: Vec<_> = candidates.iter().map(|(_, c)| *c).collect();
    let best = plain[strategy::pick(strategy, &plain, weight)?];
    let points: Vec<(u32, f64, f64)> =
        plain.iter().map(|c| (c.memory_mb, c.duration_ms, c.cost)).collect();
    Some(PtOutput {
        power: best.memory_mb,
        cost: best.cost,
        duration: best.duration_ms,
        state_machine: PtStateMachine {
            execution_cost: 0.0,
            lambda_cost: powers.iter().map(|p| p.pt_total_cost).sum(),
            visualization: visualization_url(&points, region),
        },
        stats: include_stats.then(|| {
            points
                .iter()
                .map(|&(value, average_duration, average_price)| PtStat {
                    value,
                    average_price,
                    average_duration,
                })
                .collect()
        }),
    })
}

/// The tool's link: sizes as little-endian 16-bit integers, durations and costs as little-endian
/// 32-bit floats, each base64-encoded, joined by `;` in the fragment, sorted by size; the China
/// regions add `?currency=CNY`.
pub(crate) fn visualization_url(points: &[(u32, f64, f64)], region: &str) -> String {
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|p| p.0);
    let b64 = |bytes: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
    let sizes = b64(sorted.iter().flat_map(|p| (p.0 as i16).to_le_bytes()).collect());
    let times = b64(sorted.iter().flat_map(|p| (p.1 as f32).to_le_bytes()).collect());
    let costs = b64(sorted.iter().flat_map(|p| (p.2 as f32).to_le_bytes()).collect());
    let currency = if is_china(region) {
        "?currency=CNY"
    } else {
        ""
    };
    format!("{VISUALIZATION_URL}{currency}#{sizes};{times};{costs}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_readme_example_link_round_trips() {
        // The example link in the tool's README: six sizes, their durations and costs.
        let example =
            "gAAAAQACAAQABsAL;ZooQR4yvkUa/pQRGRC5zRaADHUVjOftE;QdWhOEMkoziDT5Q4xhiIOMYYiDi6RNc4";
        let parts: Vec<Vec<u8>> = example
            .split(';')
            .map(|p| base64::engine::general_purpose::STANDARD.decode(p).unwrap())
            .collect();
        let sizes: Vec<u32> =
            parts[0].chunks(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as u32).collect();
        assert_eq!(sizes, [128, 256, 512, 1024, 1536, 3008]);
        let floats = |bytes: &[u8]| -> Vec<f64> {
            bytes
                .chunks(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect()
        };
        let (times, costs) = (floats(&parts[1]), floats(&parts[2]));
        assert_eq!((times.len(), costs.len()), (6, 6));
        // Given in any order, the same figures give the same link.
        let mut points: Vec<(u32, f64, f64)> =
            (0..6).map(|i| (sizes[i], times[i], costs[i])).collect();
        points.reverse();
        assert_eq!(
            visualization_url(&points, "eu-west-1"),
            format!("https://lambda-power-tuning.show/#{example}")
        );
        assert!(visualization_url(&points, "cn-north-1")
            .starts_with("https://lambda-power-tuning.show/?currency=CNY#gAAAAQAC"));
    }
}
