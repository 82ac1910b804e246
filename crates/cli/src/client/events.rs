//! `hearth events put`: one event on an EventBridge bus (PutEvents with one entry); its
//! EventId is printed, or the entry's error makes the exit status 1.

use serde_json::{json, Value};

use super::eventbridge::{self, Entry};
use super::http::Client;
use super::output::line;
use super::CommonArgs;

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    #[command(subcommand)]
    pub command: EventsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// Put one event on a bus and print its EventId.
    Put(PutArgs),
}

#[derive(Debug, clap::Args)]
pub struct PutArgs {
    /// The event's source, e.g. com.example.orders.
    #[arg(long)]
    pub source: String,

    /// The event's detail-type, e.g. "Order Placed".
    #[arg(long)]
    pub detail_type: String,

    /// The event's detail: a JSON object.
    #[arg(long, value_name = "JSON")]
    pub detail: String,

    /// The bus (name or ARN) [default: the `default` bus].
    #[arg(long)]
    pub bus: Option<String>,

    /// ARNs the event concerns.
    #[arg(long, value_name = "ARN", num_args = 1..)]
    pub resources: Vec<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: EventsArgs) -> anyhow::Result<()> {
    match args.command {
        EventsCommand::Put(args) => put(args),
    }
}

fn put(args: PutArgs) -> anyhow::Result<()> {
    check_detail(&args.detail)?;
    let entry = Entry {
        source: &args.source,
        detail_type: &args.detail_type,
        detail: &args.detail,
        bus: args.bus.as_deref(),
        resources: &args.resources,
    };
    let client = Client::new(&args.common)?;
    let answer = eventbridge::call(
        &client,
        "PutEvents",
        &eventbridge::put_events_request(&entry),
    )?;
    let id = eventbridge::put_events_outcome(&answer)?;
    if args.common.json {
        line(serde_json::to_string_pretty(&json!({"EventId": id}))?)
    } else {
        line(id)
    }
}

/// EventBridge takes a detail that is a JSON object (botocore's `events` model,
/// PutEventsRequestEntry.Detail: "A valid JSON object"); anything else is refused here,
/// before the round trip.
fn check_detail(detail: &str) -> anyhow::Result<()> {
    match serde_json::from_str::<Value>(detail) {
        Ok(Value::Object(_)) => Ok(()),
        Ok(_) => anyhow::bail!("--detail must be a JSON object, e.g. '{{\"id\": 7}}'"),
        Err(e) => anyhow::bail!("--detail is not valid JSON: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        events: EventsArgs,
    }

    #[test]
    fn put_arguments_become_one_entry() {
        let argv = [
            "events",
            "put",
            "--source",
            "orders",
            "--detail-type",
            "Order Placed",
            "--detail",
            r#"{"id":7}"#,
            "--bus",
            "shop",
            "--resources",
            "arn:aws:s3:::a",
            "arn:aws:s3:::b",
        ];
        let EventsCommand::Put(put) = Cli::try_parse_from(argv).expect("valid").events.command;
        let entry = Entry {
            source: &put.source,
            detail_type: &put.detail_type,
            detail: &put.detail,
            bus: put.bus.as_deref(),
            resources: &put.resources,
        };
        assert_eq!(
            eventbridge::put_events_request(&entry),
            json!({"Entries": [{
                "Source": "orders", "DetailType": "Order Placed", "Detail": "{\"id\":7}",
                "EventBusName": "shop", "Resources": ["arn:aws:s3:::a", "arn:aws:s3:::b"]
            }]})
        );
    }

    #[test]
    fn detail_is_a_json_object() {
        check_detail(r#"{"id": 7}"#).expect("an object");
        assert_eq!(
            check_detail("[1]").expect_err("an array").to_string(),
            r#"--detail must be a JSON object, e.g. '{"id": 7}'"#
        );
        assert_eq!(
            check_detail("{id}").expect_err("not JSON").to_string(),
            "--detail is not valid JSON: key must be a string at line 1 column 2"
        );
    }
}
