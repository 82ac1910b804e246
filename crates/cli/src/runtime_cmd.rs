//! `hearth runtime install|list`: installing the official runtime interface clients into
//! Hearth's runtimes directory, and showing which runtimes this host has ready.

use anyhow::bail;
use hearth_cli::dirs::DirArgs;
use hearth_cli::output::{emit, line, StdoutClosed};
use hearth_runtimes::install::{self, InstallOutcome};
use serde_json::json;

#[derive(Debug, clap::Subcommand)]
pub enum RuntimeCommand {
    /// Install runtimes (no names: every runtime this host can run). Safe to re-run.
    Install(InstallArgs),
    /// List the runtimes this host can run and whether each is installed.
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Runtime names, e.g. python3.11 nodejs20.x.
    #[arg(value_name = "RUNTIME")]
    pub names: Vec<String>,

    #[command(flatten)]
    pub dirs: DirArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print {"runtimes":[{"name":..,"installed":..}]}.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub dirs: DirArgs,
}

pub fn run(cmd: RuntimeCommand) -> anyhow::Result<()> {
    let result = match cmd {
        RuntimeCommand::Install(args) => install_runtimes(args),
        RuntimeCommand::List(args) => list(args),
    };
    match result {
        Err(err) if err.is::<StdoutClosed>() => Ok(()),
        other => other,
    }
}

fn install_runtimes(args: InstallArgs) -> anyhow::Result<()> {
    let dir = args.dirs.runtimes_dir()?;
    let names = if args.names.is_empty() {
        hearth_runtimes::host_runtimes()
    } else {
        args.names
    };
    let mut failed = Vec::new();
    // Each install runs pip or npm for seconds to minutes: a count of the runtimes done,
    // naming the one under way (on a terminal only).
    let bar = hearth_cli::progress::counter(names.len() as u64, "runtimes");
    for name in &names {
        let managed = name.starts_with("python3.") || name.starts_with("nodejs");
        if managed && !install::is_installed(&dir, name) {
            let slow = if name.starts_with("nodejs") {
                " (compiles a native module: this can take a few minutes)"
            } else {
                ""
            };
            bar.suspend(|| eprintln!("installing {name} into {}{slow}", dir.join(name).display()));
        }
        bar.set_message(format!("installing {name}"));
        let outcome = install::install(&dir, name);
        let said = bar.suspend(|| match outcome {
            Ok(InstallOutcome::Installed) => line(format!("{name}: installed")),
            Ok(InstallOutcome::AlreadyInstalled) => line(format!("{name}: already installed")),
            Ok(InstallOutcome::Builtin) => {
                line(format!("{name}: built in (runs the function's bootstrap)"))
            }
            Err(err) => {
                eprintln!("error: {err}");
                failed.push(name.as_str());
                Ok(())
            }
        });
        said?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    if !failed.is_empty() {
        bail!(
            "{} of {} runtimes failed to install: {}",
            failed.len(),
            names.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

fn list(args: ListArgs) -> anyhow::Result<()> {
    let dir = args.dirs.runtimes_dir()?;
    let runtimes: Vec<(String, bool)> = hearth_runtimes::host_runtimes()
        .into_iter()
        .map(|name| {
            let installed = install::is_installed(&dir, &name);
            (name, installed)
        })
        .collect();
    if args.json {
        let items: Vec<_> = runtimes
            .iter()
            .map(|(name, installed)| json!({ "name": name, "installed": installed }))
            .collect();
        return line(serde_json::to_string_pretty(&json!({ "runtimes": items }))?);
    }
    let width = runtimes
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0)
        .max("NAME".len());
    let mut text = format!("{:<width$}  INSTALLED\n", "NAME");
    for (name, installed) in &runtimes {
        let yes = if *installed { "yes" } else { "no" };
        text.push_str(&format!("{name:<width$}  {yes}\n"));
    }
    emit(text.as_bytes())
}
