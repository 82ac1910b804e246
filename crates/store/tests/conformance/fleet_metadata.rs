//! Several nodes on one store (`MetadataStore`, `ResourceStore`): two stores opened on
//! the same state, as two servers of a fleet, see each other's writes, hear each other's
//! changes, and race each other without losing a write or reusing a version number.
//!
//! PostgreSQL only: the embedded SQLite store belongs to one process (its data
//! directory's code collector, its in-process notifications and its one connection
//! assume no other writer), so two `SqliteStore`s on one directory are not a fleet.

use std::sync::mpsc;
use std::time::Duration;

use hearth_model::arn::LATEST;
use hearth_model::policy::Policy;
use hearth_store::{MetadataChange, Store};

use crate::backend::Fixture;
use crate::records::{publish, sample};

/// Runs each named test on the backends whose stores nodes share.
macro_rules! each_shared_backend {
    ($($test:ident),+ $(,)?) => {
        $(
            mod $test {
                #[test]
                fn postgres() {
                    super::$test(crate::backend::postgres());
                }
            }
        )+
    };
}

each_shared_backend!(
    what_one_node_writes_the_other_reads,
    a_node_hears_the_other_nodes_changes_and_not_its_own_twice,
    publishes_from_two_nodes_get_distinct_numbers,
    edits_from_two_nodes_are_not_lost,
    permissions_added_on_two_nodes_at_once_are_all_kept,
);

/// How long a notification may take to cross from one node to another.
const DELIVERY: Duration = Duration::from_secs(10);

fn what_one_node_writes_the_other_reads(a: Fixture) {
    let b = a.another();
    let mut f = sample("f");
    f.environment = [("SECRET".to_string(), "v".to_string())].into();
    f.tags = [("team".to_string(), "a".to_string())].into();
    a.metadata().insert_function(&f).expect("insert on a");
    let read = b
        .metadata()
        .get_function("f")
        .expect("get on b")
        .expect("f");
    assert_eq!(read.environment, f.environment, "sealed on a, opened on b");
    assert_eq!(
        b.resources()
            .tags(&hearth_model::arn::function_arn("f", None))
            .expect("tags on b"),
        f.tags
    );
    assert!(matches!(
        b.metadata().insert_function(&sample("f")),
        Err(hearth_store::StoreError::Exists(_))
    ));
    b.metadata()
        .update_function("f", |f| {
            f.description = "from b".into();
            Ok::<_, ()>(())
        })
        .expect("update on b")
        .expect("exists")
        .expect("updated");
    let v1 = publish(&a, "f");
    assert_eq!(v1.description, "from b", "a publishes what b wrote");
    assert_eq!(b.metadata().get_version("f", 1).expect("get"), Some(v1));
    assert_eq!(
        b.metadata()
            .list_functions(None, None, 10)
            .expect("list")
            .len(),
        1
    );
    assert!(b.metadata().delete_function("f").expect("delete on b"));
    assert_eq!(a.metadata().get_function("f").expect("get on a"), None);
    assert!(a
        .metadata()
        .list_versions("f")
        .expect("versions")
        .is_empty());
}

/// Subscribes a channel to `store`'s changes.
fn listen(store: &Store) -> (mpsc::Receiver<MetadataChange>, hearth_store::Subscription) {
    let (tx, rx) = mpsc::channel();
    let sub = store.metadata().subscribe(Box::new(move |c| {
        let _ = tx.send(c.clone());
    }));
    (rx, sub)
}

/// Waits (at most [`DELIVERY`]) for a change to `function`; panics on a change to another.
fn hear(rx: &mpsc::Receiver<MetadataChange>, function: &str) {
    match rx.recv_timeout(DELIVERY) {
        Ok(MetadataChange::Function(f)) => assert_eq!(f, function),
        other => panic!("waiting for a change to {function}: {other:?}"),
    }
}

fn a_node_hears_the_other_nodes_changes_and_not_its_own_twice(a: Fixture) {
    let b = a.another();
    let (on_a, _sub_a) = listen(&a);
    let (on_b, _sub_b) = listen(&b);

    a.metadata()
        .insert_function(&sample("f"))
        .expect("insert on a");
    // a's own subscribers are told at the commit, before the write returns.
    assert_eq!(
        on_a.try_recv().expect("told at once"),
        MetadataChange::Function("f".into())
    );
    hear(&on_b, "f");

    // A change on b reaches a through a's listener, which hears the notices of one
    // channel in commit order: had it passed a's own notice of `f` on, it would come
    // first.
    b.metadata()
        .insert_function(&sample("g"))
        .expect("insert on b");
    assert_eq!(
        on_b.try_recv().expect("told at once"),
        MetadataChange::Function("g".into())
    );
    hear(&on_a, "g");

    // Every kind of change crosses (a version, an alias, a deletion), each told once on
    // the node that made it and once on the other.
    let f = || MetadataChange::Function("f".into());
    publish(&a, "f");
    assert_eq!(on_a.try_recv(), Ok(f()));
    hear(&on_b, "f");
    a.metadata()
        .insert_alias(&crate::records::alias("f", "live"))
        .expect("alias");
    assert_eq!(on_a.try_recv(), Ok(f()));
    hear(&on_b, "f");
    assert!(b.metadata().delete_function("g").expect("delete on b"));
    assert_eq!(on_b.try_recv(), Ok(MetadataChange::Function("g".into())));
    hear(&on_a, "g");
    // Refused and untold writes reach no node: b next hears the update.
    assert!(a.metadata().insert_function(&sample("f")).is_err());
    a.metadata().set_reserved("f", Some(1)).expect("reserved");
    a.metadata()
        .update_function("f", |f| {
            f.description = "x".into();
            Ok::<_, ()>(())
        })
        .expect("update")
        .expect("exists")
        .expect("updated");
    assert_eq!(on_a.try_recv(), Ok(f()));
    hear(&on_b, "f");
    assert!(on_a.try_recv().is_err());
    assert!(on_b.try_recv().is_err());
}

/// Publishes from two nodes at once: each version gets a number of its own, and a
/// number freed by a deletion on one node is not given again by the other.
fn publishes_from_two_nodes_get_distinct_numbers(a: Fixture) {
    let b = a.another();
    a.metadata().insert_function(&sample("f")).expect("insert");
    let nodes = [&*a, &b];
    let mut numbers: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let node = nodes[i % 2];
                scope.spawn(move || publish(node, "f").version.parse().expect("a number"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
    assert_eq!(b.metadata().list_versions("f").expect("list").len(), 8);
    assert!(a.metadata().delete_version("f", 8).expect("delete on a"));
    assert_eq!(publish(&b, "f").version, "9");
}

/// Read-modify-writes of one function from two nodes at once: none is lost.
fn edits_from_two_nodes_are_not_lost(a: Fixture) {
    let b = a.another();
    let mut f = sample("f");
    f.timeout = 0;
    a.metadata().insert_function(&f).expect("insert");
    let (threads, each) = (4, 20);
    let nodes = [&*a, &b];
    std::thread::scope(|scope| {
        for i in 0..threads {
            let node = nodes[i % 2];
            scope.spawn(move || {
                for _ in 0..each {
                    node.metadata()
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
    let got = b.metadata().get_function("f").expect("get").expect("f");
    assert_eq!(got.timeout, (threads * each) as i64);
}

/// Statements added from two nodes at once to a policy that does not exist yet: each
/// edit starts from the one before, so every statement is kept.
fn permissions_added_on_two_nodes_at_once_are_all_kept(a: Fixture) {
    let b = a.another();
    a.metadata().insert_function(&sample("f")).expect("insert");
    let nodes = [&*a, &b];
    std::thread::scope(|scope| {
        for i in 0..4 {
            let node = nodes[i % 2];
            scope.spawn(move || {
                for j in 0..10 {
                    node.resources()
                        .update_policy("f", LATEST, |p| {
                            p.get_or_insert_with(|| Policy {
                                revision_id: "r".into(),
                                statements: vec![],
                            })
                            .statements
                            .push(crate::resources::statement(&format!("s{i}-{j}")));
                            Ok::<_, ()>(())
                        })
                        .expect("edit")
                        .expect("exists")
                        .expect("ok");
                }
            });
        }
    });
    let policy = b
        .resources()
        .policy("f", LATEST)
        .expect("get")
        .expect("some");
    assert_eq!(policy.statements.len(), 40);
}
