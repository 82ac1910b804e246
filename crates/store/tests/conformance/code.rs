//! Code blobs (`CodeStore`): stored once per hash, unpacked once, pinned while in use,
//! collected when neither a pin nor a function or version names them.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use hearth_model::function::CodeRef;
use hearth_store::{CodePin, StoreError};

use crate::backend::Fixture;
use crate::records::{publish, sample, zip};

each_backend!(
    stores_and_unpacks_once_keeping_the_exec_bit,
    a_zip_that_is_not_one_is_refused,
    releasing_the_last_pin_lets_the_code_go,
    code_that_rows_name_stays_through_collection_and_restart,
    total_code_size_counts_latest_and_each_version,
);

/// Stores a distinct zip, pinned.
fn put(s: &Fixture, tag: &str) -> (CodeRef, CodePin) {
    s.code()
        .put_zip(&zip(&[("bootstrap", tag.as_bytes(), 0o755)]))
        .expect("put")
}

/// Waits until the code of `hash` is collected (it can no longer be pinned).
fn until_collected(s: &Fixture, hash: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.code().pin_stored(hash).is_some() {
        assert!(Instant::now() < deadline, "{hash} never collected");
        s.code().collect_code();
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stores_and_unpacks_once_keeping_the_exec_bit(s: Fixture) {
    let bytes = zip(&[
        ("bootstrap", b"#!/bin/sh\n", 0o755),
        ("lib/a.txt", b"hello", 0o644),
    ]);
    let (code, pin) = s.code().put_zip(&bytes).expect("put");
    assert_eq!(code.size, bytes.len() as u64);
    assert_eq!(code.unzipped_size, 15);
    let (again, _pin) = s.code().put_zip(&bytes).expect("put again");
    assert_eq!(code, again);
    let root = s.code().unpacked(&pin).expect("unpack");
    let mode = std::fs::metadata(root.join("bootstrap"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o555);
    assert_eq!(
        std::fs::read(root.join("lib/a.txt")).expect("read"),
        b"hello"
    );
    assert_eq!(s.code().unpacked(&pin).expect("cached"), root);
    let pinned = s.code().pin_stored(&code.sha256_hex).expect("stored");
    assert_eq!(s.code().unpacked(&pinned).expect("unpacked"), root);
}

fn a_zip_that_is_not_one_is_refused(s: Fixture) {
    assert!(matches!(
        s.code().put_zip(b"not a zip"),
        Err(StoreError::BadZip(_))
    ));
    assert!(s.code().pin_stored(&"0".repeat(64)).is_none());
}

fn releasing_the_last_pin_lets_the_code_go(s: Fixture) {
    let bytes = zip(&[("bootstrap", b"soon gone", 0o755)]);
    let (code, pin) = s.code().put_zip(&bytes).expect("put");
    let second = s.code().pin_stored(&code.sha256_hex).expect("stored");
    drop(pin);
    assert!(
        s.code().unpacked(&second).is_ok(),
        "a pin left keeps the code"
    );
    drop(second);
    until_collected(&s, &code.sha256_hex);
    // Collected code can be stored again.
    let (again, pin) = s.code().put_zip(&bytes).expect("put again");
    assert_eq!(again, code);
    assert!(s
        .code()
        .unpacked(&pin)
        .expect("unpack")
        .join("bootstrap")
        .is_file());
}

fn code_that_rows_name_stays_through_collection_and_restart(s: Fixture) {
    let (latest, p1) = put(&s, "latest");
    let (versioned, p2) = put(&s, "versioned");
    let (orphan, p3) = put(&s, "orphan");
    let mut f = sample("f");
    f.code = versioned.clone();
    s.metadata().insert_function(&f).expect("insert");
    publish(&s, "f");
    s.metadata()
        .update_function("f", |f| {
            f.code = latest.clone();
            Ok::<_, ()>(())
        })
        .expect("db")
        .expect("exists")
        .expect("updated");
    drop((p1, p2, p3));
    let hashes = |codes: &[&CodeRef]| codes.iter().map(|c| c.sha256_hex.clone()).collect();
    assert_eq!(
        s.code().referenced_code().expect("referenced"),
        hashes(&[&latest, &versioned])
    );
    until_collected(&s, &orphan.sha256_hex);
    let s = s.reopen();
    for kept in [&latest, &versioned] {
        let pin = s.code().pin_stored(&kept.sha256_hex).expect("kept");
        assert!(s.code().unpacked(&pin).expect("unpack").is_dir());
    }
    // The version going frees its code; the function going frees the rest.
    assert!(s.metadata().delete_version("f", 1).expect("delete"));
    until_collected(&s, &versioned.sha256_hex);
    assert!(s.code().pin_stored(&latest.sha256_hex).is_some());
    assert!(s.metadata().delete_function("f").expect("delete"));
    until_collected(&s, &latest.sha256_hex);
    assert!(s.code().referenced_code().expect("referenced").is_empty());
}

fn total_code_size_counts_latest_and_each_version(s: Fixture) {
    assert_eq!(s.code().total_code_size().expect("size"), 0);
    let (a, _pa) = put(&s, "a");
    let (b, _pb) = put(&s, "bb");
    for name in ["f", "g"] {
        let mut f = sample(name);
        f.code = a.clone();
        s.metadata().insert_function(&f).expect("insert");
    }
    publish(&s, "f");
    assert_eq!(s.code().total_code_size().expect("size"), 3 * a.size);
    s.metadata()
        .update_function("f", |f| {
            f.code = b.clone();
            f.previous_code = Some(a.clone());
            Ok::<_, ()>(())
        })
        .expect("db")
        .expect("exists")
        .expect("updated");
    // The code being replaced is not counted: `$LATEST` is the new code.
    assert_eq!(
        s.code().total_code_size().expect("size"),
        2 * a.size + b.size
    );
    s.metadata().delete_function("g").expect("delete");
    s.metadata().delete_function("f").expect("delete");
    assert_eq!(s.code().total_code_size().expect("size"), 0);
}
