//! `lab local status` as text: what runs, how it is limited, how moto fared (restarts, the last one
//! and how long it took to come back), what is kept on disk, and strict mode.

use std::path::Path;

use serde_json::Value;

/// Prints the running stack's status document.
pub fn print(endpoint: &str, state_dir: &Path, s: &Value) {
    println!("running on {endpoint} (pid {})", s["pid"]);
    println!(
        "moto {} at {}; {}",
        s["moto_version"].as_str().unwrap_or(""),
        s["moto"].as_str().unwrap_or(""),
        supervision_line(&s["supervision"])
    );
    println!(
        "uptime {} s; concurrency limit {}; busy {}; idle instances {}",
        s["uptime_s"], s["concurrency_limit"], s["busy"], s["idle_instances"]
    );
    println!("cpu: {}", s["cpu"].as_str().unwrap_or(""));
    if let Some(line) = cpu_budget_line(&s["cpu_budget"]) {
        println!("{line}");
    }
    println!("memory: {}", s["memory"].as_str().unwrap_or(""));
    println!("{}", persistence_line(&s["supervision"]));
    println!("{}", dynamodb_line(&s["dynamodb"]));
    let events = &s["async"];
    println!(
        "async events: {} accepted, {} pending, {} succeeded, {} failed after retries, {} retries",
        events["accepted"],
        events["pending"],
        events["succeeded"],
        events["failed"],
        events["retries"]
    );
    println!("{}", strict_line(&s["strict"]));
    if let Some(line) = iam_line(&s["iam"]) {
        println!("{line}");
    }
    println!("state and logs: {}", state_dir.display());
}

/// `host CPU: 2 cores; 10 invocations asked for 5.79 vCPU at most: oversubscribed; 37 of 120
/// waited (p50 12.0 ms, p99 80.1 ms, max 95.3 ms), outside the REPORT durations`, or `None` where
/// CPU does not follow memory.
pub(crate) fn cpu_budget_line(b: &Value) -> Option<String> {
    let cores = b["cores"].as_f64()?;
    let peak = b["peak_demand_vcpu"].as_f64().unwrap_or(0.0);
    let verdict = if peak > cores {
        "oversubscribed"
    } else {
        "within the host"
    };
    Some(format!(
        "host CPU: {cores} cores; {} invocations asked for {peak:.2} vCPU at most: {verdict}; {} of {} waited (p50 {} ms, p99 {} ms, max {} ms), outside the REPORT durations",
        b["peak_demanding"], b["waited"], b["invocations"], b["wait_p50_ms"], b["wait_p99_ms"], b["wait_max_ms"]
    ))
}

/// `up (pid N); restarts 2, the last at T (exit), back after 1234 ms`.
pub(crate) fn supervision_line(sup: &Value) -> String {
    let mut line = format!(
        "{} (pid {}); restarts {}",
        sup["state"].as_str().unwrap_or("unknown"),
        sup["pid"],
        sup["restarts"]
    );
    let last = &sup["last_restart"];
    if let Some(at) = last["at"].as_str() {
        line.push_str(&format!(
            ", the last at {at} ({})",
            last["exit"].as_str().unwrap_or("?")
        ));
        match last["recovery_ms"].as_u64() {
            Some(ms) => line.push_str(&format!(", back after {ms} ms")),
            None => line.push_str(", not back yet"),
        }
    }
    line
}

/// `state: kept in DIR; log position N, X KB of log, Y KB snapshot; restored ...`.
pub(crate) fn persistence_line(sup: &Value) -> String {
    let p = &sup["persistence"];
    if sup["state_dir"].is_null() {
        return "state: memory only (--persist false): a restart starts empty".to_string();
    }
    if p.is_null() {
        return "state: kept on disk (figures unavailable while moto restarts)".to_string();
    }
    let kb = |v: &Value| v.as_u64().unwrap_or(0).div_ceil(1024);
    let mut line = format!(
        "state: kept in {}; log position {}, {} KB of log in {} segment(s), {} KB snapshot at {}, {} compaction(s)",
        sup["state_dir"].as_str().unwrap_or(""),
        p["seq"],
        kb(&p["wal_bytes"]),
        p["wal_segments"],
        kb(&p["snapshot_bytes"]),
        p["snapshot_seq"],
        p["compactions"]
    );
    let restore = &p["restore"];
    if restore.is_object() {
        line.push_str(&format!(
            "; last start restored the snapshot at {} and replayed {} write(s) in {} ms",
            restore["snapshot_seq"], restore["replayed"], restore["ms"]
        ));
    }
    line
}

/// `DynamoDB items: lab's native store, 2 tables, 130 items, 131 writes logged, 0 snapshots`, or
/// that moto serves them.
pub(crate) fn dynamodb_line(d: &Value) -> String {
    if d["data_plane"].as_str() != Some("native") {
        return "DynamoDB items: served by moto (--dynamodb moto)".to_string();
    }
    let mut line = format!(
        "DynamoDB items: lab's native store (tables in moto), {} table(s), {} item(s)",
        d["tables"], d["items"]
    );
    let log = &d["log"];
    if log.is_object() {
        line.push_str(&format!(
            "; {} write(s) logged since start, {} snapshot(s), {} record(s) replayed at start",
            log["appended"], log["snapshots"], log["replayed_at_start"]
        ));
    } else {
        line.push_str("; memory only (--persist false)");
    }
    line
}

/// One line on strict mode: on or off, the time scale, the cap, and what it refused so far.
/// IAM's line: on or off, whom the operator is held to, the denials, the calls it let through
/// unmapped. `None` for an older gateway that has no `iam` section.
fn iam_line(iam: &Value) -> Option<String> {
    if iam.is_null() {
        return None;
    }
    if iam["enabled"].as_bool() != Some(true) {
        return Some("iam: off (strict only; --iam off turns it off)".to_string());
    }
    let operator = if iam["operator_policy"].as_bool() == Some(true) {
        "the operator held to --operator-policy"
    } else {
        "the operator an administrator"
    };
    let unmapped = iam["unmapped"].as_object().map(|m| m.len()).unwrap_or(0);
    Some(format!(
        "iam: on, functions held to their execution roles, {operator}; access denied {}; calls not in the action map (let through) {unmapped}",
        iam["access_denied"].as_u64().unwrap_or(0)
    ))
}

pub(crate) fn strict_line(strict: &Value) -> String {
    if strict["enabled"].as_bool() != Some(true) {
        return "strict: off (moto's lenient answers; start with --strict for AWS's delays and limits)"
            .to_string();
    }
    let refused: Vec<String> = strict["refusals"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_u64().unwrap_or(0) > 0)
                .map(|(k, v)| format!("{k} {v}"))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "strict: on, time scale {}{}; refused so far: {}",
        strict["time_scale"],
        strict["memory_cap_mb"]
            .as_u64()
            .map(|c| format!(", memory cap {c} MB"))
            .unwrap_or_default(),
        if refused.is_empty() {
            "nothing".to_string()
        } else {
            refused.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_cpu_budget_says_how_much_was_asked_of_how_little() {
        assert_eq!(
            cpu_budget_line(&Value::Null),
            None,
            "no budget where CPU is unthrottled"
        );
        let budget = json!({"cores": 2.0, "invocations": 120, "waited": 37, "wait_p50_ms": 12.0,
            "wait_p99_ms": 80.1, "wait_max_ms": 95.3, "peak_demand_vcpu": 5.79, "peak_demanding": 10});
        assert_eq!(
            cpu_budget_line(&budget).unwrap(),
            "host CPU: 2 cores; 10 invocations asked for 5.79 vCPU at most: oversubscribed; 37 of 120 waited (p50 12.0 ms, p99 80.1 ms, max 95.3 ms), outside the REPORT durations"
        );
    }

    #[test]
    fn iam_line_says_whom_it_holds_and_what_it_refused() {
        assert_eq!(iam_line(&Value::Null), None);
        let on = json!({"enabled": true, "operator_policy": true, "access_denied": 3, "unmapped": {"sts POST /": 1}});
        let line = iam_line(&on).unwrap();
        assert!(
            line.contains("--operator-policy") && line.contains("access denied 3"),
            "{line}"
        );
        assert!(line.ends_with("(let through) 1"), "{line}");
        let off = iam_line(&json!({"enabled": false})).unwrap();
        assert!(off.starts_with("iam: off"), "{off}");
    }

    #[test]
    fn supervision_says_restarts_and_the_last_one() {
        let sup = json!({"state": "up", "pid": 7, "restarts": 0, "last_restart": {"at": null}});
        assert_eq!(supervision_line(&sup), "up (pid 7); restarts 0");
        let sup = json!({"state": "up", "pid": 9, "restarts": 2, "last_restart": {
            "at": "2026-01-02T03:04:05Z", "exit": "signal: 9 (SIGKILL)", "recovery_ms": 1234}});
        assert_eq!(
            supervision_line(&sup),
            "up (pid 9); restarts 2, the last at 2026-01-02T03:04:05Z (signal: 9 (SIGKILL)), back after 1234 ms"
        );
    }

    #[test]
    fn dynamodb_says_which_data_plane_serves_items() {
        let moto = json!({"data_plane": "moto"});
        assert_eq!(
            dynamodb_line(&moto),
            "DynamoDB items: served by moto (--dynamodb moto)"
        );
        let native = json!({"data_plane": "native", "tables": 1, "items": 3, "log": {"appended": 4, "snapshots": 0, "replayed_at_start": 2}});
        assert_eq!(
            dynamodb_line(&native),
            "DynamoDB items: lab's native store (tables in moto), 1 table(s), 3 item(s); 4 write(s) logged since start, 0 snapshot(s), 2 record(s) replayed at start"
        );
    }

    #[test]
    fn persistence_off_and_on() {
        let off = json!({"state_dir": null, "persistence": {"persistent": false}});
        assert!(persistence_line(&off).contains("memory only"));
        let on = json!({"state_dir": "/s/moto", "persistence": {"seq": 42, "wal_bytes": 2048,
            "wal_segments": 1, "snapshot_bytes": 0, "snapshot_seq": 0, "compactions": 0,
            "restore": {"snapshot_seq": 0, "replayed": 40, "ms": 12.5}}});
        let line = persistence_line(&on);
        assert!(line.contains("log position 42, 2 KB of log"), "{line}");
        assert!(line.contains("replayed 40 write(s) in 12.5 ms"), "{line}");
    }
}
