//! The function environment-variable contract: the variables a runtime finds in its
//! execution environment (Lambda's reserved variables, with Hearth's fixed region and
//! placeholder credentials), then the runtime's own from its [`Launch`] (`PATH`,
//! `PYTHONPATH`, `NODE_PATH`). Written once, for the engine, which then adds the
//! function's own variables, and for the benchmark's floor, which execs the same runtime
//! with no Hearth in between and must give it the very same environment.

use std::path::Path;

use hearth_model::arn::{LATEST, REGION};
use hearth_sandbox::GuestPaths;

use crate::Launch;

/// What the variables say about the function and its environment.
#[derive(Debug, Clone, Copy)]
pub struct FunctionEnv<'a> {
    pub name: &'a str,
    pub runtime: &'a str,
    pub handler: &'a str,
    /// `$LATEST` or a number; empty means `$LATEST`.
    pub version: &'a str,
    pub memory_mb: i64,
    pub log_group: &'a str,
    pub log_stream: &'a str,
    pub initialization_type: Initialization,
    /// `LoggingConfig.LogFormat`: `Text` or `JSON`.
    pub log_format: &'a str,
    /// `LoggingConfig.ApplicationLogLevel` (set only with `JSON`).
    pub log_level: Option<&'a str>,
}

/// How the environment came to be, as `AWS_LAMBDA_INITIALIZATION_TYPE` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initialization {
    /// Started for an invocation that found no idle environment.
    OnDemand,
    /// Started ahead for a provisioned-concurrency configuration.
    ProvisionedConcurrency,
}

impl Initialization {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnDemand => "on-demand",
            Self::ProvisionedConcurrency => "provisioned-concurrency",
        }
    }
}

/// The variables of one execution environment running `launch` with the code at
/// `task_root` (a host path), with paths as the runtime sees them (`guest`).
/// `runtime_api` is the Runtime API's `host:port`; `None` leaves
/// `AWS_LAMBDA_RUNTIME_API` to a caller that knows the address only when it starts the
/// runtime.
pub fn variables(
    function: &FunctionEnv<'_>,
    runtime_api: Option<&str>,
    task_root: &Path,
    launch: &Launch,
    guest: &GuestPaths,
) -> Vec<(String, String)> {
    let (task, runtime_dir) = match guest {
        GuestPaths::Host => (
            task_root.display().to_string(),
            launch
                .runtime_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "/var/runtime".into()),
        ),
        GuestPaths::Lambda => ("/var/task".to_string(), "/var/runtime".to_string()),
    };
    let version = if function.version.is_empty() {
        LATEST
    } else {
        function.version
    };
    let mut env: Vec<(String, String)> = Vec::new();
    if let Some(api) = runtime_api {
        env.push(("AWS_LAMBDA_RUNTIME_API".into(), api.to_string()));
    }
    let reserved = [
        ("_HANDLER", function.handler.to_string()),
        ("LAMBDA_TASK_ROOT", task.clone()),
        ("LAMBDA_RUNTIME_DIR", runtime_dir.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.name.to_string()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            function.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", version.to_string()),
        (
            "AWS_LAMBDA_INITIALIZATION_TYPE",
            function.initialization_type.as_str().to_string(),
        ),
        ("AWS_LAMBDA_LOG_GROUP_NAME", function.log_group.to_string()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", function.log_stream.to_string()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_DEFAULT_REGION", REGION.to_string()),
        // Hearth has no STS: functions get fixed placeholder credentials so that SDKs
        // inside them can sign requests (to Hearth or to local services).
        ("AWS_ACCESS_KEY_ID", "hearth".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "hearth".to_string()),
        ("AWS_SESSION_TOKEN", "hearth".to_string()),
        ("TZ", ":UTC".to_string()),
        ("LANG", "en_US.UTF-8".to_string()),
        // Lambda's, whose last entry is the layers' `/opt/lib` (there only where the
        // function has layers in the process sandbox).
        (
            "LD_LIBRARY_PATH",
            format!(
                "/var/lang/lib:/lib64:/usr/lib64:{runtime_dir}:{runtime_dir}/lib:{task}:{task}/lib{}",
                launch
                    .opt
                    .as_ref()
                    .map(|o| format!(":{}/lib", o.display()))
                    .unwrap_or_default()
            ),
        ),
    ];
    env.extend(reserved.into_iter().map(|(k, v)| (k.to_string(), v)));
    // Only a JSON-format function is told its format and level (the runtime clients
    // write text when the variables are absent), as Lambda does.
    if function.log_format == "JSON" {
        env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
        if let Some(level) = function.log_level {
            env.push(("AWS_LAMBDA_LOG_LEVEL".into(), level.to_string()));
        }
    }
    // Managed runtimes say which they are; a custom runtime's bootstrap is not told.
    if launch.managed {
        env.push((
            "AWS_EXECUTION_ENV".into(),
            format!("AWS_Lambda_{}", function.runtime),
        ));
    }
    env.extend(launch.env.iter().cloned());
    env
}

/// Where a function's AWS SDK sends its calls: Hearth's AWS API, as `url`. The general
/// variable and the forms of the services Hearth implements (SDKs read
/// `AWS_ENDPOINT_URL_<SERVICE ID>`, upper case with underscores).
pub fn endpoint_variables(url: &str) -> Vec<(String, String)> {
    [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    ]
    .into_iter()
    .map(|k| (k.to_string(), url.to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;

    fn launch(managed: bool, runtime_dir: Option<&str>) -> Launch {
        Launch {
            program: PathBuf::from("/usr/bin/python3.12"),
            args: Vec::new(),
            env: vec![("PATH".into(), "/usr/bin:/var/lang/bin".into())],
            runtime_dir: runtime_dir.map(PathBuf::from),
            ro_paths: Vec::new(),
            hidden: Vec::new(),
            managed,
            opt: Some(PathBuf::from("/opt")),
        }
    }

    fn function() -> FunctionEnv<'static> {
        FunctionEnv {
            name: "f",
            runtime: "python3.12",
            handler: "app.handler",
            version: "",
            memory_mb: 256,
            log_group: "/aws/lambda/f",
            log_stream: "2024/01/01/[$LATEST]abc",
            initialization_type: Initialization::OnDemand,
            log_format: "Text",
            log_level: None,
        }
    }

    #[test]
    fn jailed_paths_are_lambdas() {
        let env = variables(
            &function(),
            Some("127.0.0.1:9001"),
            Path::new("/srv/code/x"),
            &launch(true, Some("/rt/python3.12")),
            &GuestPaths::Lambda,
        );
        // The Runtime API first, the runtime's own variables last.
        assert_eq!(
            env[0],
            ("AWS_LAMBDA_RUNTIME_API".into(), "127.0.0.1:9001".into())
        );
        assert_eq!(env.last().map(|(k, _)| k.as_str()), Some("PATH"));
        let env: BTreeMap<_, _> = env.into_iter().collect();
        assert_eq!(env["LAMBDA_TASK_ROOT"], "/var/task");
        assert_eq!(env["LAMBDA_RUNTIME_DIR"], "/var/runtime");
        assert_eq!(env["_HANDLER"], "app.handler");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/f");
        assert_eq!(env["AWS_REGION"], "us-east-1");
        assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
        assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12");
        assert_eq!(
            env["LD_LIBRARY_PATH"],
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
        );
    }

    #[test]
    fn only_a_json_function_is_told_its_log_format_and_level() {
        let vars = |f: &FunctionEnv<'_>| -> BTreeMap<String, String> {
            variables(
                f,
                None,
                Path::new("/t"),
                &launch(true, None),
                &GuestPaths::Lambda,
            )
            .into_iter()
            .collect()
        };
        let text = vars(&function());
        assert!(!text.contains_key("AWS_LAMBDA_LOG_FORMAT"));
        assert!(!text.contains_key("AWS_LAMBDA_LOG_LEVEL"));
        let json = vars(&FunctionEnv {
            log_format: "JSON",
            log_level: Some("DEBUG"),
            ..function()
        });
        assert_eq!(json["AWS_LAMBDA_LOG_FORMAT"], "JSON");
        assert_eq!(json["AWS_LAMBDA_LOG_LEVEL"], "DEBUG");
    }

    #[test]
    fn endpoint_variables_name_every_form() {
        let env: BTreeMap<_, _> = endpoint_variables("http://127.0.0.1:9002")
            .into_iter()
            .collect();
        assert_eq!(
            env.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
                "AWS_ENDPOINT_URL_LAMBDA"
            ]
        );
        assert!(env.values().all(|v| v == "http://127.0.0.1:9002"));
    }

    #[test]
    fn host_paths_and_custom_runtimes() {
        let f = FunctionEnv {
            version: "3",
            initialization_type: Initialization::ProvisionedConcurrency,
            ..function()
        };
        let env = variables(
            &f,
            None,
            Path::new("/srv/code/x"),
            &launch(false, None),
            &GuestPaths::Host,
        );
        let env: BTreeMap<_, _> = env.into_iter().collect();
        assert!(!env.contains_key("AWS_LAMBDA_RUNTIME_API"));
        assert!(!env.contains_key("AWS_EXECUTION_ENV"));
        assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "3");
        assert_eq!(
            env["AWS_LAMBDA_INITIALIZATION_TYPE"],
            "provisioned-concurrency"
        );
        assert_eq!(env["LAMBDA_TASK_ROOT"], "/srv/code/x");
        // Without a runtime directory (provided*), Lambda's is named.
        assert_eq!(env["LAMBDA_RUNTIME_DIR"], "/var/runtime");
        let with_dir = variables(
            &f,
            None,
            Path::new("/srv/code/x"),
            &launch(true, Some("/rt/python3.12")),
            &GuestPaths::Host,
        );
        let with_dir: BTreeMap<_, _> = with_dir.into_iter().collect();
        assert_eq!(with_dir["LAMBDA_RUNTIME_DIR"], "/rt/python3.12");
        assert!(with_dir["LD_LIBRARY_PATH"].contains(":/rt/python3.12/lib:/srv/code/x:"));
        assert!(with_dir["LD_LIBRARY_PATH"].ends_with(":/srv/code/x/lib:/opt/lib"));
        // The process sandbox without layers names no /opt; with them, their tree.
        for (opt, tail) in [
            (None, "/srv/code/x/lib"),
            (Some("/data/opt/k"), "/srv/code/x/lib:/data/opt/k/lib"),
        ] {
            let l = Launch {
                opt: opt.map(PathBuf::from),
                ..launch(true, None)
            };
            let env: BTreeMap<_, _> =
                variables(&f, None, Path::new("/srv/code/x"), &l, &GuestPaths::Host)
                    .into_iter()
                    .collect();
            assert!(
                env["LD_LIBRARY_PATH"].ends_with(tail),
                "{}",
                env["LD_LIBRARY_PATH"]
            );
            assert_eq!(
                env["LD_LIBRARY_PATH"].matches("/opt").count(),
                usize::from(opt.is_some())
            );
        }
    }
}
