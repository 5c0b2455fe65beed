//! Lambda on-demand prices: compute per GB-second by architecture and region, plus the request charge.
//!
//! Defaults are AWS's published prices (first tier): x86_64 $0.0000166667 and arm64 $0.0000133334
//! per GB-second, $0.20 per million requests. A few regions charge more for x86_64 compute;
//! aws-lambda-power-tuning keeps those as dollars per millisecond at 128 MB, and the same figures are
//! used here (converted: $/ms at 128 MB x 1000 ms x 8 = $/GB-second), so results agree with it.
//! Unlike that tool, the request charge is included in the cost of every invocation: at 128 MB and a
//! few milliseconds it is most of the bill.

use anyhow::{bail, Result};
use serde::Serialize;

/// Compute price per GB-second, x86_64, outside the regions listed in [`X86_REGIONAL_PER_MS_128`].
pub const X86_64_GB_SECOND: f64 = 0.000_016_666_7;
/// Compute price per GB-second, arm64 (Graviton).
pub const ARM64_GB_SECOND: f64 = 0.000_013_333_4;
/// Price per request: $0.20 per million.
pub const REQUEST: f64 = 0.20 / 1_000_000.0;

/// x86_64 regions priced above the default, in dollars per millisecond at 128 MB
/// (aws-lambda-power-tuning's table; the default there is 2.1e-9, i.e. $0.0000166667 rounded).
/// China regions are left out: their prices are in CNY.
pub const X86_REGIONAL_PER_MS_128: &[(&str, f64)] = &[
    ("ap-east-1", 2.9e-9),
    ("af-south-1", 2.8e-9),
    ("ap-northeast-3", 2.7e-9),
    ("me-south-1", 2.6e-9),
    ("eu-south-1", 2.4e-9),
];

/// A function's instruction set, which sets its compute price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Intel/AMD.
    X86_64,
    /// Graviton.
    Arm64,
}

impl Architecture {
    /// Reads Lambda's spelling (`x86_64`, `arm64`).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "x86_64" | "x86-64" | "amd64" => Ok(Architecture::X86_64),
            "arm64" | "aarch64" => Ok(Architecture::Arm64),
            other => bail!("unsupported Lambda architecture {other:?} (expected x86_64 or arm64)"),
        }
    }

    /// Lambda's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// The prices that apply to one function.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pricing {
    /// Dollars per GB-second of billed duration.
    pub gb_second: f64,
    /// Dollars per request.
    pub request: f64,
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
    pub fn for_region(region: &str, architecture: Architecture) -> Pricing {
        let gb_second = match architecture {
            Architecture::Arm64 => ARM64_GB_SECOND,
            Architecture::X86_64 => X86_REGIONAL_PER_MS_128
                .iter()
                .find(|(name, _)| *name == region)
                // $/ms at 128 MB -> $/GB-second: x 1000 ms/s x (1024 / 128) GB^-1.
                .map_or(X86_64_GB_SECOND, |(_, per_ms)| per_ms * 1000.0 * 8.0),
        };
        Pricing {
            gb_second,
            request: REQUEST,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-18)
    }

    #[test]
    fn default_x86_cost() {
        let p = Pricing::for_region("us-east-1", Architecture::X86_64);
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
        let arm = Pricing::for_region("us-east-1", Architecture::Arm64);
        // 1000 ms at 1024 MB = 1 GB-s x 0.0000133334.
        assert!(close(arm.cost(1000.0, 1024).compute, 0.000_013_333_4));
        let hk = Pricing::for_region("ap-east-1", Architecture::X86_64);
        // 2.9e-9 $/ms at 128 MB: 1 ms at 128 MB costs exactly that; 2.9e-9 x 8000 = 2.32e-5 per GB-s.
        assert!(close(hk.gb_second, 2.32e-5));
        assert!(close(hk.cost(1.0, 128).compute, 2.9e-9));
        // The default at 128 MB: 0.0000166667 / 8000 = 2.0833e-9 per ms (the anchor rounds it to 2.1e-9).
        let default = Pricing::for_region("eu-west-1", Architecture::X86_64);
        assert!(close(
            default.cost(1.0, 128).compute,
            0.000_016_666_7 / 8000.0
        ));
        // arm64 has no regional table: the same everywhere.
        assert_eq!(
            Pricing::for_region("ap-east-1", Architecture::Arm64).gb_second,
            ARM64_GB_SECOND
        );
    }

    #[test]
    fn architecture_names() {
        assert_eq!(Architecture::parse("arm64").unwrap(), Architecture::Arm64);
        assert_eq!(Architecture::parse("x86_64").unwrap().as_str(), "x86_64");
        assert!(Architecture::parse("mips").is_err());
    }
}
