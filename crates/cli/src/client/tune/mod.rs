//! `hearth tune`: power tuning. For each memory size an isolated copy of the function (its
//! code, fetched through GetFunction's `Code.Location`, and its configuration) is created,
//! invoked once to warm it, then N times with `LogType: Tail`; the REPORT lines give the
//! durations, the price table the cost. The figures, a recommendation, a terminal chart and
//! optionally an SVG follow; no copy is left behind (see [`copies`]).

mod chart;
mod copies;
mod stats;

use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use base64::Engine;
use hearth_cost::{Architecture, PriceTable};
use serde_json::{json, Map, Value};
use ureq::http::Method;

use super::http::{function_path, Client};
use super::output::{emit, line};
use super::{wait, CommonArgs};
use copies::Copies;
use stats::{parse_report, recommend, summarize, Sample, SizeStats, Strategy};

/// Lambda's limit on a function name.
const MAX_NAME: usize = 64;

#[derive(Debug, clap::Args)]
#[command(after_help = "Strategies (as AWS Lambda Power Tuning defines them): \
cost picks the size with the lowest cost per invocation (ties: the faster); speed the \
lowest time (ties: the cheaper); balanced the lowest 0.5 × cost / highest cost + 0.5 × \
time / highest time, i.e. cost and speed normalised to the worst size and weighed equally. \
Time is the trimmed mean of the billed durations (the fastest and slowest 10% left out); \
cost is requests plus duration at the region's first price tier. Under the jail, CPU is \
given in proportion to memory (1 vCPU at 1769 MB), as on AWS.")]
pub struct TuneArgs {
    /// The function to tune (left unchanged: copies are measured).
    pub name: String,

    /// A file holding the event to invoke with [default: {}].
    #[arg(long, value_name = "FILE")]
    pub payload: Option<PathBuf>,

    /// The memory sizes to measure, in MB.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "128,256,512,1024,1769,3008"
    )]
    pub memory: Vec<u32>,

    /// Measured invocations per size (after one warm-up).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub invocations: u32,

    /// What to recommend for: cost, speed or balanced.
    #[arg(long, value_enum, default_value = "cost")]
    pub strategy: Strategy,

    /// Write an SVG chart of duration and cost per size to this file.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,

    /// The AWS region whose prices to use.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: TuneArgs) -> anyhow::Result<()> {
    if args.memory.is_empty() {
        bail!("--memory needs at least one size");
    }
    if let Some(bad) = args.memory.iter().find(|m| !(128..=10_240).contains(*m)) {
        bail!("--memory {bad}: a size is 128 to 10240 MB");
    }
    let table = PriceTable::aws();
    let region = table.region(&args.region)?;
    let payload = match &args.payload {
        Some(file) => std::fs::read(file)
            .with_context(|| format!("reading the payload from {}", file.display()))?,
        None => b"{}".to_vec(),
    };
    let client = Arc::new(Client::new(&args.common)?);
    let function = client
        .call(Method::GET, &function_path(&args.name), None)
        .with_context(|| format!("reading {}", args.name))?;
    let config = function
        .get("Configuration")
        .cloned()
        .unwrap_or(Value::Null);
    if wait::field(&config, "PackageType") == "Image" {
        bail!(
            "{} is a container image: tuning copies .zip functions only",
            args.name
        );
    }
    let architecture = config
        .pointer("/Architectures/0")
        .and_then(Value::as_str)
        .and_then(Architecture::parse)
        .unwrap_or(Architecture::X86_64);
    let prices = region.of(architecture);
    let zip = fetch_code(&client, &function)?;
    let code = base64::engine::general_purpose::STANDARD.encode(&zip);

    let copies = Copies::new(Arc::clone(&client));
    copies.delete_on_signal()?;
    let base = base_name(&args.name);
    let tag = random_tag();
    let mut sizes: Vec<SizeStats> = Vec::new();
    for &memory in &args.memory {
        let name = copy_name(&base, memory, &tag);
        let body = copy_body(&config, &name, memory, &code);
        copies
            .create(&name, &body)
            .with_context(|| format!("creating the tuning copy {name}"))?;
        wait::ready(&client, &name)?;
        invoke(&client, &name, &payload).with_context(|| format!("warming {name}"))?;
        let bar =
            hearth_cli::progress::counter(u64::from(args.invocations), format!("{memory} MB"));
        let mut samples = Vec::with_capacity(args.invocations as usize);
        for _ in 0..args.invocations {
            samples.push(invoke(&client, &name, &payload)?);
            bar.inc(1);
        }
        bar.finish_and_clear();
        copies.delete(&name);
        sizes.push(summarize(memory, &samples, prices));
    }
    let left = copies.finish();
    if !left.is_empty() {
        bail!("could not delete the tuning copies {}", left.join(", "));
    }

    let best = recommend(&sizes, args.strategy);
    if let Some(path) = &args.chart {
        std::fs::write(path, chart::svg(&args.name, &sizes, best))
            .with_context(|| format!("writing the chart {}", path.display()))?;
    }
    if args.common.json {
        let doc = json!({
            "FunctionName": args.name,
            "Architecture": architecture.as_str(),
            "Region": args.region,
            "Strategy": args.strategy,
            "Sizes": sizes,
            "Recommended": best.map(|i| sizes[i].memory_mb),
            "PricesReadOn": table.read_on,
        });
        return line(serde_json::to_string_pretty(&doc)?);
    }
    let mut out = table_text(&sizes);
    out.push('\n');
    out.push_str(&chart::terminal(&sizes, best));
    if let Some(i) = best {
        out.push_str(&format!(
            "\nrecommended ({}): {} MB\n",
            args.strategy.name(),
            sizes[i].memory_mb
        ));
    }
    out.push_str(&format!(
        "prices: AWS Lambda {} {} ({}), read on {}\n",
        args.region,
        architecture.as_str(),
        table.currency,
        table.read_on
    ));
    emit(out.as_bytes())
}

/// The function's code, from the URL GetFunction gives (`/_hearth/code/…` on the server).
fn fetch_code(client: &Client, function: &Value) -> anyhow::Result<Vec<u8>> {
    let location = function
        .pointer("/Code/Location")
        .and_then(Value::as_str)
        .context("GetFunction gave no Code.Location")?;
    // The URL names the host the server was asked by; the endpoint we use (and its TLS)
    // reaches the same server, so only its path is taken.
    let path = location
        .find("/_hearth/")
        .map(|i| &location[i..])
        .with_context(|| format!("unexpected code location {location}"))?;
    let reply = client.send(Method::GET, path, &[], None)?;
    if !reply.is_success() {
        return Err(reply.error().into());
    }
    Ok(reply.body)
}

/// A copy's CreateFunction request: the original's configuration at `memory` MB.
fn copy_body(config: &Value, name: &str, memory: u32, code: &str) -> Value {
    let mut body = Map::new();
    for key in [
        "Runtime",
        "Handler",
        "Role",
        "Timeout",
        "Architectures",
        "EphemeralStorage",
    ] {
        if let Some(v) = config.get(key).filter(|v| !v.is_null()) {
            body.insert(key.into(), v.clone());
        }
    }
    if let Some(vars) = config.pointer("/Environment/Variables") {
        body.insert("Environment".into(), json!({ "Variables": vars }));
    }
    if let Some(layers) = config.get("Layers").and_then(Value::as_array) {
        let arns: Vec<&Value> = layers.iter().filter_map(|l| l.get("Arn")).collect();
        body.insert("Layers".into(), json!(arns));
    }
    body.insert("FunctionName".into(), json!(name));
    body.insert("MemorySize".into(), json!(memory));
    body.insert("Code".into(), json!({ "ZipFile": code }));
    body.insert(
        "Description".into(),
        json!(format!("hearth tune copy at {memory} MB")),
    );
    Value::Object(body)
}

/// One invocation of a copy; its REPORT line's durations.
fn invoke(client: &Client, name: &str, payload: &[u8]) -> anyhow::Result<Sample> {
    let headers = [
        ("x-amz-invocation-type", "RequestResponse"),
        ("x-amz-log-type", "Tail"),
    ];
    let path = format!("{}/invocations", function_path(name));
    let reply = client.send(Method::POST, &path, &headers, Some(payload.to_vec()))?;
    if !reply.is_success() {
        return Err(reply.error().into());
    }
    if let Some(kind) = reply.header("x-amz-function-error") {
        bail!(
            "{name} returned an error ({kind}): {}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    let encoded = reply
        .header("x-amz-log-result")
        .context("the invocation came back without its log tail")?;
    let log = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .context("the server sent an invalid X-Amz-Log-Result")?;
    parse_report(&String::from_utf8_lossy(&log))
        .context("the log tail has no REPORT line with Duration and Billed Duration")
}

/// The function's name from a name or an ARN.
fn base_name(name_or_arn: &str) -> String {
    match name_or_arn.strip_prefix("arn:") {
        Some(_) => name_or_arn
            .split(':')
            .nth(6)
            .unwrap_or(name_or_arn)
            .to_string(),
        None => name_or_arn.to_string(),
    }
}

/// `F-tune-<mem>-<tag>`, `F` shortened to keep within Lambda's 64 characters.
fn copy_name(base: &str, memory: u32, tag: &str) -> String {
    let suffix = format!("-tune-{memory}-{tag}");
    let keep = MAX_NAME.saturating_sub(suffix.len());
    // By characters: a name the server would refuse anyway must not panic here.
    let base: String = base.chars().take(keep).collect();
    format!("{base}{suffix}")
}

/// Eight hex digits, different per run (the hasher's keys are random per process).
fn random_tag() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    format!("{:08x}", hasher.finish() as u32)
}

/// The figures, one line per size.
fn table_text(sizes: &[SizeStats]) -> String {
    let mut out = format!(
        "{:>8}  {:>10}  {:>10}  {:>14}  {:>16}\n",
        "MEMORY", "P50-MS", "P95-MS", "AVG-BILLED-MS", "$/1M-INVOKES"
    );
    for s in sizes {
        out.push_str(&format!(
            "{:>5} MB  {:>10.2}  {:>10.2}  {:>14.2}  {:>16.6}\n",
            s.memory_mb, s.p50_ms, s.p95_ms, s.average_billed_ms, s.cost_per_million
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_names_fit_lambdas_limit() {
        assert_eq!(copy_name("f", 128, "0a1b2c3d"), "f-tune-128-0a1b2c3d");
        let long = "x".repeat(70);
        let name = copy_name(&long, 3008, "0a1b2c3d");
        assert_eq!(name.len(), 64);
        assert!(name.ends_with("-tune-3008-0a1b2c3d"));
        assert_eq!(
            base_name("arn:aws:lambda:us-east-1:000000000000:function:f:prod"),
            "f"
        );
        assert_eq!(base_name("f"), "f");
        assert_eq!(random_tag().len(), 8);
        assert_eq!(copy_name("é", 128, "0a1b2c3d"), "é-tune-128-0a1b2c3d");
    }

    #[test]
    fn a_copy_keeps_the_configuration_at_its_own_memory() {
        let config = json!({
            "FunctionName": "f", "Runtime": "python3.12", "Handler": "app.handler",
            "Role": "arn:aws:iam::000000000000:role/r", "Timeout": 30, "MemorySize": 256,
            "Architectures": ["x86_64"], "Environment": {"Variables": {"A": "1"}},
            "Layers": [{"Arn": "arn:aws:lambda:us-east-1:000000000000:layer:l:1", "CodeSize": 5}],
            "EphemeralStorage": {"Size": 1024}, "State": "Active"
        });
        let body = copy_body(&config, "f-tune-512-x", 512, "UEsFBg==");
        assert_eq!(
            body,
            json!({
                "FunctionName": "f-tune-512-x", "Runtime": "python3.12", "Handler": "app.handler",
                "Role": "arn:aws:iam::000000000000:role/r", "Timeout": 30, "MemorySize": 512,
                "Architectures": ["x86_64"], "Environment": {"Variables": {"A": "1"}},
                "Layers": ["arn:aws:lambda:us-east-1:000000000000:layer:l:1"],
                "EphemeralStorage": {"Size": 1024}, "Code": {"ZipFile": "UEsFBg=="},
                "Description": "hearth tune copy at 512 MB"
            })
        );
    }
}
