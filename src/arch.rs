//! A Lambda function's instruction set: the one type `--arch`, packaging, the stack's settings,
//! tuning's prices and the load generator's deployment all use. Strings appear only at the AWS SDK
//! boundary ([`aws_sdk_lambda::types::Architecture`]) and in output, spelled as Lambda spells them.

use std::fmt;
use std::str::FromStr;

use anyhow::bail;
use aws_sdk_lambda::types::Architecture as LambdaArchitecture;
use serde::{Deserialize, Serialize};

/// Lambda's two architectures. CLI, JSON and Lambda all spell them `x86_64` and `arm64`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
pub enum Arch {
    /// Intel/AMD, Lambda's default.
    #[default]
    #[value(name = "x86_64")]
    #[serde(rename = "x86_64")]
    X86_64,
    /// Graviton.
    #[value(name = "arm64")]
    #[serde(rename = "arm64")]
    Arm64,
}

impl Arch {
    /// Lambda's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The architecture of a CPU named as Rust names it (`std::env::consts::ARCH`), if Lambda has it.
    pub(crate) fn of_cpu(cpu: &str) -> Option<Arch> {
        match cpu {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// This machine's CPU, whatever its OS (the local stack runs functions natively).
    pub(crate) fn host_cpu() -> Option<Arch> {
        Arch::of_cpu(std::env::consts::ARCH)
    }

    /// This machine's architecture when a host build is a Lambda binary, i.e. on Linux only
    /// (elsewhere a host build is a Mach-O or PE file).
    pub(crate) fn linux_host() -> Option<Arch> {
        (std::env::consts::OS == "linux").then(Arch::host_cpu).flatten()
    }

    /// The Rust target triple Lambda's Linux (glibc) runs.
    pub(crate) fn target_triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The architecture an ELF header's `e_machine` names, if Lambda runs it.
    pub(crate) fn from_elf_machine(machine: u16) -> Option<Arch> {
        match machine {
            0x3e => Some(Arch::X86_64),
            0xb7 => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The architecture Lambda reports (`None` for one this lab does not know).
    pub(crate) fn from_lambda(reported: &LambdaArchitecture) -> Option<Arch> {
        reported.as_str().parse().ok()
    }
}

impl From<Arch> for LambdaArchitecture {
    fn from(arch: Arch) -> Self {
        LambdaArchitecture::from(arch.as_str())
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Arch {
    type Err = anyhow::Error;

    /// Lambda's spelling, or the other common names of the same instruction sets.
    fn from_str(name: &str) -> anyhow::Result<Self> {
        match name {
            "x86_64" | "x86-64" | "amd64" => Ok(Arch::X86_64),
            "arm64" | "aarch64" => Ok(Arch::Arm64),
            other => bail!("unsupported Lambda architecture {other:?} (expected x86_64 or arm64)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_through_every_boundary() {
        for arch in [Arch::X86_64, Arch::Arm64] {
            assert_eq!(arch.as_str().parse::<Arch>().unwrap(), arch);
            assert_eq!(arch.to_string(), arch.as_str());
            let json = serde_json::to_string(&arch).unwrap();
            assert_eq!(json, format!("\"{}\"", arch.as_str()));
            assert_eq!(serde_json::from_str::<Arch>(&json).unwrap(), arch);
            let lambda = LambdaArchitecture::from(arch);
            assert_eq!(lambda.as_str(), arch.as_str());
            assert_eq!(Arch::from_lambda(&lambda), Some(arch));
            let cli = <Arch as clap::ValueEnum>::from_str(arch.as_str(), false).unwrap();
            assert_eq!(cli, arch);
        }
    }

    #[test]
    fn aliases_parse_and_unknown_names_are_refused() {
        assert_eq!("aarch64".parse::<Arch>().unwrap(), Arch::Arm64);
        assert_eq!("amd64".parse::<Arch>().unwrap(), Arch::X86_64);
        assert_eq!("x86-64".parse::<Arch>().unwrap(), Arch::X86_64);
        let err = "mips".parse::<Arch>().unwrap_err().to_string();
        assert!(
            err.contains("\"mips\"") && err.contains("x86_64 or arm64"),
            "{err}"
        );
    }

    #[test]
    fn cpus_elf_machines_and_triples_map_to_lambda_names() {
        assert_eq!(Arch::of_cpu("aarch64"), Some(Arch::Arm64));
        assert_eq!(Arch::of_cpu("x86_64"), Some(Arch::X86_64));
        assert_eq!(Arch::of_cpu("riscv64"), None);
        assert_eq!(Arch::from_elf_machine(0x3e), Some(Arch::X86_64));
        assert_eq!(Arch::from_elf_machine(0xb7), Some(Arch::Arm64));
        assert_eq!(Arch::from_elf_machine(0x28), None);
        assert_eq!(Arch::Arm64.target_triple(), "aarch64-unknown-linux-gnu");
        assert_eq!(Arch::X86_64.target_triple(), "x86_64-unknown-linux-gnu");
    }
}
