//! Where Hearth keeps its data and its runtimes: the `--data-dir` and `--runtimes-dir`
//! options of `hearth server`, `hearth runtime` and `hearth-bench`.

use std::path::PathBuf;

use anyhow::Context;

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
