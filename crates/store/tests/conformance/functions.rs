//! Functions (`MetadataStore`): insert, read, edit, list per account, delete.

use hearth_model::arn::{function_arn, function_key, ACCOUNT, LATEST};
use hearth_model::concurrency::ProvisionedConfig;
use hearth_model::event_invoke::EventInvokeConfig;
use hearth_model::function_settings::RecursiveLoop;
use hearth_model::policy::Policy;
use hearth_store::{Edited, StoreError};

use crate::backend::Fixture;
use crate::records::{alias, publish, sample};

each_backend!(
    inserted_once_and_read_back_after_a_restart,
    edits_are_missing_declined_or_done,
    functions_are_listed_per_account,
    deleting_a_function_removes_everything_of_it,
    concurrent_edits_are_not_lost,
    log_retention_is_per_function_and_outlives_it,
);

fn inserted_once_and_read_back_after_a_restart(s: Fixture) {
    let mut f = sample("f");
    f.description = "first".into();
    // A Hearth extension kept in the same record (docs/fresh-env.md).
    f.fresh_env = true;
    s.metadata().insert_function(&f).expect("insert");
    let mut again = sample("f");
    again.description = "second".into();
    assert!(matches!(
        s.metadata().insert_function(&again),
        Err(StoreError::Exists(_))
    ));
    assert_eq!(
        s.metadata().get_function("f").expect("get"),
        Some(f.clone())
    );
    assert_eq!(s.metadata().get_function("g").expect("get"), None);
    let s = s.reopen();
    assert_eq!(s.metadata().get_function("f").expect("get"), Some(f));
}

fn edits_are_missing_declined_or_done(s: Fixture) {
    let m = s.metadata();
    let edit = |desc: &'static str, write: bool| {
        Box::new(move |f: &mut hearth_model::FunctionConfig| {
            f.description = desc.into();
            write
        })
    };
    assert_eq!(
        m.edit_function("f", edit("x", true)).expect("edit"),
        Edited::Missing
    );
    m.insert_function(&sample("f")).expect("insert");
    assert_eq!(
        m.edit_function("f", edit("declined", false)).expect("edit"),
        Edited::Declined
    );
    assert_eq!(m.get_function("f").expect("get"), Some(sample("f")));
    let mut want = sample("f");
    want.description = "done".into();
    assert_eq!(
        m.edit_function("f", edit("done", true)).expect("edit"),
        Edited::Done(want.clone())
    );
    // The generic form carries the closure's own refusal back.
    let refused = m.update_function("f", |_| Err("no")).expect("update");
    assert_eq!(refused, Some(Err("no")));
    assert!(m
        .update_function("g", |_| Ok::<_, ()>(()))
        .expect("update")
        .is_none());
    let s = s.reopen();
    assert_eq!(s.metadata().get_function("f").expect("get"), Some(want));
}

/// Each account lists its own functions only, in key order, page after page; the
/// default account's keys are bare names, another's `ACCOUNT:NAME`.
fn functions_are_listed_per_account(s: Fixture) {
    let (a, b) = ("111122223333", "444455556666");
    for (account, name) in [
        (ACCOUNT, "f"),
        (ACCOUNT, "z"),
        (a, "g"),
        (a, "f"),
        (b, "a"),
        (ACCOUNT, "m"),
    ] {
        s.metadata()
            .insert_function(&sample(&function_key(account, name)))
            .expect("insert");
    }
    let keys = |account: Option<&str>, marker: Option<&str>, limit: usize| -> Vec<String> {
        s.metadata()
            .list_functions(account, marker, limit)
            .expect("list")
            .into_iter()
            .map(|f| f.name)
            .collect()
    };
    assert_eq!(keys(Some(ACCOUNT), None, 10), ["f", "m", "z"]);
    assert_eq!(
        keys(Some(a), None, 10),
        [format!("{a}:f"), format!("{a}:g")]
    );
    assert_eq!(
        keys(Some(a), Some(&format!("{a}:f")), 10),
        [format!("{a}:g")]
    );
    assert_eq!(keys(Some(b), None, 1), [format!("{b}:a")]);
    assert!(keys(Some("999999999999"), None, 10).is_empty());
    // Pages of two, each starting after the last key of the one before (a few more
    // pages than there are, should a marker not move on).
    let mut pages = Vec::new();
    let mut marker = None;
    while pages.len() < 4 {
        let page = keys(Some(ACCOUNT), marker.as_deref(), 2);
        if page.is_empty() {
            break;
        }
        marker = page.last().cloned();
        pages.push(page);
    }
    assert_eq!(pages, [vec!["f", "m"], vec!["z"]]);
    assert_eq!(keys(None, None, 10).len(), 6);
    assert_eq!(s.metadata().all_functions().expect("all").len(), 6);
}

fn deleting_a_function_removes_everything_of_it(s: Fixture) {
    let (m, r) = (s.metadata(), s.resources());
    for name in ["f", "g"] {
        let mut f = sample(name);
        f.tags = [("team".to_string(), name.to_string())].into();
        m.insert_function(&f).expect("insert");
        publish(&s, name);
        m.insert_alias(&alias(name, "live")).expect("alias");
        m.set_reserved(name, Some(3)).expect("reserved");
        m.put_provisioned(&ProvisionedConfig {
            function: name.into(),
            qualifier: "live".into(),
            requested: 1,
            last_modified: "t".into(),
        })
        .expect("provisioned");
        for q in [LATEST, "1", "live"] {
            assert!(m
                .put_event_invoke_config(&EventInvokeConfig {
                    function: name.into(),
                    qualifier: q.into(),
                    maximum_retry_attempts: Some(1),
                    maximum_event_age_in_seconds: None,
                    destination_config: Default::default(),
                    last_modified: 1.0,
                })
                .expect("config"));
            r.update_policy(name, q, |p| {
                *p = Some(Policy {
                    revision_id: "r".into(),
                    statements: vec![crate::resources::statement("s")],
                });
                Ok::<_, ()>(())
            })
            .expect("policy")
            .expect("the qualifier exists")
            .expect("set");
        }
        r.update_function_settings(name, LATEST, |s| {
            s.recursive_loop = Some(RecursiveLoop::Allow);
            Ok::<_, ()>(())
        })
        .expect("settings")
        .expect("exists")
        .expect("set");
    }
    assert!(m.delete_function("f").expect("delete"));
    assert!(!m.delete_function("f").expect("delete again"));
    let gone = |s: &Fixture, name: &str| {
        let (m, r) = (s.metadata(), s.resources());
        assert_eq!(m.get_function(name).expect("get"), None);
        assert!(m.list_versions(name).expect("versions").is_empty());
        assert!(m.list_aliases(name).expect("aliases").is_empty());
        assert_eq!(m.get_reserved(name).expect("reserved"), None);
        assert!(m
            .list_provisioned(Some(name))
            .expect("provisioned")
            .is_empty());
        assert!(m
            .list_event_invoke_configs(name)
            .expect("configs")
            .is_empty());
        assert!(r.tags(&function_arn(name, None)).expect("tags").is_empty());
        for q in [LATEST, "1", "live"] {
            assert_eq!(r.policy(name, q).expect("policy"), None, "{q}");
        }
        assert_eq!(
            r.function_settings(name, LATEST).expect("settings"),
            Default::default()
        );
    };
    gone(&s, "f");
    // The other function keeps all of its own.
    assert_eq!(m.list_versions("g").expect("versions").len(), 1);
    assert_eq!(m.list_aliases("g").expect("aliases").len(), 1);
    assert_eq!(m.get_reserved("g").expect("reserved"), Some(3));
    assert_eq!(m.list_provisioned(Some("g")).expect("list").len(), 1);
    assert_eq!(m.list_event_invoke_configs("g").expect("list").len(), 3);
    assert_eq!(r.tags(&function_arn("g", None)).expect("tags").len(), 1);
    assert!(r.policy("g", "live").expect("policy").is_some());
    // A function made again under the name starts afresh, even after a restart.
    let s = s.reopen();
    gone(&s, "f");
    s.metadata().insert_function(&sample("f")).expect("again");
    assert_eq!(publish(&s, "f").version, "1");
}

/// Read-modify-writes of one function from many threads at once: none is lost.
fn concurrent_edits_are_not_lost(s: Fixture) {
    let mut f = sample("f");
    f.timeout = 0;
    s.metadata().insert_function(&f).expect("insert");
    let (threads, each) = (4, 25);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..each {
                    s.metadata()
                        .update_function("f", |f| {
                            f.timeout += 1;
                            Ok::<_, ()>(())
                        })
                        .expect("update")
                        .expect("exists")
                        .expect("updated");
                }
            });
        }
    });
    let got = s.metadata().get_function("f").expect("get").expect("f");
    assert_eq!(got.timeout, threads * each);
}

/// A function's log retention (`MetadataStore`): set, replaced, read after a restart,
/// removed; kept when the function is deleted, as CloudWatch keeps the log group.
fn log_retention_is_per_function_and_outlives_it(s: Fixture) {
    let m = s.metadata();
    assert_eq!(m.retention("f").expect("get"), None);
    assert!(!m.delete_retention("f").expect("delete none"));
    m.insert_function(&sample("f")).expect("insert");
    m.put_retention("f", 7).expect("put");
    m.put_retention("f", 3653).expect("replace");
    m.put_retention("g", 1).expect("put without a function");
    let s = s.reopen();
    let m = s.metadata();
    assert_eq!(m.retention("f").expect("get"), Some(3653));
    assert!(m.delete_function("f").expect("delete"));
    assert_eq!(m.retention("f").expect("get"), Some(3653));
    assert!(m.delete_retention("f").expect("delete"));
    assert!(!m.delete_retention("f").expect("deleted"));
    assert_eq!(m.retention("f").expect("get"), None);
    assert_eq!(m.retention("g").expect("get"), Some(1));
}
