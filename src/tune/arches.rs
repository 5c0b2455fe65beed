//! `--arch x86_64,arm64`: both instruction sets tuned in one run. The function's own is tuned as
//! always; each other one on a temporary copy of the function (same code, role, runtime, handler,
//! environment, timeout and memory; `Architectures` the other), made before anything is measured
//! and deleted however the run ends (success, an error, SIGINT, SIGTERM, SIGHUP), its versions and
//! aliases with it. A copy a killed run left (SIGKILL) carries lab's tag and is made again by the
//! next run, so a rerun converges.
//!
//! What cannot run on the other instruction set is refused in one line before anything changes:
//! a container image, a `bootstrap` or any other binary in the zip built for one machine, and on
//! the local stack (which runs functions on this host's CPU) a `bootstrap` for a CPU the host is
//! not. An interpreted function (Python, Node.js) carries the same zip to both; on the local stack
//! the other instruction set then runs on this host's CPU, and every figure of it says so
//! ([`super::power::PowerResult::measured_on`]).
//!
//! The instruction sets are tuned one after another, never side by side: on a small host each
//! would take CPU from the other's measurements.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use futures::future::Shared;
use sha2::{Digest, Sha256};

use super::by_arch::{self, ArchOutcome};
use super::config::TuneConfig;
use super::run::{self, RunOptions};
use super::sweep::say;
use super::TuneResult;
use crate::arch::Arch;
use crate::control::{ArchCopies, FunctionPackage, VersionControl};
use crate::exit::Interrupted;

/// The signals, as every phase of a multi-arch run waits on them (the first one stops them all).
pub(crate) type Interrupt = Shared<Pin<Box<dyn Future<Output = (&'static str, i32)> + Send>>>;

/// Lambda's longest function name.
const MAX_NAME: usize = 64;

/// The copy of `function` for `arch`: `<function>-lab-tune-<arch>`, shortened with a hash of the
/// whole name when that is longer than Lambda allows (so two long names never share a copy).
pub(crate) fn copy_name(function: &str, arch: Arch) -> String {
    let suffix = format!("-lab-tune-{arch}");
    if function.len() + suffix.len() <= MAX_NAME {
        return format!("{function}{suffix}");
    }
    let hash = Sha256::digest(function.as_bytes());
    let tag: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
    let keep = MAX_NAME - suffix.len() - tag.len() - 1;
    format!("{}-{tag}{suffix}", &function[..keep])
}

/// Why `package` cannot be tuned at `arch`, in one line naming what to do; `None` when it can.
/// `local_host` is this host's CPU when the functions run on it (the local stack).
pub(crate) fn refusal(
    package: &FunctionPackage,
    arch: Arch,
    local_host: Option<Arch>,
) -> Option<String> {
    let f = &package.function;
    if package.image {
        return Some(format!(
            "{f} is a container image, built for one instruction set: --arch {arch} needs a zip \
             package; push an {arch} image, deploy it as a function of its own and tune that"
        ));
    }
    let foreign: Vec<&(String, Arch)> =
        package.binaries.iter().filter(|(_, machine)| *machine != arch).collect();
    if package.custom_runtime() {
        if let Some((_, machine)) = foreign.iter().find(|(path, _)| path == "bootstrap") {
            return Some(format!(
                "{f}'s bootstrap is an {machine} binary, which {arch} cannot run: build the \
                 bootstrap for {arch} (--target {}), deploy it as a function of its own and tune \
                 that, or tune a Python or Node.js function, whose zip runs on both",
                arch.target_triple()
            ));
        }
        if let Some(host) = local_host.filter(|h| *h != arch) {
            return Some(format!(
                "this host ({host}) cannot run an {arch} bootstrap, and the local stack runs \
                 functions on this host's CPU: tune {arch} on AWS"
            ));
        }
    }
    if let Some((path, machine)) = foreign.first() {
        let more = match foreign.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        return Some(format!(
            "{f}'s package holds {machine} binaries that {arch} cannot load ({path}{more}): \
             package them for {arch}, deploy that as a function of its own and tune it"
        ));
    }
    None
}

/// Tunes every instruction set `cfg.arches` names (the function's own on `original`, each other
/// one on a copy made through `copies`) and returns the result judged across memory × arch. The
/// copies are deleted on every exit, and checked gone.
pub(crate) async fn execute(
    cfg: &TuneConfig,
    (original, copies): (Arc<dyn VersionControl>, Arc<dyn ArchCopies>),
    region: &str,
    options: &RunOptions,
    interrupt: Interrupt,
    local_host: Option<Arch>,
) -> Result<TuneResult> {
    let own = original.architecture().await.context("reading the function's architecture")?;
    let wanted = cfg.arches.clone().unwrap_or_else(|| vec![own]);
    if wanted == [own] {
        return run::execute(cfg, original, region, options, interrupt).await;
    }
    let others: Vec<Arch> = wanted.iter().copied().filter(|a| *a != own).collect();
    // Everything that can refuse is read and checked before anything changes.
    let package = copies.package().await.context("reading the function's package")?;
    for arch in &others {
        if let Some(why) = refusal(&package, *arch, local_host) {
            bail!(why);
        }
    }
    let names: Vec<(Arch, String)> =
        others.iter().map(|a| (*a, copy_name(&package.function, *a))).collect();
    for (_, name) in &names {
        copies.check_copy_name(name).await?;
    }
    let tuned = tune_each(
        cfg,
        (&original, &copies),
        &package,
        &wanted,
        region,
        options,
        &interrupt,
        local_host,
    )
    .await;
    say(options.progress, "removing the copies made for --arch");
    let removed = remove_copies(copies.as_ref(), &names).await;
    let said = match &removed {
        Ok(gone) => format!("copies removed: {}", gone.join(", ")),
        Err(e) => format!("{e:#}"),
    };
    let outcomes = match tuned {
        Ok(outcomes) => outcomes,
        Err(e) => match e.downcast::<Interrupted>() {
            Ok(stopped) => bail!(Interrupted {
                detail: [stopped.detail, said].join("; "),
                ..stopped
            }),
            Err(e) => bail!("{e:#}; {said}"),
        },
    };
    let removed = removed?;
    say(options.progress, &said);
    by_arch::combine(cfg, own, outcomes, removed)
}

/// Tunes each instruction set in the order given, making each copy just before it is tuned.
#[allow(clippy::too_many_arguments)]
async fn tune_each(
    cfg: &TuneConfig,
    (original, copies): (&Arc<dyn VersionControl>, &Arc<dyn ArchCopies>),
    package: &FunctionPackage,
    wanted: &[Arch],
    region: &str,
    options: &RunOptions,
    interrupt: &Interrupt,
    local_host: Option<Arch>,
) -> Result<Vec<ArchOutcome>> {
    let mut outcomes = Vec::with_capacity(wanted.len());
    for &arch in wanted {
        let (target, copy) = if arch == package.arch {
            (original.clone(), None)
        } else {
            let name = copy_name(&package.function, arch);
            say(
                options.progress,
                &format!("making {name}, a copy of {} for {arch}", package.function),
            );
            let made = tokio::select! {
                made = copies.create_copy(package, &name, arch) => made
                    .with_context(|| format!("making {name}, the copy for {arch}"))?,
                (signal, number) = interrupt.clone() => {
                    return Err(anyhow!(Interrupted { signal, number, detail: String::new() }));
                }
            };
            (made, Some(name))
        };
        say(
            options.progress,
            &format!("tuning {arch} ({})", target.name()),
        );
        let result = run::execute(cfg, target, region, options, interrupt.clone())
            .await
            .with_context(|| format!("tuning {arch}"))?;
        outcomes.push(ArchOutcome {
            arch,
            copy,
            measured_on: local_host.filter(|h| *h != arch),
            result,
        });
    }
    Ok(outcomes)
}

/// Deletes every copy (those a failed or interrupted create may have left too) and checks that
/// none is left; goes on past a failure and reports each.
async fn remove_copies(copies: &dyn ArchCopies, names: &[(Arch, String)]) -> Result<Vec<String>> {
    let mut failures = Vec::new();
    let mut removed = Vec::new();
    for (_, name) in names {
        match copies.delete_copy(name).await {
            Ok(true) => removed.push(name.clone()),
            Ok(false) => {}
            Err(e) => failures.push(format!("deleting {name}: {e:#}")),
        }
        match copies.exists(name).await {
            Ok(false) => {}
            Ok(true) => failures.push(format!("{name} is still there after deleting it")),
            Err(e) => failures.push(format!("checking {name} is gone: {e:#}")),
        }
    }
    if failures.is_empty() {
        Ok(removed)
    } else {
        bail!("removing the --arch copies failed: {}", failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(runtime: &str, binaries: &[(&str, Arch)]) -> FunctionPackage {
        FunctionPackage {
            function: "fn".into(),
            arch: Arch::X86_64,
            runtime: Some(runtime.into()),
            image: false,
            zip: Vec::new(),
            binaries: binaries.iter().map(|(p, a)| (p.to_string(), *a)).collect(),
            settings: Default::default(),
        }
    }

    #[test]
    fn copy_names_fit_lambdas_limit_and_stay_apart() {
        assert_eq!(copy_name("my-fn", Arch::Arm64), "my-fn-lab-tune-arm64");
        let long = "f".repeat(60);
        let a = copy_name(&long, Arch::Arm64);
        let b = copy_name(&format!("{long}x"), Arch::Arm64);
        assert!(a.len() <= 64 && b.len() <= 64, "{a} {b}");
        assert!(a.ends_with("-lab-tune-arm64") && a != b);
    }

    #[test]
    fn what_cannot_run_on_the_other_arch_is_refused_in_one_line() {
        let rust = package("provided.al2023", &[("bootstrap", Arch::X86_64)]);
        let why = refusal(&rust, Arch::Arm64, None).unwrap();
        assert!(
            why.contains("bootstrap is an x86_64 binary") && !why.contains('\n'),
            "{why}"
        );
        assert!(why.contains("aarch64-unknown-linux-gnu"), "{why}");
        let arm_boot = package("provided.al2023", &[("bootstrap", Arch::Arm64)]);
        assert!(
            refusal(&arm_boot, Arch::Arm64, None).is_none(),
            "AWS runs it"
        );
        let local = refusal(&arm_boot, Arch::Arm64, Some(Arch::X86_64)).unwrap();
        assert!(
            local.contains("this host (x86_64) cannot run an arm64 bootstrap"),
            "{local}"
        );
        let python = package("python3.13", &[]);
        assert!(refusal(&python, Arch::Arm64, Some(Arch::X86_64)).is_none());
        let wheel = package(
            "python3.13",
            &[("lib/x.so", Arch::X86_64), ("lib/y.so", Arch::X86_64)],
        );
        let why = refusal(&wheel, Arch::Arm64, None).unwrap();
        assert!(why.contains("(lib/x.so and 1 more)"), "{why}");
        let image = FunctionPackage {
            image: true,
            runtime: None,
            ..python
        };
        assert!(refusal(&image, Arch::Arm64, None).unwrap().contains("container image"));
    }
}
