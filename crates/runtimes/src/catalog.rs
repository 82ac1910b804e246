//! The runtimes this host can run and how to launch each: the host's interpreter plus
//! the official runtime interface client from the runtimes directory, or the
//! function's own `bootstrap` for `provided*`.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use hearth_sandbox::GuestPaths;

use crate::host::{self, host_runtimes};
use crate::install;

/// How one runtime family starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Family {
    /// `python3.N -m awslambdaric <handler>`; `prefix` holds its standard library.
    Python {
        interpreter: PathBuf,
        prefix: PathBuf,
    },
    /// `node <ric>/bin/index.mjs <handler>`.
    Node {
        interpreter: PathBuf,
        prefix: PathBuf,
    },
    /// The function's `bootstrap`.
    Provided,
}

/// The command that starts a runtime for one function.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Runtime-specific variables (PYTHONPATH, NODE_PATH, PATH additions).
    pub env: Vec<(String, String)>,
    pub runtime_dir: Option<PathBuf>,
    /// Host directories the interpreter needs (made visible read-only in a jail).
    pub ro_paths: Vec<PathBuf>,
    /// Host directories of global modules, shown empty in a jail.
    pub hidden: Vec<PathBuf>,
    /// Managed runtimes get `AWS_EXECUTION_ENV`; custom ones do not.
    pub managed: bool,
    /// Where the function's layers are as the runtime sees them: `/opt` in a jail (as on
    /// Lambda, layers or not); in the process sandbox the composed tree's host path, or
    /// none for a function without layers (the host's own `/opt` is not the function's).
    pub opt: Option<PathBuf>,
}

/// Why an environment cannot start: reported to the caller as `Runtime.InvalidEntrypoint`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LaunchError {
    #[error("Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]")]
    NoBootstrap,
    #[error("fork/exec /var/task/bootstrap: permission denied")]
    NotExecutable,
    /// The bootstrap a layer brought (`/opt/bootstrap`) cannot be run.
    #[error("fork/exec /opt/bootstrap: permission denied")]
    OptNotExecutable,
    #[error("runtime {0} is not installed on this host (run `hearth runtime install {0}`)")]
    NotInstalled(String),
}

/// The host's runtimes, found once at start-up; installation state is checked live.
#[derive(Debug, Clone)]
pub struct Catalog {
    runtimes_dir: PathBuf,
    families: BTreeMap<String, Family>,
}

impl Catalog {
    /// Finds the host's interpreters (their real paths, not shims).
    pub fn discover(runtimes_dir: &Path) -> Self {
        let mut families = BTreeMap::new();
        for name in host_runtimes() {
            let family = if let Some(minor) = name.strip_prefix("python3.") {
                const ASK: &str = "import sys; print(sys.executable); print(sys.base_prefix)";
                ask(&format!("python3.{minor}"), &["-c", ASK])
                    .or_else(|| ask("python3", &["-c", ASK]))
                    .and_then(|lines| match lines.as_slice() {
                        [exe, prefix] => Some(Family::Python {
                            interpreter: real_path(exe)?,
                            prefix: real_path(prefix)?,
                        }),
                        _ => None,
                    })
            } else if name.starts_with("nodejs") {
                ask("node", &["-p", "process.execPath"]).and_then(|lines| {
                    let interpreter = real_path(lines.first()?)?;
                    // <prefix>/bin/node
                    let prefix = interpreter.parent()?.parent()?.to_path_buf();
                    Some(Family::Node {
                        interpreter,
                        prefix,
                    })
                })
            } else {
                Some(Family::Provided)
            };
            if let Some(f) = family {
                families.insert(name, f);
            }
        }
        Self {
            runtimes_dir: runtimes_dir.to_path_buf(),
            families,
        }
    }

    pub fn runtimes_dir(&self) -> &Path {
        &self.runtimes_dir
    }

    /// Runtimes a function can use right now: known on this host and installed.
    pub fn available(&self) -> Vec<String> {
        self.families
            .keys()
            .filter(|name| install::is_installed(&self.runtimes_dir, name))
            .cloned()
            .collect()
    }

    /// Every runtime this host could run, with whether it is installed.
    pub fn status(&self) -> Vec<(String, bool)> {
        self.families
            .keys()
            .map(|name| {
                (
                    name.clone(),
                    install::is_installed(&self.runtimes_dir, name),
                )
            })
            .collect()
    }

    /// The id of the runtime version a function of `runtime` gets now, for its
    /// `RuntimeVersionConfig.RuntimeVersionArn`: 64 hex digits of the SHA-256 of the
    /// runtime's name, its interpreter's real path and the installed runtime client's
    /// record (name and pinned version), so it changes when either is replaced and is
    /// the same on every start. `None` if the runtime is not available here.
    pub fn runtime_version(&self, runtime: &str) -> Option<String> {
        use sha2::Digest as _;
        let family = self
            .families
            .get(runtime)
            .filter(|_| install::is_installed(&self.runtimes_dir, runtime))?;
        let mut hash = sha2::Sha256::new();
        hash.update(runtime.as_bytes());
        if let Family::Python { interpreter, .. } | Family::Node { interpreter, .. } = family {
            hash.update(b"\0");
            hash.update(interpreter.as_os_str().as_encoded_bytes());
            let record = std::fs::read(self.runtimes_dir.join(runtime).join(install::MARKER))
                .unwrap_or_default();
            hash.update(b"\0");
            hash.update(&record);
        }
        Some(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// `python:3.11`, `nodejs:20`, `provided:al2023`: the label on `INIT_START`.
    pub fn version_label(runtime: &str) -> String {
        if let Some(v) = runtime.strip_prefix("python") {
            format!("python:{v}")
        } else if let Some(v) = runtime.strip_prefix("nodejs") {
            format!("nodejs:{}", v.trim_end_matches(".x"))
        } else {
            match runtime.split_once('.') {
                Some((family, v)) => format!("{family}:{v}"),
                None => format!("{runtime}:al1"),
            }
        }
    }

    /// The command for `runtime` running `handler` from `task_root` (a host path), with
    /// paths as the runtime will see them, for a function without layers.
    pub fn launch(
        &self,
        runtime: &str,
        handler: &str,
        task_root: &Path,
        guest: &GuestPaths,
    ) -> Result<Launch, LaunchError> {
        self.launch_with_layers(runtime, handler, task_root, None, guest)
    }

    /// [`Self::launch`] for a function whose layers are composed at `layers` (a host
    /// path): their directories join the search paths as Lambda's do (`PYTHONPATH`,
    /// `NODE_PATH`, `PATH`, and `LD_LIBRARY_PATH` from [`crate::contract`]), and a
    /// custom runtime's `bootstrap` may come from a layer (`/opt/bootstrap`).
    pub fn launch_with_layers(
        &self,
        runtime: &str,
        handler: &str,
        task_root: &Path,
        layers: Option<&Path>,
        guest: &GuestPaths,
    ) -> Result<Launch, LaunchError> {
        let family = self
            .families
            .get(runtime)
            .filter(|_| install::is_installed(&self.runtimes_dir, runtime))
            .ok_or_else(|| LaunchError::NotInstalled(runtime.to_string()))?;
        let dir = self.runtimes_dir.join(runtime);
        let (task_g, runtime_g, opt_g) = match guest {
            GuestPaths::Host => (
                task_root.to_path_buf(),
                dir.clone(),
                layers.map(Path::to_path_buf),
            ),
            GuestPaths::Lambda => (
                PathBuf::from("/var/task"),
                PathBuf::from("/var/runtime"),
                Some(PathBuf::from("/opt")),
            ),
        };
        let opt = opt_g.as_deref();
        Ok(match family {
            Family::Python {
                interpreter,
                prefix,
            } => Launch {
                program: interpreter.clone(),
                // -S: no site-packages of the host's (see PYTHON_PRELUDE).
                args: vec![
                    "-S".into(),
                    "-c".into(),
                    PYTHON_PRELUDE.into(),
                    handler.into(),
                ],
                env: vec![
                    ("PYTHONPATH".into(), python_path(runtime, &runtime_g, opt)),
                    ("PATH".into(), lambda_path(Some(interpreter), opt)),
                ],
                runtime_dir: Some(dir),
                ro_paths: interpreter_paths(interpreter, prefix),
                // -S leaves nothing of the host's to hide.
                hidden: Vec::new(),
                managed: true,
                opt: opt_g.clone(),
            },
            Family::Node {
                interpreter,
                prefix,
            } => {
                let modules = dir.join("node_modules");
                let modules_g = runtime_g.join("node_modules");
                // aws-lambda-ric 3.x starts from bin/index.mjs, 4.x (Node >= 22) from index.mjs.
                let ric = modules.join("aws-lambda-ric");
                let entry = ["bin/index.mjs", "index.mjs"]
                    .iter()
                    .map(|e| ric.join(e))
                    .find(|p| p.is_file())
                    .unwrap_or_else(|| ric.join("bin/index.mjs"));
                let entry_g = modules_g.join(entry.strip_prefix(&modules).unwrap_or(&entry));
                Launch {
                    program: interpreter.clone(),
                    args: vec![entry_g.display().to_string(), handler.into()],
                    env: vec![
                        (
                            "NODE_PATH".into(),
                            format!(
                                "{}{}:{}:{}",
                                node_layer_paths(runtime, opt),
                                modules_g.display(),
                                runtime_g.display(),
                                task_g.display()
                            ),
                        ),
                        ("PATH".into(), lambda_path(Some(interpreter), opt)),
                    ],
                    runtime_dir: Some(dir),
                    ro_paths: interpreter_paths(interpreter, prefix),
                    // Node searches `<prefix>/lib/node` (as `path.resolve(execPath,
                    // '../../lib/node')`) after NODE_PATH; HOME's folders are not
                    // searched, as HOME is unset.
                    hidden: vec![prefix.join("lib/node")],
                    managed: true,
                    opt: opt_g.clone(),
                }
            }
            Family::Provided => {
                // Lambda's order: the function's own, then a layer's.
                let found = [(
                    task_root.join("bootstrap"),
                    task_g.join("bootstrap"),
                    LaunchError::NotExecutable,
                )]
                .into_iter()
                .chain(layers.zip(opt).map(|(host, guest)| {
                    (
                        host.join("bootstrap"),
                        guest.join("bootstrap"),
                        LaunchError::OptNotExecutable,
                    )
                }))
                .find_map(|(host, guest, not_executable)| {
                    let meta = std::fs::metadata(&host).ok().filter(|m| m.is_file())?;
                    Some((meta, guest, not_executable))
                });
                let Some((meta, program, not_executable)) = found else {
                    return Err(LaunchError::NoBootstrap);
                };
                if meta.permissions().mode() & 0o111 == 0 {
                    return Err(not_executable);
                }
                Launch {
                    program,
                    args: Vec::new(),
                    env: vec![("PATH".into(), lambda_path(None, opt))],
                    runtime_dir: None,
                    ro_paths: Vec::new(),
                    hidden: Vec::new(),
                    managed: false,
                    opt: opt_g.clone(),
                }
            }
        })
    }
}

/// What `python -S -c` runs: a function sees the interpreter's standard library, the
/// runtime client (`PYTHONPATH`) and its own code, as on Lambda, and none of the host's
/// site-packages or dist-packages (`-S` keeps `site` from adding them; importing `site`
/// later adds nothing either). A function that forgets to bundle a dependency then
/// fails with `Runtime.ImportModuleError` here as it would there. `site` would also have
/// defined `exit`, `quit`, `help`, `copyright`, `credits` and `license`: they are
/// defined the same way, then the runtime client starts as `-m awslambdaric` would.
const PYTHON_PRELUDE: &str = "import site, runpy\n\
site.setquit(); site.setcopyright(); site.sethelper()\n\
runpy.run_module('awslambdaric', run_name='__main__', alter_sys=True)\n";

/// The runtime client's directory, after Lambda's layer directories (site-packages
/// first, then `python`, the order of Lambda's `sys.path`) where the function has them.
fn python_path(runtime: &str, runtime_g: &Path, opt: Option<&Path>) -> String {
    match opt {
        None => runtime_g.display().to_string(),
        Some(opt) => {
            let opt = opt.display();
            format!(
                "{opt}/python/lib/{runtime}/site-packages:{opt}/python:{}",
                runtime_g.display()
            )
        }
    }
}

/// Lambda's layer folders on `NODE_PATH` (`/opt/nodejs/node20/node_modules`, then
/// `/opt/nodejs/node_modules`), each followed by `:`; nothing without layers.
fn node_layer_paths(runtime: &str, opt: Option<&Path>) -> String {
    let Some(opt) = opt else {
        return String::new();
    };
    let opt = opt.display();
    let major = runtime
        .strip_prefix("nodejs")
        .unwrap_or(runtime)
        .trim_end_matches(".x");
    format!("{opt}/nodejs/node{major}/node_modules:{opt}/nodejs/node_modules:")
}

/// The path with every symlink resolved, if it exists: an interpreter reached through a
/// link (a version manager's `python3.N` on PATH) must be started by its real path,
/// which is what a jail mounts.
fn real_path(path: &str) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// What a jail must mount for `interpreter`: its prefix, and its own directory should it
/// live outside the prefix (under `/usr` both are there already; the jail skips them).
fn interpreter_paths(interpreter: &Path, prefix: &Path) -> Vec<PathBuf> {
    let mut paths = vec![prefix.to_path_buf()];
    if let Some(dir) = interpreter.parent() {
        if !interpreter.starts_with(prefix) {
            paths.push(dir.to_path_buf());
        }
    }
    paths
}

/// Lambda's `PATH` without its last entry, the layers' `/opt/bin`.
const LAMBDA_PATH: &str = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin";

/// Lambda's `PATH` (`/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin`) with the
/// interpreter's own directory first, where `/var/lang/bin` would hold it on Lambda,
/// and the layers' `bin` last where the function has layers.
fn lambda_path(interpreter: Option<&Path>, opt: Option<&Path>) -> String {
    let mut path = match interpreter.and_then(Path::parent) {
        Some(dir) => format!("{}:{LAMBDA_PATH}", dir.display()),
        None => LAMBDA_PATH.to_string(),
    };
    if let Some(opt) = opt {
        path.push_str(&format!(":{}/bin", opt.display()));
    }
    path
}

/// Runs `program args` and returns its output lines (the interpreter's own answer
/// about its real paths, not a shim's).
fn ask(program: &str, args: &[&str]) -> Option<Vec<String>> {
    let (stdout, _) = host::output_of(program, args)?;
    let lines: Vec<String> = stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    (!lines.is_empty()).then_some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(Catalog::version_label("python3.11"), "python:3.11");
        assert_eq!(Catalog::version_label("nodejs20.x"), "nodejs:20");
        assert_eq!(Catalog::version_label("provided.al2023"), "provided:al2023");
        assert_eq!(Catalog::version_label("provided"), "provided:al1");
    }

    #[test]
    fn python_runs_without_site_packages_from_the_real_interpreter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let prefix = dir.path().join("prefix");
        std::fs::create_dir_all(prefix.join("bin")).expect("mkdir");
        std::fs::write(prefix.join("bin/python3.11"), "").expect("write");
        // A version manager's layout: a link elsewhere on PATH to the real interpreter.
        let shims = dir.path().join("shims");
        std::fs::create_dir(&shims).expect("mkdir");
        std::os::unix::fs::symlink(prefix.join("bin/python3.11"), shims.join("python3.11"))
            .expect("symlink");
        let real = real_path(&shims.join("python3.11").display().to_string()).expect("real");
        assert_eq!(
            real,
            prefix.join("bin/python3.11").canonicalize().expect("canon")
        );
        assert_eq!(real_path("/no/such/python3.11"), None);
        std::fs::create_dir_all(dir.path().join("rt/python3.11")).expect("mkdir");
        std::fs::write(dir.path().join("rt/python3.11/.hearth-installed"), "").expect("mark");
        let catalog = Catalog {
            runtimes_dir: dir.path().join("rt"),
            families: BTreeMap::from([(
                "python3.11".to_string(),
                Family::Python {
                    interpreter: real.clone(),
                    prefix: prefix.clone(),
                },
            )]),
        };
        let task = dir.path().join("task");
        let jailed = catalog
            .launch("python3.11", "app.handler", &task, &GuestPaths::Lambda)
            .expect("launch");
        assert_eq!(jailed.program, real);
        assert_eq!(jailed.args[..2], ["-S", "-c"]);
        assert_eq!(jailed.args[3], "app.handler");
        assert!(jailed.args[2].contains("run_module('awslambdaric'"));
        assert_eq!(jailed.ro_paths, std::slice::from_ref(&prefix));
        let env: BTreeMap<_, _> = jailed.env.into_iter().collect();
        assert_eq!(
            env["PYTHONPATH"],
            "/opt/python/lib/python3.11/site-packages:/opt/python:/var/runtime"
        );
        let host = catalog
            .launch("python3.11", "app.handler", &task, &GuestPaths::Host)
            .expect("launch");
        let env: BTreeMap<_, _> = host.env.into_iter().collect();
        assert_eq!(
            env["PYTHONPATH"],
            dir.path().join("rt/python3.11").display().to_string()
        );
        // An interpreter outside its prefix brings its own directory along.
        assert_eq!(
            interpreter_paths(Path::new("/opt/a/bin/python3"), Path::new("/opt/b")),
            [PathBuf::from("/opt/b"), PathBuf::from("/opt/a/bin")]
        );
    }

    /// A catalogue of one installed runtime of `family`, in `dir`.
    fn one(dir: &Path, runtime: &str, family: Family) -> Catalog {
        std::fs::create_dir_all(dir.join("rt").join(runtime)).expect("mkdir");
        std::fs::write(dir.join("rt").join(runtime).join(".hearth-installed"), "").expect("mark");
        Catalog {
            runtimes_dir: dir.join("rt"),
            families: BTreeMap::from([(runtime.to_string(), family)]),
        }
    }

    #[test]
    fn layers_join_the_search_paths_as_on_lambda() {
        let dir = tempfile::tempdir().expect("tempdir");
        let task = dir.path().join("task");
        let layers = Path::new("/data/opt/k");
        let python = one(
            dir.path(),
            "python3.12",
            Family::Python {
                interpreter: PathBuf::from("/usr/bin/python3.12"),
                prefix: PathBuf::from("/usr"),
            },
        );
        let env = |l: Launch| -> BTreeMap<String, String> { l.env.into_iter().collect() };
        let rt = dir.path().join("rt/python3.12").display().to_string();
        let host = python
            .launch_with_layers("python3.12", "h", &task, Some(layers), &GuestPaths::Host)
            .expect("launch");
        assert_eq!(host.opt.as_deref(), Some(layers));
        let host = env(host);
        assert_eq!(
            host["PYTHONPATH"],
            format!("/data/opt/k/python/lib/python3.12/site-packages:/data/opt/k/python:{rt}")
        );
        assert_eq!(
            host["PATH"],
            "/usr/bin:/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/data/opt/k/bin"
        );
        // Without layers the process sandbox names no /opt at all.
        let bare = python
            .launch("python3.12", "h", &task, &GuestPaths::Host)
            .expect("launch");
        assert_eq!(bare.opt, None);
        let bare = env(bare);
        assert_eq!(bare["PYTHONPATH"], rt);
        assert_eq!(
            bare["PATH"],
            "/usr/bin:/var/lang/bin:/usr/local/bin:/usr/bin/:/bin"
        );
        // A jail always has Lambda's /opt, layers or not.
        let jailed = env(python
            .launch("python3.12", "h", &task, &GuestPaths::Lambda)
            .expect("launch"));
        assert_eq!(
            jailed["PATH"],
            "/usr/bin:/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
        );

        let node = one(
            dir.path(),
            "nodejs20.x",
            Family::Node {
                interpreter: PathBuf::from("/usr/bin/node"),
                prefix: PathBuf::from("/usr"),
            },
        );
        let jailed = env(node
            .launch_with_layers("nodejs20.x", "h", &task, Some(layers), &GuestPaths::Lambda)
            .expect("launch"));
        assert_eq!(
            jailed["NODE_PATH"],
            "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task"
        );
        let host = env(node
            .launch_with_layers("nodejs20.x", "h", &task, Some(layers), &GuestPaths::Host)
            .expect("launch"));
        assert!(
            host["NODE_PATH"].starts_with(
                "/data/opt/k/nodejs/node20/node_modules:/data/opt/k/nodejs/node_modules:"
            ),
            "{}",
            host["NODE_PATH"]
        );
    }

    #[test]
    fn a_layer_may_bring_the_bootstrap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = one(dir.path(), "provided.al2023", Family::Provided);
        let task = dir.path().join("task");
        let opt = dir.path().join("opt");
        std::fs::create_dir_all(&task).expect("mkdir");
        std::fs::create_dir_all(&opt).expect("mkdir");
        std::fs::write(opt.join("bootstrap"), "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(
            opt.join("bootstrap"),
            std::fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        let launch =
            |guest| catalog.launch_with_layers("provided.al2023", "h", &task, Some(&opt), guest);
        assert_eq!(
            launch(&GuestPaths::Lambda).err(),
            Some(LaunchError::OptNotExecutable)
        );
        std::fs::set_permissions(
            opt.join("bootstrap"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        assert_eq!(
            launch(&GuestPaths::Lambda).expect("launch").program,
            Path::new("/opt/bootstrap")
        );
        assert_eq!(
            launch(&GuestPaths::Host).expect("launch").program,
            opt.join("bootstrap")
        );
        // The function's own comes first.
        std::fs::write(task.join("bootstrap"), "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(
            task.join("bootstrap"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        assert_eq!(
            launch(&GuestPaths::Lambda).expect("launch").program,
            Path::new("/var/task/bootstrap")
        );
    }

    #[test]
    fn provided_checks_bootstrap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = Catalog {
            runtimes_dir: dir.path().to_path_buf(),
            families: BTreeMap::from([("provided.al2023".to_string(), Family::Provided)]),
        };
        let task = dir.path().join("task");
        std::fs::create_dir(&task).expect("mkdir");
        assert_eq!(
            catalog
                .launch("provided.al2023", "h", &task, &GuestPaths::Host)
                .err(),
            Some(LaunchError::NoBootstrap)
        );
        std::fs::write(task.join("bootstrap"), "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(
            task.join("bootstrap"),
            std::fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        assert_eq!(
            catalog
                .launch("provided.al2023", "h", &task, &GuestPaths::Host)
                .err(),
            Some(LaunchError::NotExecutable)
        );
        std::fs::set_permissions(
            task.join("bootstrap"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        let launch = catalog
            .launch("provided.al2023", "h", &task, &GuestPaths::Host)
            .expect("launch");
        assert!(!launch.managed);
        assert_eq!(launch.program, task.join("bootstrap"));
        let jailed = catalog
            .launch("provided.al2023", "h", &task, &GuestPaths::Lambda)
            .expect("launch");
        assert_eq!(jailed.program, Path::new("/var/task/bootstrap"));
        assert_eq!(
            catalog
                .launch("python3.11", "h", &task, &GuestPaths::Host)
                .err(),
            Some(LaunchError::NotInstalled("python3.11".into()))
        );
    }
}
