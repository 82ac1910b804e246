//! Versions and aliases (`MetadataStore`).

use hearth_store::{Edited, Publish, StoreError};

use crate::backend::Fixture;
use crate::records::{alias, publish, sample};

each_backend!(
    publishing_snapshots_latest_under_the_next_number,
    publishing_can_give_latest_a_new_revision,
    version_numbers_are_never_reused,
    versions_are_rewritten_and_deleted,
    aliases_round_trip,
    concurrent_publishes_get_distinct_numbers,
);

fn publishing_snapshots_latest_under_the_next_number(s: Fixture) {
    let m = s.metadata();
    let declined = m
        .publish_with("f", Box::new(|_, _, _| None))
        .expect("publish");
    assert_eq!(declined, Edited::Missing);
    let mut f = sample("f");
    f.description = "one".into();
    m.insert_function(&f).expect("insert");
    assert_eq!(
        m.publish_with("f", Box::new(|_, _, _| None))
            .expect("publish"),
        Edited::Declined
    );
    assert!(m.list_versions("f").expect("list").is_empty());
    let v1 = publish(&s, "f");
    assert_eq!((v1.version.as_str(), v1.description.as_str()), ("1", "one"));
    // The decision sees `$LATEST`, the newest version and the next number.
    let mut seen = None;
    let existing = m
        .publish_with(
            "f",
            Box::new(|latest, newest, next| {
                seen = Some((latest.version.clone(), newest.clone(), next));
                newest.map(Publish::Existing)
            }),
        )
        .expect("publish");
    assert_eq!(existing, Edited::Done(v1.clone()));
    assert_eq!(seen, Some(("$LATEST".to_string(), Some(v1.clone()), 2)));
    let s = s.reopen();
    let m = s.metadata();
    assert_eq!(m.get_version("f", 1).expect("get"), Some(v1.clone()));
    assert_eq!(m.get_version("f", 2).expect("get"), None);
    assert_eq!(m.list_versions("f").expect("list"), vec![v1]);
    assert_eq!(publish(&s, "f").version, "2");
}

fn publishing_can_give_latest_a_new_revision(s: Fixture) {
    s.metadata().insert_function(&sample("f")).expect("insert");
    s.metadata()
        .publish_version("f", |latest, _, next| {
            let mut v = latest.clone();
            v.version = next.to_string();
            Ok::<_, ()>(Publish::NewRevising(v, "after-publish".into()))
        })
        .expect("db")
        .expect("exists")
        .expect("published");
    let before = sample("f").revision_id;
    let latest = s.metadata().get_function("f").expect("db").expect("exists");
    assert_eq!(latest.revision_id, "after-publish");
    assert_eq!(latest.environment_revision, Some(before.clone()));
    assert_eq!(latest.name, "f", "the rest of the record stays");
    let v1 = s.metadata().get_version("f", 1).expect("db").expect("v1");
    assert_eq!(v1.revision_id, before, "the version keeps the old revision");
}

fn version_numbers_are_never_reused(s: Fixture) {
    s.metadata().insert_function(&sample("f")).expect("insert");
    assert_eq!(publish(&s, "f").version, "1");
    assert_eq!(publish(&s, "f").version, "2");
    assert!(s.metadata().delete_version("f", 2).expect("delete"));
    assert!(!s.metadata().delete_version("f", 2).expect("deleted"));
    let s = s.reopen();
    assert_eq!(publish(&s, "f").version, "3");
    let listed: Vec<_> = s
        .metadata()
        .list_versions("f")
        .expect("list")
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(listed, ["1", "3"]);
    // Deleting the function forgets everything, the counter included.
    assert!(s.metadata().delete_function("f").expect("delete"));
    s.metadata().insert_function(&sample("f")).expect("insert");
    assert_eq!(publish(&s, "f").version, "1");
}

fn versions_are_rewritten_and_deleted(s: Fixture) {
    s.metadata().insert_function(&sample("f")).expect("insert");
    let mut v1 = publish(&s, "f");
    v1.description = "settled".into();
    s.metadata().put_version(&v1).expect("put");
    assert_eq!(
        s.metadata().get_version("f", 1).expect("get"),
        Some(v1.clone())
    );
    assert_eq!(
        s.metadata()
            .get_function("f")
            .expect("get")
            .map(|f| f.description),
        Some(String::new()),
        "$LATEST is another record"
    );
    assert!(s.metadata().delete_version("f", 1).expect("delete"));
    assert_eq!(s.metadata().get_version("f", 1).expect("get"), None);
}

fn aliases_round_trip(s: Fixture) {
    let m = s.metadata();
    let a = alias("f", "live");
    m.insert_alias(&a).expect("insert");
    assert!(matches!(m.insert_alias(&a), Err(StoreError::Exists(_))));
    m.insert_alias(&alias("f", "beta")).expect("insert");
    m.insert_alias(&alias("g", "live"))
        .expect("another function's");
    assert_eq!(m.get_alias("f", "live").expect("get"), Some(a.clone()));
    assert_eq!(
        m.edit_alias("f", "live", Box::new(|_| false))
            .expect("edit"),
        Edited::Declined
    );
    assert_eq!(
        m.edit_alias("f", "none", Box::new(|_| true)).expect("edit"),
        Edited::Missing
    );
    let changed = m
        .update_alias("f", "live", |a| {
            a.function_version = "2".into();
            Ok::<_, ()>(())
        })
        .expect("db")
        .expect("exists")
        .expect("updated");
    assert_eq!(changed.function_version, "2");
    let s = s.reopen();
    let m = s.metadata();
    assert_eq!(
        m.list_aliases("f").expect("list"),
        vec![alias("f", "beta"), changed]
    );
    assert!(m.delete_alias("f", "live").expect("delete"));
    assert!(!m.delete_alias("f", "live").expect("deleted"));
    assert!(m.get_alias("f", "live").expect("get").is_none());
    assert!(m.get_alias("g", "live").expect("get").is_some());
}

/// Publishes from many threads at once: each gets a number of its own.
fn concurrent_publishes_get_distinct_numbers(s: Fixture) {
    s.metadata().insert_function(&sample("f")).expect("insert");
    let mut numbers: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| publish(&s, "f").version.parse().expect("a number")))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    assert_eq!(s.metadata().list_versions("f").expect("list").len(), 8);
}
