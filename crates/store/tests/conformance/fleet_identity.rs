//! Two nodes of a fleet on one database (PostgreSQL only): roles, access keys and KMS
//! keys written through one store are seen at once by another open beside it, and
//! writes racing from both lose nothing and break no uniqueness. The embedded (SQLite)
//! store is one server's directory, not shared by nodes, so it has no such case (see
//! [`crate::backend::Fixture::another_node`]).

use std::sync::mpsc;
use std::sync::Barrier;
use std::time::Duration;

use hearth_model::iam::Role;
use hearth_store::{Edited, StoreError, StoredKey};

use crate::backend::postgres;

const ACCOUNT: &str = "111122223333";

fn role(name: &str) -> Role {
    Role {
        account: ACCOUNT.into(),
        name: name.into(),
        path: "/".into(),
        id: "AROAAAAAAAAAAAAAAAAAA".into(),
        create_date: "2026-12-01T00:00:00Z".into(),
        assume_role_policy: "{}".into(),
        description: None,
        max_session_duration: 3600,
        tags: Vec::new(),
        permissions_boundary: None,
        inline_policies: Default::default(),
        attached_policies: Vec::new(),
    }
}

fn key(id: &str, name: Option<&str>) -> StoredKey {
    StoredKey {
        access_key_id: id.into(),
        account: ACCOUNT.into(),
        user_name: name.map(str::to_string),
        sealed_secret: vec![4, 5, 6],
        policy: None,
        created: 7,
    }
}

#[test]
fn a_key_written_on_one_node_is_seen_and_kept_unique_by_another() {
    let a = postgres();
    let b = a.another();
    a.keys()
        .insert_key(&key("AKIAA", Some("alice")))
        .expect("insert");
    assert_eq!(
        b.keys().list_keys().expect("list"),
        [key("AKIAA", Some("alice"))]
    );
    assert!(matches!(
        b.keys().insert_key(&key("AKIAB", Some("alice"))),
        Err(StoreError::Exists(_))
    ));
    assert!(b
        .keys()
        .replace_key("AKIAA", &key("AKIAC", Some("alice")))
        .expect("rotate"));
    assert_eq!(
        a.keys().list_keys().expect("list"),
        [key("AKIAC", Some("alice"))]
    );
    assert!(a.keys().delete_key("AKIAC").expect("delete"));
    assert!(!b.keys().delete_key("AKIAC").expect("deleted"));
    assert!(b.keys().list_keys().expect("list").is_empty());
}

/// Both nodes give each of several users a key at the same moment: each user ends
/// with exactly one, and the loser of each race is told `Exists`.
#[test]
fn keys_racing_for_one_user_on_two_nodes_leave_one() {
    let a = postgres();
    let b = a.another();
    let users = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"];
    let start = Barrier::new(2);
    let outcomes: Vec<Vec<Result<(), StoreError>>> = std::thread::scope(|scope| {
        let racers: Vec<_> = [("A", a.keys()), ("B", b.keys())]
            .into_iter()
            .map(|(node, store)| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    users
                        .iter()
                        .map(|u| store.insert_key(&key(&format!("AKIA{node}{u}"), Some(u))))
                        .collect()
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|r| r.join().expect("a node's thread"))
            .collect()
    });
    for (i, (x, y)) in outcomes[0].iter().zip(&outcomes[1]).enumerate() {
        let won = usize::from(x.is_ok()) + usize::from(y.is_ok());
        assert_eq!(won, 1, "{}: {x:?} {y:?}", users[i]);
        for lost in [x, y].into_iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(lost, StoreError::Exists(_)), "{lost:?}");
        }
    }
    let listed = a.keys().list_keys().expect("list");
    let names: Vec<_> = listed.iter().filter_map(|k| k.user_name.clone()).collect();
    assert_eq!(names, users);
}

/// A role's edits through two nodes at once: the second waits for the first and edits
/// what it wrote, so the role keeps both.
#[test]
fn a_role_edited_on_two_nodes_at_once_keeps_both_edits() {
    let a = postgres();
    let b = a.another();
    a.roles().insert_role(&role("Shared")).expect("insert");
    let (ra, rb) = (a.roles(), b.roles());
    let (inside, is_inside) = mpsc::channel();
    let (go, wait_go) = mpsc::channel::<()>();
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(move || {
            ra.edit_role(
                ACCOUNT,
                "shared",
                Box::new(move |r| {
                    inside.send(()).expect("tell the test");
                    wait_go.recv().expect("the test's go");
                    r.attached_policies.push("from-a".into());
                    true
                }),
            )
        });
        is_inside.recv().expect("node a is inside its edit");
        let second = scope.spawn(move || {
            rb.edit_role(
                ACCOUNT,
                "SHARED",
                Box::new(|r| {
                    r.attached_policies.push("from-b".into());
                    true
                }),
            )
        });
        // Time for node b to read the role while node a's edit is open: a store whose
        // read does not wait for a's commit reads the role without a's edit.
        std::thread::sleep(Duration::from_millis(300));
        go.send(()).expect("node a waits for this");
        (
            first.join().expect("node a's thread"),
            second.join().expect("node b's thread"),
        )
    });
    assert!(matches!(first.expect("a's edit"), Edited::Done(_)));
    let Edited::Done(after_b) = second.expect("b's edit") else {
        panic!("node b's edit was not done");
    };
    assert_eq!(after_b.attached_policies, ["from-a", "from-b"]);
    for node in [a.roles(), b.roles()] {
        let stored = node
            .get_role(ACCOUNT, "Shared")
            .expect("get")
            .expect("role");
        assert_eq!(stored.attached_policies, ["from-a", "from-b"]);
    }
}

/// Both nodes create one role name (in different cases) at the same moment: one has it.
#[test]
fn a_role_created_on_two_nodes_at_once_is_created_once() {
    let a = postgres();
    let b = a.another();
    let start = Barrier::new(2);
    let (ra, rb) = (a.roles(), b.roles());
    let (x, y) = std::thread::scope(|scope| {
        let start = &start;
        let one = scope.spawn(move || {
            start.wait();
            ra.insert_role(&role("Twin"))
        });
        let two = scope.spawn(move || {
            start.wait();
            rb.insert_role(&role("TWIN"))
        });
        (
            one.join().expect("node a's thread"),
            two.join().expect("node b's thread"),
        )
    });
    assert_eq!(usize::from(x.is_ok()) + usize::from(y.is_ok()), 1);
    assert!(matches!(x.err().or(y.err()), Some(StoreError::Exists(_))));
    let listed = b.roles().list_roles(ACCOUNT, "/", None, 10).expect("list");
    assert_eq!(listed.len(), 1);
}

/// A KMS key created on one node exists for another that opened before it, at once.
#[test]
fn a_kms_key_created_on_one_node_exists_on_another() {
    let a = postgres();
    let b = a.another();
    let missing = "arn:aws:kms:us-east-1:111122223333:key/none";
    assert!(!b.kms().kms_key_exists(missing));
    let made = a.kms().create_kms_key(ACCOUNT, "shared").expect("create");
    assert!(b.kms().kms_key_exists(&made.arn));
    assert_eq!(b.kms().list_kms_keys().expect("list"), [made]);
    let theirs = b.kms().create_kms_key(ACCOUNT, "b's").expect("create");
    assert!(a.kms().kms_key_exists(&theirs.arn));
    assert!(!a.kms().kms_key_exists(missing));
}

/// A function sealed under a Hearth key made on one node after another opened: the
/// other node both seals a function under it and reads it back, though it never asked
/// whether the key exists. (Needs the metadata area on PostgreSQL.)
#[test]
fn a_function_under_a_kms_key_made_on_another_node_is_sealed_and_read() {
    let a = postgres();
    let b = a.another();
    let made = a.kms().create_kms_key(ACCOUNT, "shared").expect("create");
    let mut f = crate::records::sample("under-a-key");
    f.environment = [("S".to_string(), "sealed".to_string())].into();
    f.kms_key_arn = Some(made.arn.clone());
    b.metadata().insert_function(&f).expect("insert on b");
    let c = a.another();
    let late = a.kms().create_kms_key(ACCOUNT, "late").expect("create");
    let mut g = crate::records::sample("under-a-late-key");
    g.environment = [("T".to_string(), "sealed too".to_string())].into();
    g.kms_key_arn = Some(late.arn.clone());
    a.metadata().insert_function(&g).expect("insert on a");
    for node in [&*a, &b, &c] {
        assert_eq!(
            node.metadata().get_function("under-a-key").expect("get"),
            Some(f.clone())
        );
        assert_eq!(
            node.metadata()
                .get_function("under-a-late-key")
                .expect("get"),
            Some(g.clone())
        );
    }
}
