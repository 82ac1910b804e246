//! `hearth-ext-probe`: an external extension written with the official
//! `lambda-extension` crate, as an extension author would. It subscribes to INVOKE and
//! SHUTDOWN (the crate registers under the executable's file name) and appends each
//! event to `$EXT_OUT/<its name>.log` (`INVOKE <request id>`, `SHUTDOWN <reason>`), so
//! that a test can tell what the Extensions API handed it.

use std::io::Write;
use std::path::PathBuf;

use lambda_extension::{service_fn, Error, LambdaEvent, NextEvent};

/// Where the events are written: `$EXT_OUT/<name>.log`.
fn log_path() -> Option<PathBuf> {
    let out = std::env::var_os("EXT_OUT")?;
    let name = std::env::args()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "hearth-ext-probe".into());
    Some(PathBuf::from(out).join(format!("{name}.log")))
}

fn record(line: &str) -> std::io::Result<()> {
    println!("[ext-probe] {line}");
    let Some(path) = log_path() else {
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{line}")
}

async fn on_event(event: LambdaEvent) -> Result<(), Error> {
    match event.next {
        NextEvent::Invoke(e) => record(&format!("INVOKE {}", e.request_id))?,
        NextEvent::Shutdown(e) => record(&format!("SHUTDOWN {}", e.shutdown_reason))?,
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_extension::run(service_fn(on_event)).await
}
