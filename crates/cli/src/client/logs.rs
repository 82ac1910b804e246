//! `hearth logs`: a function's log lines from Hearth's private log endpoint
//! (`GET /_hearth/logs/{function}?since=&after=&limit=`), oldest first, optionally
//! followed; or, with `--delete`, deleting them (`DELETE /_hearth/logs/{function}`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use ureq::http::Method;

use super::http::{encode, Client};
use super::output::emit;
use super::CommonArgs;

/// Events asked for per request; a full page means there may be more right away.
const PAGE: usize = 1000;
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The function's name.
    pub name: String,

    /// Only lines newer than this: 30s, 10m, 1h, 2d (a bare number is seconds).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub since: Option<Duration>,

    /// Keep printing new lines as they arrive, until interrupted.
    #[arg(long, short = 'f', conflicts_with = "delete")]
    pub follow: bool,

    /// Delete every log line of the function (its log group), instead of printing them.
    #[arg(long, conflicts_with = "since")]
    pub delete: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: LogsArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.common)?;
    if args.delete {
        client.call(
            Method::DELETE,
            &format!("/_hearth/logs/{}", encode(&args.name)),
            None,
        )?;
        let done = if args.common.json {
            format!(
                "{}\n",
                serde_json::json!({"FunctionName": args.name, "LogsDeleted": true})
            )
        } else {
            format!("deleted the logs of {}\n", args.name)
        };
        return emit(done.as_bytes());
    }
    let since_ms = match args.since {
        Some(ago) => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
            Some(now.saturating_sub(ago).as_millis())
        }
        None => None,
    };
    let mut after: Option<u64> = None;
    loop {
        let events = fetch(&client, &args.name, since_ms, after)?;
        let before = after;
        let mut text = String::new();
        for event in &events {
            if args.common.json {
                text.push_str(&format!("{event}\n"));
            } else if let Some(message) = event.get("message").and_then(Value::as_str) {
                text.push_str(message);
                text.push('\n');
            }
            if let Some(id) = event.get("id").and_then(Value::as_u64) {
                after = Some(id);
            }
        }
        emit(text.as_bytes())?;
        // A full page that moved forward may have more behind it right away.
        if events.len() >= PAGE && after != before {
            continue;
        }
        if !args.follow {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_INTERVAL);
    }
}

fn fetch(
    client: &Client,
    name: &str,
    since_ms: Option<u128>,
    after: Option<u64>,
) -> anyhow::Result<Vec<Value>> {
    let mut path = format!("/_hearth/logs/{}?limit={PAGE}", encode(name));
    if let Some(since) = since_ms {
        path.push_str(&format!("&since={since}"));
    }
    if let Some(after) = after {
        path.push_str(&format!("&after={after}"));
    }
    let reply = client.call(Method::GET, &path, None)?;
    Ok(reply
        .get("events")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        logs: LogsArgs,
    }

    fn since(text: &str) -> Result<Option<Duration>, clap::Error> {
        Cli::try_parse_from(["hearth", "f", "--since", text]).map(|cli| cli.logs.since)
    }

    #[test]
    fn since_durations() {
        assert_eq!(since("30s").ok(), Some(Some(Duration::from_secs(30))));
        assert_eq!(since("10m").ok(), Some(Some(Duration::from_secs(600))));
        assert_eq!(since("1h").ok(), Some(Some(Duration::from_secs(3600))));
        assert_eq!(since("2d").ok(), Some(Some(Duration::from_secs(172_800))));
        for bad in ["", "m", "10x", "1.5h", "-1h", "99999999999999999999d"] {
            assert!(since(bad).is_err(), "{bad}");
        }
        let cli = Cli::try_parse_from(["hearth", "f", "--follow"]).expect("parse");
        assert!(cli.logs.follow && cli.logs.since.is_none());
    }
}
