//! The Extensions API (2020-01-01) over a real socket: every endpoint, its refusals,
//! and the lifecycle the engine waits on (init, INVOKE, SHUTDOWN).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use hearth_runtime_api::{
    ExtensionFailure, ExtensionSetup, InvokeEvent, RuntimeApi, ShutdownReason,
};
use serde_json::json;

mod common;
use common::{call, Reply};

const REGISTER: &str = "/2020-01-01/extension/register";
const NEXT: &str = "/2020-01-01/extension/event/next";

async fn server(external: &[&str]) -> (RuntimeApi, SocketAddr) {
    let (api, _init) = RuntimeApi::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("start");
    api.set_extensions(ExtensionSetup {
        external: external.iter().map(|s| s.to_string()).collect(),
        function_name: "fn".into(),
        function_version: "$LATEST".into(),
        handler: "app.handler".into(),
        account_id: Some("000000000000".into()),
    });
    let addr = api.addr();
    (api, addr)
}

async fn register(addr: SocketAddr, name: &str, events: &str) -> Reply {
    call(
        addr,
        "POST",
        REGISTER,
        &[("Lambda-Extension-Name", name)],
        &format!(r#"{{"events": {events}}}"#),
    )
    .await
}

fn refused(reply: &Reply, error_type: &str, message: &str) {
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.body,
        json!({"errorType": error_type, "errorMessage": message})
    );
}

fn event(id: &str) -> InvokeEvent {
    InvokeEvent {
        request_id: id.into(),
        deadline_ms: 1_700_000_003_000,
        invoked_function_arn: "arn:aws:lambda:us-east-1:000000000000:function:fn".into(),
        trace_id: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into(),
    }
}

#[tokio::test]
async fn register_answers_the_function_and_an_identifier() {
    let (_api, addr) = server(&["ext"]).await;
    let reply = register(addr, "ext", r#"["INVOKE","SHUTDOWN"]"#).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        json!({"functionName": "fn", "functionVersion": "$LATEST", "handler": "app.handler"})
    );
    let id = reply
        .header("lambda-extension-identifier")
        .expect("an identifier");
    assert!(uuid_like(id), "{id}");
    // With the accountId feature asked for, an internal extension.
    let reply = call(
        addr,
        "POST",
        REGISTER,
        &[
            ("Lambda-Extension-Name", "inside"),
            ("Lambda-Extension-Accept-Feature", "accountId"),
        ],
        r#"{"events":["INVOKE"]}"#,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["accountId"], json!("000000000000"));
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn register_refusals() {
    let (api, addr) = server(&["ext"]).await;
    refused(
        &register(addr, "ext", r#"["INVOKE","RESTORE"]"#).await,
        "Extension.InvalidEventType",
        "RESTORE: unknown event type",
    );
    refused(
        &register(addr, "inside", r#"["SHUTDOWN"]"#).await,
        "Extension.InvalidEventType",
        "SHUTDOWN: internal extensions cannot subscribe to SHUTDOWN",
    );
    refused(
        &call(addr, "POST", REGISTER, &[], r#"{"events":[]}"#).await,
        "Extension.InvalidExtensionName",
        "Empty extension name",
    );
    let bad = call(
        addr,
        "POST",
        REGISTER,
        &[("Lambda-Extension-Name", "ext")],
        "{",
    )
    .await;
    assert_eq!(
        (bad.status, bad.body["errorType"].clone()),
        (403, json!("InvalidRequestFormat"))
    );
    assert_eq!(register(addr, "ext", r#"["SHUTDOWN"]"#).await.status, 200);
    refused(
        &register(addr, "ext", r#"["SHUTDOWN"]"#).await,
        "Extension.InvalidExtensionState",
        "Extension with this name already registered",
    );
    // Init over: registration is closed.
    let id = register(addr, "late-internal", "[]").await;
    assert_eq!(id.status, 200);
    api.shutdown_extensions(ShutdownReason::Spindown, 0);
    refused(
        &register(addr, "other", "[]").await,
        "Extension.RegistrationClosed",
        "Extension registration closed already",
    );
}

#[tokio::test]
async fn next_and_errors_need_a_known_identifier() {
    let (_api, addr) = server(&[]).await;
    refused(
        &call(addr, "GET", NEXT, &[], "").await,
        "Extension.MissingHeader",
        "Lambda-Extension-Identifier not found",
    );
    refused(
        &call(
            addr,
            "GET",
            NEXT,
            &[("Lambda-Extension-Identifier", "nope")],
            "",
        )
        .await,
        "Extension.UnknownExtensionIdentifier",
        "Unknown extension nope",
    );
    let init_error = "/2020-01-01/extension/init/error";
    refused(
        &call(
            addr,
            "POST",
            init_error,
            &[
                ("Lambda-Extension-Identifier", "nope"),
                ("Lambda-Extension-Function-Error-Type", "Extension.Broken"),
            ],
            "{}",
        )
        .await,
        "Extension.UnknownExtensionIdentifier",
        "Unknown extension nope",
    );
    refused(
        &call(
            addr,
            "POST",
            init_error,
            &[("Lambda-Extension-Identifier", "nope")],
            "{}",
        )
        .await,
        "Extension.MissingHeader",
        "Lambda-Extension-Function-Error-Type not found",
    );
}

#[tokio::test]
async fn init_waits_for_every_external_extension_and_ends_on_its_next() {
    let (api, addr) = server(&["a", "b"]).await;
    let api = std::sync::Arc::new(api);
    let waiting = tokio::spawn({
        let api = api.clone();
        async move { api.extensions_init_done().await }
    });
    let a = register(addr, "a", r#"["INVOKE"]"#).await;
    let a_id = a
        .header("lambda-extension-identifier")
        .expect("id")
        .to_string();
    let a_next = tokio::spawn(async move {
        call(
            addr,
            "GET",
            NEXT,
            &[("Lambda-Extension-Identifier", &a_id)],
            "",
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished(), "b has not registered");
    assert_eq!(api.extensions_not_ready(), vec!["b".to_string()]);
    // b registers for SHUTDOWN only: its first `next` still counts for init.
    let b = register(addr, "b", r#"["SHUTDOWN"]"#).await;
    let b_id = b
        .header("lambda-extension-identifier")
        .expect("id")
        .to_string();
    let b_next = tokio::spawn(async move {
        call(
            addr,
            "GET",
            NEXT,
            &[("Lambda-Extension-Identifier", &b_id)],
            "",
        )
        .await
    });
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("init over")
            .expect("joined"),
        Ok(())
    );
    assert!(api.extensions_want_invoke());

    // An invocation: a gets it; it is over when a asks again.
    api.invoke_extensions(&event("req-1"));
    let got = a_next.await.expect("a's next");
    assert_eq!(got.status, 200);
    assert_eq!(
        got.body,
        json!({
            "eventType": "INVOKE", "deadlineMs": 1_700_000_003_000i64, "requestId": "req-1",
            "invokedFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
            "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"},
        })
    );
    let done = tokio::spawn({
        let api = api.clone();
        async move { api.extensions_invoke_done().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!done.is_finished(), "a is still at work");
    let a_id = a
        .header("lambda-extension-identifier")
        .expect("id")
        .to_string();
    let a_again = tokio::spawn(async move {
        call(
            addr,
            "GET",
            NEXT,
            &[("Lambda-Extension-Identifier", &a_id)],
            "",
        )
        .await
    });
    tokio::time::timeout(Duration::from_secs(5), done)
        .await
        .expect("invoke over")
        .expect("joined");

    // SHUTDOWN goes to b only.
    assert_eq!(
        api.shutdown_extensions(ShutdownReason::Timeout, 1_700_000_005_000),
        1
    );
    let got = b_next.await.expect("b's next");
    assert_eq!(
        got.body,
        json!({"eventType": "SHUTDOWN", "shutdownReason": "timeout", "deadlineMs": 1_700_000_005_000i64})
    );
    assert!(!a_again.is_finished());
}

#[tokio::test]
async fn an_init_error_ends_init_with_the_extensions_error_type() {
    let (api, addr) = server(&["a"]).await;
    let a = register(addr, "a", r#"["INVOKE"]"#).await;
    let id = a
        .header("lambda-extension-identifier")
        .expect("id")
        .to_string();
    let reply = call(
        addr,
        "POST",
        "/2020-01-01/extension/init/error",
        &[
            ("Lambda-Extension-Identifier", &id),
            (
                "Lambda-Extension-Function-Error-Type",
                "Extension.ConfigInvalid",
            ),
        ],
        r#"{"errorMessage":"bad"}"#,
    )
    .await;
    assert_eq!((reply.status, reply.body), (202, json!({"status": "OK"})));
    let expected = ExtensionFailure {
        name: "a".into(),
        error_type: "Extension.ConfigInvalid".into(),
        during_init: true,
    };
    assert_eq!(api.extensions_init_done().await, Err(expected));
    // After init an init error is refused; an exit error is taken.
    let reply = call(
        addr,
        "POST",
        "/2020-01-01/extension/init/error",
        &[
            ("Lambda-Extension-Identifier", &id),
            ("Lambda-Extension-Function-Error-Type", "Extension.X"),
        ],
        "",
    )
    .await;
    assert_eq!(
        (reply.status, reply.body["errorType"].clone()),
        (403, json!("Extension.InvalidExtensionState"))
    );
    let reply = call(
        addr,
        "POST",
        "/2020-01-01/extension/exit/error",
        &[
            ("Lambda-Extension-Identifier", &id),
            ("Lambda-Extension-Function-Error-Type", "Extension.X"),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, 202);
    refused(
        &call(
            addr,
            "GET",
            NEXT,
            &[("Lambda-Extension-Identifier", &id)],
            "",
        )
        .await,
        "Extension.InvalidExtensionState",
        &format!("State transition from Failed to Ready failed for extension {id}"),
    );
}

#[tokio::test]
async fn without_extensions_nothing_is_waited_for() {
    let (api, _addr) = server(&[]).await;
    assert!(!api.extensions_want_invoke());
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(1), api.extensions_init_done()).await,
        Ok(Ok(()))
    );
    assert_eq!(api.shutdown_extensions(ShutdownReason::Spindown, 0), 0);
    tokio::time::timeout(Duration::from_secs(1), api.extensions_invoke_done())
        .await
        .expect("nothing to wait for");
}

#[tokio::test]
async fn the_jails_watcher_reports_an_extensions_end() {
    let (api, addr) = server(&["a"]).await;
    let path = "/_hearth/extension/exited";
    let exited = |name: &str, status: &str| {
        let headers = [
            ("Hearth-Extension-Name".to_string(), name.to_string()),
            ("Hearth-Extension-Status".to_string(), status.to_string()),
        ];
        async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            call(addr, "POST", path, &headers, "").await.status
        }
    };
    assert_eq!(exited("not-external", "256").await, 400);
    assert_eq!(exited("a", "x").await, 400);
    assert_eq!(exited("a", "256").await, 202);
    let got = tokio::time::timeout(Duration::from_secs(5), api.extension_exit()).await;
    assert_eq!(got, Ok(("a".to_string(), 256)));
}

#[tokio::test]
async fn the_next_that_ends_an_invoke_does_not_end_a_shutdown_queued_meanwhile() {
    let (api, addr) = server(&["a"]).await;
    let api = std::sync::Arc::new(api);
    let a = register(addr, "a", r#"["INVOKE","SHUTDOWN"]"#).await;
    let id = a
        .header("lambda-extension-identifier")
        .expect("id")
        .to_string();
    let next = |id: String| async move {
        call(
            addr,
            "GET",
            NEXT,
            &[("Lambda-Extension-Identifier", &id)],
            "",
        )
        .await
    };
    let first = tokio::spawn(next(id.clone()));
    api.extensions_init_done().await.expect("init over");
    api.invoke_extensions(&event("req-1"));
    assert_eq!(first.await.expect("joined").body["eventType"], "INVOKE");
    // SHUTDOWN is queued while the extension still works on the INVOKE.
    assert_eq!(api.shutdown_extensions(ShutdownReason::Spindown, 0), 1);
    let done = tokio::spawn({
        let api = api.clone();
        async move { api.extensions_shutdown_done().await }
    });
    // This `next` ends the INVOKE and takes the SHUTDOWN: not done yet.
    let got = next(id.clone()).await;
    assert_eq!(got.body["eventType"], "SHUTDOWN");
    tokio::task::yield_now().await;
    assert!(!done.is_finished(), "still working on SHUTDOWN");
    // Asking once more means it is done with SHUTDOWN.
    let last = tokio::spawn(next(id));
    tokio::time::timeout(Duration::from_secs(5), done)
        .await
        .expect("shutdown over")
        .expect("joined");
    last.abort();
}

#[tokio::test]
async fn an_internal_registration_is_told_apart_by_its_name() {
    let (api, addr) = server(&["ext"]).await;
    assert!(!api.internal_extensions_registered());
    assert_eq!(register(addr, "ext", r#"["SHUTDOWN"]"#).await.status, 200);
    // The external extension alone is not internal.
    assert!(!api.internal_extensions_registered());
    assert_eq!(
        register(addr, "in-process", r#"["INVOKE"]"#).await.status,
        200
    );
    assert!(api.internal_extensions_registered());
}
