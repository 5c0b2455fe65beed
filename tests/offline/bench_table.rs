//! The README's benchmark table is what `scripts/bench-readme` renders from `bench/results/*.json`, the
//! records the `scripts/bench-*.sh` scripts write through `scripts/bench_record.py`: no figure in it is
//! typed by hand, every record's summary and ratios are the ones computed from its own figures, and every
//! bench script hands its figures to the recorder.

use std::path::Path;
use std::process::Command;

#[test]
fn readme_benchmark_table_is_rendered_from_the_recorded_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(root.join("scripts/bench-readme"))
        .arg("--check")
        .current_dir(root)
        .output()
        .expect("python3 runs scripts/bench-readme (the local stack's moto needs it too)");
    let what = "scripts/bench-readme --check (run scripts/bench-readme after a benchmark)";
    crate::common::assert_succeeded(&out, what);
    // The check must have read the README's table, not passed without one.
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    assert!(
        readme.contains("<!-- bench:start -->") && readme.contains("<!-- bench:end -->"),
        "README.md has no <!-- bench:start --> ... <!-- bench:end --> table"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("up to date"),
        "bench-readme --check printed no verdict: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
