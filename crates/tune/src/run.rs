//! One tuning run: the function read, its code fetched, then per size a copy created, waited
//! for, warmed, invoked N times and deleted; each invocation's REPORT line is a sample.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use base64::Engine;
use hearth_cost::{Architecture, PriceTable};
use serde_json::{json, Map, Value};

use crate::api::{function_path, Api};
use crate::copies::Copies;
use crate::stats::{parse_report, recommend, summarize, Sample};
use crate::{Options, Progress, Report, TuneError, Why};

/// Lambda's limit on a function name.
const MAX_NAME: usize = 64;
/// Creating a copy unpacks and checks its code; generous, but bounded.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
const POLL_INTERVAL: Duration = Duration::from_millis(250);

fn step(doing: impl Into<String>) -> impl FnOnce(Why) -> TuneError {
    let doing = doing.into();
    move |why| TuneError::Step { doing, why }
}

/// `method path` answered with success, its body as JSON (`null` when empty).
fn call(api: &dyn Api, method: &str, path: &str) -> Result<Value, Why> {
    let reply = api.send(method, path, &[], None).map_err(Why::Transport)?;
    if !reply.is_success() {
        return Err(Why::Api(reply.failure()));
    }
    if reply.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&reply.body)
        .map_err(|e| Why::Other(format!("the server answered with invalid JSON: {e}")))
}

fn field<'a>(config: &'a Value, key: &str) -> &'a str {
    config.get(key).and_then(Value::as_str).unwrap_or("-")
}

pub(crate) fn measure(
    copies: &Copies,
    function: &str,
    options: &Options,
    progress: &mut dyn Progress,
) -> Result<Report, TuneError> {
    let api = copies.api();
    let table = PriceTable::aws();
    let region = table
        .region(&options.region)
        .map_err(|e| TuneError::Invalid(e.to_string()))?;
    let doc =
        call(api, "GET", &function_path(function)).map_err(step(format!("reading {function}")))?;
    let config = doc.get("Configuration").cloned().unwrap_or(Value::Null);
    if field(&config, "PackageType") == "Image" {
        return Err(TuneError::Invalid(format!(
            "{function} is a container image: tuning copies .zip functions only"
        )));
    }
    let architecture = config
        .pointer("/Architectures/0")
        .and_then(Value::as_str)
        .and_then(Architecture::parse)
        .unwrap_or(Architecture::X86_64);
    let prices = region.of(architecture);
    let zip = fetch_code(api, &doc).map_err(step(format!("fetching the code of {function}")))?;
    let code = base64::engine::general_purpose::STANDARD.encode(&zip);

    let base = base_name(function);
    let tag = random_tag();
    let mut sizes = Vec::with_capacity(options.memory.len());
    for &memory in &options.memory {
        let name = copy_name(&base, memory, &tag);
        let body = copy_body(&config, &name, memory, &code);
        copies
            .create(&name, &body)
            .map_err(step(format!("creating the tuning copy {name}")))?;
        ready(api, &name)?;
        invoke(api, &name, &options.payload).map_err(step(format!("warming {name}")))?;
        progress.size_started(memory, options.invocations);
        let mut samples = Vec::with_capacity(options.invocations as usize);
        for _ in 0..options.invocations {
            samples.push(
                invoke(api, &name, &options.payload).map_err(step(format!("measuring {name}")))?,
            );
            progress.invoked();
        }
        progress.size_done();
        copies.delete(&name);
        sizes.push(summarize(memory, &samples, prices));
    }
    let best = recommend(&sizes, options.strategy).map(|i| sizes[i].memory_mb);
    Ok(Report {
        function_name: function.to_string(),
        architecture: architecture.as_str().to_string(),
        region: options.region.clone(),
        strategy: options.strategy,
        sizes,
        recommended: best,
        prices_read_on: table.read_on.clone(),
    })
}

/// The function's code, from the URL GetFunction gives (`/_hearth/code/…` on the server).
fn fetch_code(api: &dyn Api, function: &Value) -> Result<Vec<u8>, Why> {
    let location = function
        .pointer("/Code/Location")
        .and_then(Value::as_str)
        .ok_or_else(|| Why::Other("GetFunction gave no Code.Location".into()))?;
    // The URL names the host the server was asked by; the server we send to is the same
    // one, so only its path is taken.
    let path = location
        .find("/_hearth/")
        .map(|i| &location[i..])
        .ok_or_else(|| Why::Other(format!("unexpected code location {location}")))?;
    let reply = api.send("GET", path, &[], None).map_err(Why::Transport)?;
    if !reply.is_success() {
        return Err(Why::Api(reply.failure()));
    }
    Ok(reply.body)
}

/// Polls GetFunctionConfiguration until the copy has settled (neither `Pending` nor
/// `InProgress`, what the `function_active_v2` waiter does), and checks it is usable.
fn ready(api: &dyn Api, name: &str) -> Result<(), TuneError> {
    let path = format!("{}/configuration", function_path(name));
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let doing = || format!("waiting for {name}");
    loop {
        let config = call(api, "GET", &path).map_err(step(doing()))?;
        let busy = field(&config, "State") == "Pending"
            || field(&config, "LastUpdateStatus") == "InProgress";
        if !busy {
            if field(&config, "State") == "Failed" {
                let why = format!(
                    "{name} failed to become active: {}: {}",
                    field(&config, "StateReasonCode"),
                    field(&config, "StateReason")
                );
                return Err(step(doing())(Why::Other(why)));
            }
            return Ok(());
        }
        if Instant::now() >= deadline {
            let why = format!(
                "{name} is still {} after {} s",
                field(&config, "State"),
                SETTLE_TIMEOUT.as_secs()
            );
            return Err(step(doing())(Why::Other(why)));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// A copy's CreateFunction request: the original's configuration at `memory` MB.
pub(crate) fn copy_body(config: &Value, name: &str, memory: u32, code: &str) -> Value {
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
fn invoke(api: &dyn Api, name: &str, payload: &[u8]) -> Result<Sample, Why> {
    let headers = [
        ("x-amz-invocation-type", "RequestResponse"),
        ("x-amz-log-type", "Tail"),
    ];
    let path = format!("{}/invocations", function_path(name));
    let reply = api
        .send("POST", &path, &headers, Some(payload.to_vec()))
        .map_err(Why::Transport)?;
    if !reply.is_success() {
        return Err(Why::Api(reply.failure()));
    }
    if let Some(kind) = reply.header("x-amz-function-error") {
        return Err(Why::Function {
            copy: name.to_string(),
            kind: kind.to_string(),
            payload: String::from_utf8_lossy(&reply.body).into_owned(),
        });
    }
    let encoded = reply
        .header("x-amz-log-result")
        .ok_or_else(|| Why::Other("the invocation came back without its log tail".into()))?;
    let log = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| Why::Other("the server sent an invalid X-Amz-Log-Result".into()))?;
    parse_report(&String::from_utf8_lossy(&log)).ok_or_else(|| {
        Why::Other("the log tail has no REPORT line with Duration and Billed Duration".into())
    })
}

/// The function's name from a name or an ARN.
pub(crate) fn base_name(name_or_arn: &str) -> String {
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
pub(crate) fn copy_name(base: &str, memory: u32, tag: &str) -> String {
    let suffix = format!("-tune-{memory}-{tag}");
    let keep = MAX_NAME.saturating_sub(suffix.len());
    // By characters: a name the server would refuse anyway must not panic here.
    let base: String = base.chars().take(keep).collect();
    format!("{base}{suffix}")
}

/// Eight hex digits, different per run (the hasher's keys are random per process, and the
/// time and process are mixed in).
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

#[cfg(test)]
mod tests;
