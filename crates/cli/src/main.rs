//! `hearth`: the server and its client verbs.

mod admin_key;
mod alarm_actions;
mod client;
mod data_lock;
mod default_role;
mod egress_args;
mod event_targets;
mod fd_limit;
mod log_args;
mod mapping_args;
mod messaging;
mod metric_args;
mod node_args;
mod runtime_cmd;
mod schedules;
mod server;
mod sources;
mod tls;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
// `crate::duration::parse` in the options of the modules above.
use hearth_cli::duration;

#[derive(Debug, Parser)]
#[command(
    name = "hearth",
    version,
    about = "A self-hosted, AWS Lambda-compatible function platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the Lambda-compatible control plane in the foreground.
    Server(Box<server::ServerArgs>),
    /// Bring a PostgreSQL store's schema up to date (a node also does it at start) and
    /// say its version.
    Migrate {
        /// The PostgreSQL URL (as `hearth server --store`).
        #[arg(long, env = "HEARTH_STORE", value_name = "URL")]
        store: String,
    },
    /// Install or list runtimes.
    #[command(subcommand)]
    Runtime(runtime_cmd::RuntimeCommand),
    #[command(flatten)]
    Client(client::ClientCommand),
}

fn main() -> ExitCode {
    // The jail sandbox re-executes this binary as its zygote, which forks each environment's init.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == hearth_sandbox::jail::INIT_ARG)
    {
        hearth_sandbox::jail::init::main();
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Server(args) => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .init();
            let workers = args
                .worker_threads
                .map_or_else(server::default_worker_threads, |n| n as usize);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(server::run(*args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migrate { store } => {
            if !server::is_postgres(&store) {
                eprintln!("error: hearth migrate takes a PostgreSQL URL (the embedded store migrates itself at start), not {store:?}");
                return ExitCode::FAILURE;
            }
            match hearth_store::migrate_postgres(&store) {
                Ok((before, after)) if before == after => {
                    println!("schema version {after}: up to date");
                    ExitCode::SUCCESS
                }
                Ok((before, after)) => {
                    println!("schema version {before} -> {after}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Runtime(cmd) => match runtime_cmd::run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Client(cmd) => client::main(cmd),
    }
}
