//! `lab tune --arch x86_64,arm64` on the local stack, for real: the copy is made, both instruction
//! sets are tuned, the copy is gone afterwards (also after SIGINT), the original's memory is back;
//! a bootstrap built for one machine is refused in one line before anything changes.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_lambda::types::Runtime;

use crate::common::LocalStack;
use crate::tune_local::{create_function, create_function_with, handler_zip, snapshot};

const APP: &str = "def handler(event, context):\n    return {\"n\": sum(range(2000))}\n";

fn python_zip() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    zip.start_file("app.py", options).unwrap();
    zip.write_all(APP.as_bytes()).unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

async fn exists(lambda: &aws_sdk_lambda::Client, name: &str) -> bool {
    lambda.get_function().function_name(name).send().await.is_ok()
}

/// Both instruction sets of `arch-py`, two sizes, five calls each.
const TUNE_BOTH: &[&str] = &[
    "tune",
    "--function",
    "arch-py",
    "--arch",
    "x86_64,arm64",
    "--powers",
    "128,512",
    "--num",
    "5",
    "--payload",
    "{}",
];

#[tokio::test(flavor = "multi_thread")]
async fn arch_tunes_both_on_a_copy_and_removes_it() {
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let py = Runtime::Python313;
    create_function_with(&sdk, "arch-py", python_zip(), 256, py, "app.handler").await;
    let t = local.lab_json(TUNE_BOTH);
    let rows = t["powers"].as_array().unwrap();
    let arches: Vec<(&str, u64)> = rows
        .iter()
        .map(|p| {
            (
                p["arch"].as_str().unwrap(),
                p["memory_mb"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        arches,
        [
            ("x86_64", 128),
            ("x86_64", 512),
            ("arm64", 128),
            ("arm64", 512)
        ],
        "{t}"
    );
    for p in rows {
        assert_eq!(p["stats"]["invocations"], 5, "{p}");
    }
    // This host is x86_64: the arm64 rows say they are its CPU, the x86_64 rows say nothing.
    assert_eq!(rows[2]["measured_on"], "x86_64", "{t}");
    assert!(rows[0].get("measured_on").is_none(), "{t}");
    let copy = &t["arches"][1];
    assert_eq!(copy["function"], "arch-py-lab-tune-arm64", "{t}");
    assert_eq!(
        (&copy["copy"], &copy["removed"]),
        (&true.into(), &true.into()),
        "{t}"
    );
    assert!(
        copy["note"].as_str().unwrap().contains("not Graviton"),
        "{t}"
    );
    assert!(t["winner"]["arch"].is_string(), "{t}");
    let line = t["arch_comparisons"][0].as_str().unwrap();
    assert!(
        line.starts_with("arm64 at ") && line.contains("than x86_64 at "),
        "{line}"
    );
    assert!(
        !exists(&lambda, "arch-py-lab-tune-arm64").await,
        "the copy is removed"
    );
    let after = snapshot(&lambda, "arch-py").await;
    assert_eq!(after.memory, Some(256), "the original's memory is back");
    let only_latest = after.versions.iter().all(|(v, _)| v == "$LATEST");
    assert!(after.aliases.is_empty() && only_latest, "{after:?}");

    // The text view names memory x arch and says what the arm64 figures are, next to them.
    let text = local.lab_ok(TUNE_BOTH);
    assert!(
        text.contains("Note: arm64 figures are this host's x86_64 CPU"),
        "{text}"
    );
    assert!(text.contains("MB arm64 (this host's x86_64 CPU)"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("Best for cost: ") && l.contains(" MB ")),
        "{text}"
    );
    assert!(!exists(&lambda, "arch-py-lab-tune-arm64").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn arch_refuses_a_bootstrap_for_the_other_machine_in_one_line() {
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    create_function(&sdk, "arch-rust", handler_zip(), 192).await;
    let before = snapshot(&lambda, "arch-rust").await;
    let out = local.lab(&[
        "tune",
        "--function",
        "arch-rust",
        "--arch",
        "x86_64,arm64",
        "--num",
        "5",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].contains("bootstrap is an x86_64 binary, which arm64 cannot run"),
        "{stderr}"
    );
    assert!(
        !exists(&lambda, "arch-rust-lab-tune-arm64").await,
        "no copy made"
    );
    assert_eq!(
        snapshot(&lambda, "arch-rust").await,
        before,
        "nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn arch_interrupted_leaves_no_copy() {
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let py = Runtime::Python313;
    create_function_with(&sdk, "arch-int", python_zip(), 256, py, "app.handler").await;
    // arm64 first: the copy is what is being measured when the signal comes.
    let child = Command::new(crate::common::lab_bin())
        .args(["--local", "--local-port", &local.port.to_string(), "tune"])
        .args([
            "--function",
            "arch-int",
            "--arch",
            "arm64,x86_64",
            "--powers",
            "128,512",
        ])
        .args([
            "--num",
            "200",
            "--sleep-between-runs",
            "20",
            "--payload",
            "{}",
        ])
        .env("LAB_HOME", &local.home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let copy = "arch-int-lab-tune-arm64";
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if exists(&lambda, copy).await {
            let aliases = lambda.list_aliases().function_name(copy).send().await;
            if aliases.is_ok_and(|a| a.aliases().len() == 2) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the copy was never measured");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("copies removed: arch-int-lab-tune-arm64"),
        "{stderr}"
    );
    assert!(
        !exists(&lambda, copy).await,
        "the copy is removed after SIGINT"
    );
    let after = snapshot(&lambda, "arch-int").await;
    assert_eq!(after.memory, Some(256));
    let only_latest = after.versions.iter().all(|(v, _)| v == "$LATEST");
    assert!(after.aliases.is_empty() && only_latest, "{after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn arch_replaces_a_leftover_copy_and_never_touches_a_foreign_one() {
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let py = Runtime::Python313;
    create_function_with(&sdk, "arch-left", python_zip(), 256, py, "app.handler").await;
    let role = crate::common::aws::function_config(&lambda, "arch-left")
        .await
        .role()
        .unwrap()
        .to_string();
    let copy = "arch-left-lab-tune-arm64";
    let make = |tagged: bool| {
        let request = lambda
            .create_function()
            .function_name(copy)
            .role(&role)
            .runtime(Runtime::Python313)
            .handler("app.handler")
            .memory_size(1024)
            .architectures(aws_sdk_lambda::types::Architecture::Arm64)
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(python_zip()))
                    .build(),
            );
        let request = if tagged {
            request.tags("lab:tune-copy-of", "arch-left")
        } else {
            request
        };
        request.send()
    };
    // What a SIGKILLed run leaves: lab's copy, tagged. The next run makes it again and removes it.
    make(true).await.unwrap();
    crate::common::aws::wait_ready(&lambda, copy).await;
    let args = [
        "tune",
        "--function",
        "arch-left",
        "--arch",
        "x86_64,arm64",
        "--powers",
        "128",
        "--num",
        "5",
        "--payload",
        "{}",
    ];
    let t = local.lab_json(&args);
    assert_eq!(t["arches"][1]["function"], copy, "{t}");
    assert_eq!(t["powers"][1]["stats"]["invocations"], 5, "{t}");
    assert!(!exists(&lambda, copy).await, "the leftover is gone");

    // Someone else's function under that name: refused in one line, nothing touched.
    make(false).await.unwrap();
    let before = snapshot(&lambda, "arch-left").await;
    let out = local.lab(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].contains("exists and is not lab's copy of arch-left"),
        "{stderr}"
    );
    let foreign = crate::common::aws::function_config(&lambda, copy).await;
    assert_eq!(
        foreign.memory_size(),
        Some(1024),
        "the foreign function is untouched"
    );
    assert_eq!(snapshot(&lambda, "arch-left").await, before);
}

/// The local stack answers a `bootstrap` built for another machine than the function's
/// `Architectures` as Lambda does, and GetFunction's `Code.Location` downloads the package.
#[tokio::test(flavor = "multi_thread")]
async fn local_stack_wrong_arch_bootstrap_and_code_location() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let zip = handler_zip();
    create_function(&sdk, "arch-x86", zip.clone(), 192).await;
    let got = lambda.get_function().function_name("arch-x86").send().await.unwrap();
    let location = got.code().unwrap().location().unwrap().to_string();
    let bytes = reqwest::get(&location).await.unwrap().bytes().await.unwrap();
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes));
    assert_eq!(
        Some(sha.as_str()),
        got.configuration().unwrap().code_sha256(),
        "{location}"
    );
    assert_eq!(bytes.as_ref(), zip.as_slice());

    let role = got.configuration().unwrap().role().unwrap().to_string();
    lambda
        .create_function()
        .function_name("arch-mismatch")
        .role(role)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .architectures(aws_sdk_lambda::types::Architecture::Arm64)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
    crate::common::aws::wait_ready(&lambda, "arch-mismatch").await;
    let out = lambda
        .invoke()
        .function_name("arch-mismatch")
        .payload(aws_sdk_lambda::primitives::Blob::new(
            r#"{"operation":"ping"}"#,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(out.function_error(), Some("Unhandled"));
    let body: serde_json::Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(body["errorType"], "Runtime.InvalidEntrypoint", "{body}");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("fork/exec /var/task/bootstrap: exec format error"),
        "{message}"
    );
}
