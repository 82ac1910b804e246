//! Where Hearth keeps its data and its runtimes: the `--data-dir` and `--runtimes-dir`
//! options of `hearth server`, `hearth runtime` and `hearth-bench`.

use std::path::PathBuf;

/// Why a directory could not be named.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("HOME is not set: pass --data-dir")]
    NoHome,
    #[error("cannot resolve {}", .0.display())]
    Resolve(PathBuf, #[source] std::io::Error),
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
    pub fn data_dir(&self) -> Result<PathBuf, DirError> {
        let dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => {
                let home = std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .ok_or(DirError::NoHome)?;
                PathBuf::from(home).join(".local/share/hearth")
            }
        };
        absolute(dir)
    }

    /// `--runtimes-dir`, else `<data-dir>/runtimes`; always absolute, because runtimes are
    /// launched with the function's code directory as their working directory.
    pub fn runtimes_dir(&self) -> Result<PathBuf, DirError> {
        match &self.runtimes_dir {
            Some(dir) => absolute(dir.clone()),
            None => Ok(self.data_dir()?.join("runtimes")),
        }
    }
}

fn absolute(dir: PathBuf) -> Result<PathBuf, DirError> {
    std::path::absolute(&dir).map_err(|e| DirError::Resolve(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_default_under_the_data_dir_and_paths_are_absolute() {
        let dirs = DirArgs {
            runtimes_dir: None,
            data_dir: Some(PathBuf::from("rel/data")),
        };
        let data = dirs.data_dir().expect("data dir");
        assert!(data.is_absolute());
        assert!(data.ends_with("rel/data"));
        assert_eq!(
            dirs.runtimes_dir().expect("runtimes"),
            data.join("runtimes")
        );
        let given = DirArgs {
            runtimes_dir: Some(PathBuf::from("rt")),
            ..dirs
        };
        let runtimes = given.runtimes_dir().expect("runtimes");
        assert!(runtimes.is_absolute() && runtimes.ends_with("rt"));
        assert!(DirArgs {
            runtimes_dir: None,
            data_dir: Some(PathBuf::new()),
        }
        .data_dir()
        .is_err());
    }
}
