//! Command-line definitions (clap). Behaviour lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::arch::Arch;
use crate::call::Via;
use crate::output::Output;
use crate::stack::function::Language;

/// Builds, calls, tunes, load-tests and tears down the serverless-powertuning lab, on AWS or locally.
#[derive(Debug, Parser)]
#[command(name = "lab", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub(crate) global: Global,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args, Clone)]
pub(crate) struct Global {
    /// AWS region (default: the SDK's chain: AWS_REGION, the profile).
    #[arg(long, global = true, env = "AWS_REGION", hide_env_values = true)]
    pub(crate) region: Option<String>,
    /// Named profile from ~/.aws/config.
    #[arg(long, global = true)]
    pub(crate) profile: Option<String>,
    /// Send every AWS call here (AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> work too).
    #[arg(long, global = true)]
    pub(crate) endpoint_url: Option<String>,
    /// Use the embedded local AWS (started if it is not running).
    #[arg(long, global = true)]
    pub(crate) local: bool,
    /// Port of the local stack (`lab local start --port N` works too).
    #[arg(
        long,
        visible_alias = "port",
        global = true,
        default_value_t = 4566,
        env = "LAB_LOCAL_PORT"
    )]
    pub(crate) local_port: u16,
    /// Strict local AWS: AWS's delays, state transitions, rate limits and eventual consistency
    /// (`lab local start --strict`, or any command with `--local` when it starts the stack).
    #[arg(long, global = true, env = "LAB_LOCAL_STRICT", value_parser = clap::builder::FalseyValueParser::new())]
    pub(crate) strict: bool,
    /// Strict mode's clock: 1.0 is AWS's own delays, 0.05 makes a 30 s limit last 1.5 s.
    #[arg(long, global = true, default_value_t = 1.0, env = "LAB_LOCAL_TIME_SCALE", value_parser = parse_time_scale)]
    pub(crate) time_scale: f64,
    /// Stack name: resources get the tutorial's names for the default stack, NAME-* otherwise.
    #[arg(long, global = true, default_value = crate::stack::names::DEFAULT_STACK, env = "LAB_STACK")]
    pub(crate) stack: String,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Text)]
    pub(crate) output: Output,
    /// More detail (HTTP status and latency for calls, SDK errors in full).
    #[arg(long, short = 'v', global = true)]
    pub(crate) verbose: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create or repair every resource of the tutorial and print the invoke URL.
    Up(UpArgs),
    /// Show each resource, its configuration and drift (exit 0 complete, 2 absent, 3 partial/drifted).
    Status(UpArgs),
    /// Call the API: create, read, update, delete, list, echo, ping, or a raw event.
    Call(CallArgs),
    /// Power-tune the function's memory (no Step Functions needed).
    Tune(Box<crate::tune::TuneArgs>),
    /// Load-test the API (the tutorial's 10 virtual users for 2 minutes) and compare memory sizes.
    Load(Box<crate::load::LoadArgs>),
    /// The whole tutorial: up, sample calls, tune, load at 128 and 1024 MB, report, down.
    Tutorial(TutorialArgs),
    /// Invoke the function directly (Lambda Invoke, not the API): an operation, an inline event or --event.
    Invoke(InvokeArgs),
    /// Remove everything `up` made, log group included.
    #[command(visible_alias = "teardown")]
    Down(DownArgs),
    /// The embedded local AWS (moto behind lab's gateway, running the real handler).
    Local(LocalArgs),
    /// Print the least-privilege IAM policy an operator needs for lab's verbs (JSON for `aws iam create-policy`).
    Policy(PolicyArgs),
    /// Print shell completions.
    Completions {
        /// The shell to write completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Options of `up` (and `status`, which compares against them).
#[derive(Debug, Args, Clone)]
pub(crate) struct UpArgs {
    /// Function memory in MB (128-10240).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(i32).range(128..=10240))]
    pub(crate) memory: i32,
    /// Function timeout in seconds (1-900).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=900))]
    pub(crate) timeout: i32,
    /// Function architecture.
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    pub(crate) arch: Arch,
    /// Deploy this prebuilt zip instead of building handler/.
    #[arg(long, conflicts_with = "bootstrap")]
    pub(crate) zip: Option<PathBuf>,
    /// Zip and deploy this already-built bootstrap binary instead of building handler/.
    #[arg(long)]
    pub(crate) bootstrap: Option<PathBuf>,
    /// Adopt resources that exist with this stack's names but without its tag.
    #[arg(long)]
    pub(crate) force: bool,
    /// Which handler the function runs: lab's Rust handler, or the tutorial's own Python function
    /// (verbatim, on python3.13). Switching updates the same function. [default: the one the
    /// function runs now, else rust]
    #[arg(long, value_enum)]
    pub(crate) handler: Option<Language>,
}

/// Options of `policy`.
#[derive(Debug, Args, Clone)]
pub(crate) struct PolicyArgs {
    /// Only these verbs' statements: up, status, down, call, invoke, tune, load, load-workers.
    #[arg(long)]
    pub(crate) verbs: Option<String>,
    /// Print each action beside the call that needs it, instead of the document.
    #[arg(long)]
    pub(crate) explain: bool,
    /// The function `invoke` and `tune` may target (default: the stack's; `*` for any).
    #[arg(long)]
    pub(crate) function: Option<String>,
    /// The account id (with --region, nothing is asked of AWS; otherwise STS says).
    #[arg(long)]
    pub(crate) account: Option<String>,
    /// The partition, used with --account.
    #[arg(long, default_value = "aws")]
    pub(crate) partition: String,
}

/// Options of `down`.
#[derive(Debug, Args, Clone)]
pub(crate) struct DownArgs {
    /// Do not ask before deleting the table and its data.
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Keep the table (and its data).
    #[arg(long)]
    pub(crate) keep_table: bool,
    /// Also delete same-named resources that lack this stack's tag.
    #[arg(long)]
    pub(crate) force: bool,
}

/// Options of `call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The operation; without one, `--event` sends a raw event.
    #[command(subcommand)]
    pub(crate) op: Option<CallOp>,
    /// Send a raw tutorial event from a file, or `-` for stdin.
    #[arg(long)]
    pub(crate) event: Option<String>,
    /// Transport.
    #[arg(long, value_enum, default_value_t = Via::Http, global = true)]
    pub(crate) via: Via,
    /// Call this URL instead of the stack's stage URL.
    #[arg(long, global = true)]
    pub(crate) url: Option<String>,
}

/// The tutorial's operations.
#[derive(Debug, Subcommand)]
pub(crate) enum CallOp {
    /// PutItem: `create --id 1 --name Bob --attr age:=42`.
    Create {
        /// The item's id (the partition key).
        #[arg(long)]
        id: String,
        /// The item's name attribute.
        #[arg(long)]
        name: Option<String>,
        /// key=value (string) or key:=JSON (typed), repeatable.
        #[arg(long = "attr")]
        attrs: Vec<String>,
    },
    /// GetItem by id.
    Read {
        /// The item's id.
        #[arg(long)]
        id: String,
    },
    /// UpdateItem: `update --id 1 --set name=Alice --set n:=5 --remove old`.
    Update {
        /// The item's id.
        #[arg(long)]
        id: String,
        /// Attributes to set: key=value (string) or key:=JSON (typed), repeatable.
        #[arg(long)]
        set: Vec<String>,
        /// Attributes to remove, repeatable.
        #[arg(long)]
        remove: Vec<String>,
    },
    /// DeleteItem by id.
    Delete {
        /// The item's id.
        #[arg(long)]
        id: String,
    },
    /// Scan the table.
    List {
        /// At most this many items per page.
        #[arg(long)]
        limit: Option<u32>,
        /// Follow LastEvaluatedKey until every page is read.
        #[arg(long)]
        all: bool,
    },
    /// Return the payload unchanged.
    Echo {
        /// The JSON payload to send back.
        #[arg(long, default_value = "{}")]
        payload: String,
    },
    /// Return "pong".
    Ping,
}

/// How Lambda runs an invocation (the AWS CLI's `--invocation-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum InvocationType {
    /// Wait for the function and return its response (200).
    #[value(name = "RequestResponse")]
    RequestResponse,
    /// Queue the event and return at once (202); the function runs later.
    #[value(name = "Event")]
    Event,
    /// Only check the parameters and permissions (204); the function does not run.
    #[value(name = "DryRun")]
    DryRun,
}

impl InvocationType {
    /// Lambda's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            InvocationType::RequestResponse => "RequestResponse",
            InvocationType::Event => "Event",
            InvocationType::DryRun => "DryRun",
        }
    }
}

/// Options of `invoke`.
#[derive(Debug, Args)]
pub(crate) struct InvokeArgs {
    /// One of `call`'s operations, turned into the tutorial's event.
    #[command(subcommand)]
    pub(crate) op: Option<CallOp>,
    /// The event as inline JSON: `lab invoke '{"operation":"ping"}'`.
    #[arg(value_name = "EVENT_JSON", conflicts_with = "event")]
    pub(crate) inline: Option<String>,
    /// The event from a file, or `-` for stdin.
    #[arg(long, value_name = "FILE|-")]
    pub(crate) event: Option<String>,
    /// NAME, ARN, or either with `:QUALIFIER` (version or alias); default: this stack's function.
    #[arg(long, global = true, value_name = "NAME|ARN[:QUALIFIER]")]
    pub(crate) function: Option<String>,
    /// Also print the decoded log tail and the REPORT line's figures.
    #[arg(long, global = true)]
    pub(crate) log: bool,
    /// RequestResponse (wait for the response), Event (asynchronous) or DryRun (check only).
    #[arg(long, global = true, value_enum, ignore_case = true, default_value_t = InvocationType::RequestResponse)]
    pub(crate) invocation_type: InvocationType,
}

/// Options of `tutorial`.
#[derive(Debug, Args)]
pub(crate) struct TutorialArgs {
    /// Load-test duration at each memory size (the tutorial's 2 minutes).
    #[arg(long, default_value = "2m")]
    pub(crate) duration: String,
    /// Invocations per power in the tune step.
    #[arg(long, default_value_t = 10)]
    pub(crate) num: u32,
    /// Virtual users of the load test.
    #[arg(long, default_value_t = 10)]
    pub(crate) vus: u32,
    /// The HTML report.
    #[arg(long, default_value = "lab-report.html")]
    pub(crate) report: PathBuf,
    /// Keep the stack at the end.
    #[arg(long)]
    pub(crate) keep: bool,
    /// Deploy this bootstrap binary instead of building handler/.
    #[arg(long)]
    pub(crate) bootstrap: Option<PathBuf>,
    /// Run the tune and load for lab's Rust handler and the tutorial's own Python function, one
    /// after the other on the same stack, and write one report with them side by side.
    #[arg(long)]
    pub(crate) compare_handlers: bool,
    /// With --compare-handlers: the latency each handler must stay under at a memory size under
    /// the load test (STAT<LIMIT; STAT avg, p50, p90, p95, p99).
    /// (k6's threshold syntax, as `lab load --threshold`).
    #[arg(long, default_value = "p95<100ms", value_parser = crate::load::threshold::parse_threshold, requires = "compare_handlers")]
    pub(crate) target: crate::load::threshold::Threshold,
}

/// `lab local ...`.
#[derive(Debug, Args)]
pub(crate) struct LocalArgs {
    /// What to do with the local stack.
    #[command(subcommand)]
    pub(crate) action: LocalAction,
}

/// Lifecycle of the local stack.
#[derive(Debug, Subcommand)]
pub(crate) enum LocalAction {
    /// Start it in the background (installs moto on first use).
    Start(LocalStartArgs),
    /// Stop it and every function instance (its state stays under LAB_HOME for the next start).
    Stop,
    /// Empty it: every resource, item, function and log group goes (running or not).
    Reset,
    /// Is it running, where, and with what.
    Status,
    /// Print its log.
    Logs {
        /// Keep printing new lines.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Run it in the foreground (what `start` runs in the background).
    Serve(LocalStartArgs),
}

/// A time scale: a positive, finite factor.
fn parse_time_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 && f <= 100.0 => Ok(f),
        _ => Err(format!(
            "{text:?} is not a time scale: give a factor above 0 and at most 100 (1.0 = AWS's own delays, 0.05 = 20x faster)"
        )),
    }
}

/// Options of the local stack.
#[derive(Debug, Args, Clone)]
pub(crate) struct LocalStartArgs {
    /// Account-wide concurrency limit (a new AWS account has 10).
    #[arg(long, default_value_t = 10)]
    pub(crate) concurrency: usize,
    /// IAM propagation: a new role cannot be assumed by Lambda for this many ms (default: none, or
    /// AWS's figure at the time scale with --strict).
    #[arg(long)]
    pub(crate) iam_delay_ms: Option<u64>,
    /// The account's memory cap for functions in MB (a new AWS account's is 3008); strict mode.
    #[arg(long, value_parser = clap::value_parser!(u32).range(128..=10240))]
    pub(crate) memory_cap: Option<u32>,
    /// Give each instance CPU in proportion to its memory (1769 MB = one vCPU), where cgroups allow.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub(crate) cpu_share: bool,
    /// Keep the state (resources, items, code, logs) under LAB_HOME across crashes and restarts:
    /// a write-ahead log of every acknowledged write plus snapshots. `false`: memory only.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub(crate) persist: bool,
    /// Start empty: delete the state the previous run kept.
    #[arg(long)]
    pub(crate) fresh: bool,
    /// What serves DynamoDB's items (PutItem, GetItem, Scan...): `native`, lab's own store in the
    /// gateway (tables stay in moto), or `moto`, as before it.
    #[arg(long, default_value = "native", value_parser = ["native", "moto"])]
    pub(crate) dynamodb: String,
    /// IAM on the strict stack: functions' calls are authorised against their execution role, the
    /// stage URL against the function's resource policy, the operator against --operator-policy.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub(crate) iam: Switch,
    /// Hold the operator's calls (any credentials but a function's) to this identity policy, e.g.
    /// `lab policy`'s output (strict mode; without it the operator is an administrator).
    #[arg(long, env = "LAB_LOCAL_OPERATOR_POLICY")]
    pub(crate) operator_policy: Option<PathBuf>,
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

impl Default for LocalStartArgs {
    /// The flags' defaults, as `--local` starts the stack on demand.
    fn default() -> Self {
        crate::flag_defaults::parse_defaults()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }

    #[test]
    fn on_demand_local_stack_uses_the_flag_defaults() {
        let args = super::LocalStartArgs::default();
        assert_eq!(
            (args.concurrency, args.iam_delay_ms, args.cpu_share),
            (10, None, true)
        );
        assert!(args.persist && !args.fresh);
        assert_eq!(args.dynamodb, "native");
    }

    #[test]
    fn subcommand_flags_do_not_collide_with_global_ones() {
        use clap::Parser;
        // `--profile` is the AWS profile; the load shape is `--load-profile`: both must parse together.
        let cli = super::Cli::try_parse_from([
            "lab",
            "--profile",
            "dev",
            "load",
            "--load-profile",
            "fixed",
        ])
        .unwrap();
        assert_eq!(cli.global.profile.as_deref(), Some("dev"));
        let super::Command::Load(args) = cli.command else {
            panic!("not load")
        };
        assert_eq!(args.profile, crate::load::Profile::Fixed);
        let cli =
            super::Cli::try_parse_from(["lab", "tune", "--num", "5", "--region", "eu-west-1"])
                .unwrap();
        assert_eq!(cli.global.region.as_deref(), Some("eu-west-1"));
    }
}
