//! Installing runtime interface clients into Hearth's runtimes directory, and finding the
//! runtimes this host can run.
//!
//! A managed runtime (`python3.N`, `nodejsN.x`) is the host's interpreter plus the official
//! runtime interface client, installed into `<runtimes>/<name>`. The directory is built under a
//! temporary name with its `.hearth-installed` marker written last, then renamed into place, so
//! `<runtimes>/<name>` is either absent, a stale leftover without a marker, or complete.
//! `provided*` runtimes run the function's own `bootstrap` and need nothing installed.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::host::{node_major, python_minor};

/// File written inside a runtime directory once it is complete.
pub const MARKER: &str = ".hearth-installed";

/// The Python runtime interface client (PyPI).
pub const PYTHON_RIC: &str = "awslambdaric==4.2.2";

/// The Node.js runtime interface client for Node < 22 (npm).
pub const NODE_RIC_LEGACY: &str = "aws-lambda-ric@3.3.0";

/// The Node.js runtime interface client for Node >= 22: the 4.x line requires it.
pub const NODE_RIC_CURRENT: &str = "aws-lambda-ric@4";

/// The `provided*` runtimes: the function's `bootstrap` is the runtime.
pub const PROVIDED_RUNTIMES: [&str; 3] = ["provided", "provided.al2", "provided.al2023"];

/// awslambdaric 4.2.2 declares `Requires-Python: >=3.10`.
pub(super) const MIN_PYTHON_MINOR: u32 = 10;

/// First Node.js major served by the 4.x runtime interface client.
const NODE_RIC_CURRENT_MIN_MAJOR: u32 = 22;

/// The native build of aws-lambda-ric takes over a minute; a hung registry must still end.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// How much of a failed installer's output ends up in the error.
const TAIL_LINES: usize = 25;
const TAIL_CHARS: usize = 4000;

/// What [`install`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallOutcome {
    /// The runtime interface client was installed now.
    Installed,
    /// `<runtimes>/<name>/.hearth-installed` already existed; nothing was done.
    AlreadyInstalled,
    /// A `provided*` runtime: nothing to install, always available.
    Builtin,
}

/// Why a runtime could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(
        "unknown runtime {0:?} (expected python3.N, nodejsN.x, provided, provided.al2 or provided.al2023)"
    )]
    UnknownRuntime(String),

    #[error("runtime {runtime} needs `{program}`, which is not installed on this host")]
    InterpreterMissing { runtime: String, program: String },

    #[error("runtime {runtime} cannot be installed on this host: {reason}")]
    Unsupported { runtime: String, reason: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("installing runtime {runtime}: `{command}` failed ({status}){hint}\n{output}")]
    CommandFailed {
        runtime: String,
        command: String,
        status: String,
        hint: String,
        output: String,
    },

    #[error(
        "installing runtime {runtime}: `{command}` did not finish within {seconds} s\n{output}"
    )]
    TimedOut {
        runtime: String,
        command: String,
        seconds: u64,
        output: String,
    },

    #[error(
        "installing runtime {runtime}: npm finished but aws-lambda-ric's native module \
         (rapid-client.node) was not built under {dir}; check that npm runs install scripts \
         (ignore-scripts / allowScripts) and that cmake, autoconf, automake, libtool, make and g++ \
         are installed"
    )]
    NativeModuleMissing { runtime: String, dir: PathBuf },
}

/// A runtime name, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    Python { minor: u32 },
    Node { major: u32 },
    Provided,
}

fn parse(name: &str) -> Option<Spec> {
    if PROVIDED_RUNTIMES.contains(&name) {
        return Some(Spec::Provided);
    }
    if let Some(minor) = name.strip_prefix("python3.") {
        return number(minor).map(|minor| Spec::Python { minor });
    }
    let major = name.strip_prefix("nodejs")?.strip_suffix(".x")?;
    number(major).map(|major| Spec::Node { major })
}

pub(super) fn number(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `name` can be launched from `runtimes_dir` without installing anything.
pub fn is_installed(runtimes_dir: &Path, name: &str) -> bool {
    match parse(name) {
        Some(Spec::Provided) => true,
        Some(_) => runtimes_dir.join(name).join(MARKER).is_file(),
        None => false,
    }
}

/// Installs the runtime interface client for `name` into `<runtimes_dir>/<name>`.
///
/// Idempotent: an installed runtime (marker present) is left alone. Blocks while pip or npm
/// run, which can take minutes for Node.js (a native module is compiled).
pub fn install(runtimes_dir: &Path, name: &str) -> Result<InstallOutcome, InstallError> {
    let spec = parse(name).ok_or_else(|| InstallError::UnknownRuntime(name.to_string()))?;
    if spec == Spec::Provided {
        return Ok(InstallOutcome::Builtin);
    }
    // The installers run in the temporary directory, so a relative path would resolve there.
    let runtimes_dir = std::path::absolute(runtimes_dir).map_err(|source| InstallError::Io {
        context: format!("resolving {}", runtimes_dir.display()),
        source,
    })?;
    let runtimes_dir = runtimes_dir.as_path();
    let dir = runtimes_dir.join(name);
    if dir.join(MARKER).is_file() {
        return Ok(InstallOutcome::AlreadyInstalled);
    }
    let installer = match spec {
        Spec::Python { minor } => python_installer(name, minor)?,
        Spec::Node { major } => node_installer(name, major)?,
        Spec::Provided => return Ok(InstallOutcome::Builtin),
    };

    std::fs::create_dir_all(runtimes_dir).map_err(|source| InstallError::Io {
        context: format!("creating {}", runtimes_dir.display()),
        source,
    })?;
    let tmp = TempDir::create(runtimes_dir.join(format!("{name}.tmp-{}", std::process::id())))?;

    tracing::info!(runtime = name, package = installer.package, dir = %dir.display(), "installing runtime");
    let started = Instant::now();
    let mut command = Command::new(&installer.program);
    command
        .args(&installer.args)
        .arg(tmp.path())
        .arg(installer.package);
    for (key, value) in &installer.env {
        command.env(key, value);
    }
    command.current_dir(tmp.path());
    let shown = format!(
        "{} {} {} {}",
        installer.program,
        installer
            .args
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" "),
        tmp.path().display(),
        installer.package
    );
    run_installer(name, &shown, command)?;

    if installer.native_module
        && !has_native_module(&tmp.path().join("node_modules/aws-lambda-ric"))
    {
        return Err(InstallError::NativeModuleMissing {
            runtime: name.to_string(),
            dir: dir.join("node_modules/aws-lambda-ric"),
        });
    }
    let marker = tmp.path().join(MARKER);
    std::fs::write(&marker, format!("{name}\n{}\n", installer.package)).map_err(|source| {
        InstallError::Io {
            context: format!("writing {}", marker.display()),
            source,
        }
    })?;
    let outcome = commit(tmp, &dir)?;
    tracing::info!(
        runtime = name,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "runtime installed"
    );
    Ok(outcome)
}

/// Moves a complete temporary directory to `dir`, replacing a stale unmarked leftover.
fn commit(tmp: TempDir, dir: &Path) -> Result<InstallOutcome, InstallError> {
    if dir.exists() && !dir.join(MARKER).is_file() {
        std::fs::remove_dir_all(dir).map_err(|source| InstallError::Io {
            context: format!("removing incomplete runtime directory {}", dir.display()),
            source,
        })?;
    }
    match std::fs::rename(tmp.path(), dir) {
        Ok(()) => {
            tmp.keep();
            Ok(InstallOutcome::Installed)
        }
        // Another installer finished first; its directory is as good as ours.
        Err(_) if dir.join(MARKER).is_file() => Ok(InstallOutcome::AlreadyInstalled),
        Err(source) => Err(InstallError::Io {
            context: format!("moving {} to {}", tmp.path().display(), dir.display()),
            source,
        }),
    }
}

/// The command that installs one runtime's interface client; the target directory and the
/// package are appended to `args`.
struct Installer {
    program: String,
    args: Vec<OsString>,
    package: &'static str,
    env: Vec<(&'static str, OsString)>,
    native_module: bool,
}

fn python_installer(name: &str, minor: u32) -> Result<Installer, InstallError> {
    let program = format!("python3.{minor}");
    if python_minor(&program) != Some(minor) {
        return Err(InstallError::InterpreterMissing {
            runtime: name.to_string(),
            program,
        });
    }
    if minor < MIN_PYTHON_MINOR {
        return Err(InstallError::Unsupported {
            runtime: name.to_string(),
            reason: format!("{PYTHON_RIC} needs Python 3.{MIN_PYTHON_MINOR} or newer"),
        });
    }
    let args = [
        "-m",
        "pip",
        "install",
        "--no-input",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--target",
    ];
    Ok(Installer {
        program,
        args: args.iter().map(OsString::from).collect(),
        package: PYTHON_RIC,
        // `--user` (from the environment) cannot be combined with `--target`.
        env: vec![("PIP_USER", OsString::from("0"))],
        native_module: false,
    })
}

fn node_installer(name: &str, major: u32) -> Result<Installer, InstallError> {
    let Some(host_major) = node_major() else {
        return Err(InstallError::InterpreterMissing {
            runtime: name.to_string(),
            program: "node".to_string(),
        });
    };
    if host_major != major {
        return Err(InstallError::Unsupported {
            runtime: name.to_string(),
            reason: format!(
                "the host's node is version {host_major} (runtime nodejs{host_major}.x)"
            ),
        });
    }
    if !runs("npm", &["--version"]) {
        return Err(InstallError::InterpreterMissing {
            runtime: name.to_string(),
            program: "npm".to_string(),
        });
    }
    let package = if major >= NODE_RIC_CURRENT_MIN_MAJOR {
        NODE_RIC_CURRENT
    } else {
        NODE_RIC_LEGACY
    };
    let mut env = vec![
        // The native module is built by the package's install scripts.
        ("npm_config_ignore_scripts", OsString::from("false")),
        ("npm_config_update_notifier", OsString::from("false")),
        ("npm_config_fund", OsString::from("false")),
        ("npm_config_audit", OsString::from("false")),
    ];
    // node-gyp downloads Node's headers unless told where the installed ones are; the
    // registries may be the only thing this machine can reach.
    if std::env::var_os("npm_config_nodedir").is_none() {
        if let Some(prefix) = node_headers_prefix() {
            env.push(("npm_config_nodedir", prefix.into_os_string()));
        }
    }
    let args = ["install", "--no-save", "--prefix"];
    Ok(Installer {
        program: "npm".to_string(),
        args: args.iter().map(OsString::from).collect(),
        package,
        env,
        native_module: true,
    })
}

/// The prefix whose `include/node` holds the headers of the node on PATH, if it has them.
fn node_headers_prefix() -> Option<PathBuf> {
    let output = Command::new("node")
        .args(["-p", "process.execPath"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let exec_path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let prefix = exec_path.parent()?.parent()?.to_path_buf();
    prefix
        .join("include/node/node_version.h")
        .is_file()
        .then_some(prefix)
}

fn has_native_module(package_dir: &Path) -> bool {
    if package_dir.join("dist/rapid-client.node").is_file() {
        return true;
    }
    find_file(package_dir, "rapid-client.node", 6)
}

fn find_file(dir: &Path, name: &str, depth: usize) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_file() => entry.file_name() == name,
            Ok(kind) if kind.is_dir() && depth > 0 => find_file(&path, name, depth - 1),
            _ => false,
        }
    })
}

/// Runs an installer, collecting stdout and stderr together, bounded by [`INSTALL_TIMEOUT`].
fn run_installer(runtime: &str, shown: &str, mut command: Command) -> Result<(), InstallError> {
    tracing::debug!(command = shown, "running installer");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| InstallError::Io {
            context: format!("starting `{shown}`"),
            source,
        })?;
    let output = Arc::new(Mutex::new(Vec::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| collect(stream, Arc::clone(&output)))
    .collect();

    let deadline = Instant::now() + INSTALL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => thread::sleep(Duration::from_millis(100)),
            Err(source) => {
                return Err(InstallError::Io {
                    context: format!("waiting for `{shown}`"),
                    source,
                })
            }
        }
    };
    let Some(status) = status else {
        // Grandchildren (compilers) may keep the pipes open: take what was read so far.
        let _ = child.kill();
        let _ = child.wait();
        return Err(InstallError::TimedOut {
            runtime: runtime.to_string(),
            command: shown.to_string(),
            seconds: INSTALL_TIMEOUT.as_secs(),
            output: tail(&snapshot(&output)),
        });
    };
    for reader in readers {
        let _ = reader.join();
    }
    if status.success() {
        return Ok(());
    }
    let text = snapshot(&output);
    Err(InstallError::CommandFailed {
        runtime: runtime.to_string(),
        command: shown.to_string(),
        status: status.to_string(),
        hint: hint(&text),
        output: tail(&text),
    })
}

fn collect(mut stream: Box<dyn Read + Send>, into: Arc<Mutex<Vec<u8>>>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut out) = into.lock() {
                out.extend_from_slice(&buf[..n]);
            }
        }
    })
}

fn snapshot(output: &Mutex<Vec<u8>>) -> String {
    match output.lock() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(poisoned) => String::from_utf8_lossy(&poisoned.into_inner()).into_owned(),
    }
}

/// Output lines that mean the package registry could not be reached.
const UNREACHABLE_SIGNS: [&str; 14] = [
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Network is unreachable",
    "ProxyError",
    "ENOTFOUND",
    "ETIMEDOUT",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ENETUNREACH",
];

fn hint(output: &str) -> String {
    if UNREACHABLE_SIGNS.iter().any(|sign| output.contains(sign)) {
        return "; the package registry looks unreachable: check network access and proxy settings"
            .to_string();
    }
    if output.contains("(from versions: none)") {
        return "; pip found no versions at all: the package registry looks unreachable (check \
                network access and proxy settings), or has nothing for this Python"
            .to_string();
    }
    if output.contains("No module named pip") {
        return "; pip is not installed for this interpreter (Debian: apt-get install python3-pip)"
            .to_string();
    }
    if output.contains("gyp ERR!") || output.contains("CMake Error") || output.contains("make: ***")
    {
        return "; building the native module failed: install cmake, autoconf, automake, libtool, \
                make and g++"
            .to_string();
    }
    String::new()
}

/// The last lines of an installer's output, indented under the error line.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    let mut text = lines[start..].join("\n");
    if text.len() > TAIL_CHARS {
        let mut cut = text.len() - TAIL_CHARS;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text = text[cut..].to_string();
    }
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Removes the directory on drop unless [`TempDir::keep`] was called.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn create(path: PathBuf) -> Result<Self, InstallError> {
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|source| InstallError::Io {
                context: format!("removing leftover {}", path.display()),
                source,
            })?;
        }
        std::fs::create_dir(&path).map_err(|source| InstallError::Io {
            context: format!("creating {}", path.display()),
            source,
        })?;
        Ok(Self { path, keep: false })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            if let Err(error) = std::fs::remove_dir_all(&self.path) {
                tracing::warn!(path = %self.path.display(), %error, "could not remove temporary runtime directory");
            }
        }
    }
}

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_runtime_names() {
        assert_eq!(parse("python3.11"), Some(Spec::Python { minor: 11 }));
        assert_eq!(parse("nodejs20.x"), Some(Spec::Node { major: 20 }));
        assert_eq!(parse("provided.al2023"), Some(Spec::Provided));
        for bad in [
            "python3",
            "python3.",
            "python3.x",
            "nodejs20",
            "nodejs.x",
            "java21",
            "provided.al3",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn unknown_runtime_is_rejected_without_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = install(dir.path(), "cobol1.0").expect_err("unknown");
        assert!(matches!(err, InstallError::UnknownRuntime(_)));
        assert_eq!(std::fs::read_dir(dir.path()).expect("read").count(), 0);
    }

    #[test]
    fn provided_is_builtin_and_installed() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in PROVIDED_RUNTIMES {
            assert_eq!(
                install(dir.path(), name).expect("provided"),
                InstallOutcome::Builtin
            );
            assert!(is_installed(dir.path(), name));
        }
    }

    #[test]
    fn marker_means_already_installed() {
        let dir = tempfile::tempdir().expect("tempdir");
        // No interpreter is consulted when the marker exists.
        std::fs::create_dir_all(dir.path().join("python3.99")).expect("mkdir");
        assert!(!is_installed(dir.path(), "python3.99"));
        std::fs::write(dir.path().join("python3.99").join(MARKER), "x").expect("marker");
        assert!(is_installed(dir.path(), "python3.99"));
        assert_eq!(
            install(dir.path(), "python3.99").expect("installed"),
            InstallOutcome::AlreadyInstalled
        );
    }

    #[test]
    fn missing_interpreter_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = install(dir.path(), "python3.99").expect_err("no python3.99");
        assert!(err.to_string().contains("python3.99"), "{err}");
        assert!(matches!(err, InstallError::InterpreterMissing { .. }));
    }

    #[test]
    fn failed_command_keeps_tail_and_hint() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "echo line1; echo 'getaddrinfo ENOTFOUND registry' >&2; exit 3",
        ]);
        let err = run_installer("nodejs20.x", "npm install", command).expect_err("fails");
        let text = err.to_string();
        assert!(text.contains("unreachable"), "{text}");
        assert!(text.contains("ENOTFOUND"), "{text}");
        assert!(text.contains("exit status: 3"), "{text}");
    }

    #[test]
    fn commit_replaces_stale_directory() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("python3.11");
        std::fs::create_dir_all(dir.join("junk")).expect("stale");
        let tmp = TempDir::create(root.path().join("python3.11.tmp-1")).expect("tmp");
        std::fs::write(tmp.path().join(MARKER), "x").expect("marker");
        assert_eq!(
            commit(tmp, &dir).expect("commit"),
            InstallOutcome::Installed
        );
        assert!(dir.join(MARKER).is_file());
        assert!(!dir.join("junk").exists());
        assert!(!root.path().join("python3.11.tmp-1").exists());
    }
}
