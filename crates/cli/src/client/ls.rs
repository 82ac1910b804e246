//! `hearth ls`: ListFunctions, all pages, as a table (with each function's async queue:
//! events not done yet and the age of the oldest, and under it, indented, a line per
//! trigger: see [`super::triggers`]) or JSON (each function with its `Triggers`).

use std::collections::HashMap;

use serde_json::Value;
use ureq::http::Method;

use super::http::{encode, function_path, Client};
use super::output::{emit, line};
use super::triggers::{self, Found};
use super::{wait, CommonArgs};

const PAGE_SIZE: u32 = 50;

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: LsArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.common)?;
    let mut functions = list_all(&client)?;
    let found = triggers::gather(&client, &functions);
    if args.common.json {
        for function in &mut functions {
            let name = wait::field(function, "FunctionName").to_string();
            function["Triggers"] = serde_json::to_value(found.of(&name))?;
        }
        line(serde_json::to_string_pretty(&functions)?)?;
        return Ok(());
    }
    // ListFunctions may leave out State (AWS does); GetFunctionConfiguration has it.
    for function in &mut functions {
        if function.get("State").is_none() {
            let name = wait::field(function, "FunctionName").to_string();
            let path = format!("{}/configuration", function_path(&name));
            if let Ok(config) = client.call(Method::GET, &path, None) {
                *function = config;
            }
        }
    }
    let queues = queues(&client);
    emit(table(&functions, &queues, &found).as_bytes())
}

/// A function's async events not done yet: how many, and the oldest one's age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Queue {
    events: u64,
    oldest_ms: u64,
}

/// The server's async queue per function (`/_hearth/queue`); empty if it has none to
/// show.
fn queues(client: &Client) -> HashMap<String, Queue> {
    let Ok(doc) = client.call(Method::GET, "/_hearth/queue", None) else {
        return HashMap::new();
    };
    let count = |q: &Value, key: &str| q.get(key).and_then(Value::as_u64).unwrap_or(0);
    doc.get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|q| {
            let queue = Queue {
                events: count(q, "queued") + count(q, "running"),
                oldest_ms: count(q, "oldestAgeMs"),
            };
            (wait::field(q, "function").to_string(), queue)
        })
        .collect()
}

/// `45s`, `3m04s`, `2h05m`.
fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn list_all(client: &Client) -> anyhow::Result<Vec<Value>> {
    let mut functions = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut path = format!("/2015-03-31/functions/?MaxItems={PAGE_SIZE}");
        if let Some(marker) = &marker {
            path.push_str(&format!("&Marker={}", encode(marker)));
        }
        let page = client.call(Method::GET, &path, None)?;
        if let Some(items) = page.get("Functions").and_then(Value::as_array) {
            functions.extend(items.iter().cloned());
        }
        match page.get("NextMarker").and_then(Value::as_str) {
            Some(next) if !next.is_empty() && marker.as_deref() != Some(next) => {
                marker = Some(next.to_string());
            }
            _ => return Ok(functions),
        }
    }
}

fn table(functions: &[Value], queues: &HashMap<String, Queue>, found: &Found) -> String {
    let header = [
        "NAME",
        "RUNTIME",
        "MEMORY",
        "TIMEOUT",
        "STATE",
        "QUEUED",
        "OLDEST",
        "LAST-MODIFIED",
    ];
    let number = |f: &Value, key: &str, unit: &str| {
        f.get(key)
            .and_then(Value::as_u64)
            .map_or_else(|| "-".to_string(), |n| format!("{n} {unit}"))
    };
    let rows: Vec<[String; 8]> = functions
        .iter()
        .map(|f| {
            let name = wait::field(f, "FunctionName");
            let queue = queues.get(name);
            [
                name.to_string(),
                wait::field(f, "Runtime").to_string(),
                number(f, "MemorySize", "MB"),
                number(f, "Timeout", "s"),
                wait::field(f, "State").to_string(),
                queue.map_or(0, |q| q.events).to_string(),
                queue.map_or_else(|| "-".to_string(), |q| age(q.oldest_ms)),
                wait::field(f, "LastModified").to_string(),
            ]
        })
        .collect();
    // Each function's triggers go under its row, indented: the table stays one line per
    // function to the eye, and a long URL or ARN does not widen every row.
    let mut out = String::new();
    for (i, row) in columns(header, &rows).lines().enumerate() {
        out.push_str(row);
        out.push('\n');
        let Some(function) = i.checked_sub(1).and_then(|n| functions.get(n)) else {
            continue;
        };
        for trigger in found.of(wait::field(function, "FunctionName")) {
            out.push_str(&format!("  {}\n", trigger.line()));
        }
    }
    out
}

/// `rows` under `header` in left-aligned columns two spaces apart, each as wide as its
/// widest cell (`hearth ls`, `hearth audit`).
pub(super) fn columns<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_string);
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ages() {
        assert_eq!(age(999), "0s");
        assert_eq!(age(61_000), "1m01s");
        assert_eq!(age(7_500_000), "2h05m");
    }

    #[test]
    fn table_aligns_columns() {
        let functions = vec![json!({
            "FunctionName": "hello-python", "Runtime": "python3.11", "MemorySize": 128,
            "Timeout": 3, "State": "Active", "LastModified": "2026-11-23T10:00:00.000+0000"
        })];
        let queues = HashMap::from([(
            "hello-python".to_string(),
            Queue {
                events: 12,
                oldest_ms: 184_000,
            },
        )]);
        let text = table(&functions, &queues, &Found::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "NAME          RUNTIME     MEMORY  TIMEOUT  STATE   QUEUED  OLDEST  LAST-MODIFIED"
        );
        assert_eq!(
            lines[1],
            "hello-python  python3.11  128 MB  3 s      Active  12      3m04s   2026-11-23T10:00:00.000+0000"
        );
        let idle = table(&functions, &HashMap::new(), &Found::default());
        assert!(idle
            .lines()
            .nth(1)
            .expect("row")
            .contains("Active  0       -"));
    }

    #[test]
    fn triggers_go_under_their_function() {
        let arn = |n: &str| format!("arn:aws:lambda:us-east-1:000000000000:function:{n}");
        let functions = vec![
            json!({"FunctionName": "a", "FunctionArn": arn("a"), "Runtime": "python3.11",
                   "MemorySize": 128, "Timeout": 3, "State": "Active", "LastModified": "t"}),
            json!({"FunctionName": "b", "FunctionArn": arn("b"), "Runtime": "python3.11",
                   "MemorySize": 128, "Timeout": 3, "State": "Active", "LastModified": "t"}),
        ];
        let mut found = Found::new(&functions);
        found.add(
            &arn("a"),
            triggers::Kind::Schedule,
            "default/every-5".into(),
            Some("ENABLED".into()),
        );
        found.add(
            &arn("a"),
            triggers::Kind::Url,
            "http://u/".into(),
            Some("NONE".into()),
        );
        assert_eq!(
            table(&functions, &HashMap::new(), &found),
            "NAME  RUNTIME     MEMORY  TIMEOUT  STATE   QUEUED  OLDEST  LAST-MODIFIED\n\
             a     python3.11  128 MB  3 s      Active  0       -       t\n\
             \x20 url       http://u/ (NONE)\n\
             \x20 schedule  default/every-5 (ENABLED)\n\
             b     python3.11  128 MB  3 s      Active  0       -       t\n"
        );
    }
}
