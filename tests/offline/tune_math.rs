//! Power tuning's arithmetic on fixed inputs worked out by hand, and REPORT parsing against the
//! lines AWS's documentation quotes. (The run itself: tests/tune_sweep.rs, tests/tune_exits.rs.)

use lab::arch::Arch;
use lab::tune::pricing::Pricing;
use lab::tune::report_line;
use lab::tune::stats::{percentile, summarize, trimmed_mean};
use lab::tune::strategy::{pick, Candidate, Strategy};

// ---------------------------------------------------------------------------------------------
// Arithmetic

#[test]
fn trimmed_mean_matches_the_anchor() {
    // 10 values, discard 0.2: floor(10 x 0.2) = 2 dropped from each end of the sorted list
    // [10, 11, 12, 13, 14, 15, 16, 17, 18, 90] -> keep 12..=17: (12+13+14+15+16+17) / 6 = 87 / 6 = 14.5.
    let v = [15.0, 90.0, 10.0, 13.0, 11.0, 17.0, 12.0, 16.0, 14.0, 18.0];
    assert_eq!(trimmed_mean(&v, 0.2), Some(14.5));
    // discard 0.4: floor(4) = 4 per end -> keep 14, 15: 14.5 as well.
    assert_eq!(trimmed_mean(&v, 0.4), Some(14.5));
    // discard 0.1: 1 per end -> keep 11..=18: (11+...+18) = 116, / 8 = 14.5. (A symmetric middle.)
    assert_eq!(trimmed_mean(&v, 0.1), Some(14.5));
    // discard 0: (10+...+18) + 90 = 126 + 90 = 216, / 10 = 21.6.
    assert!((trimmed_mean(&v, 0.0).unwrap() - 21.6).abs() < 1e-12);
    // 6 values, discard 0.2: floor(1.2) = 1 per end -> [2, 3, 4, 5]: 14 / 4 = 3.5.
    assert_eq!(
        trimmed_mean(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0], 0.2),
        Some(3.5)
    );
}

#[test]
fn nearest_rank_percentiles() {
    // 20 values 1..=20: p50 rank ceil(10) = 10 -> 10; p90 rank 18 -> 18; p99 rank ceil(19.8) = 20 -> 20.
    let sorted: Vec<f64> = (1..=20).map(f64::from).collect();
    assert_eq!(percentile(&sorted, 50.0), Some(10.0));
    assert_eq!(percentile(&sorted, 90.0), Some(18.0));
    assert_eq!(percentile(&sorted, 99.0), Some(20.0));
    let s = summarize(&[3.0, 1.0, 2.0], 0.2).unwrap();
    // floor(3 x 0.2) = 0 dropped: mean 2; p50 rank ceil(1.5) = 2 -> 2; p90 rank ceil(2.7) = 3 -> 3.
    assert_eq!(
        (s.mean, s.p50, s.p90, s.p99, s.min, s.max),
        (2.0, 2.0, 3.0, 3.0, 1.0, 3.0)
    );
}

#[test]
fn pricing_per_invocation() {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-15;
    let x86 = Pricing::for_region("us-east-1", Arch::X86_64);
    // 55 ms at 1024 MB: 0.055 s x 1 GB x 0.0000166667 = 0.000000916669 compute + 0.0000002 request.
    let c = x86.cost(55.0, 1024);
    assert!(close(c.compute, 0.000_000_916_668_5));
    assert!(close(c.request, 0.000_000_2));
    assert!(close(c.total(), 0.000_001_116_668_5));
    // 1146 ms at 128 MB: 1.146 x 0.125 x 0.0000166667 = 0.00000238750...
    assert!(close(
        x86.cost(1146.0, 128).compute,
        1.146 * 0.125 * 0.000_016_666_7
    ));
    // arm64: 1000 ms at 512 MB = 0.5 GB-s x 0.0000133334 = 0.0000066667.
    let arm = Pricing::for_region("us-east-1", Arch::Arm64);
    assert!(close(arm.cost(1000.0, 512).compute, 0.000_006_666_7));
    // ap-east-1 x86: 2.9e-9 $/ms at 128 MB -> 100 ms at 256 MB = 100 x 2 x 2.9e-9 = 5.8e-7.
    let hk = Pricing::for_region("ap-east-1", Arch::X86_64);
    assert!(close(hk.cost(100.0, 256).compute, 5.8e-7));
}

#[test]
fn winners_for_each_strategy_with_ties() {
    let c = |memory_mb, cost, duration_ms| Candidate {
        memory_mb,
        cost,
        duration_ms,
    };
    // Cheapest is 128 (1.0); fastest is 1024 (20 ms).
    let set = [
        c(128, 1.0, 400.0),
        c(256, 1.5, 150.0),
        c(512, 2.0, 60.0),
        c(1024, 3.0, 20.0),
    ];
    assert_eq!(pick(Strategy::Cost, &set, 0.5), Some(0));
    assert_eq!(pick(Strategy::Speed, &set, 0.5), Some(3));
    // Balanced, w = 0.5, maxCost 3, maxDuration 400:
    //   128: 0.5 x 1/3   + 0.5 x 400/400 = 0.1667 + 0.5    = 0.6667
    //   256: 0.5 x 1.5/3 + 0.5 x 150/400 = 0.25   + 0.1875 = 0.4375
    //   512: 0.5 x 2/3   + 0.5 x 60/400  = 0.3333 + 0.075  = 0.4083  <- smallest
    //  1024: 0.5 x 3/3   + 0.5 x 20/400  = 0.5    + 0.025  = 0.525
    assert_eq!(pick(Strategy::Balanced, &set, 0.5), Some(2));
    // Ties: equal cost -> the faster; equal duration -> the cheaper.
    let cost_tie = [c(128, 1.0, 100.0), c(256, 1.0, 80.0)];
    assert_eq!(pick(Strategy::Cost, &cost_tie, 0.5), Some(1));
    let speed_tie = [c(512, 2.0, 50.0), c(1024, 1.9, 50.0)];
    assert_eq!(pick(Strategy::Speed, &speed_tie, 0.5), Some(1));
    // Balanced tie (identical scores): the first listed.
    let balanced_tie = [c(128, 1.0, 100.0), c(256, 1.0, 100.0)];
    assert_eq!(pick(Strategy::Balanced, &balanced_tie, 0.5), Some(0));
}

#[test]
fn report_lines() {
    let warm = "START RequestId: r1 Version: $LATEST\nEND RequestId: r1\n\
                REPORT RequestId: r1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t\n";
    let r = report_line::parse(warm).unwrap();
    assert_eq!((r.duration_ms, r.billed_ms, r.init_ms), (12.34, 13.0, None));
    assert_eq!(
        (r.memory_size_mb, r.max_memory_used_mb),
        (Some(128), Some(20))
    );
    let cold = "REPORT RequestId: r2\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 45.67 ms";
    let r = report_line::parse(cold).unwrap();
    assert_eq!(r.init_ms, Some(45.67));
    // 12.34 + 45.67 = 58.01 ms waited.
    assert!((r.total_ms() - 58.01).abs() < 1e-9);
    assert!(report_line::parse("no report here").is_none());
}

// ---------------------------------------------------------------------------------------------
// REPORT lines as AWS prints them

/// The Node.js logging page of the Lambda developer guide (docs/nodejs-logging.md in
/// awsdocs/aws-lambda-developer-guide): a cold start with X-Ray's fields after the REPORT's own.
const DOC_NODE_XRAY: &str = "REPORT RequestId: c793869b-ee49-115b-a5b6-4fd21e8dedac\tDuration: 128.83 ms\tBilled Duration: 200 ms\tMemory Size: 128 MB\tMax Memory Used: 74 MB\tInit Duration: 166.62 ms\tXRAY TraceId: 1-5d9d007f-0a8c7fd02xmpl480aed55ef0\tSegmentId: 3d752xmpl1bbe37e\tSampled: true";
/// The Python logging page (docs/python-logging.md): the CLI's `--log-type Tail` output, with runs of
/// spaces where the tabs were.
const DOC_PYTHON_SPACES: &str = "REPORT RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95  Duration: 15.74 ms  Billed Duration: 16 ms Memory Size: 128 MB Max Memory Used: 56 MB  Init Duration: 130.49 ms";
/// The same page's CloudWatch Logs event, whose message ends with a tab after a space.
const DOC_LOGS_EVENT: &str = "REPORT RequestId: 4ce9340a-b765-490f-ad8a-02ab3415e2bf\tDuration: 26.73 ms\tBilled Duration: 27 ms \tMemory Size: 128 MB\tMax Memory Used: 75 MB\t\n";
/// The Telemetry API schema reference's `platform.report` example (docs/telemetry-schema-reference.md;
/// the page's copy has a stray comma after `requestId`, left out here), one record per line as the
/// JSON log format writes it.
const DOC_PLATFORM_REPORT: &str = r#"{"time": "2022-10-12T00:01:15.000Z", "type": "platform.report", "record": {"metrics": {"billedDurationMs": 694, "durationMs": 693.92, "initDurationMs": 397.68, "maxMemoryUsedMB": 84, "memorySizeMB": 128}, "requestId": "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa"}}"#;
/// SnapStart: the fields AWS's "Monitoring for Lambda SnapStart" page describes (Restore Duration,
/// Billed Restore Duration, no Init Duration), in the line aws-lambda-power-tuning's own tests use.
const SNAPSTART: &str = "REPORT RequestId: 55bc566d-1e2c-11e7-93e6-6705ceb4c1cc\tDuration: 469.40 ms\tBilled Duration: 500 ms\tMemory Size: 1024 MB\tMax Memory Used: 21 MB\tRestore Duration: 474.16 ms\tBilled Restore Duration: 75 ms";
/// A timeout, with the Status field Lambda appends to a failed run's REPORT.
const TIMEOUT: &str = "REPORT RequestId: 0e1a\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 44 MB\tInit Duration: 155.21 ms\tStatus: timeout";

#[test]
fn reports_from_the_documentation() {
    let r = report_line::parse(DOC_NODE_XRAY).unwrap();
    assert_eq!(
        (r.duration_ms, r.billed_ms, r.init_ms),
        (128.83, 200.0, Some(166.62))
    );
    assert_eq!(
        (r.memory_size_mb, r.max_memory_used_mb, r.status.as_deref()),
        (Some(128), Some(74), None)
    );
    let r = report_line::parse(DOC_PYTHON_SPACES).unwrap();
    assert_eq!(
        (r.duration_ms, r.billed_ms, r.init_ms),
        (15.74, 16.0, Some(130.49))
    );
    let r = report_line::parse(DOC_LOGS_EVENT).unwrap();
    assert_eq!(
        (r.duration_ms, r.billed_ms, r.memory_size_mb),
        (26.73, 27.0, Some(128))
    );
    assert!(!r.is_cold());
    let r = report_line::parse(DOC_PLATFORM_REPORT).unwrap();
    assert_eq!(
        (r.duration_ms, r.billed_ms, r.init_ms),
        (693.92, 694.0, Some(397.68))
    );
    assert_eq!(
        (r.memory_size_mb, r.max_memory_used_mb),
        (Some(128), Some(84))
    );
    assert_eq!(
        r.request_id.as_deref(),
        Some("6d68ca91-49c9-448d-89b8-7ca3e6dc66aa")
    );
}

#[test]
fn snapstart_restore_is_not_read_as_the_duration() {
    let r = report_line::parse(SNAPSTART).unwrap();
    // "Restore Duration: 474.16" ends in "Duration:": it must not overwrite the handler's 469.40.
    assert_eq!((r.duration_ms, r.billed_ms), (469.40, 500.0));
    assert_eq!(
        (r.restore_ms, r.billed_restore_ms, r.init_ms),
        (Some(474.16), Some(75.0), None)
    );
    assert!(r.is_cold());
    // As the power-tuning tool: duration + restore, billed + billed restore.
    assert!((r.total_ms() - (469.40 + 474.16)).abs() < 1e-9);
    assert_eq!(r.total_billed_ms(), 575.0);
    let json = r#"{"time":"2024-02-09T08:42:44.080Z","type":"platform.report","record":{"requestId":"d661f7cf","status":"success","metrics":{"durationMs": 147.156,"billedDurationMs": 201, "memorySizeMB": 512,"maxMemoryUsedMB": 91,"restoreDurationMs": 500.795,"billedRestoreDurationMs": 53 }}}"#;
    let r = report_line::parse(json).unwrap();
    assert_eq!(
        (r.restore_ms, r.billed_restore_ms, r.status),
        (Some(500.795), Some(53.0), None)
    );
}

#[test]
fn status_and_pretty_printed_json() {
    let r = report_line::parse(TIMEOUT).unwrap();
    assert_eq!(
        (r.duration_ms, r.status.as_deref()),
        (3000.0, Some("timeout"))
    );
    let error = "REPORT RequestId: e\tDuration: 2.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 129 MB\tStatus: error\tError Type: Runtime.OutOfMemory";
    assert_eq!(
        report_line::parse(error).unwrap().status.as_deref(),
        Some("error")
    );
    let pretty = "{\n  \"type\": \"platform.report\",\n  \"record\": {\"status\": \"timeout\",\n \"metrics\": {\"durationMs\": 100.0, \"billedDurationMs\": 100}}\n}";
    let r = report_line::parse(pretty).unwrap();
    assert_eq!(
        (r.duration_ms, r.status.as_deref()),
        (100.0, Some("timeout"))
    );
    let array = format!("[{DOC_PLATFORM_REPORT}, {{\"type\": \"platform.start\"}}]");
    assert_eq!(report_line::parse(&array).unwrap().billed_ms, 694.0);
}

#[test]
fn pt_prices_per_invocation() {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-18;
    // PT: ceil(avg billed) x price per ms at 128 MB x memory / 128, no request charge.
    let x86 = Pricing::for_region("us-east-1", Arch::X86_64);
    assert!(close(x86.pt_cost(55.2, 1024), 56.0 * 2.1e-9 * 8.0));
    let hk = Pricing::for_region("ap-east-1", Arch::X86_64);
    assert!(close(hk.pt_cost(100.0, 256), 100.0 * 2.9e-9 * 2.0));
    let arm = Pricing::for_region("ap-east-1", Arch::Arm64);
    assert!(close(arm.pt_cost(10.0, 128), 10.0 * 1.7e-9));
    let cn = Pricing::for_region("cn-northwest-1", Arch::X86_64);
    assert_eq!(cn.currency, "CNY");
    assert!(close(cn.pt_cost(10.0, 128), 10.0 * 0.000_000_014_2));
}
