//! External extensions: the executables of `<opt>/extensions/` that Lambda starts in an
//! environment before its runtime, and the environment they get.
//!
//! An extension gets the runtime's environment less the variables Lambda keeps for the
//! runtime. The list below is Lambda's documentation as remembered (the "environment
//! variables not available to extensions"); it may differ from Lambda's in detail.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Variables the runtime gets and extensions do not.
pub const RUNTIME_ONLY: &[&str] = &[
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_XRAY_CONTEXT_MISSING",
    "AWS_XRAY_DAEMON_ADDRESS",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
    "_AWS_XRAY_DAEMON_ADDRESS",
    "_AWS_XRAY_DAEMON_PORT",
    "_HANDLER",
];

/// The directory of the extensions in a composed `/opt`.
pub fn dir(opt: &Path) -> PathBuf {
    opt.join("extensions")
}

/// The file names of the extensions in `opt` (a composed layer tree): the executable
/// regular files of its `extensions/`, sorted (the order they are started in). None when
/// there is no such directory.
pub fn list(opt: Option<&Path>) -> Vec<String> {
    let Some(opt) = opt else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir(opt)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            // Following links, as exec does.
            std::fs::metadata(e.path())
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// The environment of an extension: the runtime's `env` less [`RUNTIME_ONLY`].
pub fn environment(env: &[(String, String)]) -> Vec<(String, String)> {
    env.iter()
        .filter(|(k, _)| !RUNTIME_ONLY.contains(&k.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_executable_files_are_extensions_in_name_order() {
        let opt = std::env::temp_dir().join(format!("hearth-ext-list-{}", std::process::id()));
        let ext = dir(&opt);
        std::fs::create_dir_all(ext.join("a-directory")).expect("mkdir");
        for (name, mode) in [("zeta", 0o755), ("alpha", 0o700), ("readme.txt", 0o644)] {
            let p = ext.join(name);
            std::fs::write(&p, "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        assert_eq!(
            list(Some(&opt)),
            vec!["alpha".to_string(), "zeta".to_string()]
        );
        assert_eq!(list(Some(&opt.join("none"))), Vec::<String>::new());
        assert_eq!(list(None), Vec::<String>::new());
        std::fs::remove_dir_all(&opt).expect("cleanup");
    }

    #[test]
    fn extensions_get_the_runtimes_environment_less_its_own_variables() {
        let env = [
            ("_HANDLER", "app.handler"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("MY_SETTING", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(
            environment(&env),
            vec![
                (
                    "AWS_LAMBDA_RUNTIME_API".to_string(),
                    "127.0.0.1:9001".to_string()
                ),
                ("MY_SETTING".to_string(), "1".to_string()),
            ]
        );
    }
}
