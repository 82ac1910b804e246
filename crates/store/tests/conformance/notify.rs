//! Change notifications (`MetadataStore::subscribe`).

use std::sync::{Arc, Mutex};

use hearth_model::arn::LATEST;
use hearth_model::event_invoke::EventInvokeConfig;
use hearth_store::MetadataChange;

use crate::backend::Fixture;
use crate::records::{alias, publish, sample};

each_backend!(
    writes_notify_after_their_commit_and_refused_ones_do_not,
    versions_aliases_and_configs_notify_their_function,
);

/// What each notification saw of the store, taken so far.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

fn taken(seen: &Seen) -> Vec<(String, Option<String>)> {
    std::mem::take(&mut *seen.lock().expect("lock"))
}

/// Subscribes a reader recording, for each change, the function and its description
/// as the store then answers: the change must already be readable (committed) and the
/// store usable when subscribers hear.
fn subscribe(s: &Fixture) -> (Seen, hearth_store::Subscription) {
    let seen: Seen = Arc::default();
    let (reader, sink) = ((**s).clone(), seen.clone());
    let sub = s.metadata().subscribe(Box::new(move |c| {
        let MetadataChange::Function(name) = c else {
            panic!("{c:?}")
        };
        let config = reader.metadata().get_function(name).expect("readable");
        sink.lock()
            .expect("lock")
            .push((name.clone(), config.map(|f| f.description)));
    }));
    (seen, sub)
}

fn writes_notify_after_their_commit_and_refused_ones_do_not(s: Fixture) {
    let (seen, sub) = subscribe(&s);
    let m = s.metadata();
    m.insert_function(&sample("f")).expect("insert");
    assert_eq!(taken(&seen), [("f".to_string(), Some(String::new()))]);

    let changed = m
        .update_function("f", |f| {
            f.description = "new".into();
            Ok::<_, ()>(())
        })
        .expect("update");
    assert!(matches!(changed, Some(Ok(_))));
    assert_eq!(taken(&seen), [("f".to_string(), Some("new".to_string()))]);

    let refused = m.update_function("f", |_| Err("no")).expect("update");
    assert_eq!(refused.map(|r| r.err()), Some(Some("no")));
    assert!(taken(&seen).is_empty(), "nothing written, nothing told");
    assert!(m.insert_function(&sample("f")).is_err());
    assert!(taken(&seen).is_empty(), "a refused insert is not told");

    assert!(m.delete_function("f").expect("delete"));
    assert_eq!(taken(&seen), [("f".to_string(), None)]);

    drop(sub);
    m.insert_function(&sample("g")).expect("insert");
    assert!(
        taken(&seen).is_empty(),
        "a dropped subscription hears nothing"
    );
}

fn versions_aliases_and_configs_notify_their_function(s: Fixture) {
    let m = s.metadata();
    m.insert_function(&sample("f")).expect("insert");
    let (seen, _sub) = subscribe(&s);
    let told = |seen: &Seen| -> Vec<String> { taken(seen).into_iter().map(|(f, _)| f).collect() };

    let v1 = publish(&s, "f");
    assert_eq!(told(&seen), ["f"], "publish");
    m.put_version(&v1).expect("put version");
    assert_eq!(told(&seen), ["f"], "rewrite a version");
    m.insert_alias(&alias("f", "live")).expect("alias");
    assert_eq!(told(&seen), ["f"], "insert alias");
    m.update_alias("f", "live", |a| {
        a.description = "d".into();
        Ok::<_, ()>(())
    })
    .expect("update alias");
    assert_eq!(told(&seen), ["f"], "edit alias");
    assert_eq!(
        m.edit_alias("f", "live", Box::new(|_| false))
            .expect("edit alias"),
        hearth_store::Edited::Declined
    );
    assert!(told(&seen).is_empty(), "a declined edit is not told");
    let config = EventInvokeConfig {
        function: "f".into(),
        qualifier: LATEST.into(),
        maximum_retry_attempts: Some(0),
        maximum_event_age_in_seconds: None,
        destination_config: Default::default(),
        last_modified: 1.0,
    };
    assert!(m.put_event_invoke_config(&config).expect("put"));
    assert_eq!(told(&seen), ["f"], "put config");
    m.update_event_invoke_config("f", LATEST, |c| {
        c.maximum_retry_attempts = Some(1);
        Ok::<_, ()>(())
    })
    .expect("edit config");
    assert_eq!(told(&seen), ["f"], "edit config");
    assert!(m.delete_event_invoke_config("f", LATEST).expect("delete"));
    assert_eq!(told(&seen), ["f"], "delete config");
    assert!(m.delete_alias("f", "live").expect("delete alias"));
    assert_eq!(told(&seen), ["f"], "delete alias");
    assert!(m.delete_version("f", 1).expect("delete version"));
    assert_eq!(told(&seen), ["f"], "delete version");
}
