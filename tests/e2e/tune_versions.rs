//! Versions and aliases on the local stack: a qualifier runs its version's code and configuration;
//! `lab tune` tunes a function `lab up` did not make, through versions and aliases, and leaves its
//! `$LATEST` and alias list exactly as they were; the tutorial's power-tuning input.

use crate::common::aws::wait_ready;
use crate::common::LocalStack;
use crate::tune_local::{create_function, handler_zip, owners_alias, snapshot};
use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;

/// A runtime that answers with its tag (which code runs) and the memory it was started with.
const TAGGED: &str = r#"#!PYTHON
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    body = json.dumps({"tag": "TAG", "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;

fn tagged_zip(local: &LocalStack, tag: &str) -> Vec<u8> {
    let dir = local.home.join(tag);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::read(crate::common::python_zip(&dir, &TAGGED.replace("TAG", tag))).unwrap()
}

/// Invokes `name` at `qualifier`: (the tag that answered, REPORT's Memory Size, executed version).
async fn run_at(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    qualifier: Option<&str>,
) -> (String, u32, String) {
    let out = lambda
        .invoke()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_string))
        .log_type(aws_sdk_lambda::types::LogType::Tail)
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    let tail = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        out.log_result().unwrap(),
    )
    .unwrap();
    let report = lab::tune::report_line::parse(&String::from_utf8_lossy(&tail)).unwrap();
    assert_eq!(
        body["memory"].as_str().unwrap(),
        report.memory_size_mb.unwrap().to_string()
    );
    (
        body["tag"].as_str().unwrap().to_string(),
        report.memory_size_mb.unwrap(),
        out.executed_version().unwrap().to_string(),
    )
}

/// `qual-fn`: version 1 runs code A at 1024 MB, version 2 and `$LATEST` code B at 1536 MB, and the
/// alias `live` points at version 1.
async fn two_versions(
    local: &LocalStack,
    sdk: &aws_config::SdkConfig,
    lambda: &aws_sdk_lambda::Client,
) {
    create_function(sdk, "qual-fn", tagged_zip(local, "A"), 1024).await;
    let publish = || async {
        let v = lambda.publish_version().function_name("qual-fn").send().await;
        v.unwrap().version().map(str::to_string)
    };
    assert_eq!(publish().await.as_deref(), Some("1"));
    // New code and memory on $LATEST, published as version 2; an alias on version 1.
    let code = lambda.update_function_code().function_name("qual-fn");
    code.zip_file(Blob::new(tagged_zip(local, "B"))).send().await.unwrap();
    wait_ready(lambda, "qual-fn").await;
    let memory = lambda.update_function_configuration().function_name("qual-fn");
    memory.memory_size(1536).send().await.unwrap();
    wait_ready(lambda, "qual-fn").await;
    assert_eq!(publish().await.as_deref(), Some("2"));
    lambda
        .create_alias()
        .function_name("qual-fn")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_qualifier_runs_its_versions_code_and_configuration() {
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    two_versions(&local, &sdk, &lambda).await;

    let cases = [
        (Some("1"), ("A", 1024, "1")),
        (Some("live"), ("A", 1024, "1")),
        (Some("2"), ("B", 1536, "2")),
        (None, ("B", 1536, "$LATEST")),
    ];
    assert_eq!(cases.len(), 4);
    for (qualifier, (tag, memory, version)) in cases {
        let got = run_at(&lambda, "qual-fn", qualifier).await;
        assert_eq!(
            got,
            (tag.to_string(), memory, version.to_string()),
            "at {qualifier:?}"
        );
    }
    // Deleting a version forgets that version only: $LATEST keeps its code.
    lambda
        .delete_alias()
        .function_name("qual-fn")
        .name("live")
        .send()
        .await
        .unwrap();
    let version = lambda.delete_function().function_name("qual-fn").qualifier("1");
    version.send().await.unwrap();
    let gone = lambda
        .invoke()
        .function_name("qual-fn")
        .qualifier("1")
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{gone:?}").contains("ResourceNotFoundException"),
        "{gone:?}"
    );
    assert_eq!(run_at(&lambda, "qual-fn", None).await.0, "B");
    assert_eq!(run_at(&lambda, "qual-fn", Some("2")).await.1, 1536);
}

#[tokio::test(flavor = "multi_thread")]
async fn tuning_another_function_leaves_it_as_it_was() {
    let local = LocalStack::start(&[]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let arn = create_function(&sdk, "someone-elses-fn", handler_zip(), 320).await;
    owners_alias(&lambda, "someone-elses-fn").await;
    let before = snapshot(&lambda, "someone-elses-fn").await;
    assert_eq!(before.aliases.len(), 1);

    // The function is named by the input's lambdaARN, as in the power-tuning tool.
    let input = local.home.join("input.json");
    let doc = serde_json::json!({
        "lambdaARN": arn, "powerValues": [128, 512], "num": 5, "payload": {"operation": "ping"},
        "parallelInvocation": true, "includeOutputResults": true
    });
    std::fs::write(&input, doc.to_string()).unwrap();
    let r = local.lab_json(&["tune", "--input", input.to_str().unwrap()]);
    let powers = r["powers"].as_array().unwrap();
    assert_eq!(powers.len(), 2);
    for p in powers {
        assert_eq!(p["status"], "ok", "{p}");
        assert_eq!(p["stats"]["invocations"], 5, "{p}");
        assert!(
            p["stats"]["cold_starts"].as_u64().unwrap() >= 1,
            "a new version starts new instances: {p}"
        );
    }
    // Paced by the account's concurrency, which the local stack's GetAccountSettings reports (10).
    assert_eq!(r["concurrency_limit"], 10);
    let pt = &r["results"];
    assert!([128, 512].contains(&pt["power"].as_u64().unwrap()), "{pt}");
    assert_eq!(pt["stats"].as_array().unwrap().len(), 2);
    assert!(pt["stateMachine"]["visualization"]
        .as_str()
        .unwrap()
        .starts_with("https://lambda-power-tuning.show/#"));
    let removed: Vec<&str> = r["versions"]["removed_aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 2);
    assert!(removed.contains(&"lab-tune-128") && removed.contains(&"lab-tune-512"));
    assert_eq!(snapshot(&lambda, "someone-elses-fn").await, before);

    // By name, sequentially, with the full cost model: the same, and the text output names it all.
    let mut args = crate::common::words("tune --function someone-elses-fn --powers 256 --num 5");
    args.extend([
        "--cost-model",
        "full",
        "--payload",
        r#"{"operation":"ping"}"#,
    ]);
    let text = local.lab_ok(&args);
    crate::common::assert_contains_all(
        &text,
        &[
            "PT cost",
            "Full cost",
            "lab's full cost",
            "Visualization: https://lambda-power-tuning.show/#",
            "removed",
        ],
    );
    assert_eq!(snapshot(&lambda, "someone-elses-fn").await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tutorials_input_tunes_the_stacks_function() {
    let local = LocalStack::start(&[]);
    local.up("lab", &[]);
    local.lab_ok(&["call", "create", "--id", "1", "--name", "Bob"]);
    let sdk = local.sdk().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let before = snapshot(&lambda, "LambdaFunctionOverHttps").await;
    let input = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/events/power-tuning-input.json"
    );
    let r = local.lab_json(&["tune", "--input", input]);
    assert_eq!(
        r["function"], "LambdaFunctionOverHttps",
        "the placeholder ARN falls back to the stack's"
    );
    assert_eq!(r["plan"]["parallel"], true);
    let sizes: Vec<u64> = r["powers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["memory_mb"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [128, 256, 512, 1024]);
    for p in r["powers"].as_array().unwrap() {
        assert_eq!(
            (p["status"].as_str(), p["stats"]["invocations"].as_u64()),
            (Some("ok"), Some(10)),
            "{p}"
        );
    }
    let pt = &r["results"];
    // PT's cost model chose both: PT's pick is lab's pick on points, and lab's winner is it or,
    // within noise of it, the size the tie rules chose.
    assert_eq!(pt["power"], r["winner"]["point_pick_mb"], "{}", r["winner"]);
    let tied = r["winner"]["tied_mb"].as_array().unwrap();
    assert!(
        tied.contains(&r["winner"]["memory_mb"]) && tied.contains(&pt["power"]),
        "{}",
        r["winner"]
    );
    assert!(
        pt.get("stats").is_none(),
        "no includeOutputResults in the tutorial's input"
    );
    assert_eq!(snapshot(&lambda, "LambdaFunctionOverHttps").await, before);
}
