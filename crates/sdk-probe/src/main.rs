//! `hearth-sdk-probe`: drives Hearth's SQS and SNS with the AWS SDK for Rust (`aws-sdk-sqs`,
//! which speaks AWS JSON 1.0, and `aws-sdk-sns`, the query protocol), configured by
//! `aws-config` as an application would be, and prints one JSON line per call. It exists to
//! check Hearth's wire compatibility with that SDK: the SDK parses every answer strictly
//! (unknown XML roots, missing members, error codes mapped to its error types), and
//! tests/e2e/test_sdk_messaging.py compares the lines whole with those the JavaScript SDK
//! prints for the same flow (tests/e2e/js/messaging.mjs). Not a product binary.
//!
//!   hearth-sdk-probe --endpoint-url http://127.0.0.1:9001 --prefix NAME
//!
//! Credentials come from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`),
//! the region from `--region` or `AWS_REGION`.

mod dead_letters;
mod errors;
mod receive;
mod sns;
mod sqs;

use anyhow::Context;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use clap::Parser;
use serde_json::{Map, Value};

#[derive(Parser)]
#[command(about = "Drives Hearth's SQS and SNS with the AWS SDK for Rust")]
struct Args {
    /// Hearth's endpoint, `http://host:port` (plain HTTP).
    #[arg(long)]
    endpoint_url: String,
    /// What the names of the queues and topics made start with.
    #[arg(long)]
    prefix: String,
    /// The region to sign for.
    #[arg(long, env = "AWS_REGION")]
    region: String,
}

/// Prints one line: `{"op": op, ...fields}`.
pub(crate) fn print(op: &str, fields: Value) {
    let mut line = Map::new();
    line.insert("op".into(), Value::String(op.into()));
    if let Value::Object(f) = fields {
        line.extend(f);
    }
    println!("{}", Value::Object(line));
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The SDK's own hyper client without TLS (its plain-HTTP builder, outside the crate's
    // documented API), for the plain HTTP of Hearth's test servers: no TLS stack (aws-lc
    // would need cmake), and no TLS features unified into the workspace's hyper-rustls.
    let http = aws_smithy_http_client::Builder::new().build_http();
    // Credentials from the environment only: the default chain would end by asking the
    // instance metadata service, an address off this machine, when they are missing.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&args.endpoint_url)
        .region(Region::new(args.region))
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .http_client(http)
        // A failed call is a finding, not something to try again.
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    sqs::flow(&sqs, &args.prefix)
        .await
        .context("the SQS flow")?;
    sns::flow(&sns, &sqs, &args.prefix)
        .await
        .context("the SNS flow")?;
    print("Done", Value::Object(Map::new()));
    Ok(())
}
