//! `hearth runtime install|list`: installing the official runtime interface clients into
//! Hearth's runtimes directory, and showing which runtimes this host has ready.

use std::path::PathBuf;

use anyhow::{bail, Context};
use hearth_engine::runtimes::install::{self, InstallOutcome};
use serde_json::json;

use crate::client::output::{emit, line, StdoutClosed};

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

/// Where runtimes live: `--runtimes-dir`, else `<data-dir>/runtimes`.
#[derive(Debug, Clone, clap::Args)]
pub struct DirArgs {
    /// The runtimes directory [default: <data-dir>/runtimes].
    #[arg(long, env = "HEARTH_RUNTIMES_DIR", value_name = "DIR")]
    pub runtimes_dir: Option<PathBuf>,

    /// Hearth's data directory [default: ~/.local/share/hearth].
    #[arg(long, env = "HEARTH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DirArgs {
    /// `--data-dir`, else `~/.local/share/hearth`; always absolute.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => {
                let home = std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .context("HOME is not set: pass --data-dir")?;
                PathBuf::from(home).join(".local/share/hearth")
            }
        };
        absolute(dir)
    }

    /// `--runtimes-dir`, else `<data-dir>/runtimes`; always absolute, because runtimes are
    /// launched with the function's code directory as their working directory.
    pub fn runtimes_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.runtimes_dir {
            Some(dir) => absolute(dir.clone()),
            None => Ok(self.data_dir()?.join("runtimes")),
        }
    }
}

fn absolute(dir: PathBuf) -> anyhow::Result<PathBuf> {
    std::path::absolute(&dir).with_context(|| format!("cannot resolve {}", dir.display()))
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
        hearth_engine::runtimes::host_runtimes()
    } else {
        args.names
    };
    let mut failed = Vec::new();
    for name in &names {
        let managed = name.starts_with("python3.") || name.starts_with("nodejs");
        if managed && !install::is_installed(&dir, name) {
            let slow = if name.starts_with("nodejs") {
                " (compiles a native module: this can take a few minutes)"
            } else {
                ""
            };
            eprintln!("installing {name} into {}{slow}", dir.join(name).display());
        }
        match install::install(&dir, name) {
            Ok(InstallOutcome::Installed) => line(format!("{name}: installed"))?,
            Ok(InstallOutcome::AlreadyInstalled) => line(format!("{name}: already installed"))?,
            Ok(InstallOutcome::Builtin) => {
                line(format!("{name}: built in (runs the function's bootstrap)"))?
            }
            Err(err) => {
                eprintln!("error: {err}");
                failed.push(name.as_str());
            }
        }
    }
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
    let runtimes: Vec<(String, bool)> = hearth_engine::runtimes::host_runtimes()
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
