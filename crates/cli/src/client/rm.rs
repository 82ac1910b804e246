//! `hearth rm`: DeleteFunction.

use serde_json::json;
use ureq::http::Method;

use super::http::{function_path, Client};
use super::output::line;
use super::CommonArgs;

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// The function's name or ARN.
    pub name: String,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: RmArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.common)?;
    client.call(Method::DELETE, &function_path(&args.name), None)?;
    if args.common.json {
        line(json!({ "FunctionName": args.name, "Deleted": true }))?;
    } else {
        line(format!("deleted {}", args.name))?;
    }
    Ok(())
}
