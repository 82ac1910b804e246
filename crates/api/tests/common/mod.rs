//! The in-process control plane the api crate's tests drive: a fresh store in a temporary
//! data directory, an engine on the process sandbox, the async queue with its
//! dispatcher, and the router over them.

use std::collections::HashMap;
use std::sync::Arc;

use hearth_api::Authorizer;
use hearth_engine::{Engine, InvokePath};
use hearth_events::AsyncQueue;
use hearth_iam_policy::{parse, Policy, PolicyKind};
use hearth_model::caller::{Caller, CallerKind, Identity};
use hearth_serve::BoxApp;
use hearth_store::Store;
use hearth_triggers::{EventSource, Invoker, SourceContext};

/// The router, its store, and the directory both live in (dropped last).
#[allow(dead_code)] // not every test binary uses both
pub fn app() -> (BoxApp, Store, tempfile::TempDir) {
    app_with(Default::default())
}

/// As [`app`], with `options`.
#[allow(dead_code)] // not every test binary uses both
pub fn app_with(options: hearth_api::ApiOptions) -> (BoxApp, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (engine, path) = hearth_engine::testing::engine(dir.path());
    let store = engine.store().clone();
    let invoker = invoker(&engine, path);
    (
        hearth_serve::boxed(hearth_api::router_with(engine, invoker, options)),
        store,
        dir,
    )
}

/// Identity policies per user name, as the keys' store holds them.
#[allow(dead_code)] // not every test binary uses it
pub struct Users(pub HashMap<String, Vec<Policy>>);

impl Authorizer for Users {
    fn identity_policies(&self, caller: &Caller) -> Result<Vec<Policy>, String> {
        match &caller.kind {
            CallerKind::User { name } => Ok(self.0.get(name).cloned().unwrap_or_default()),
            _ => Ok(Vec::new()),
        }
    }
}

/// IAM user `name` of `account`, as the authentication layer marks its requests.
#[allow(dead_code)] // not every test binary uses it
pub fn user(account: &str, name: &str) -> Caller {
    Identity {
        account: account.into(),
        arn: format!("arn:aws:iam::{account}:user/{name}"),
        user_id: "AIDAEXAMPLE".into(),
        access_key_id: Some("AKIAEXAMPLE".into()),
        kind: CallerKind::User { name: name.into() },
    }
    .into()
}

/// An identity policy.
#[allow(dead_code)] // not every test binary uses it
pub fn policy(v: serde_json::Value) -> Policy {
    parse(&v.to_string(), PolicyKind::Identity).expect("policy")
}

/// The invoker over `engine` and a fresh async queue, whose dispatcher runs until the
/// test's runtime ends.
fn invoker(engine: &Engine, path: InvokePath) -> Invoker {
    let queue = AsyncQueue::open(
        engine.store().clone(),
        engine.writer().clone(),
        Default::default(),
        hearth_events::Holder::alone("test"),
    )
    .expect("the async queue");
    let invoker = Invoker::new(path, Arc::new(queue.clone()));
    let dispatcher = Box::new(queue.dispatcher()).start(SourceContext::new(invoker.clone()));
    // Dropping the handle leaves the dispatcher running; the test never stops it.
    drop(dispatcher.expect("the dispatcher starts"));
    invoker
}
