//! The fixture functions the local-stack tests run: Python runtimes that sleep, spin, allocate,
//! crash, gate and fail on request, each on a stack of its own, shared by the end-to-end tests and
//! the cgroup-limit tests.

use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType::{self, RequestResponse};
use serde_json::{json, Value};

/// The payload of an invocation, as JSON.
pub fn payload(out: &InvokeOutput) -> Value {
    serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap()
}

/// A test runtime in Python: sleeps for `{"sleep": s}`, burns `{"spin": s}` of CPU, touches
/// `{"alloc_mb": n}` of memory, exits for `{"crash": true}`, else echoes.
pub const SPIN_FIXTURE: &str = r#"#!PYTHON
import json, os, sys, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    print("got", json.dumps(event), flush=True)
    if event.get("crash"):
        sys.exit(3)
    time.sleep(event.get("sleep", 0))
    hog = b"\x01" * (event.get("alloc_mb", 0) * 1024 * 1024)
    spin_until = time.process_time() + event.get("spin", 0)
    while time.process_time() < spin_until:
        pass
    body = json.dumps({"pid": os.getpid(), "event": event}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;

/// The settings `fx-fn` is made with: a 2 s timeout, and 1 GB, a CPU share that keeps the Python
/// fixture's start and exit quick on a busy machine.
pub const FX_SETTINGS: [&str; 4] = ["--timeout", "2", "--memory", "1024"];

/// The fixture function `fx-fn` on its own local stack, invoked through the SDK.
pub struct Fixture {
    pub local: super::LocalStack,
    pub lambda: aws_sdk_lambda::Client,
}

impl Fixture {
    /// Starts a stack with these flags and makes `fx-fn` on it.
    pub async fn start(flags: &[&str]) -> Self {
        let local = super::LocalStack::start(flags);
        let zip = super::python_zip(&local.home, SPIN_FIXTURE);
        let mut up = vec!["--stack", "fx", "up", "--zip", zip.to_str().unwrap()];
        up.extend(FX_SETTINGS);
        local.lab_ok(&up);
        let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
        Self { local, lambda }
    }

    /// One synchronous invocation of `fx-fn`.
    pub async fn invoke(&self, event: Value) -> InvokeOutput {
        self.lambda
            .invoke()
            .function_name("fx-fn")
            .payload(Blob::new(event.to_string()))
            .send()
            .await
            .unwrap()
    }

    /// The pid of the instance that answers `{}`.
    pub async fn pid(&self) -> u64 {
        pid(&self.invoke(json!({})).await)
    }

    /// Sets `fx-fn`'s memory (and timeout, when given) and waits for the update to end: as on
    /// Lambda, invocations keep the old configuration until it is Successful.
    pub async fn configure(&self, memory_mb: i32, timeout_s: Option<i32>) {
        self.lambda
            .update_function_configuration()
            .function_name("fx-fn")
            .memory_size(memory_mb)
            .set_timeout(timeout_s)
            .send()
            .await
            .unwrap();
        super::aws::wait_ready(&self.lambda, "fx-fn").await;
    }
}

/// The pid of the instance that answered.
pub fn pid(out: &InvokeOutput) -> u64 {
    payload(out)["pid"].as_u64().unwrap()
}

/// A test runtime in Python: notes each attempt in `{"count": file}`, waits for `{"gate": file}`,
/// touches `{"alloc_mb": n}` of memory, writes `{"reached": file}` once past all that, and answers
/// an error for `{"fail": true}`.
pub const LIMITS_FIXTURE: &str = r#"#!PYTHON
import json, os, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
def post(path, doc):
    urllib.request.urlopen(urllib.request.Request(api + path, data=json.dumps(doc).encode(), method="POST")).read()
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    if "count" in event:
        with open(event["count"], "a") as f:
            f.write(rid + "\n")
    while "gate" in event and not os.path.exists(event["gate"]):
        time.sleep(0.01)
    hog = b"\x01" * (event.get("alloc_mb", 0) * 1024 * 1024)
    if "reached" in event:
        with open(event["reached"], "w") as f:
            f.write("reached")
    if event.get("fail"):
        post(rid + "/error", {"errorType": "Boom", "errorMessage": "asked to fail"})
    else:
        post(rid + "/response", {"pid": os.getpid()})
"#;

/// One Invoke of the fixture function.
pub async fn invoke(
    lambda: &aws_sdk_lambda::Client,
    event: Value,
    kind: InvocationType,
) -> aws_sdk_lambda::operation::invoke::InvokeOutput {
    lambda
        .invoke()
        .function_name("lim-fn")
        .invocation_type(kind)
        .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
        .send()
        .await
        .unwrap()
}

/// The fixture function `lim-fn` (128 MB, a minute's timeout) on a strict stack at time scale 0.01
/// (async retries wait a minute, then two: 0.6 s and 1.2 s), with no CPU share.
pub async fn limits_stack() -> (super::LocalStack, aws_sdk_lambda::Client) {
    let flags = ["--strict", "--time-scale", "0.01", "--cpu-share", "false"];
    let local = super::LocalStack::start_with(&flags);
    let zip = super::python_zip(&local.home, LIMITS_FIXTURE);
    let mut up = vec!["--stack", "lim", "up", "--zip", zip.to_str().unwrap()];
    up.extend(["--memory", "128", "--timeout", "60"]);
    local.lab_ok(&up);
    let lambda = aws_sdk_lambda::Client::new(&local.sdk().await);
    (local, lambda)
}

/// 400 MB in a 128 MB function: Runtime.OutOfMemory, and a fresh instance serves after it. Returns
/// whether the function got past the allocation.
pub async fn out_of_memory(local: &super::LocalStack, lambda: &aws_sdk_lambda::Client) -> bool {
    let reached = local.home.join("reached");
    let event = json!({"alloc_mb": 400, "reached": reached});
    let oom = invoke(lambda, event, RequestResponse).await;
    let doc: Value = serde_json::from_slice(oom.payload().unwrap().as_ref()).unwrap();
    assert_eq!(doc["errorType"], "Runtime.OutOfMemory", "{doc}");
    assert_eq!(oom.function_error(), Some("Unhandled"));
    let fine = invoke(lambda, json!({}), RequestResponse).await;
    let error = fine.function_error();
    assert!(error.is_none(), "a fresh instance serves after the kill");
    reached.exists()
}
