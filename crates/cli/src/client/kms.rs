//! `hearth kms create|list`: Hearth's KMS keys (`/_hearth/kms`), whose ARNs a function's
//! `KMSKeyArn` may name to have its environment variables sealed under its own key.

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
            common,
        } => {
            let client = Client::new(&common)?;
            let made = client.call(
                Method::POST,
                "/_hearth/kms",
                Some(&json!({ "Description": description })),
            )?;
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
