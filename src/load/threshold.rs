//! Pass/fail criteria for CI, in k6's threshold syntax (`p(95)<200`, `rate<0.01`) with the short
//! names lab prints (`p95<200ms`, `errors<1%`, `rps>100`). Each is evaluated on the all-requests
//! figures of every run; any failure makes `lab load` exit 1 (k6 exits 99; lab's commands fail
//! with 1).
//!
//! ```text
//! latency   p95, p(99.9), med, avg, min, max      ms by default; also us, s       p95<200ms
//!           (k6: http_req_duration:p(95)<200)
//! errors    failed / all requests                 a fraction or a percentage      errors<1%
//!           (k6: http_req_failed:rate<0.01)
//! rps       throughput over the measured window   requests per second             rps>100
//!           (k6: http_reqs:rate>100)
//! requests  requests completed                    a count                         requests>=1000
//!           (k6: http_reqs:count>=1000)
//! dropped   open-model arrivals not sent          a count                         dropped==0
//!           (k6: dropped_iterations:count==0)
//! ```
//!
//! Operators: `<`, `<=`, `>`, `>=`, `==` (k6's `===` too), `!=` (`!==`).
//!
//! In the open model a latency threshold cannot pass or fail on the generator's own lateness
//! alone: it is checked on the latencies as reported and on the same latencies net of that
//! lateness (`lab_load::lateness`), and where the two disagree it is undecided (exit 3).

use serde::Serialize;

use hdrhistogram::Histogram;
use lab_load::metrics::Recorder;
use lab_load::summary::Summary;

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Metric {
    /// A latency percentile (0-100) of every request, in ms.
    Percentile(f64),
    /// Mean latency, ms.
    Avg,
    /// Fastest request, ms.
    Min,
    /// Slowest request, ms.
    Max,
    /// Failed requests / requests (0-1).
    ErrorRate,
    /// Throughput over the measured window.
    Rps,
    /// Requests completed.
    Requests,
    /// Open-model arrivals dropped.
    Dropped,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// One `--threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// As written.
    pub(crate) expression: String,
    /// What is measured.
    pub(crate) metric: Metric,
    /// How it is compared.
    pub(crate) op: Op,
    /// The limit, in the metric's unit (ms, fraction, req/s, count).
    pub(crate) value: f64,
}

/// One threshold checked against one run.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Checked {
    /// As written.
    pub expression: String,
    /// The measured figure in the threshold's unit (`None`: nothing was measured).
    pub(crate) actual: Option<f64>,
    /// Open model, latency thresholds: the same figure net of the generator's own lateness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) net: Option<f64>,
    /// The measured figure as printed, e.g. `p95 = 12.3 ms`.
    pub shown: String,
    /// Whether it held (never when undecided).
    pub passed: bool,
    /// The figure as reported and net of the generator's own lateness fall on different sides of
    /// the limit: the generator's lateness alone would decide it, so it neither passes nor fails.
    #[serde(default)]
    pub undecided: bool,
}

const OPS: [(&str, Op); 8] = [
    ("===", Op::Eq),
    ("!==", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("==", Op::Eq),
    ("!=", Op::Ne),
    ("<", Op::Lt),
    (">", Op::Gt),
];

/// Parses one threshold expression (see the module documentation).
pub fn parse_threshold(text: &str) -> Result<Threshold, String> {
    let bad = |why: &str| format!("invalid threshold {text:?}: {why}");
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (at, len, op) = OPS
        .iter()
        .filter_map(|(s, op)| compact.find(s).map(|i| (i, s.len(), *op)))
        .min_by_key(|(i, len, _)| (*i, usize::MAX - len))
        .ok_or_else(|| bad("no comparison (<, <=, >, >=, ==, !=)"))?;
    let (name, value) = (&compact[..at], &compact[at + len..]);
    let metric = metric(name).ok_or_else(|| {
        bad("use p95, p(99.9), med, avg, min, max, errors, rps, requests or dropped (or k6's http_req_duration:, http_req_failed:rate, http_reqs:rate|count, dropped_iterations:count)")
    })?;
    let value = parse_value(metric, value).ok_or_else(|| {
        bad("the limit is not a number in the metric's unit (200ms, 1s, 1%, 0.01, 100)")
    })?;
    Ok(Threshold {
        expression: text.trim().to_string(),
        metric,
        op,
        value,
    })
}

fn metric(name: &str) -> Option<Metric> {
    let (prefix, stat) = match name.split_once(':') {
        Some((p, s)) => (Some(p), s),
        None => (None, name),
    };
    let latency = || -> Option<Metric> {
        Some(match stat {
            "avg" => Metric::Avg,
            "min" => Metric::Min,
            "max" => Metric::Max,
            "med" => Metric::Percentile(50.0),
            s => {
                let n = s.strip_prefix("p(").and_then(|r| r.strip_suffix(')'));
                let n = n.or_else(|| s.strip_prefix('p'))?;
                let p: f64 = n.parse().ok()?;
                if !(0.0..=100.0).contains(&p) {
                    return None;
                }
                Metric::Percentile(p)
            }
        })
    };
    match (prefix, stat) {
        (Some("http_req_duration"), _) => latency(),
        (Some("http_req_failed"), "rate") | (None, "errors") => Some(Metric::ErrorRate),
        (Some("http_reqs"), "rate") | (None, "rps") => Some(Metric::Rps),
        (Some("http_reqs"), "count") | (None, "requests") => Some(Metric::Requests),
        (Some("dropped_iterations"), "count") | (None, "dropped") => Some(Metric::Dropped),
        (None, _) => latency(),
        _ => None,
    }
}

fn parse_value(metric: Metric, text: &str) -> Option<f64> {
    let number = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
    match metric {
        Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max => {
            let units = [("ms", 1.0), ("us", 0.001), ("µs", 0.001), ("s", 1000.0)];
            for (unit, scale) in units {
                if let Some(n) = text.strip_suffix(unit) {
                    return number(n).map(|v| v * scale);
                }
            }
            number(text)
        }
        Metric::ErrorRate => match text.strip_suffix('%') {
            Some(n) => number(n).map(|v| v / 100.0),
            None => number(text),
        },
        Metric::Rps => number(text.strip_suffix("/s").unwrap_or(text)),
        Metric::Requests | Metric::Dropped => number(text),
    }
}

impl Threshold {
    /// Whether it measures latency (a percentile, avg, min or max).
    pub(crate) fn is_latency(&self) -> bool {
        matches!(
            self.metric,
            Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max
        )
    }

    /// The statistic's short name (`p95` for `p95<100ms` and for k6's `http_req_duration:p(95)<100`).
    pub(crate) fn stat_name(&self) -> String {
        match self.metric {
            Metric::Percentile(p) => format!("p{p}"),
            Metric::Avg => "avg".into(),
            Metric::Min => "min".into(),
            Metric::Max => "max".into(),
            Metric::ErrorRate => "errors".into(),
            Metric::Rps => "rps".into(),
            Metric::Requests => "requests".into(),
            Metric::Dropped => "dropped".into(),
        }
    }

    /// Checks this threshold against a run's recorder (for any percentile) and summary.
    ///
    /// A latency threshold in the open model is checked twice: on every request's latency as
    /// reported, and on the same latencies net of the generator's own lateness. When the two
    /// disagree, the generator's lateness alone decided it, and it is undecided rather than
    /// passed or failed. (The generator's wait for a core, `lab_load::cpu_wait`, is said next to
    /// the figures but decides nothing here: no request records how much of it it held.)
    pub(crate) fn check(&self, recorder: &Recorder, summary: &Summary) -> Checked {
        let (name, unit) = match self.metric {
            Metric::Percentile(p) => (format!("p({p})"), "ms"),
            Metric::Avg => ("avg".into(), "ms"),
            Metric::Min => ("min".into(), "ms"),
            Metric::Max => ("max".into(), "ms"),
            Metric::ErrorRate => ("errors".into(), ""),
            Metric::Rps => ("rps".into(), "req/s"),
            Metric::Requests => ("requests".into(), ""),
            Metric::Dropped => ("dropped".into(), ""),
        };
        let actual = match self.metric {
            Metric::ErrorRate => (summary.requests > 0).then_some(summary.error_rate),
            Metric::Rps => Some(summary.throughput_rps),
            Metric::Requests => Some(summary.requests as f64),
            Metric::Dropped => Some(summary.dropped_iterations as f64),
            _ => self.latency(recorder.all_latency()),
        };
        let net = match self.metric {
            Metric::Percentile(_) | Metric::Avg | Metric::Min | Metric::Max => {
                recorder.lateness().and_then(|l| self.latency(l.net_latency()))
            }
            _ => None,
        };
        let passed = self.holds(actual);
        let undecided = net.is_some_and(|n| self.holds(Some(n)) != passed);
        let mut shown = match (actual, self.metric) {
            (None, _) => format!("{name}: nothing measured"),
            (Some(a), Metric::ErrorRate) => format!("{name} = {:.3}%", a * 100.0),
            (Some(a), _) if unit.is_empty() => format!("{name} = {a}"),
            (Some(a), _) => format!("{name} = {a:.3} {unit}"),
        };
        if let Some(n) = net {
            shown.push_str(&format!(", {n:.3} {unit} net of the generator's lateness"));
        }
        if undecided {
            shown.push_str(": the generator's lateness alone decides it");
        }
        Checked {
            expression: self.expression.clone(),
            actual,
            net,
            shown,
            passed: passed && !undecided,
            undecided,
        }
    }

    /// This threshold's latency figure of `h` (µs), in ms; `None` when it is empty.
    fn latency(&self, h: &Histogram<u64>) -> Option<f64> {
        let ms = |us: u64| us as f64 / 1000.0;
        (!h.is_empty()).then(|| match self.metric {
            Metric::Percentile(p) => ms(h.value_at_quantile(p / 100.0)),
            Metric::Avg => h.mean() / 1000.0,
            Metric::Min => ms(h.min()),
            _ => ms(h.max()),
        })
    }

    /// Whether the figure `actual` meets this threshold (nothing measured never does).
    fn holds(&self, actual: Option<f64>) -> bool {
        actual.is_some_and(|a| match self.op {
            Op::Lt => a < self.value,
            Op::Le => a <= self.value,
            Op::Gt => a > self.value,
            Op::Ge => a >= self.value,
            Op::Eq => a == self.value,
            Op::Ne => a != self.value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_load::lateness::Stages;
    use lab_load::metrics::Outcome;
    use std::time::Duration;

    #[test]
    fn short_and_k6_forms_parse_to_the_same_threshold() {
        let pairs = [
            ("p95<200ms", "http_req_duration:p(95)<200"),
            ("p(95) < 0.2s", "http_req_duration: p(95) < 200"),
            ("errors<1%", "http_req_failed:rate<0.01"),
            ("rps>100", "http_reqs:rate>100"),
            ("requests>=1000", "http_reqs:count>=1000"),
            ("dropped==0", "dropped_iterations:count===0"),
            ("med<=5", "http_req_duration:p(50)<=5"),
        ];
        assert_eq!(pairs.len(), 7);
        for (short, k6) in pairs {
            let (a, b) = (
                parse_threshold(short).unwrap(),
                parse_threshold(k6).unwrap(),
            );
            assert_eq!(
                (a.metric, a.op, a.value),
                (b.metric, b.op, b.value),
                "{short} / {k6}"
            );
        }
        let micro = parse_threshold("p99.9<500us").unwrap();
        assert_eq!((micro.metric, micro.value), (Metric::Percentile(99.9), 0.5));
        for bad in [
            "p95",
            "p95<abc",
            "latency<3",
            "p101<1",
            "errors<-1%",
            "http_reqs:p(95)<1",
        ] {
            assert!(parse_threshold(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn thresholds_pass_and_fail_on_the_all_requests_figures() {
        let mut r = Recorder::new();
        for ms in 1..=99 {
            r.record(&Outcome::Ok, Duration::from_millis(ms), true);
        }
        // One 30 s timeout: p99.5 of all requests is the timeout, successes alone never reach it.
        r.record(&Outcome::Timeout, Duration::from_secs(30), true);
        let s = r.summary(Duration::from_secs(10), (0.0, 10.0), 0);
        let check = |e: &str| parse_threshold(e).unwrap().check(&r, &s);
        let results = [
            ("p(99.5)<1s", false),
            ("p50<100ms", true),
            ("errors<1%", false),
            ("errors<=1%", true),
            ("rps>=10", true),
            ("rps>10", false),
            ("requests==100", true),
            ("dropped==0", true),
            ("max<30s", false),
        ];
        assert_eq!(results.len(), 9);
        for (expr, passed) in results {
            let c = check(expr);
            assert_eq!(c.passed, passed, "{expr}: {}", c.shown);
        }
        let empty = Recorder::new();
        let none = empty.summary(Duration::from_secs(1), (0.0, 1.0), 0);
        assert!(!parse_threshold("p95<1s").unwrap().check(&empty, &none).passed);
    }

    #[test]
    fn a_latency_threshold_the_generators_lateness_alone_decides_is_undecided() {
        // Open model: 100 requests of 10 ms, each sent 8 ms late by the generator itself (2 ms net),
        // after 1 ms waiting for a free VU (the target's: not subtracted).
        let mut r = Recorder::new();
        let late = Stages {
            clock: Duration::from_millis(8),
            vu_wait: Duration::from_millis(1),
            ..Stages::default()
        };
        for _ in 0..100 {
            r.record(&Outcome::Ok, Duration::from_millis(10), true);
            r.record_lateness(&late, Duration::from_millis(10));
        }
        let s = r.summary(Duration::from_secs(1), (0.0, 1.0), 0);
        let check = |e: &str| parse_threshold(e).unwrap().check(&r, &s);
        // Fails as reported (10 ms), passes net of the lateness (2 ms): undecided, not failed.
        let c = check("p95<5ms");
        assert!(c.undecided && !c.passed, "{c:?}");
        assert!(
            c.shown.contains("net of the generator's lateness"),
            "{}",
            c.shown
        );
        assert!((c.net.unwrap() - 2.0).abs() < 0.01, "{c:?}");
        // A lower bound the lateness alone meets: undecided too.
        assert!(check("p50>5ms").undecided);
        // Both sides agree: decided as ever.
        let (pass, fail) = (check("p95<20ms"), check("p95<1ms"));
        assert!(pass.passed && !pass.undecided, "{pass:?}");
        assert!(!fail.passed && !fail.undecided, "{fail:?}");
        // Not a latency: never undecided, no net figure.
        let e = check("errors<1%");
        assert!(e.passed && !e.undecided && e.net.is_none());
    }
}
