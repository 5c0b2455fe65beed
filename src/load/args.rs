//! `lab load` options.

use std::path::PathBuf;
use std::time::Duration;

use lab_load::duration::parse_duration;
use lab_load::profile::{parse_stage, Profile, Shape, Stage, MAX_VUS};
use lab_load::Via;

use super::threshold::{parse_threshold, Threshold};

/// Options of `lab load` (load testing, after Postman's runner, k6 and oha).
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Virtual users looping (closed model); with --rate, the most requests in flight at once
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=MAX_VUS as i64))]
    pub vus: u32,

    /// Test length: 90s, 2m, 500ms, 1m30s
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub duration: Duration,

    /// Ramp-up time for --load-profile ramp-up [default: the first 25% of --duration]
    #[arg(long, value_parser = parse_duration)]
    pub ramp_up: Option<Duration>,

    /// How many VUs are active over time, as Postman's load profiles (closed model; see
    /// `lab_load::profile`). Not `--profile`: that is the AWS credentials profile, as in every AWS tool.
    #[arg(id = "load_profile", long = "load-profile", value_enum, default_value_t = Profile::RampUp)]
    pub profile: Profile,

    /// Postman's initial load: VUs at the start of --load-profile ramp-up (and the start of
    /// --stages, k6's startVUs) [default: 1]
    #[arg(long, value_name = "VUS")]
    pub initial_vus: Option<u32>,

    /// Postman's base load: VUs before and after the spike or peak [default: --vus / 5]
    #[arg(long, value_name = "VUS")]
    pub base_vus: Option<u32>,

    /// k6 stages instead of a profile: DURATION:VUS,... ramps linearly to each target, e.g.
    /// 30s:10,1m:50,30s:0 (the test lasts as long as the stages together)
    #[arg(long, value_delimiter = ',', value_parser = parse_stage, value_name = "DURATION:VUS,...",
          conflicts_with_all = ["load_profile", "ramp_up", "rate", "duration", "vus", "base_vus"])]
    pub stages: Option<Vec<Stage>>,

    /// Pass/fail criterion on the all-responses figures, k6 syntax, repeatable: 'p95<200ms',
    /// 'errors<1%', 'rps>100', 'avg<=50', 'p(99.9)<1s', 'http_req_failed:rate<0.01'; any failure
    /// exits 1; with --rate, a latency threshold the generator's own lateness alone would decide is
    /// undecided (exit 3)
    #[arg(long = "threshold", value_parser = parse_threshold, value_name = "EXPR")]
    pub thresholds: Vec<Threshold>,

    /// Generate the load from N Lambda invocations instead of this process (lab deploys its
    /// generator function on first use; lab down removes it)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000), value_name = "N")]
    pub workers: Option<u32>,

    /// Memory of the generator function (1769 MB is one full vCPU)
    #[arg(long, default_value_t = 1769, value_parser = clap::value_parser!(u32).range(128..=10240), value_name = "MB")]
    pub worker_memory: u32,

    /// The generator's bootstrap (a Linux build of lab-load-worker) [default: beside lab, or built]
    #[arg(long, value_name = "FILE")]
    pub worker_bootstrap: Option<PathBuf>,

    /// Open model: start this many requests per second whatever the latency (latency counts from
    /// the intended send time, as wrk2 does, or from the send if that was early; an arrival with no
    /// free VU within 1 s is dropped and counted)
    #[arg(long, value_parser = parse_rate, value_name = "PER_SECOND")]
    pub rate: Option<f64>,

    /// Open model: how long the arrival clock may hold an arrival to send it with the ones after
    /// it (0 to 10ms; 0 sends each at its time). Fewer wake-ups cost the generator less CPU per
    /// request; the hold is counted in the latency and reported as the clock's lateness
    /// [default: 250us above 20,000 arrivals a second, else 0]
    #[arg(long, value_parser = parse_arrival_group, value_name = "DURATION", requires = "rate")]
    pub arrival_group: Option<Duration>,

    /// What to send: inline JSON, @FILE, an operation (`list`, `ping`, `echo`, `read:ID`,
    /// `create:ID`, `delete:ID`), a mix `list=3,read:1=1`, or a weighted JSON list [default: list]
    #[arg(long, value_name = "PAYLOAD")]
    pub payload: Option<String>,

    /// Through the API's stage URL, or Lambda Invoke
    #[arg(long, value_enum, default_value_t = Via::Http)]
    pub via: Via,

    /// Give up on a request after this long (counted as a timeout error)
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Stop after this many requests even if time remains
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_requests: Option<u64>,

    /// Run the test once per memory size (MB, comma-separated) and compare; the original memory
    /// is restored afterwards
    #[arg(long, value_delimiter = ',', value_name = "MB,...")]
    pub memory: Option<Vec<u32>>,

    /// Also write a self-contained HTML report to this file
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,

    /// Compare each run's p50 and p95 with an earlier `lab load -o json` (95% intervals of the
    /// change from a block bootstrap of the recorded latencies, a second at a time); a regression
    /// exits 1
    #[arg(long, value_name = "FILE.json")]
    pub baseline: Option<PathBuf>,

    /// Also write the figures for other tools, repeatable: csv=FILE (one row per second),
    /// json=FILE (k6's end-of-test summary), openmetrics=FILE (Prometheus' text format)
    #[arg(long = "out", value_parser = parse_out, value_name = "KIND=FILE")]
    pub outs: Vec<Out>,

    /// With --baseline: how much slower (p50 or p95) fails the run, when the whole 95% interval of
    /// the slowdown is past it [default: 10%]
    #[arg(long, value_parser = parse_regression, value_name = "PCT", requires = "baseline")]
    pub regression: Option<f64>,

    /// Load-test this URL instead of the stack's stage URL (any HTTP endpoint taking the POST body;
    /// `--memory` still needs the stack's function)
    #[arg(long)]
    pub url: Option<String>,

    /// Load-test this function with Lambda Invoke instead of the stack's (a name or ARN, any
    /// function in the account, any runtime; implies `--via lambda`)
    #[arg(long, value_name = "NAME|ARN", conflicts_with_all = ["url", "workers"])]
    pub function: Option<String>,

    /// The global `-v`: the run report also shows the open model's lateness by stage.
    #[arg(skip)]
    pub verbose: bool,
}

impl Default for LoadArgs {
    /// The options of a bare `lab load` (every setting at its default).
    fn default() -> Self {
        crate::flag_defaults::parse_defaults()
    }
}

impl LoadArgs {
    /// The closed-model schedule these options ask for (`None` with `--rate`).
    pub fn shape(&self) -> Result<Option<Shape>, String> {
        if self.rate.is_some() {
            return Ok(None);
        }
        let shape = match &self.stages {
            Some(stages) => Shape::stages(stages, self.initial_vus.unwrap_or(1))?,
            None => Shape::profile(
                self.profile,
                self.vus,
                self.duration,
                self.ramp_up,
                self.initial_vus,
                self.base_vus,
            )?,
        };
        Ok(Some(shape))
    }

    /// The most VUs at once: `--vus`, or the highest stage.
    pub(crate) fn max_vus(&self) -> u32 {
        match self.shape() {
            Ok(Some(shape)) => shape.vus,
            _ => self.vus,
        }
    }

    /// The planned length: `--duration`, or the stages together.
    pub(crate) fn planned_duration(&self) -> Duration {
        match self.shape() {
            Ok(Some(shape)) => shape.duration,
            _ => self.duration,
        }
    }
}

/// `--regression`'s parser: `10%`, `10` (percent) or `0.1` (a share under 1).
/// A format `--out` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One row per second of each run.
    Csv,
    /// k6's end-of-test summary.
    Json,
    /// OpenMetrics text.
    OpenMetrics,
}

/// One `--out KIND=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    /// What is written.
    pub format: Format,
    /// Where.
    pub path: PathBuf,
}

/// `--out`'s parser: `csv=FILE`, `json=FILE` or `openmetrics=FILE`.
fn parse_out(s: &str) -> Result<Out, String> {
    let Some((kind, path)) = s.split_once('=') else {
        return Err(format!(
            "{s:?} is not KIND=FILE (csv=FILE, json=FILE or openmetrics=FILE)"
        ));
    };
    let format = match kind.trim() {
        "csv" => Format::Csv,
        "json" => Format::Json,
        "openmetrics" | "prometheus" => Format::OpenMetrics,
        other => {
            return Err(format!(
                "unknown --out format {other:?} (csv, json or openmetrics)"
            ))
        }
    };
    if path.trim().is_empty() {
        return Err(format!("--out {kind}= needs a file name"));
    }
    Ok(Out {
        format,
        path: PathBuf::from(path),
    })
}

fn parse_regression(s: &str) -> Result<f64, String> {
    let text = s.trim().trim_end_matches('%');
    let value: f64 = text.parse().map_err(|_| format!("{s:?} is not a percentage (e.g. 10%)"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("the regression limit must be above 0% (got {s})"));
    }
    Ok(if s.trim().ends_with('%') || value >= 1.0 {
        value / 100.0
    } else {
        value
    })
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of requests per second"))?;
    if !(r.is_finite() && r > 0.0) {
        return Err(format!("the rate must be above 0 (got {s})"));
    }
    Ok(r)
}

/// The most `--arrival-group` may hold an arrival: beyond it the schedule is no longer the rate's
/// (a clock that wakes every few tens of milliseconds sends bursts, not arrivals).
const MAX_ARRIVAL_GROUP: Duration = Duration::from_millis(10);

fn parse_arrival_group(s: &str) -> Result<Duration, String> {
    let group = parse_duration(s)?;
    if group > MAX_ARRIVAL_GROUP {
        return Err(format!(
            "an arrival may be held at most {}ms (got {s}); use e.g. 250us or 1ms",
            MAX_ARRIVAL_GROUP.as_millis()
        ));
    }
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_tutorial_run() {
        let a = LoadArgs::default();
        assert_eq!(a.vus, 10);
        assert_eq!(a.duration, Duration::from_secs(120));
        assert_eq!(a.profile, Profile::RampUp);
        assert_eq!(a.via, Via::Http);
        assert_eq!(a.timeout, Duration::from_secs(30));
    }

    #[test]
    fn out_flags() {
        assert_eq!(
            parse_out("csv=run.csv"),
            Ok(Out {
                format: Format::Csv,
                path: "run.csv".into()
            })
        );
        assert_eq!(
            parse_out("openmetrics=m.txt").unwrap().format,
            Format::OpenMetrics
        );
        assert!(parse_out("xml=a").unwrap_err().contains("unknown --out format \"xml\""));
        assert!(parse_out("json").unwrap_err().contains("is not KIND=FILE"));
        assert!(parse_out("json=").unwrap_err().contains("needs a file name"));
    }

    #[test]
    fn regression_limits() {
        assert_eq!(parse_regression("10%"), Ok(0.10));
        assert_eq!(parse_regression("15"), Ok(0.15));
        assert_eq!(parse_regression("0.2"), Ok(0.2));
        assert!(parse_regression("lots").unwrap_err().contains("not a percentage"));
        assert!(parse_regression("0").is_err());
    }
}
