//! `hearth audit`: the server's audit trail (`GET /_hearth/audit`), newest first, as a
//! table or JSON, filtered by time, principal and action.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use ureq::http::Method;

use super::http::{encode, Client};
use super::output::emit;
use super::CommonArgs;

/// Events asked for per request.
const PAGE: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only events newer than this: 30s, 10m, 1h, 2d (a bare number is seconds).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub since: Option<Duration>,

    /// Only events of this principal (its ARN, or its user name: `root` for an account's root).
    #[arg(long, value_name = "ARN|NAME")]
    pub principal: Option<String>,

    /// Only events of this operation (`CreateFunction`) or IAM action (`lambda:CreateFunction`).
    #[arg(long, value_name = "NAME")]
    pub action: Option<String>,

    /// At most this many events.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.common)?;
    let mut query = Vec::new();
    if let Some(ago) = args.since {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
        query.push(format!("since={}", now.saturating_sub(ago).as_millis()));
    }
    if let Some(p) = &args.principal {
        query.push(format!("principal={}", encode(p)));
    }
    if let Some(a) = &args.action {
        query.push(format!("action={}", encode(a)));
    }
    let mut events: Vec<Value> = Vec::new();
    let mut before: Option<i64> = None;
    while events.len() < args.limit {
        let mut q = query.clone();
        q.push(format!("limit={}", PAGE.min(args.limit - events.len())));
        if let Some(b) = before {
            q.push(format!("before={b}"));
        }
        let page = client.call(
            Method::GET,
            &format!("/_hearth/audit?{}", q.join("&")),
            None,
        )?;
        events.extend(
            page.get("events")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        match page.get("next").and_then(Value::as_i64) {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    if args.common.json {
        return emit(format!("{}\n", serde_json::to_string_pretty(&events)?).as_bytes());
    }
    emit(table(&events).as_bytes())
}

/// One line per event: time, who, what, on what, from where, with which outcome.
fn table(events: &[Value]) -> String {
    let text = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
    let rows: Vec<[String; 6]> = events
        .iter()
        .map(|e| {
            let time = e
                .get("time_ms")
                .and_then(Value::as_i64)
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map_or_else(
                    || "-".into(),
                    |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                );
            let status = e.get("status").and_then(Value::as_u64).unwrap_or(0);
            let outcome = match e.get("error_code").and_then(Value::as_str) {
                Some(code) => format!("{status} {code}"),
                None => status.to_string(),
            };
            [
                time,
                text(e, "principal_arn"),
                text(e, "event_name"),
                text(e, "resource_arn"),
                text(e, "source_ip"),
                outcome,
            ]
        })
        .collect();
    super::ls::columns(
        ["TIME", "PRINCIPAL", "EVENT", "RESOURCE", "SOURCE", "RESULT"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_event_with_its_outcome() {
        let events = vec![serde_json::json!({
            "time_ms": 0, "principal_arn": "arn:aws:iam::000000000000:root",
            "event_name": "DeleteFunction", "resource_arn": null, "source_ip": "127.0.0.1",
            "status": 404, "error_code": "ResourceNotFoundException"
        })];
        assert_eq!(
            table(&events),
            "TIME                  PRINCIPAL                       EVENT           RESOURCE  SOURCE     RESULT\n\
             1970-01-01T00:00:00Z  arn:aws:iam::000000000000:root  DeleteFunction  -         127.0.0.1  404 ResourceNotFoundException\n"
        );
    }
}
