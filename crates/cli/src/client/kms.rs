//! `hearth kms create|list`: Hearth's KMS keys (`/_hearth/kms`), whose ARNs a function of
//! the key's account may name as its `KMSKeyArn` to have its environment variables sealed
//! under its own key.

use serde_json::{json, Value};
use ureq::http::Method;

use super::http::Client;
use super::output::emit;
use super::CommonArgs;

#[derive(Debug, clap::Args)]
pub struct KmsArgs {
    #[command(subcommand)]
    pub command: KmsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum KmsCommand {
    /// Make a key and print its ARN.
    Create {
        /// What the key is for.
        #[arg(long, default_value = "")]
        description: String,
        /// The account whose functions may name the key (12 digits; the default account
        /// if not given).
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List the keys.
    List {
        #[command(flatten)]
        common: CommonArgs,
    },
}

pub fn run(args: KmsArgs) -> anyhow::Result<()> {
    match args.command {
        KmsCommand::Create {
            description,
            account,
            common,
        } => {
            let client = Client::new(&common)?;
            let mut body = json!({ "Description": description });
            if let Some(account) = account {
                body["Account"] = json!(account);
            }
            let made = client.call(Method::POST, "/_hearth/kms", Some(&body))?;
            let meta = made.get("KeyMetadata").cloned().unwrap_or(Value::Null);
            if common.json {
                return emit(format!("{}\n", serde_json::to_string_pretty(&meta)?).as_bytes());
            }
            let arn = meta
                .get("KeyArn")
                .and_then(Value::as_str)
                .unwrap_or_default();
            emit(format!("{arn}\n").as_bytes())
        }
        KmsCommand::List { common } => {
            let client = Client::new(&common)?;
            let listed = client.call(Method::GET, "/_hearth/kms", None)?;
            let keys = listed
                .get("Keys")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if common.json {
                return emit(format!("{}\n", serde_json::to_string_pretty(&keys)?).as_bytes());
            }
            let mut out = String::new();
            for k in &keys {
                let field = |name| k.get(name).and_then(Value::as_str).unwrap_or_default();
                out.push_str(&format!("{}  {}\n", field("KeyArn"), field("Description")));
            }
            emit(out.as_bytes())
        }
    }
}
