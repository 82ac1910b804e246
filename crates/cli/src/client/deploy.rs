//! `hearth deploy`: create a function, or update the code and configuration of an existing one,
//! and wait until it is ready to invoke. `--fresh-env` / `--no-fresh-env` then set Hearth's
//! fresh-environment setting (docs/fresh-env.md); without either a new function has it off
//! and an update leaves it as it was, as an update leaves the layers without `--layer`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use base64::Engine;
use serde_json::{json, Map, Value};
use ureq::http::Method;

use super::http::{encode, function_path, ApiError, Client};
use super::output::line;
use super::{package, wait, CommonArgs};

/// From this size (1 MiB) a deploy shows its upload on a progress bar.
const LARGE_ZIP: usize = 1 << 20;

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The function's name.
    pub name: String,

    /// A directory (zipped for you, file modes kept) or a .zip file.
    pub path: PathBuf,

    /// The runtime, e.g. python3.11, nodejs20.x, provided.al2023 (see `hearth runtime list`).
    #[arg(long)]
    pub runtime: String,

    /// The handler, e.g. app.handler [default for provided runtimes: bootstrap].
    #[arg(long)]
    pub handler: Option<String>,

    /// Memory in MB (128..=10240).
    #[arg(long, value_name = "MB")]
    pub memory: Option<u32>,

    /// Timeout in seconds (1..=900).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u32>,

    /// An environment variable; repeat for more. Replaces all variables on update.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// A description of the function.
    #[arg(long)]
    pub description: Option<String>,

    /// A layer version ARN (`hearth layer ls` shows them); repeat for more, in the order
    /// they apply. Replaces all layers on update; without it they stay as they are.
    #[arg(long = "layer", value_name = "ARN")]
    pub layers: Vec<String>,

    /// Run every invocation in a new environment, never reused (no state left from one
    /// request to the next; each pays a cold start). Without it or `--no-fresh-env` an
    /// update leaves the setting as it was.
    #[arg(long, conflicts_with = "no_fresh_env")]
    pub fresh_env: bool,

    /// Reuse warm environments again (turns `--fresh-env` off).
    #[arg(long)]
    pub no_fresh_env: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Parses one `--env KEY=VALUE` (the value may contain `=` and be empty).
pub fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

pub fn run(args: DeployArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.common)?;
    let zip = package::load(&args.path)?;
    let code = base64::engine::general_purpose::STANDARD.encode(&zip);

    let mut create = settings(&args);
    create.insert("FunctionName".into(), json!(args.name));
    // The default execution role the server makes (trusts Lambda, basic execution).
    create.insert("Role".into(), json!(crate::default_role::arn()));
    create.insert("Code".into(), json!({ "ZipFile": code }));
    // Lambda wants a handler for every zip function; a custom runtime's is only `_HANDLER`.
    if args.handler.is_none() && args.runtime.starts_with("provided") {
        create.insert("Handler".into(), json!("bootstrap"));
    }
    let create = Value::Object(create);
    // A large zip takes a while to send: its bytes on a bar (on a terminal only).
    let sent = if zip.len() >= LARGE_ZIP && hearth_cli::progress::enabled() {
        let bar = hearth_cli::progress::bytes(0, "uploading");
        client.call_tracked(Method::POST, "/2015-03-31/functions", &create, &bar)
    } else {
        client.call(Method::POST, "/2015-03-31/functions", Some(&create))
    };
    let created = match sent {
        Ok(_) => true,
        Err(err) if is_conflict(&err) => false,
        Err(err) => return Err(err),
    };

    let config = if created {
        wait::ready(&client, &args.name)?
    } else {
        let path = function_path(&args.name);
        // An update still running from before would make ours a conflict.
        wait::settled(&client, &args.name)?;
        let code_path = format!("{path}/code");
        let update = json!({ "ZipFile": code });
        if zip.len() >= LARGE_ZIP && hearth_cli::progress::enabled() {
            let bar = hearth_cli::progress::bytes(0, "uploading");
            client.call_tracked(Method::PUT, &code_path, &update, &bar)
        } else {
            client.call(Method::PUT, &code_path, Some(&update))
        }
        .context("updating the function's code")?;
        wait::ready(&client, &args.name)?;
        client
            .call(
                Method::PUT,
                &format!("{path}/configuration"),
                Some(&Value::Object(settings(&args))),
            )
            .context("updating the function's configuration")?;
        wait::ready(&client, &args.name)?
    };
    let config = match fresh_env(&args) {
        Some(enabled) => {
            let path = format!("/_hearth/functions/{}/fresh-env", encode(&args.name));
            client
                .call(Method::PUT, &path, Some(&json!({ "Enabled": enabled })))
                .context("setting the function's fresh environment")?;
            // The setting is part of the configuration: its RevisionId changed.
            wait::ready(&client, &args.name)?
        }
        None => config,
    };

    if args.common.json {
        line(serde_json::to_string_pretty(&config)?)?;
    } else {
        line(summary(
            if created { "created" } else { "updated" },
            &config,
            fresh_env(&args),
        ))?;
    }
    Ok(())
}

/// What `--fresh-env` / `--no-fresh-env` ask for; `None`: leave it as it is.
fn fresh_env(args: &DeployArgs) -> Option<bool> {
    match (args.fresh_env, args.no_fresh_env) {
        (true, _) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    }
}

fn is_conflict(err: &anyhow::Error) -> bool {
    err.downcast_ref::<ApiError>()
        .is_some_and(|e| e.code == "ResourceConflictException")
}

/// The configuration fields given on the command line, as CreateFunction /
/// UpdateFunctionConfiguration take them.
fn settings(args: &DeployArgs) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("Runtime".into(), json!(args.runtime));
    if let Some(handler) = &args.handler {
        body.insert("Handler".into(), json!(handler));
    }
    if let Some(memory) = args.memory {
        body.insert("MemorySize".into(), json!(memory));
    }
    if let Some(timeout) = args.timeout {
        body.insert("Timeout".into(), json!(timeout));
    }
    if !args.env.is_empty() {
        let variables: BTreeMap<&str, &str> = args
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        body.insert("Environment".into(), json!({ "Variables": variables }));
    }
    if let Some(description) = &args.description {
        body.insert("Description".into(), json!(description));
    }
    if !args.layers.is_empty() {
        body.insert("Layers".into(), json!(args.layers));
    }
    body
}

/// One line about the deployed function; `fresh` is what `--fresh-env` /
/// `--no-fresh-env` set, if either was given.
fn summary(verb: &str, config: &Value, fresh: Option<bool>) -> String {
    let number = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_u64)
            .map_or_else(|| "-".to_string(), |n| n.to_string())
    };
    let mut handler = String::new();
    if let Some(h) = config.get("Handler").and_then(Value::as_str) {
        handler = format!(" {h}");
    }
    let fresh = match fresh {
        Some(true) => ", a fresh environment per invocation",
        Some(false) => ", warm environments reused",
        None => "",
    };
    format!(
        "{verb} {}: {}{handler}, {} MB, {} s timeout, {} bytes of code{fresh} ({})",
        wait::field(config, "FunctionName"),
        wait::field(config, "Runtime"),
        number("MemorySize"),
        number("Timeout"),
        number("CodeSize"),
        wait::field(config, "State"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_pairs() {
        assert_eq!(parse_env("A=1"), Ok(("A".into(), "1".into())));
        assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert_eq!(parse_env("EMPTY="), Ok(("EMPTY".into(), String::new())));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("NOEQUALS").is_err());
    }

    #[test]
    fn summary_line() {
        let config = json!({
            "FunctionName": "hello", "Runtime": "python3.11", "Handler": "app.handler",
            "MemorySize": 128, "Timeout": 3, "CodeSize": 321, "State": "Active"
        });
        assert_eq!(
            summary("created", &config, None),
            "created hello: python3.11 app.handler, 128 MB, 3 s timeout, 321 bytes of code (Active)"
        );
        assert_eq!(
            summary("updated", &config, Some(true)),
            "updated hello: python3.11 app.handler, 128 MB, 3 s timeout, 321 bytes of code, \
             a fresh environment per invocation (Active)"
        );
    }
}
