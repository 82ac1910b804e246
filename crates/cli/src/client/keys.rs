//! `hearth keys`: the server's access keys (`create`, `list`, `rotate`, `delete`),
//! through its `/_hearth/keys` endpoints with the administrator's signature. The running
//! server holds the data directory and is the one writer of its keys, so this works while
//! it runs (and only then). A new secret is printed once: it is stored sealed.

use serde_json::{json, Value};
use ureq::http::Method;

use super::http::{encode, Client};
use super::output::line;
use super::CommonArgs;

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Make a key for an account's IAM user (its secret is shown this once).
    Create {
        /// The 12-digit account the key belongs to.
        #[arg(long)]
        account: String,
        /// The user name (`arn:aws:iam::ACCOUNT:user/NAME`).
        #[arg(long)]
        name: String,
        /// A file with an identity policy (IAM's JSON grammar) attached to the key.
        #[arg(long, value_name = "FILE")]
        policy: Option<std::path::PathBuf>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List the keys (never their secrets).
    List {
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Replace a key by a new one for the same user and policy.
    Rotate {
        /// The access key id.
        access_key_id: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Delete a key.
    Delete {
        /// The access key id.
        access_key_id: String,
        #[command(flatten)]
        common: CommonArgs,
    },
}

fn print_new(key: &Value, json_out: bool) -> anyhow::Result<()> {
    if json_out {
        return line(key);
    }
    let s = |k: &str| key.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    line(format!("AccessKeyId:     {}", s("AccessKeyId")))?;
    line(format!("SecretAccessKey: {}", s("SecretAccessKey")))?;
    line(format!("Arn:             {}", s("Arn")))?;
    line("The secret is shown this once; keep it now.")
}

pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::Create {
            account,
            name,
            policy,
            common,
        } => {
            let policy = policy
                .map(|p| {
                    std::fs::read_to_string(&p)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
                })
                .transpose()?;
            let body = json!({"Account": account, "UserName": name, "Policy": policy});
            let key = Client::new(&common)?.call(Method::POST, "/_hearth/keys", Some(&body))?;
            print_new(&key, common.json)
        }
        KeysCommand::List { common } => {
            let listed = Client::new(&common)?.call(Method::GET, "/_hearth/keys", None)?;
            if common.json {
                return line(&listed);
            }
            line(format!(
                "{:<22}{:<14}{:<24}{}",
                "ACCESS-KEY-ID", "ACCOUNT", "USER", "POLICY"
            ))?;
            for k in listed["Keys"].as_array().into_iter().flatten() {
                let user = k["UserName"].as_str().unwrap_or("(root)");
                let policy = if k["Policy"].is_string() { "yes" } else { "-" };
                line(format!(
                    "{:<22}{:<14}{:<24}{policy}",
                    k["AccessKeyId"].as_str().unwrap_or(""),
                    k["Account"].as_str().unwrap_or(""),
                    user
                ))?;
            }
            Ok(())
        }
        KeysCommand::Rotate {
            access_key_id,
            common,
        } => {
            let path = format!("/_hearth/keys/{}/rotate", encode(&access_key_id));
            let key = Client::new(&common)?.call(Method::POST, &path, None)?;
            print_new(&key, common.json)
        }
        KeysCommand::Delete {
            access_key_id,
            common,
        } => {
            let path = format!("/_hearth/keys/{}", encode(&access_key_id));
            Client::new(&common)?.call(Method::DELETE, &path, None)?;
            if common.json {
                line(json!({"AccessKeyId": access_key_id, "Deleted": true}))
            } else {
                line(format!("deleted {access_key_id}"))
            }
        }
    }
}
