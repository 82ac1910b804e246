//! The client verbs of `hearth` (`deploy`, `invoke`, `ls`, `rm`, `logs`, `layer`, `egress`,
//! `schedule`, `events`, ...): small programs that talk to a running Hearth server over its
//! AWS-compatible HTTP API.

mod audit;
mod cost;
mod credentials;
mod deploy;
mod egress;
mod eventbridge;
mod events;
mod http;
mod invoke;
mod keys;
mod kms;
mod layer;
mod logs;
mod ls;
mod nodes;
pub(crate) use hearth_cli::output;
mod package;
mod rm;
mod schedule;
mod scheduler;
mod sns;
mod triggers;
mod tune;
mod wait;

use std::process::ExitCode;

pub use audit::AuditArgs;
pub use cost::CostArgs;
pub use deploy::DeployArgs;
pub use egress::EgressArgs;
pub use events::EventsArgs;
pub use invoke::InvokeArgs;
pub use keys::KeysArgs;
pub use kms::KmsArgs;
pub use layer::LayerArgs;
pub use logs::LogsArgs;
pub use ls::LsArgs;
pub use nodes::NodesArgs;
pub use rm::RmArgs;
pub use schedule::ScheduleArgs;
pub use tune::TuneArgs;

// Meant for `#[command(flatten)]` into the binary's top-level subcommands (a doc comment here
// would become the binary's `about` text).
#[derive(Debug, clap::Subcommand)]
pub enum ClientCommand {
    /// Create or update a function from a directory or a .zip file, and wait until it is ready.
    Deploy(DeployArgs),
    /// Invoke a function synchronously and print its response.
    Invoke(InvokeArgs),
    /// List functions, each with what invokes it (URLs, queues, rules, schedules, topics).
    Ls(LsArgs),
    /// Delete a function.
    Rm(RmArgs),
    /// Print a function's log lines, oldest first.
    Logs(LogsArgs),
    /// Show or set a function's egress policy (where it may connect to).
    Egress(EgressArgs),
    /// Print the audit trail (who wrote what, from where, with which result), newest first.
    Audit(AuditArgs),
    /// Make and list KMS keys (for a function's KMSKeyArn).
    Kms(KmsArgs),
    /// Publish, list and delete layers (`hearth layer publish NAME DIR|ZIP`, `layer ls`,
    /// `layer rm NAME VERSION`); a function names them with `hearth deploy --layer ARN`.
    Layer(LayerArgs),
    /// The fleet's nodes (id, address, alive or gone, environments, runtimes).
    Nodes(NodesArgs),
    /// Manage the server's access keys (create, list, rotate, delete).
    Keys(KeysArgs),
    /// Invoke a function on a schedule (EventBridge Scheduler): `hearth schedule NAME
    /// 'rate(5 minutes)' --function F`; `schedule ls`, `schedule rm NAME`.
    Schedule(Box<ScheduleArgs>),
    /// Put an event on an EventBridge bus: `hearth events put --source S --detail-type T
    /// --detail JSON`.
    Events(EventsArgs),
    /// What the metered use would cost on AWS Lambda, per function, with the host's own
    /// CPU and memory use beside it.
    Cost(CostArgs),
    /// Power tuning: measure isolated copies of a function at several memory sizes and
    /// recommend one (by cost, speed or balanced); the copies are always deleted.
    Tune(Box<TuneArgs>),
}

/// Options every client verb takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// The Hearth server to talk to.
    #[arg(long, env = "HEARTH_ENDPOINT", default_value = "http://127.0.0.1:9000")]
    pub endpoint: String,

    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Trust the certificates of this PEM file (and no others) for an https:// endpoint,
    /// e.g. DATA_DIR/tls/self-signed.pem of `hearth server --tls-self-signed`, as the AWS
    /// CLI's `--ca-bundle` [default: the Mozilla roots].
    #[arg(long, env = "AWS_CA_BUNDLE", value_name = "FILE")]
    pub ca_bundle: Option<std::path::PathBuf>,
}

/// Runs one client verb. A function error reported by `invoke` is returned as
/// [`FunctionFailed`] after the payload has been printed.
pub fn run(cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Deploy(args) => deploy::run(args),
        ClientCommand::Invoke(args) => invoke::run(args),
        ClientCommand::Ls(args) => ls::run(args),
        ClientCommand::Rm(args) => rm::run(args),
        ClientCommand::Logs(args) => logs::run(args),
        ClientCommand::Egress(args) => egress::run(args),
        ClientCommand::Audit(args) => audit::run(args),
        ClientCommand::Kms(args) => kms::run(args),
        ClientCommand::Layer(args) => layer::run(args),
        ClientCommand::Nodes(args) => nodes::run(args),
        ClientCommand::Keys(args) => keys::run(args),
        ClientCommand::Schedule(args) => schedule::run(*args),
        ClientCommand::Events(args) => events::run(args),
        ClientCommand::Cost(args) => cost::run(args),
        ClientCommand::Tune(args) => tune::run(*args),
    }
}

/// Runs one client verb and turns the outcome into the process exit code: errors are printed
/// as `error: <Code>: <message>` with status 1; a function error from `invoke` is status 2.
pub fn main(cmd: ClientCommand) -> ExitCode {
    match run(cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.is::<FunctionFailed>() => ExitCode::from(2),
        Err(err) if err.is::<output::StdoutClosed>() => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `invoke` returned a function error (`X-Amz-Function-Error`); the payload was printed.
#[derive(Debug)]
pub struct FunctionFailed(pub String);

impl std::fmt::Display for FunctionFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the function returned an error ({})", self.0)
    }
}

impl std::error::Error for FunctionFailed {}
