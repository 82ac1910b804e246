//! What a function's own environment variables do to how its runtime starts, beyond
//! being set: `AWS_LAMBDA_EXEC_WRAPPER` (Lambda's "wrapper scripts", an internal
//! extension) puts the function's script in front of the runtime's command, and a
//! function's `PYTHONPATH` adds to the Python runtime's search path rather than hiding
//! the layers and the runtime client. Every other variable (`NODE_OPTIONS`,
//! `NODE_PATH`, `PATH`, `LD_LIBRARY_PATH` ...) simply replaces the runtime's value, as
//! Lambda documents for its unreserved variables.

use std::path::{Path, PathBuf};

use hearth_sandbox::GuestPaths;

use crate::Launch;

/// The variable naming a wrapper script.
pub const EXEC_WRAPPER: &str = "AWS_LAMBDA_EXEC_WRAPPER";

/// Starts `launch` through the function's wrapper script, if its variables name one:
/// Lambda runs `<wrapper> <runtime program> <its arguments...>`, so that the script can
/// change the environment or the arguments and then `exec "$@"`. Only managed runtimes:
/// Lambda does not support wrappers on the OS-only runtimes (`provided*`), whose
/// `bootstrap` is the function's own, and ignores the variable there.
///
/// The wrapper is named as the runtime sees paths (`/opt/wrapper.sh`, from a layer, or
/// `/var/task/...`); in the process sandbox, which has no such paths, `/opt/` is read as
/// the function's composed layers (`layers`) and `/var/task/` as its code (`task_root`).
pub fn wrap(
    launch: &mut Launch,
    function_env: &[(String, String)],
    (task_root, layers): (&Path, Option<&Path>),
    guest: &GuestPaths,
) {
    if !launch.managed {
        return;
    }
    let Some(wrapper) = last(function_env, EXEC_WRAPPER).filter(|w| !w.is_empty()) else {
        return;
    };
    let program = match guest {
        GuestPaths::Lambda => PathBuf::from(wrapper),
        GuestPaths::Host => host_path(wrapper, task_root, layers),
    };
    let original = std::mem::replace(&mut launch.program, program);
    let mut args = Vec::with_capacity(launch.args.len() + 1);
    args.push(original.display().to_string());
    args.append(&mut launch.args);
    launch.args = args;
}

/// A guest path as the process sandbox finds it on the host.
fn host_path(path: &str, task_root: &Path, layers: Option<&Path>) -> PathBuf {
    if let (Some(rest), Some(opt)) = (path.strip_prefix("/opt/"), layers) {
        return opt.join(rest);
    }
    if let Some(rest) = path.strip_prefix("/var/task/") {
        return task_root.join(rest);
    }
    PathBuf::from(path)
}

/// The runtime's variables (`runtime_env`, from the contract) followed by the
/// function's own, where a later entry replaces an earlier one of the same name, except
/// that a function's `PYTHONPATH` goes in front of the Python runtime's: the function's
/// directories are searched first and the layers' and the runtime client's stay on the
/// path. (Lambda's Python runtimes put the layers' directories and the runtime client
/// on `sys.path` themselves, whatever `PYTHONPATH` says; Hearth's runtime client relies
/// on `PYTHONPATH`, so it keeps its entries after the function's. Where exactly
/// Lambda's `sys.path` puts a function's `PYTHONPATH` entries relative to `/var/task`
/// and `/opt/python` is not documented.)
pub fn merge(runtime_env: &mut Vec<(String, String)>, function_env: &[(String, String)]) {
    let runtime_python = last(runtime_env, "PYTHONPATH").map(str::to_string);
    for (name, value) in function_env {
        let value = match (&runtime_python, name.as_str()) {
            (Some(ours), "PYTHONPATH") if !value.is_empty() => format!("{value}:{ours}"),
            _ => value.clone(),
        };
        // Replaced in place, never set twice: a jail hands the list to `execve` as it
        // is, and a runtime's `getenv` reads the first of two entries.
        runtime_env.retain(|(n, _)| n != name);
        runtime_env.push((name.clone(), value));
    }
}

/// The last value of `name` (the one a process started with `env` sees).
fn last<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(managed: bool) -> Launch {
        Launch {
            program: PathBuf::from("/usr/bin/python3.12"),
            args: vec!["-S".into(), "-c".into(), "prelude".into(), "app.h".into()],
            env: Vec::new(),
            runtime_dir: None,
            ro_paths: Vec::new(),
            hidden: Vec::new(),
            managed,
            opt: Some(PathBuf::from("/opt")),
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_wrapper_gets_the_runtime_command_as_its_arguments() {
        let mut launch = python(true);
        let env = vars(&[("A", "b"), (EXEC_WRAPPER, "/opt/wrapper.sh")]);
        wrap(
            &mut launch,
            &env,
            (Path::new("/t"), None),
            &GuestPaths::Lambda,
        );
        assert_eq!(launch.program, Path::new("/opt/wrapper.sh"));
        assert_eq!(
            launch.args,
            ["/usr/bin/python3.12", "-S", "-c", "prelude", "app.h"]
        );
    }

    #[test]
    fn the_process_sandbox_finds_a_wrapper_in_the_layers_or_the_code() {
        let env = vars(&[(EXEC_WRAPPER, "/opt/bin/w")]);
        let mut launch = python(true);
        let paths = (Path::new("/code/abc"), Some(Path::new("/data/opt/k")));
        wrap(&mut launch, &env, paths, &GuestPaths::Host);
        assert_eq!(launch.program, Path::new("/data/opt/k/bin/w"));
        let env = vars(&[(EXEC_WRAPPER, "/var/task/w.sh")]);
        let mut launch = python(true);
        wrap(&mut launch, &env, paths, &GuestPaths::Host);
        assert_eq!(launch.program, Path::new("/code/abc/w.sh"));
        // No layers: an /opt path is the host's, as given.
        let env = vars(&[(EXEC_WRAPPER, "/opt/w")]);
        let mut launch = python(true);
        wrap(
            &mut launch,
            &env,
            (Path::new("/c"), None),
            &GuestPaths::Host,
        );
        assert_eq!(launch.program, Path::new("/opt/w"));
    }

    #[test]
    fn no_wrapper_for_a_custom_runtime_or_an_empty_value() {
        for (managed, value) in [(false, "/opt/w"), (true, "")] {
            let mut launch = python(managed);
            let env = vars(&[(EXEC_WRAPPER, value)]);
            wrap(
                &mut launch,
                &env,
                (Path::new("/t"), None),
                &GuestPaths::Lambda,
            );
            assert_eq!(launch.program, Path::new("/usr/bin/python3.12"));
            assert_eq!(launch.args.len(), 4);
        }
    }

    #[test]
    fn a_functions_pythonpath_goes_first_and_other_variables_replace() {
        let mut env = vars(&[
            ("PYTHONPATH", "/opt/python:/var/runtime"),
            ("NODE_OPTIONS", "x"),
        ]);
        merge(
            &mut env,
            &vars(&[("PYTHONPATH", "/var/task/vendor"), ("NODE_OPTIONS", "--y")]),
        );
        assert_eq!(
            last(&env, "PYTHONPATH"),
            Some("/var/task/vendor:/opt/python:/var/runtime")
        );
        assert_eq!(last(&env, "NODE_OPTIONS"), Some("--y"));
        // Each name once: `execve` passes duplicates on, and `getenv` reads the first.
        assert_eq!(env.len(), 2, "{env:?}");
        // A runtime without PYTHONPATH (Node, custom): the function's is set as given.
        let mut env = vars(&[("NODE_PATH", "/opt/nodejs/node_modules")]);
        merge(&mut env, &vars(&[("PYTHONPATH", "/x")]));
        assert_eq!(last(&env, "PYTHONPATH"), Some("/x"));
    }
}
