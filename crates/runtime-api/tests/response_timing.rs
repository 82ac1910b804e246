//! When the Runtime API received a response (`RuntimeApi::take_response_timing`, the
//! Telemetry API's `producedBytes` and spans): noted only while an extension subscribed,
//! and taken once.

use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use hearth_runtime_api::{ExtensionSetup, Invocation, Outcome, RuntimeApi};

mod common;
use common::call;

fn invocation(id: &str) -> Invocation {
    Invocation {
        request_id: id.into(),
        payload: Bytes::from_static(b"{}"),
        deadline_ms: 1_700_000_000_000,
        invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
        trace_id: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
            .into(),
        client_context: None,
        cognito_identity: None,
        stream: None,
    }
}

/// Runs invocation `id` through the runtime's `next` and a response of `body`.
async fn respond(api: &RuntimeApi, id: &str, body: &str) {
    let addr = api.addr();
    let next = tokio::spawn(call(
        addr,
        "GET",
        "/2018-06-01/runtime/invocation/next",
        &[],
        "",
    ));
    let outcome = api.dispatch(invocation(id)).await;
    assert_eq!(next.await.expect("next").status, 200);
    let path = format!("/2018-06-01/runtime/invocation/{id}/response");
    assert_eq!(call(addr, "POST", &path, &[], body).await.status, 202);
    assert_eq!(
        outcome.await.expect("an outcome"),
        Outcome::Response(Bytes::from(body.to_owned()))
    );
}

#[tokio::test]
async fn a_response_is_timed_only_while_someone_subscribed() {
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
    respond(&api, "req-1", "quiet").await;
    assert_eq!(api.take_response_timing(), None, "nobody subscribed");

    let addr = api.addr();
    let registered = call(
        addr,
        "POST",
        "/2020-01-01/extension/register",
        &[("Lambda-Extension-Name", "ext")],
        r#"{"events":["INVOKE"]}"#,
    )
    .await;
    assert_eq!(registered.status, 200);
    let id = registered
        .header("Lambda-Extension-Identifier")
        .expect("an identifier")
        .to_owned();
    let subscription = r#"{"schemaVersion":"2022-12-13","types":["platform"],
        "destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:4243/t"}}"#;
    let subscribed = call(
        addr,
        "PUT",
        "/2022-07-01/telemetry",
        &[("Lambda-Extension-Identifier", &id)],
        subscription,
    )
    .await;
    assert_eq!(subscribed.status, 200);
    assert!(api.telemetry().is_active());

    respond(&api, "req-2", "twelve bytes").await;
    let timing = api.take_response_timing().expect("timed");
    assert_eq!(timing.bytes, 12);
    assert!(timing.done >= timing.first_byte);
    assert_eq!(api.take_response_timing(), None, "taken once");
}
