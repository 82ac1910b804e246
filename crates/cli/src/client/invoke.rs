//! `hearth invoke`: a synchronous Invoke; the response payload goes to stdout, the log tail
//! (with `--log`) to stderr, and a function error makes the exit status 2. With `--event`
//! the event is queued (asynchronous invocation) and its request id printed.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use serde_json::{json, Value};
use ureq::http::Method;

use super::http::{encode, function_path, Client};
use super::output::{emit, line};
use super::{CommonArgs, FunctionFailed};

#[derive(Debug, clap::Args)]
pub struct InvokeArgs {
    /// The function's name or ARN.
    pub name: String,

    /// The event: JSON text, or @FILE to read it from a file (@- reads standard input).
    #[arg(long, default_value = "{}")]
    pub payload: String,

    /// Print the invocation's log tail (last 4 KB) to standard error.
    #[arg(long)]
    pub log: bool,

    /// A version or alias (default $LATEST).
    #[arg(long)]
    pub qualifier: Option<String>,

    /// Invoke asynchronously: queue the event and print its request id (the function's
    /// runs show in `hearth logs`, what is still queued in `hearth ls`).
    #[arg(long, conflicts_with = "log")]
    pub event: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// The request body for `--payload`: literal JSON text, `@FILE`, or `@-` for stdin.
pub fn read_payload(text: &str) -> anyhow::Result<Vec<u8>> {
    match text.strip_prefix('@') {
        Some("-") => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .context("reading the payload from standard input")?;
            Ok(body)
        }
        Some(file) => std::fs::read(Path::new(file))
            .with_context(|| format!("reading the payload from {file}")),
        None => Ok(text.as_bytes().to_vec()),
    }
}

pub fn run(args: InvokeArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.common)?;
    let body = read_payload(&args.payload)?;
    let mut path = format!("{}/invocations", function_path(&args.name));
    if let Some(qualifier) = &args.qualifier {
        path.push_str(&format!("?Qualifier={}", encode(qualifier)));
    }
    if args.event {
        let headers = [("x-amz-invocation-type", "Event")];
        let reply = client.send(Method::POST, &path, &headers, Some(body))?;
        if !reply.is_success() {
            return Err(reply.error().into());
        }
        let request_id = reply.header("x-amzn-requestid").unwrap_or("").to_string();
        return if args.common.json {
            line(serde_json::to_string_pretty(
                &json!({"statusCode": reply.status, "requestId": request_id}),
            )?)
        } else {
            line(format!("queued {request_id}"))
        };
    }
    let mut headers = vec![("x-amz-invocation-type", "RequestResponse")];
    let want_log = args.log || args.common.json;
    if want_log {
        headers.push(("x-amz-log-type", "Tail"));
    }

    let reply = client.send(Method::POST, &path, &headers, Some(body))?;
    if !reply.is_success() {
        return Err(reply.error().into());
    }
    let function_error = reply.header("x-amz-function-error").map(str::to_string);
    let log = match reply.header("x-amz-log-result") {
        Some(encoded) => Some(decode_log(encoded)?),
        None => None,
    };

    if args.common.json {
        let payload = serde_json::from_slice::<Value>(&reply.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&reply.body).into_owned()));
        let report = json!({
            "statusCode": reply.status,
            "functionError": function_error,
            "executedVersion": reply.header("x-amz-executed-version"),
            "requestId": reply.header("x-amzn-requestid"),
            "payload": payload,
            "log": log,
        });
        line(serde_json::to_string_pretty(&report)?)?;
    } else {
        emit(&reply.body)?;
        if !reply.body.is_empty() && !reply.body.ends_with(b"\n") {
            emit(b"\n")?;
        }
        if let Some(log) = log.filter(|_| args.log) {
            eprint!("{log}");
            if !log.ends_with('\n') {
                eprintln!();
            }
        }
    }

    match function_error {
        Some(kind) => Err(FunctionFailed(kind).into()),
        None => Ok(()),
    }
}

fn decode_log(encoded: &str) -> anyhow::Result<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .context("the server sent an invalid X-Amz-Log-Result")?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_text_and_files() {
        assert_eq!(read_payload(r#"{"a":1}"#).expect("inline"), br#"{"a":1}"#);
        let file = std::env::temp_dir().join(format!("hearth-payload-{}.json", std::process::id()));
        std::fs::write(&file, b"[1,2]").expect("write");
        let arg = format!("@{}", file.display());
        assert_eq!(read_payload(&arg).expect("file"), b"[1,2]");
        std::fs::remove_file(&file).expect("cleanup");
        assert!(read_payload("@/nonexistent/hearth/payload.json").is_err());
    }

    #[test]
    fn log_result_is_base64() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("START RequestId: x\n");
        assert_eq!(
            decode_log(&encoded).expect("decode"),
            "START RequestId: x\n"
        );
        assert!(decode_log("***").is_err());
    }
}
