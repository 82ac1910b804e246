//! A fresh environment per invocation (docs/fresh-env.md) on scripted runtimes: no warm
//! environment is taken, each one ends after its invocation, turning the setting on
//! retires the warm ones, provisioned environments serve one invocation each and are
//! replaced, and reserved concurrency still throttles.

#[allow(dead_code)]
mod fixture;

use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::Duration;

use fixture::{config, eventually, gated_echo, throttled_while_one_runs, Fixture};
use hearth_sandbox::scripted::Script;

/// Long enough that no test waits on the reaper: an environment that ends, ends for
/// being fresh.
const LONG_TTL: Duration = Duration::from_secs(600);

fn engine(script: Script) -> Fixture {
    Fixture::new(script, config(LONG_TTL))
}

fn fresh(fx: &Fixture, name: &str, enabled: bool) {
    assert_eq!(
        fx.engine
            .put_fresh_env(name, enabled)
            .expect("set fresh env"),
        enabled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invocation_gets_a_new_environment_that_ends_after_it() {
    let fx = engine(Script::default());
    fx.create("fresh", 3, &[]).await;
    fresh(&fx, "fresh", true);
    for n in 0..3 {
        let answer = fx.invoke("fresh", &format!("{n}")).await;
        assert_eq!(answer.ok(), format!("{n}"));
        assert!(answer.log().contains("Init Duration"), "{}", answer.log());
    }
    assert_eq!(fx.records.environments(), 3);
    for n in 0..3 {
        assert_eq!(fx.records.events_of(n).len(), 1);
        assert_eq!(
            fx.records.env(n)["AWS_LAMBDA_INITIALIZATION_TYPE"],
            "on-demand"
        );
    }
    eventually("every environment has ended", || fx.records.running() == 0).await;
    for n in 0..3 {
        assert_eq!(fx.records.exit_status(n).and_then(|s| s.signal()), Some(9));
    }
    assert_eq!(fx.engine.idle_environments(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turning_it_on_retires_the_warm_environment_and_off_reuses_again() {
    let fx = engine(Script::default());
    fx.create("switch", 3, &[]).await;
    fx.invoke("switch", "1").await.ok();
    fx.invoke("switch", "2").await.ok();
    assert_eq!(fx.records.environments(), 1);
    assert_eq!(fx.engine.idle_environments(), 1);
    fresh(&fx, "switch", true);
    eventually("the warm environment is stopped", || {
        fx.records.exit_status(0).is_some()
    })
    .await;
    assert_eq!(fx.engine.idle_environments(), 0);
    let cold = fx.invoke("switch", "3").await;
    assert!(cold.log().contains("Init Duration"), "{}", cold.log());
    assert_eq!(fx.records.environments(), 2);
    eventually("it ends after its invocation", || {
        fx.records.exit_status(1).is_some()
    })
    .await;
    fresh(&fx, "switch", false);
    fx.invoke("switch", "4").await.ok();
    let warm = fx.invoke("switch", "5").await;
    assert!(!warm.log().contains("Init Duration"), "{}", warm.log());
    assert_eq!(fx.records.environments(), 3);
    assert_eq!(fx.records.events_of(2).len(), 2);
    assert_eq!(fx.engine.idle_environments(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioned_environment_serves_one_invocation_and_is_replaced() {
    let fx = engine(Script::default());
    fx.create("prov", 3, &[]).await;
    fresh(&fx, "prov", true);
    let version = fx.publish("prov");
    fx.provision("prov", &version, 1);
    eventually("the environment is provisioned", || {
        fx.provisioned_available("prov", &version) == 1
    })
    .await;
    for n in 0..2 {
        let answer = fx.invoke_qualified("prov", &version, "{}").await;
        answer.ok();
        // Its init ran ahead, as for any provisioned environment.
        assert!(!answer.log().contains("Init Duration"), "{}", answer.log());
        assert_eq!(fx.records.events_of(n).len(), 1);
        eventually("it is replaced ahead of the next invocation", || {
            fx.records.environments() == n + 2
                && fx.records.exit_status(n).is_some()
                && fx.provisioned_available("prov", &version) == 1
        })
        .await;
        assert_eq!(
            fx.records.env(n + 1)["AWS_LAMBDA_INITIALIZATION_TYPE"],
            "provisioned-concurrency"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_still_throttles() {
    let (script, gate) = gated_echo();
    let fx = engine(script);
    fx.create("reserved", 3, &[]).await;
    fresh(&fx, "reserved", true);
    fx.reserve("reserved", 1);
    let fx = Arc::new(fx);
    throttled_while_one_runs(&fx, &gate, "reserved").await;
    // The slot is free once the invocation is over, whether or not its environment has
    // finished ending; the next one gets a new environment.
    assert_eq!(fx.invoke("reserved", "\"third\"").await.ok(), "\"third\"");
    assert_eq!(fx.records.environments(), 2);
}
