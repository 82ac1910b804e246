//! `hearth nodes`: the fleet's nodes as the server asked sees them (`/_hearth/nodes`,
//! docs/fleet.md): id, address, whether it is alive, how long it has been silent, and
//! what it told of itself; `*` marks the node that answered.

use serde_json::Value;
use ureq::http::Method;

use super::http::Client;
use super::output::emit;
use super::CommonArgs;

#[derive(Debug, clap::Args)]
pub struct NodesArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: NodesArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.common)?;
    let listed = client.call(Method::GET, "/_hearth/nodes", None)?;
    let nodes = listed
        .get("nodes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if args.common.json {
        return emit(format!("{}\n", serde_json::to_string_pretty(&nodes)?).as_bytes());
    }
    emit(table(&nodes).as_bytes())
}

/// The nodes as a table.
fn table(nodes: &[Value]) -> String {
    let mut rows = vec![[
        "ID".to_string(),
        "ADDRESS".into(),
        "STATE".into(),
        "SILENT".into(),
        "CPUS".into(),
        "BUSY".into(),
        "IDLE".into(),
        "RUNTIMES".into(),
    ]];
    for n in nodes {
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(x)) => x.to_string(),
            _ => "-".into(),
        };
        let info = n.get("info");
        let mark = if n.get("thisNode").and_then(Value::as_bool) == Some(true) {
            "*"
        } else {
            ""
        };
        let runtimes = info
            .and_then(|i| i.get("runtimes"))
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let silent = n
            .get("silentMs")
            .and_then(Value::as_i64)
            .map_or("-".into(), |ms| format!("{:.1}s", ms as f64 / 1000.0));
        rows.push([
            format!("{}{mark}", text(n.get("id"))),
            text(n.get("address")),
            text(n.get("state")),
            silent,
            text(info.and_then(|i| i.get("cpus"))),
            text(info.and_then(|i| i.get("busyEnvironments"))),
            text(info.and_then(|i| i.get("idleEnvironments"))),
            runtimes,
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_marks_this_node_and_fills_missing_fields() {
        let nodes: Vec<Value> = serde_json::from_str(
            r#"[{"id":"node-a","address":"h1:9000","state":"alive","thisNode":true,"silentMs":1500,
                 "info":{"cpus":2,"busyEnvironments":1,"idleEnvironments":3,"runtimes":["python3.12","nodejs20.x"]}},
                {"id":"node-b","address":"h2:9000","state":"gone","thisNode":false,"silentMs":12000,"info":null}]"#,
        )
        .expect("json");
        let t = table(&nodes);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("ID "), "{t}");
        assert!(lines[1].starts_with("node-a*"), "{t}");
        assert!(
            lines[1].contains("alive") && lines[1].contains("1.5s"),
            "{t}"
        );
        assert!(lines[1].ends_with("python3.12,nodejs20.x"), "{t}");
        assert!(
            lines[2].contains("gone") && lines[2].contains("12.0s"),
            "{t}"
        );
    }
}
