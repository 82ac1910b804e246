//! The Telemetry API (2022-07-01) and Logs API (2020-08-15) routes over a real socket: the
//! caller resolved through the Extensions API's registry, the hub's answers, and a record
//! published by the engine's side reaching a real HTTP listener.

use std::net::{Ipv4Addr, SocketAddr};

use axum::extract::State;
use axum::routing::post;
use chrono::TimeZone;
use hearth_runtime_api::{ExtensionSetup, RuntimeApi};
use hearth_telemetry::{Event, LogLine, Record};
use serde_json::{json, Value};
use tokio::sync::mpsc;

mod common;
use common::call;

const REGISTER: &str = "/2020-01-01/extension/register";
const TELEMETRY: &str = "/2022-07-01/telemetry";
const LOGS: &str = "/2020-08-15/logs";

async fn server() -> (RuntimeApi, SocketAddr) {
    let (api, _init) = RuntimeApi::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("start");
    api.set_extensions(ExtensionSetup {
        external: vec!["ext".into()],
        function_name: "fn".into(),
        function_version: "$LATEST".into(),
        handler: "app.handler".into(),
        account_id: None,
    });
    let addr = api.addr();
    (api, addr)
}

async fn register(addr: SocketAddr, name: &str) -> String {
    let reply = call(
        addr,
        "POST",
        REGISTER,
        &[("Lambda-Extension-Name", name)],
        r#"{"events":["INVOKE"]}"#,
    )
    .await;
    assert_eq!(reply.status, 200);
    reply
        .header("Lambda-Extension-Identifier")
        .expect("an identifier")
        .to_owned()
}

fn request(schema: &str, types: &str, port: u16) -> String {
    format!(
        r#"{{"schemaVersion":"{schema}","types":{types},"buffering":{{"timeoutMs":25}},
        "destination":{{"protocol":"HTTP","URI":"http://sandbox.localdomain:{port}/telemetry"}}}}"#
    )
}

/// A listener standing in for an extension's: every batch it is sent, as JSON.
async fn listener() -> (u16, mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route(
            "/telemetry",
            post(
                |State(tx): State<mpsc::UnboundedSender<Value>>,
                 axum::Json(batch): axum::Json<Value>| async move {
                    let _ = tx.send(batch);
                },
            ),
        )
        .with_state(tx);
    let socket = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let port = socket.local_addr().expect("an address").port();
    tokio::spawn(async move { axum::serve(socket, app).await });
    (port, rx)
}

#[tokio::test]
async fn a_missing_or_unknown_identifier_gets_the_registrys_refusal() {
    let (api, addr) = server().await;
    let body = request("2022-12-13", r#"["platform"]"#, 4243);
    for path in [TELEMETRY, LOGS] {
        let reply = call(addr, "PUT", path, &[], &body).await;
        assert_eq!(reply.status, 403);
        assert_eq!(
            reply.body,
            json!({"errorType": "Extension.MissingHeader",
                "errorMessage": "Lambda-Extension-Identifier not found"})
        );
        let reply = call(
            addr,
            "PUT",
            path,
            &[("Lambda-Extension-Identifier", "nobody")],
            &body,
        )
        .await;
        assert_eq!(reply.status, 403);
        assert_eq!(
            reply.body,
            json!({"errorType": "Extension.UnknownExtensionIdentifier",
                "errorMessage": "Unknown extension nobody"})
        );
    }
    assert!(!api.telemetry().is_active());
}

#[tokio::test]
async fn an_invalid_request_is_the_hubs_validation_error() {
    let (api, addr) = server().await;
    let id = register(addr, "ext").await;
    let reply = call(
        addr,
        "PUT",
        LOGS,
        &[("Lambda-Extension-Identifier", &id)],
        r#"{"schemaVersion":"2021-03-18","types":["platform"]}"#,
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.body,
        json!({"errorType": "Logs.ValidationError", "errorMessage": "destination is not provided"})
    );
    assert!(api.telemetry().is_empty());
}

#[tokio::test]
async fn a_subscriber_receives_its_subscription_and_what_is_published() {
    let (api, addr) = server().await;
    let (port, mut batches) = listener().await;
    let id = register(addr, "ext").await;
    let reply = call(
        addr,
        "PUT",
        TELEMETRY,
        &[("Lambda-Extension-Identifier", &id)],
        &request("2022-12-13", r#"["platform","function"]"#, port),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.body, json!("OK"));
    assert!(api.telemetry().is_active());

    // The other API is refused once one is used.
    let reply = call(
        addr,
        "PUT",
        LOGS,
        &[("Lambda-Extension-Identifier", &id)],
        &request("2021-03-18", r#"["platform"]"#, port),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!({"errorType": "Logs.ValidationError",
            "errorMessage": "extensions of this environment already subscribed through the Telemetry API"})
    );

    let time = chrono::Utc
        .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
        .single()
        .expect("a time");
    api.telemetry().publish(&Event {
        time,
        record: Record::Function(LogLine::Text("hello".into())),
    });
    api.telemetry().shutdown().await;
    let mut got = Vec::new();
    while let Ok(batch) = batches.try_recv() {
        got.extend(batch.as_array().expect("an array").iter().cloned());
    }
    assert_eq!(got.len(), 2, "{got:?}");
    // The subscription record is stamped by the system clock: its time is checked by shape.
    let stamped = got[0]["time"].as_str().expect("a time");
    assert!(stamped.len() == 24 && stamped.ends_with('Z'), "{stamped}");
    assert_eq!(
        got[0]["record"],
        json!({"name": "ext", "state": "Subscribed", "types": ["platform", "function"]})
    );
    assert_eq!(got[0]["type"], "platform.telemetrySubscription");
    assert_eq!(
        got[1],
        json!({"time": "2026-01-02T03:04:05.000Z", "type": "function", "record": "hello"})
    );
}
