//! `hearth ls`: ListFunctions, all pages, as a table or JSON.

use serde_json::Value;
use ureq::http::Method;

use super::http::{encode, function_path, Client};
use super::output::{emit, line};
use super::{wait, CommonArgs};

const PAGE_SIZE: u32 = 50;

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: LsArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.common.endpoint);
    let mut functions = list_all(&client)?;
    if args.common.json {
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
    emit(table(&functions).as_bytes())
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

fn table(functions: &[Value]) -> String {
    let header = [
        "NAME",
        "RUNTIME",
        "MEMORY",
        "TIMEOUT",
        "STATE",
        "LAST-MODIFIED",
    ];
    let number = |f: &Value, key: &str, unit: &str| {
        f.get(key)
            .and_then(Value::as_u64)
            .map_or_else(|| "-".to_string(), |n| format!("{n} {unit}"))
    };
    let rows: Vec<[String; 6]> = functions
        .iter()
        .map(|f| {
            [
                wait::field(f, "FunctionName").to_string(),
                wait::field(f, "Runtime").to_string(),
                number(f, "MemorySize", "MB"),
                number(f, "Timeout", "s"),
                wait::field(f, "State").to_string(),
                wait::field(f, "LastModified").to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_string);
    for row in std::iter::once(&header).chain(&rows) {
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
    fn table_aligns_columns() {
        let functions = vec![json!({
            "FunctionName": "hello-python", "Runtime": "python3.11", "MemorySize": 128,
            "Timeout": 3, "State": "Active", "LastModified": "2026-11-23T10:00:00.000+0000"
        })];
        let text = table(&functions);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "NAME          RUNTIME     MEMORY  TIMEOUT  STATE   LAST-MODIFIED"
        );
        assert_eq!(
            lines[1],
            "hello-python  python3.11  128 MB  3 s      Active  2026-11-23T10:00:00.000+0000"
        );
    }
}
