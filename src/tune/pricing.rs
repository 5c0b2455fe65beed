//! Lambda on-demand prices, in two models.
//!
//! - **PT's** (aws-lambda-power-tuning's, the default for choosing): a price per millisecond at
//!   128 MB by architecture and region (x86_64 2.1e-9 by default, arm64 1.7e-9, a few regions more,
//!   China in CNY), times the memory over 128 MB, times the average billed duration rounded up to the
//!   millisecond; no request charge.
//! - **lab's full cost**: AWS's published prices (first tier): x86_64 $0.0000166667 and arm64
//!   $0.0000133334 per GB-second, PT's regional x86_64 figures converted ($/ms at 128 MB x 1000 ms x
//!   8 = $/GB-second), times the exact average billed duration, plus the request charge ($0.20 per
//!   million; CNY 1.36 in China): at 128 MB and a few milliseconds the request is most of the bill.
//!
//! China's regions are priced in CNY (PT's table has their x86_64 figure and nothing for arm64, for
//! which it applies its default; lab does the same so both columns agree on the currency's caveat).

use serde::Serialize;

use crate::arch::Arch;
use crate::report::format;

/// Compute price per GB-second, x86_64, outside the regions listed in [`X86_REGIONAL_PER_MS_128`].
pub(crate) const X86_64_GB_SECOND: f64 = 0.000_016_666_7;
/// Compute price per GB-second, arm64 (Graviton).
pub(crate) const ARM64_GB_SECOND: f64 = 0.000_013_333_4;
/// Price per request: $0.20 per million.
pub(crate) const REQUEST: f64 = 0.20 / 1_000_000.0;

/// x86_64 regions priced differently from the default, per millisecond at 128 MB
/// (aws-lambda-power-tuning's table; the default there is 2.1e-9, i.e. $0.0000166667 rounded).
/// The China regions' figure is in CNY.
pub(crate) const X86_REGIONAL_PER_MS_128: &[(&str, f64)] = &[
    ("ap-east-1", 2.9e-9),
    ("af-south-1", 2.8e-9),
    ("ap-northeast-3", 2.7e-9),
    ("me-south-1", 2.6e-9),
    ("eu-south-1", 2.4e-9),
    ("cn-north-1", 0.000_000_014_2),
    ("cn-northwest-1", 0.000_000_014_2),
];
/// PT's default x86_64 price per millisecond at 128 MB.
pub(crate) const PT_X86_DEFAULT_PER_MS_128: f64 = 2.1e-9;
/// PT's arm64 price per millisecond at 128 MB (every region).
pub(crate) const PT_ARM64_PER_MS_128: f64 = 1.7e-9;
/// The request charge in the China regions: CNY 1.36 per million.
pub(crate) const REQUEST_CNY: f64 = 1.36 / 1_000_000.0;

/// Whether a region is one of AWS's China regions (priced in CNY).
pub(crate) fn is_china(region: &str) -> bool {
    region.starts_with("cn-")
}

/// The prices that apply to one function.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pricing {
    /// Price per GB-second of billed duration (lab's full model).
    pub(crate) gb_second: f64,
    /// Price per request (lab's full model).
    pub(crate) request: f64,
    /// PT's price per millisecond at 128 MB.
    pub(crate) pt_per_ms_128: f64,
    /// `USD`, or `CNY` in the China regions.
    pub currency: &'static str,
}

/// The cost of one invocation, in dollars, split into its two charges.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cost {
    /// Billed duration x memory x price per GB-second.
    pub compute: f64,
    /// The per-request charge.
    pub request: f64,
}

impl Cost {
    /// Both charges together.
    pub fn total(&self) -> f64 {
        self.compute + self.request
    }
}

impl Pricing {
    /// The prices for `architecture` in `region`.
    pub fn for_region(region: &str, architecture: Arch) -> Pricing {
        let regional = X86_REGIONAL_PER_MS_128
            .iter()
            .find(|(name, _)| *name == region)
            .map(|(_, per_ms)| *per_ms);
        let pt_per_ms_128 = match architecture {
            Arch::Arm64 => PT_ARM64_PER_MS_128,
            Arch::X86_64 => regional.unwrap_or(PT_X86_DEFAULT_PER_MS_128),
        };
        // $/ms at 128 MB -> $/GB-second: x 1000 ms/s x (1024 / 128) GB^-1.
        let gb_second = match (architecture, regional) {
            (Arch::Arm64, _) if is_china(region) => PT_ARM64_PER_MS_128 * 8000.0,
            (Arch::Arm64, _) => ARM64_GB_SECOND,
            (Arch::X86_64, Some(per_ms)) => per_ms * 8000.0,
            (Arch::X86_64, None) => X86_64_GB_SECOND,
        };
        Pricing {
            gb_second,
            request: if is_china(region) {
                REQUEST_CNY
            } else {
                REQUEST
            },
            pt_per_ms_128,
            currency: if is_china(region) { "CNY" } else { "USD" },
        }
    }

    /// PT's cost of one invocation at `memory_mb` for an (average) billed duration:
    /// `ceil(billed_ms) x price per ms at 128 MB x memory / 128`, no request charge.
    pub fn pt_cost(&self, billed_ms: f64, memory_mb: u32) -> f64 {
        billed_ms.ceil() * self.pt_per_ms_128 * (memory_mb as f64 / 128.0)
    }

    /// The cost of one invocation billed `billed_ms` at `memory_mb`:
    /// `billed_ms / 1000 x memory_mb / 1024 x price per GB-second`, plus the request charge.
    pub fn cost(&self, billed_ms: f64, memory_mb: u32) -> Cost {
        Cost {
            compute: billed_ms / 1000.0 * (memory_mb as f64 / 1024.0) * self.gb_second,
            request: self.request,
        }
    }
}

/// An amount per invocation in the run's currency (CNY in the China regions).
pub(crate) fn money(value: f64, currency: &str) -> String {
    let usd = format::usd(value);
    match currency {
        "USD" => usd,
        other => usd.replacen('$', &format!("{other} "), 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-18)
    }

    #[test]
    fn default_x86_cost() {
        let p = Pricing::for_region("us-east-1", Arch::X86_64);
        // 100 ms at 1024 MB = 0.1 GB-s x 0.0000166667 = 0.00000166667 compute, + 0.0000002 request.
        let c = p.cost(100.0, 1024);
        assert!(close(c.compute, 0.000_001_666_67));
        assert!(close(c.request, 0.000_000_2));
        assert!(close(c.total(), 0.000_001_866_67));
        // 1000 ms at 128 MB = 0.125 GB-s x 0.0000166667 = 0.0000020833375.
        assert!(close(p.cost(1000.0, 128).compute, 0.000_002_083_337_5));
    }

    #[test]
    fn arm_is_cheaper_and_regions_differ() {
        let arm = Pricing::for_region("us-east-1", Arch::Arm64);
        // 1000 ms at 1024 MB = 1 GB-s x 0.0000133334.
        assert!(close(arm.cost(1000.0, 1024).compute, 0.000_013_333_4));
        let hk = Pricing::for_region("ap-east-1", Arch::X86_64);
        // 2.9e-9 $/ms at 128 MB: 1 ms at 128 MB costs exactly that; 2.9e-9 x 8000 = 2.32e-5 per GB-s.
        assert!(close(hk.gb_second, 2.32e-5));
        assert!(close(hk.cost(1.0, 128).compute, 2.9e-9));
        // The default at 128 MB: 0.0000166667 / 8000 = 2.0833e-9 per ms (the anchor rounds it to 2.1e-9).
        let default = Pricing::for_region("eu-west-1", Arch::X86_64);
        assert!(close(
            default.cost(1.0, 128).compute,
            0.000_016_666_7 / 8000.0
        ));
        // arm64 has no regional table: the same everywhere.
        assert_eq!(
            Pricing::for_region("ap-east-1", Arch::Arm64).gb_second,
            ARM64_GB_SECOND
        );
    }

    #[test]
    fn pt_prices_and_china() {
        let p = Pricing::for_region("us-east-1", Arch::X86_64);
        // ceil(10.2) = 11 ms x 2.1e-9 x 1024/128 = 1.848e-7; no request charge.
        assert!(close(p.pt_cost(10.2, 1024), 11.0 * 2.1e-9 * 8.0));
        let arm = Pricing::for_region("eu-west-1", Arch::Arm64);
        assert!(close(arm.pt_cost(1.0, 128), 1.7e-9));
        let cn = Pricing::for_region("cn-north-1", Arch::X86_64);
        assert_eq!(cn.currency, "CNY");
        // 0.0000000142 CNY/ms at 128 MB = 0.0001136 CNY per GB-second.
        assert!(close(cn.gb_second, 0.000_113_6));
        assert!(close(cn.pt_cost(3.0, 256), 3.0 * 0.000_000_014_2 * 2.0));
        assert!(close(cn.request, 1.36e-6));
        assert_eq!(
            Pricing::for_region("us-east-1", Arch::X86_64).currency,
            "USD"
        );
    }
}
