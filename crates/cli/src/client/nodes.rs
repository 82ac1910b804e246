//! `hearth nodes`: the fleet's nodes as the server asked sees them (`/_hearth/nodes`,
//! docs/fleet.md): id, address, whether it is alive, how long it has been silent, and
//! what it told of itself; `*` marks the node that answered. `hearth nodes drain ID` and
//! `undrain ID` ask a node to take no new work, or to take it again.

use serde_json::Value;
use ureq::http::Method;

use super::http::{encode, Client};
use super::output::{emit, line};
use super::CommonArgs;

#[derive(Debug, clap::Args)]
pub struct NodesArgs {
    #[command(subcommand)]
    pub action: Option<NodesAction>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum NodesAction {
    /// Ask a node to take no new work: no invokes are placed on it, it forwards its own
    /// and gives its queued async events back; what it runs now finishes.
    Drain {
        /// The node's id (as `hearth nodes` lists it).
        id: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Let a drained node take new work again.
    Undrain {
        /// The node's id.
        id: String,
        #[command(flatten)]
        common: CommonArgs,
    },
}

pub fn run(args: NodesArgs) -> anyhow::Result<()> {
    let (verb, id, common) = match args.action {
        None => return list(&args.common),
        Some(NodesAction::Drain { id, common }) => ("drain", id, common),
        Some(NodesAction::Undrain { id, common }) => ("undrain", id, common),
    };
    let client = Client::new(&common)?;
    let path = format!("/_hearth/nodes/{}/{verb}", encode(&id));
    let answer = client.call(Method::POST, &path, None)?;
    if common.json {
        return line(answer);
    }
    let state = answer.get("state").and_then(Value::as_str).unwrap_or("-");
    emit(format!("{id}  {state}\n").as_bytes())
}

fn list(common: &CommonArgs) -> anyhow::Result<()> {
    let client = Client::new(common)?;
    let listed = client.call(Method::GET, "/_hearth/nodes", None)?;
    let nodes = listed
        .get("nodes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if common.json {
        return emit(format!("{}\n", serde_json::to_string_pretty(&nodes)?).as_bytes());
    }
    emit(table(&nodes).as_bytes())
}

/// A node's memory as `available/total` GiB (`11.2/23.4G`), or `-` if it did not say.
fn memory(info: Option<&Value>) -> String {
    let mib = |key: &str| info.and_then(|i| i.get(key)).and_then(Value::as_u64);
    match (mib("memoryAvailableMb"), mib("memoryMb")) {
        (Some(available), Some(total)) => format!(
            "{:.1}/{:.1}G",
            available as f64 / 1024.0,
            total as f64 / 1024.0
        ),
        _ => "-".into(),
    }
}

/// The nodes as a table.
fn table(nodes: &[Value]) -> String {
    let mut rows = vec![[
        "ID".to_string(),
        "ADDRESS".into(),
        "STATE".into(),
        "SILENT".into(),
        "CPUS".into(),
        "MEMORY".into(),
        "BUSY".into(),
        "MAX".into(),
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
            memory(info),
            text(info.and_then(|i| i.get("busyEnvironments"))),
            text(info.and_then(|i| i.get("maxConcurrency"))),
            text(info.and_then(|i| i.get("idleEnvironments"))),
            runtimes,
        ]);
    }
    let widths: Vec<usize> = (0..10)
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
                 "info":{"cpus":2,"memoryMb":24000,"memoryAvailableMb":12000,"busyEnvironments":1,"maxConcurrency":1000,"idleEnvironments":3,"runtimes":["python3.12","nodejs20.x"]}},
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
        assert!(lines[1].contains(" 11.7/23.4G "), "{t}");
        assert!(
            lines[2].contains("gone") && lines[2].contains("12.0s"),
            "{t}"
        );
    }
}
