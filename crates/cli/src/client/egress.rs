//! `hearth egress`: a function's egress policy (docs/egress.md), through
//! `/_hearth/functions/{name}/egress`.

use serde_json::{json, Value};
use ureq::http::Method;

use super::http::{encode, Client};
use super::output::line;
use super::CommonArgs;

#[derive(Debug, clap::Args)]
pub struct EgressArgs {
    #[command(subcommand)]
    pub action: EgressAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum EgressAction {
    /// Show a function's egress policy, where it comes from and whether it is enforced.
    Get {
        /// The function's name.
        name: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Set a function's egress policy: `all`, `none`, or an allowlist such as
    /// `tcp:203.0.113.0/24:443,10.0.0.5`.
    Set {
        /// The function's name.
        name: String,
        /// The policy.
        policy: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Return a function to the server's default policy (`--egress-default`).
    Clear {
        /// The function's name.
        name: String,
        #[command(flatten)]
        common: CommonArgs,
    },
}

pub fn run(args: EgressArgs) -> anyhow::Result<()> {
    let (method, name, body, common) = match args.action {
        EgressAction::Get { name, common } => (Method::GET, name, None, common),
        EgressAction::Set {
            name,
            policy,
            common,
        } => (Method::PUT, name, Some(json!({ "Policy": policy })), common),
        EgressAction::Clear { name, common } => (Method::DELETE, name, None, common),
    };
    let client = Client::new(&common)?;
    let path = format!("/_hearth/functions/{}/egress", encode(&name));
    let answer = client.call(method, &path, body.as_ref())?;
    if common.json {
        return line(answer);
    }
    let text = |key: &str| {
        answer
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let enforced = answer.get("Enforced").and_then(Value::as_bool) == Some(true);
    line(format!(
        "{name}: {} ({}){}",
        text("Policy"),
        if text("Source") == "function" {
            "the function's own"
        } else {
            "the server's default"
        },
        if enforced {
            ""
        } else {
            "; NOT ENFORCED by this server's sandbox"
        }
    ))?;
    Ok(())
}
