//! Finding the runtimes this host can run: its Python 3 interpreters (3.10 and later, as
//! awslambdaric requires), its Node.js, and the always-available `provided*` runtimes.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use super::install::{number, MIN_PYTHON_MINOR, PROVIDED_RUNTIMES};

/// The runtime names this host can run, sorted: `python3.N` for every working `python3.N` on
/// PATH (including the one `python3` is), `nodejsN.x` for `node`, and the `provided*` runtimes.
pub fn host_runtimes() -> Vec<String> {
    let mut candidates: BTreeSet<String> = path_pythons();
    if let Some(minor) = python_minor("python3") {
        candidates.insert(format!("python3.{minor}"));
    }
    let mut minors: Vec<u32> = candidates
        .iter()
        .filter_map(|program| {
            let wanted = number(program.strip_prefix("python3.")?)?;
            (python_minor(program) == Some(wanted) && wanted >= MIN_PYTHON_MINOR).then_some(wanted)
        })
        .collect();
    minors.sort_unstable();
    minors.dedup();

    let mut names: Vec<String> = minors.iter().map(|m| format!("python3.{m}")).collect();
    if let Some(major) = node_major() {
        names.push(format!("nodejs{major}.x"));
    }
    names.extend(PROVIDED_RUNTIMES.iter().map(|r| r.to_string()));
    names
}

/// Executables named `python3.N` in the PATH directories.
fn path_pythons() -> BTreeSet<String> {
    let Some(path) = std::env::var_os("PATH") else {
        return BTreeSet::new();
    };
    std::env::split_paths(&path)
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten())
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            number(name.strip_prefix("python3.")?)?;
            let mode = std::fs::metadata(entry.path()).ok()?.permissions().mode();
            (mode & 0o111 != 0).then_some(name)
        })
        .collect()
}

/// What `program args` printed (stdout, then stderr), if it ran and succeeded.
pub(super) fn output_of(program: &str, args: &[&str]) -> Option<(String, String)> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    output.status.success().then(|| {
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
}

/// The minor version `program --version` reports for Python 3, if it runs.
pub(super) fn python_minor(program: &str) -> Option<u32> {
    let (stdout, stderr) = output_of(program, &["--version"])?;
    // Python 3 prints to stdout; very old interpreters printed to stderr.
    parse_python_version(&(stdout + &stderr))
}

fn parse_python_version(text: &str) -> Option<u32> {
    let version = text.trim().strip_prefix("Python 3.")?;
    let minor: String = version.chars().take_while(char::is_ascii_digit).collect();
    number(&minor)
}

/// The major version of the `node` on PATH, if it runs.
pub(super) fn node_major() -> Option<u32> {
    parse_node_version(&output_of("node", &["--version"])?.0)
}

fn parse_node_version(text: &str) -> Option<u32> {
    let major = text.trim().strip_prefix('v')?.split('.').next()?;
    number(major)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(parse_python_version("Python 3.11.7\n"), Some(11));
        assert_eq!(parse_python_version("Python 3.13.0rc1"), Some(13));
        assert_eq!(parse_python_version("Python 2.7.18"), None);
        assert_eq!(
            parse_python_version("pyenv: python3.12: command not found"),
            None
        );
        assert_eq!(parse_node_version("v20.20.2\n"), Some(20));
        assert_eq!(parse_node_version("20.1.0"), None);
    }

    #[test]
    fn host_runtimes_always_include_provided() {
        let names = host_runtimes();
        for name in PROVIDED_RUNTIMES {
            assert!(names.iter().any(|n| n == name));
        }
    }
}
