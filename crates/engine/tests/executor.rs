//! The executor's behaviour (warm reuse, retirement, idle reclaim, timeouts, crashes,
//! init failures, concurrency and throttling) on scripted runtimes: the engine runs
//! unchanged against real Runtime API servers and output pipes, and nothing needs root.
//! The expected payloads are Lambda's, as the e2e suite asserts them (tests/e2e).

mod fixture;

use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::Duration;

use fixture::{config, eventually, gated_echo, lambda_error, throttled_while_one_runs, Fixture};
use hearth_sandbox::scripted::{Script, Step};

/// Long enough that no test waits on the reaper unless it means to.
const LONG_TTL: Duration = Duration::from_secs(600);

fn engine(script: Script) -> Fixture {
    Fixture::new(script, config(LONG_TTL))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_environment_is_reused() {
    let fx = engine(Script::default());
    fx.create("warm", 3, &[("GREETING", "hi")]).await;
    let first = fx.invoke("warm", r#"{"n":1}"#).await;
    assert_eq!(first.ok(), r#"{"n":1}"#);
    assert!(first.log().contains("Init Duration"), "{}", first.log());
    let second = fx.invoke("warm", r#"{"n":2}"#).await;
    assert_eq!(second.ok(), r#"{"n":2}"#);
    // Only a cold start reports its init.
    assert!(!second.log().contains("Init Duration"), "{}", second.log());

    assert_eq!(fx.records.environments(), 1);
    let events = fx.records.events_of(0);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].request_id, first.request_id);
    assert_eq!(events[1].request_id, second.request_id);
    assert!(events[1].invoked_function_arn.ends_with(":function:warm"));
    let env = fx.records.env(0);
    assert_eq!(env["GREETING"], "hi");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "warm");
    assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert_eq!(fx.engine.idle_environments(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_do_not_share_environments() {
    let fx = engine(Script::default());
    fx.create("one", 3, &[]).await;
    fx.create("two", 3, &[]).await;
    fx.invoke("one", "1").await.ok();
    fx.invoke("two", "2").await.ok();
    fx.invoke("one", "3").await.ok();
    assert_eq!(fx.records.environments(), 2);
    assert_eq!(fx.records.env(0)["AWS_LAMBDA_FUNCTION_NAME"], "one");
    assert_eq!(fx.records.events_of(0).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_retires_warm_environments() {
    let fx = engine(Script::default());
    fx.create("updated", 3, &[("VERSION", "1")]).await;
    fx.invoke("updated", "{}").await.ok();
    assert_eq!(fx.engine.idle_environments(), 1);
    fx.set_env("updated", &[("VERSION", "2")]).await;
    // The old environment is stopped, not kept until the next invocation.
    eventually("the old environment is stopped", || {
        fx.records.exit_status(0).is_some()
    })
    .await;
    assert_eq!(fx.records.exit_status(0).and_then(|s| s.signal()), Some(9));
    fx.invoke("updated", "{}").await.ok();
    assert_eq!(fx.records.environments(), 2);
    assert_eq!(fx.records.env(1)["VERSION"], "2");
    assert_eq!(fx.records.events_of(1).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_environment_is_reclaimed_after_the_ttl() {
    let fx = Fixture::new(Script::default(), config(Duration::from_millis(50)));
    fx.create("idle", 3, &[]).await;
    fx.invoke("idle", "{}").await.ok();
    eventually("the idle environment is reclaimed", || {
        fx.records.exit_status(0).is_some()
    })
    .await;
    assert_eq!(fx.engine.idle_environments(), 0);
    fx.invoke("idle", "{}").await.ok();
    assert_eq!(fx.records.environments(), 2);
}

/// Answers `"hang"` by hanging after a line, anything else with its payload.
fn hangs_on_request() -> Script {
    Script::default().on_invoke(|e| match &e.payload[..] {
        b"\"hang\"" => vec![Step::print("working on it"), Step::Hang],
        _ => vec![Step::Respond(e.payload.clone())],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_environment_and_the_next_invoke_cold_starts() {
    let fx = engine(hangs_on_request());
    fx.create("slow", 1, &[]).await;
    fx.invoke("slow", "{}").await.ok();
    let timed_out = fx.invoke("slow", "\"hang\"").await;
    assert_eq!(
        timed_out.unhandled(),
        lambda_error(
            "Sandbox.Timedout",
            &format!(
                "RequestId: {} Error: Task timed out after 1.00 seconds",
                timed_out.request_id
            )
        )
    );
    let log = timed_out.log();
    assert!(log.contains("working on it"), "{log}");
    assert!(log.contains("Task timed out after 1.00 seconds"), "{log}");
    assert!(log.contains("Status: timeout"), "{log}");
    // Killed before the answer, not left running.
    assert_eq!(fx.records.exit_status(0).and_then(|s| s.signal()), Some(9));
    assert_eq!(fx.engine.idle_environments(), 0);

    let after = fx.invoke("slow", r#""after""#).await;
    assert_eq!(after.ok(), r#""after""#);
    assert_eq!(fx.records.environments(), 2);
    assert_eq!(fx.records.events_of(1).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_invocation_is_a_lambda_error_and_a_fresh_environment_follows() {
    let fx = engine(Script::default().on_invoke(|e| match &e.payload[..] {
        b"\"segv\"" => vec![Step::print("about to crash"), Step::Signal(11)],
        b"\"exit3\"" => vec![Step::Exit(3)],
        b"\"exit0\"" => vec![Step::Exit(0)],
        _ => vec![Step::Respond(e.payload.clone())],
    }));
    fx.create("crashy", 3, &[]).await;
    let cases = [
        (
            "\"segv\"",
            "Runtime exited with error: signal: segmentation fault",
        ),
        ("\"exit3\"", "Runtime exited with error: exit status 3"),
        ("\"exit0\"", "Runtime exited without providing a reason"),
    ];
    for (n, (payload, reason)) in cases.into_iter().enumerate() {
        let crashed = fx.invoke("crashy", payload).await;
        assert_eq!(
            crashed.unhandled(),
            lambda_error(
                "Runtime.ExitError",
                &format!("RequestId: {} Error: {reason}", crashed.request_id)
            ),
            "{payload}"
        );
        assert!(crashed
            .log()
            .contains("Status: error\tError Type: Runtime.ExitError"));
        // Each crash took its environment with it: the next event gets a new one.
        assert_eq!(fx.records.environments(), n + 1);
        assert!(fx.records.exit_status(n).is_some());
        assert_eq!(fx.engine.idle_environments(), 0);
    }
    let segv = fx.invoke("crashy", "\"segv\"").await;
    assert!(segv.log().contains("about to crash"), "{}", segv.log());

    let after = fx.invoke("crashy", "{}").await;
    assert_eq!(after.ok(), "{}");
    assert_eq!(fx.records.environments(), 5);
    assert_eq!(fx.records.events_of(4).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_error_keeps_the_environment_warm() {
    let fx = engine(Script::default().on_invoke(|e| match &e.payload[..] {
        b"\"raise\"" => vec![Step::fail("HearthTestError", "it broke")],
        _ => vec![Step::Respond(e.payload.clone())],
    }));
    fx.create("raises", 3, &[]).await;
    let failed = fx.invoke("raises", "\"raise\"").await;
    assert_eq!(
        failed.unhandled(),
        lambda_error("HearthTestError", "it broke")
    );
    assert!(failed
        .log()
        .contains("Status: error\tError Type: HearthTestError"));
    fx.invoke("raises", "{}").await.ok();
    assert_eq!(fx.records.environments(), 1);
    assert_eq!(fx.records.events_of(0).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_skips_its_answer_is_replaced() {
    // No steps: the runtime asks for its next event without answering this one.
    let fx = engine(Script::default().on_invoke(|e| match &e.payload[..] {
        b"\"skip\"" => Vec::new(),
        _ => vec![Step::Respond(e.payload.clone())],
    }));
    fx.create("skips", 3, &[]).await;
    let skipped = fx.invoke("skips", "\"skip\"").await;
    assert_eq!(skipped.unhandled()["errorType"], "Runtime.InvalidResponse");
    fx.invoke("skips", "{}").await.ok();
    assert_eq!(fx.records.environments(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_exits_after_answering_is_not_reused() {
    let fx = engine(
        Script::default().on_invoke(|e| vec![Step::Respond(e.payload.clone()), Step::Exit(0)]),
    );
    fx.create("oneshot", 3, &[]).await;
    assert_eq!(fx.invoke("oneshot", "1").await.ok(), "1");
    eventually("the runtime has exited", || {
        fx.records.exit_status(0).is_some()
    })
    .await;
    // Its event is not lost to the dead environment: a new one runs it.
    assert_eq!(fx.invoke("oneshot", "2").await.ok(), "2");
    assert_eq!(fx.records.environments(), 2);
    assert_eq!(fx.records.events_of(1)[0].payload, "2".as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_error_is_the_function_error_and_init_is_retried() {
    let fx = engine(Script::default().on_init(|_| {
        vec![
            Step::print("loading the handler"),
            Step::fail(
                "Runtime.ImportModuleError",
                "Unable to import module 'app': No module named 'missing'",
            ),
            Step::Exit(1),
        ]
    }));
    fx.create("broken", 3, &[]).await;
    for n in 1..=2 {
        let failed = fx.invoke("broken", "{}").await;
        assert_eq!(
            failed.unhandled(),
            lambda_error(
                "Runtime.ImportModuleError",
                "Unable to import module 'app': No module named 'missing'"
            )
        );
        let log = failed.log();
        assert!(log.contains("loading the handler"), "{log}");
        assert!(
            log.contains("Phase: init\tStatus: error\tError Type: Runtime.ImportModuleError"),
            "{log}"
        );
        // Every invocation retries the init, in a new environment.
        assert_eq!(fx.records.environments(), n);
    }
    assert!(fx.records.events().is_empty());
    assert_eq!(fx.engine.idle_environments(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_exits_during_init_is_an_exit_error() {
    let fx = engine(Script::default().on_init(|_| vec![Step::print("bad"), Step::Exit(2)]));
    fx.create("dies", 3, &[]).await;
    let failed = fx.invoke("dies", "{}").await;
    assert_eq!(
        failed.unhandled(),
        lambda_error(
            "Runtime.ExitError",
            &format!(
                "RequestId: {} Error: Runtime exited with error: exit status 2",
                failed.request_id
            )
        )
    );
    assert!(failed.log().contains("bad"), "{}", failed.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_init_is_waited_for() {
    let fx = engine(Script::default().on_init(|_| vec![Step::Sleep(Duration::from_millis(300))]));
    fx.create("slowinit", 3, &[]).await;
    let first = fx.invoke("slowinit", "{}").await;
    assert_eq!(first.ok(), "{}");
    assert!(first.log().contains("Init Duration"), "{}", first.log());
    assert_eq!(fx.records.environments(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invokes_start_separate_environments() {
    // Each event waits until both are in flight: they can only finish if two
    // environments run them side by side (one alone would time out).
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let fx = engine(Script::default().on_invoke(move |e| {
        let barrier = barrier.clone();
        vec![
            Step::until(async move {
                barrier.wait().await;
            }),
            Step::Respond(e.payload.clone()),
        ]
    }));
    fx.create("burst", 3, &[]).await;
    let (a, b) = tokio::join!(fx.invoke("burst", "\"a\""), fx.invoke("burst", "\"b\""));
    assert_eq!(a.ok(), "\"a\"");
    assert_eq!(b.ok(), "\"b\"");
    assert_eq!(fx.records.environments(), 2);
    assert_eq!(fx.records.events_of(0).len(), 1);
    assert_eq!(fx.records.events_of(1).len(), 1);
    assert_eq!(fx.engine.idle_environments(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_throttles() {
    let (script, gate) = gated_echo();
    let fx = engine(script);
    fx.create("reserved", 3, &[]).await;
    fx.reserve("reserved", 1);
    let engine = Arc::new(fx);
    throttled_while_one_runs(&engine, &gate, "reserved").await;
    // The slot is free again: the warm environment takes the next event.
    assert_eq!(
        engine.invoke("reserved", "\"third\"").await.ok(),
        "\"third\""
    );
    assert_eq!(engine.records.environments(), 1);
    assert_eq!(engine.records.events().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_environments_start_ahead_and_are_replaced_after_a_crash() {
    let fx = engine(Script::default().on_invoke(|e| match &e.payload[..] {
        b"\"segv\"" => vec![Step::Signal(11)],
        _ => vec![Step::Respond(e.payload.clone())],
    }));
    fx.create("prov", 3, &[]).await;
    let version = fx.publish("prov");
    fx.provision("prov", &version, 2);
    eventually("two environments are provisioned", || {
        fx.provisioned_available("prov", &version) == 2
    })
    .await;
    assert_eq!(fx.records.environments(), 2);
    for n in 0..2 {
        assert_eq!(
            fx.records.env(n)["AWS_LAMBDA_INITIALIZATION_TYPE"],
            "provisioned-concurrency"
        );
        assert_eq!(fx.records.env(n)["AWS_LAMBDA_FUNCTION_VERSION"], version);
    }
    // The version's events go to the provisioned environments: no cold start.
    for _ in 0..3 {
        let warm = fx.invoke_qualified("prov", &version, "{}").await;
        warm.ok();
        assert!(!warm.log().contains("Init Duration"), "{}", warm.log());
    }
    assert_eq!(fx.records.environments(), 2);
    assert!(fx.records.events().iter().all(|e| e
        .invoked_function_arn
        .ends_with(&format!(":prov:{version}"))));
    // `$LATEST` is not provisioned: it starts its own environment.
    fx.invoke("prov", "{}").await.ok();
    assert_eq!(fx.records.environments(), 3);
    assert_eq!(
        fx.records.env(2)["AWS_LAMBDA_INITIALIZATION_TYPE"],
        "on-demand"
    );
    // A provisioned environment lost to a crash is replaced in the background.
    let crashed = fx.invoke_qualified("prov", &version, "\"segv\"").await;
    assert_eq!(crashed.unhandled()["errorType"], "Runtime.ExitError");
    eventually("the crashed environment is replaced", || {
        fx.records.environments() == 4 && fx.provisioned_available("prov", &version) == 2
    })
    .await;
    assert_eq!(
        fx.records.env(3)["AWS_LAMBDA_INITIALIZATION_TYPE"],
        "provisioned-concurrency"
    );
}

/// A provisioned environment at its age limit (its credentials would expire) is replaced
/// while idle, and never serves another invocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_environments_at_their_age_limit_are_replaced() {
    let fx = engine(Script::default());
    fx.create("aging", 3, &[]).await;
    let version = fx.publish("aging");
    fx.provision("aging", &version, 1);
    eventually("the environment is provisioned", || {
        fx.provisioned_available("aging", &version) == 1
    })
    .await;
    assert_eq!(fx.records.environments(), 1);
    fx.engine
        .age_provisioned(hearth_engine::ENVIRONMENT_MAX_AGE);
    eventually("the aged environment is replaced", || {
        fx.records.environments() == 2 && fx.provisioned_available("aging", &version) == 1
    })
    .await;
    assert_eq!(fx.records.running(), 1, "the aged one is stopped");
    assert_eq!(
        fx.records.env(1)["AWS_LAMBDA_INITIALIZATION_TYPE"],
        "provisioned-concurrency"
    );
    // The replacement serves: no cold start, no third environment.
    let warm = fx.invoke_qualified("aging", &version, "{}").await;
    warm.ok();
    assert!(!warm.log().contains("Init Duration"), "{}", warm.log());
    assert_eq!(fx.records.environments(), 2);
}

/// Deleting a record retires the environments that ran it: a provisioned
/// configuration its own, a version its warm ones, the function every other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_retire_the_environments_of_what_they_delete() {
    let fx = engine(Script::default());
    fx.create("gone", 3, &[]).await;
    let version = fx.publish("gone");
    fx.provision("gone", &version, 1);
    eventually("the environment is provisioned", || {
        fx.provisioned_available("gone", &version) == 1
    })
    .await;
    fx.invoke("gone", "{}").await.ok();
    assert_eq!(fx.records.running(), 2);

    fx.unprovision("gone", &version);
    eventually("the provisioned environment is stopped", || {
        fx.records.exit_status(0).is_some()
    })
    .await;
    // The version now runs on demand, in an environment of its own.
    fx.invoke_qualified("gone", &version, "{}").await.ok();
    assert_eq!(fx.records.environments(), 3);
    assert_eq!(
        fx.records.env(2)["AWS_LAMBDA_INITIALIZATION_TYPE"],
        "on-demand"
    );

    fx.delete("gone", Some(&version));
    eventually("the version's environment is stopped", || {
        fx.records.exit_status(2).is_some()
    })
    .await;
    assert!(fx.records.exit_status(1).is_none(), "$LATEST's is kept");
    assert_eq!(fx.engine.idle_environments(), 1);

    fx.delete("gone", None);
    eventually("$LATEST's environment is stopped", || {
        fx.records.exit_status(1).is_some()
    })
    .await;
    assert_eq!(fx.records.running(), 0);
    assert_eq!(fx.engine.idle_environments(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_idle_environments() {
    let fx = engine(Script::default());
    fx.create("stopped", 3, &[]).await;
    fx.invoke("stopped", "{}").await.ok();
    assert_eq!(fx.records.running(), 1);
    fx.engine.shutdown();
    assert_eq!(fx.records.running(), 0);
}

const ENDPOINT_VARS: [&str; 3] = [
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
];

/// What environments are told of Hearth's AWS API (`AWS_ENDPOINT_URL`): nothing until the
/// server hands the engine its `FunctionApi`, then, on the host's network (the scripted
/// sandbox's, as `--sandbox process`), the server's own endpoint, unless the function sets
/// the variable itself. The jail's in-namespace listener needs root: tested end to end
/// (tests/e2e/test_wire_endpoint.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_get_the_endpoint_the_server_hands_over() {
    let fx = engine(Script::default());
    fx.create("before", 3, &[]).await;
    fx.invoke("before", "1").await.ok();
    let env = fx.records.env(0);
    assert!(
        ENDPOINT_VARS.iter().all(|k| !env.contains_key(*k)),
        "{env:?}"
    );

    fx.engine
        .serve_api_to_functions(hearth_engine::FunctionApi::new(
            axum::Router::new(),
            "http://127.0.0.1:9000".into(),
        ));
    fx.create("after", 3, &[]).await;
    fx.invoke("after", "2").await.ok();
    let env = fx.records.env(1);
    for k in ENDPOINT_VARS {
        assert_eq!(env[k], "http://127.0.0.1:9000", "{k}");
    }
    // The function's own variables come last and win.
    fx.create("own", 3, &[("AWS_ENDPOINT_URL", "http://elsewhere:1")])
        .await;
    fx.invoke("own", "3").await.ok();
    assert_eq!(fx.records.env(2)["AWS_ENDPOINT_URL"], "http://elsewhere:1");
}
