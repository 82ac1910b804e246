//! `hearth-ext-probe`: an external extension written with the official `lambda-extension`
//! crate, as an extension author would. It registers for INVOKE and SHUTDOWN (the crate
//! registers under the executable's file name) and subscribes to the Telemetry API's
//! `platform` and `function` records with the crate's own listener (buffering: 1,000
//! items, 262,144 bytes, 25 ms, so that records come soon after they happen).
//!
//! It says each event (`INVOKE <request id>`, `SHUTDOWN <reason>`) and checks the records
//! it is sent itself ([`checker`]): a verdict line for the init, one per invocation, and a
//! summary at SHUTDOWN, each on its output — the function's log stream — and in files
//! under `$EXT_OUT` when that is set ([`out`]), for a test to assert on.
//!
//! The listener's port is `$PROBE_TELEMETRY_PORT`, or else a free one: on the process
//! sandbox every environment shares the host's network, so the crate's default (9003)
//! would collide between two environments.

mod checker;
mod out;

use std::sync::{Arc, Mutex};

use lambda_extension::{
    service_fn, Error, Extension, LambdaEvent, LambdaTelemetry, LogBuffering, NextEvent,
    SharedService,
};
use serde_json::Value;

use checker::Checker;
use out::File;

type Shared = Arc<Mutex<Checker>>;

fn lock(checker: &Shared) -> std::sync::MutexGuard<'_, Checker> {
    // A panic while holding it leaves the counts as they were: still worth reporting.
    checker.lock().unwrap_or_else(|e| e.into_inner())
}

async fn on_event(checker: Shared, event: LambdaEvent) -> Result<(), Error> {
    match event.next {
        NextEvent::Invoke(e) => {
            lock(&checker).on_invoke(&e.request_id);
            out::say(File::Events, &format!("INVOKE {}", e.request_id))?;
        }
        NextEvent::Shutdown(e) => {
            // The platform flushes the telemetry before SHUTDOWN: the summary is complete.
            let summary = lock(&checker).summary();
            out::say(File::Telemetry, &summary)?;
            out::say(File::Events, &format!("SHUTDOWN {}", e.shutdown_reason))?;
        }
    }
    Ok(())
}

async fn on_telemetry(checker: Shared, batch: Vec<LambdaTelemetry<Value>>) -> Result<(), Error> {
    let verdicts: Vec<String> = {
        let mut checker = lock(&checker);
        batch
            .iter()
            .filter_map(|t| checker.on_record(&t.record))
            .collect()
    };
    for line in verdicts {
        out::say(File::Telemetry, &line)?;
    }
    Ok(())
}

/// `$PROBE_TELEMETRY_PORT`, or a port free now (the crate binds it a moment later).
fn telemetry_port() -> Result<u16, Error> {
    if let Some(port) = std::env::var("PROBE_TELEMETRY_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
    {
        return Ok(port);
    }
    let probe = std::net::TcpListener::bind(("0.0.0.0", 0))?;
    Ok(probe.local_addr()?.port())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let checker: Shared = Arc::new(Mutex::new(Checker::new(out::own_name())));
    let events = {
        let checker = checker.clone();
        service_fn(move |event| on_event(checker.clone(), event))
    };
    let telemetry = {
        let checker = checker.clone();
        service_fn(move |batch| on_telemetry(checker.clone(), batch))
    };
    Extension::new()
        .with_events_processor(events)
        .with_telemetry_types(&["platform", "function"])
        .with_telemetry_buffering(LogBuffering {
            timeout_ms: 25,
            max_bytes: 262_144,
            max_items: 1_000,
        })
        .with_telemetry_port_number(telemetry_port()?)
        .with_telemetry_record_type::<Value>()
        .with_telemetry_processor(SharedService::new(telemetry))
        .run()
        .await
}
