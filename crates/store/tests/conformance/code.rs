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
    a_layer_blob_stays_while_its_version_or_a_function_uses_it,
    layers_compose_once_and_stay_while_a_row_names_them,
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

/// A fleet: two nodes on one database, each with its own cache (backends with nodes
/// only, so these run on PostgreSQL alone).
mod fleet {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use crate::backend::{postgres, Fixture, Node};
    use crate::records::zip;

    fn two_nodes() -> (Fixture, Node) {
        let a = postgres();
        let b = a.another_node().expect("PostgreSQL has nodes");
        (a, b)
    }

    /// Bytes that do not compress (so that the zip spans several stored chunks).
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Every file under `root`: relative path, mode and bytes.
    fn tree(root: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
        let mut out = BTreeMap::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("list") {
                let path = entry.expect("entry").path();
                let meta = std::fs::metadata(&path).expect("meta");
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                if meta.is_dir() {
                    out.insert(rel, (meta.permissions().mode() & 0o777, Vec::new()));
                    dirs.push(path);
                } else {
                    let bytes = std::fs::read(&path).expect("read");
                    out.insert(rel, (meta.permissions().mode() & 0o777, bytes));
                }
            }
        }
        out
    }

    #[test]
    fn code_put_through_one_node_is_unpacked_by_another_byte_identical() {
        let (a, b) = two_nodes();
        let big = noise(3 << 20, 42);
        let bytes = zip(&[
            ("bootstrap", b"#!/bin/sh\necho hi\n", 0o755),
            ("lib/data.bin", &big, 0o644),
            ("lib/deep/x.txt", b"x", 0o600),
        ]);
        assert!(bytes.len() > 3 << 20, "the zip spans several chunks");
        let (code, pin_a) = a.code().put_zip(&bytes).expect("put on a");
        let root_a = a.code().unpacked(&pin_a).expect("unpack on a");

        // b has nothing cached: it fetches the zip from the database.
        assert!(!b.code().zip_path(&code.sha256_hex).exists());
        let pin_b = b.code().pin_stored(&code.sha256_hex).expect("stored for b");
        let root_b = b.code().unpacked(&pin_b).expect("unpack on b");
        assert_ne!(root_a, root_b, "each node has its own cache");
        assert_eq!(
            std::fs::read(b.code().zip_path(&code.sha256_hex)).expect("b's zip"),
            bytes
        );
        let (ta, tb) = (tree(&root_a), tree(&root_b));
        assert_eq!(ta.len(), 5, "{:?}", ta.keys().collect::<Vec<_>>());
        assert_eq!(ta, tb);
        assert_eq!(tb["bootstrap"].0, 0o555);
        assert_eq!(tb["lib/data.bin"].1, big);

        // Storing the same zip through the other node is the same code.
        let (again, _pin) = b.code().put_zip(&bytes).expect("put on b");
        assert_eq!(again, code);
    }

    #[test]
    fn two_nodes_storing_one_zip_together_both_succeed() {
        let (a, b) = two_nodes();
        let bytes = zip(&[("lib/data.bin", &noise(2 << 20, 7), 0o644)]);
        let (ca, cb) = std::thread::scope(|s| {
            let ta = s.spawn(|| a.code().put_zip(&bytes).expect("put on a"));
            let tb = s.spawn(|| b.code().put_zip(&bytes).expect("put on b"));
            (ta.join().expect("a"), tb.join().expect("b"))
        });
        assert_eq!(ca.0, cb.0);
        for (node, pin) in [(&*a as &hearth_store::Store, &ca.1), (&*b, &cb.1)] {
            let root = node.code().unpacked(pin).expect("unpack");
            assert_eq!(
                std::fs::read(root.join("lib/data.bin")).expect("read"),
                noise(2 << 20, 7)
            );
        }
    }

    /// The fleet's collection rule: code one node pins (stored, its row not yet written)
    /// outlives another node's sweeps, which do collect unpinned code; once the pinning
    /// node lets go, the other node's sweep collects it, and each node's cache follows.
    #[test]
    fn a_pin_on_one_node_keeps_code_from_another_nodes_sweeps() {
        let (a, b) = two_nodes();
        let kept = zip(&[("bootstrap", b"pinned on a", 0o755)]);
        let (code, pin) = a.code().put_zip(&kept).expect("put on a");
        let root_a = a.code().unpacked(&pin).expect("unpack on a");
        // Unpinned code stored through b: b's sweeps collect it, so they do run and
        // look at a's code too.
        let (control, control_pin) = b
            .code()
            .put_zip(&zip(&[("bootstrap", b"nobody", 0o755)]))
            .expect("put on b");
        drop(control_pin);
        until_collected_on(&b, &control.sha256_hex);
        for _ in 0..3 {
            b.code().collect_code();
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let probe = b
            .code()
            .pin_stored(&code.sha256_hex)
            .expect("a's pin keeps it");
        let root_b = b.code().unpacked(&probe).expect("unpack on b");
        assert_eq!(tree(&root_a), tree(&root_b));
        drop(probe);

        // a lets go: b's sweep may now collect it from the database, and a's cache is
        // cleaned by a's own sweep.
        drop(pin);
        until_collected_on(&b, &code.sha256_hex);
        assert!(a.code().pin_stored(&code.sha256_hex).is_none());
        for (node, root) in [(&*a as &hearth_store::Store, &root_a), (&*b, &root_b)] {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while node.code().zip_path(&code.sha256_hex).exists() || root.exists() {
                assert!(std::time::Instant::now() < deadline, "a cache kept it");
                node.code().collect_code();
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }

    /// Code a function names, written through one node, stays through every node's
    /// sweeps once the writer's pin is gone; deleting the function frees it everywhere.
    #[test]
    fn code_a_row_names_stays_through_every_nodes_sweeps() {
        let (a, b) = two_nodes();
        let (code, pin) = a
            .code()
            .put_zip(&zip(&[("bootstrap", b"named", 0o755)]))
            .expect("put on a");
        let mut f = crate::records::sample("f");
        f.code = code.clone();
        a.metadata().insert_function(&f).expect("insert");
        drop(pin);
        // Unpinned code through b, collected by b's sweeps: they ran past a's code.
        let (control, control_pin) = b
            .code()
            .put_zip(&zip(&[("bootstrap", b"nobody", 0o755)]))
            .expect("put on b");
        drop(control_pin);
        until_collected_on(&b, &control.sha256_hex);
        until_collected_on(&a, &control.sha256_hex);
        let pin = b.code().pin_stored(&code.sha256_hex).expect("named, kept");
        assert!(b.code().unpacked(&pin).expect("unpack").is_dir());
        drop(pin);
        assert!(b.metadata().delete_function("f").expect("delete"));
        until_collected_on(&a, &code.sha256_hex);
        assert!(b.code().pin_stored(&code.sha256_hex).is_none());
    }

    /// One node stores code and writes the functions naming it while the other sweeps
    /// without pause (and stores code nobody keeps): no function ever names code the
    /// fleet has lost.
    #[test]
    fn code_stored_for_a_function_survives_another_nodes_constant_sweeps() {
        let (a, b) = two_nodes();
        let stop = std::sync::atomic::AtomicBool::new(false);
        /// Stops the sweeping node when the test ends, a failing one too (the scope
        /// waits for it before reporting the failure).
        struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        std::thread::scope(|s| {
            let _stop = Stop(&stop);
            s.spawn(|| {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let junk = zip(&[("bootstrap", format!("junk {n}").as_bytes(), 0o755)]);
                    drop(b.code().put_zip(&junk).expect("put junk on b"));
                    b.code().collect_code();
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            });
            for i in 0..40 {
                let bytes = zip(&[("bootstrap", format!("function {i}").as_bytes(), 0o755)]);
                let (code, pin) = a.code().put_zip(&bytes).expect("put on a");
                // The gap a sweep elsewhere must not use: stored, not yet named.
                std::thread::sleep(std::time::Duration::from_millis(5));
                let mut f = crate::records::sample(&format!("f{i}"));
                f.code = code.clone();
                a.metadata().insert_function(&f).expect("insert");
                drop(pin);
                let pin = b
                    .code()
                    .pin_stored(&code.sha256_hex)
                    .unwrap_or_else(|| panic!("f{i}'s code was lost"));
                let root = b.code().unpacked(&pin).expect("unpack on b");
                assert_eq!(
                    std::fs::read(root.join("bootstrap")).expect("read"),
                    format!("function {i}").as_bytes()
                );
            }
        });
    }

    /// A node that dies holding pins (a crash: nothing released) keeps its code only
    /// until it has been silent for longer than the fleet waits for a node; then any
    /// node's sweep forgets it and collects the code. The wait is simulated by setting
    /// the dead node's last heartbeat back in the database (the one place this suite
    /// reaches into PostgreSQL's tables: a test cannot wait minutes).
    #[test]
    fn a_dead_nodes_pins_stop_counting() {
        let server = crate::backend::cluster::url();
        let name = format!("hearth_test_dead_{}", std::process::id());
        crate::backend::cluster::create_database(&server, &name);
        let url = crate::backend::cluster::with_database(&server, &name);
        let key = hearth_store::seal::SealKey::from_bytes([7; 32]);
        let open = |cache: &Path| {
            hearth_store::Store::new(std::sync::Arc::new(
                hearth_store::PgStore::open(&url, cache, &key).expect("open"),
            ))
        };
        let (cache_a, cache_b) = (tempdir(), tempdir());
        let a = open(cache_a.path());
        let nodes_before_b = crate::backend::cluster::sql_rows(&url, "SELECT node FROM code_nodes");
        assert_eq!(nodes_before_b.len(), 1, "a fresh database has node a only");
        let b = open(cache_b.path());
        let (code, pin) = a
            .code()
            .put_zip(&zip(&[("bootstrap", b"held by the dead", 0o755)]))
            .expect("put on a");
        // a crashes: its pin is never released, its heartbeats stop.
        std::mem::forget(pin);
        drop(a);
        for _ in 0..3 {
            b.code().collect_code();
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        assert!(
            b.code().pin_stored(&code.sha256_hex).is_some(),
            "a node alive a moment ago still holds its code"
        );
        crate::backend::cluster::sql_rows(
            &url,
            &format!(
                "UPDATE code_nodes SET alive_at = now() - interval '1 hour' \
                 WHERE node = '{}' RETURNING node",
                nodes_before_b[0]
            ),
        );
        until_collected_on(&b, &code.sha256_hex);
        let left = crate::backend::cluster::sql_rows(
            &url,
            &format!(
                "SELECT node FROM code_nodes WHERE node = '{}'",
                nodes_before_b[0]
            ),
        );
        assert!(left.is_empty(), "the dead node is forgotten");
    }

    /// A node taken for dead (its `code_nodes` row deleted, its pin rows with it) records
    /// every pin it holds again, in one statement however many codes and layer
    /// compositions it pins (a composition's pin is the node's own and asks for no row).
    /// Statements are counted by a
    /// statement-level trigger on `code_pins`, a second reach into PostgreSQL's tables.
    #[test]
    fn a_revived_node_records_all_its_pins_in_one_statement() {
        let server = crate::backend::cluster::url();
        let name = format!("hearth_test_repin_{}", std::process::id());
        crate::backend::cluster::create_database(&server, &name);
        let url = crate::backend::cluster::with_database(&server, &name);
        let sql = |statement: &str| {
            let mut rows = crate::backend::cluster::sql_rows(&url, statement);
            rows.sort();
            rows
        };
        let key = hearth_store::seal::SealKey::from_bytes([7; 32]);
        let cache = tempdir();
        let a = hearth_store::Store::new(std::sync::Arc::new(
            hearth_store::PgStore::open(&url, cache.path(), &key).expect("open"),
        ));
        let node = sql("SELECT node FROM code_nodes");
        assert_eq!(node.len(), 1, "a fresh database has node a only");
        let (mut blobs, mut pins) = (Vec::new(), Vec::new());
        for i in 0..6 {
            let (code, pin) = a
                .code()
                .put_zip(&zip(&[(
                    "bootstrap",
                    format!("layer {i}").as_bytes(),
                    0o755,
                )]))
                .expect("put");
            blobs.push(code.sha256_hex);
            pins.push(pin);
        }
        // Every ordered pair of the first four layers: 12 compositions, each pinned.
        let mut compositions = Vec::new();
        for i in 0..4 {
            for j in (0..4).filter(|&j| j != i) {
                let layers =
                    [&blobs[i], &blobs[j]].map(|h| a.code().pin_stored(h).expect("stored"));
                compositions.push(a.code().composed(&layers).expect("composed").0);
            }
        }
        assert_eq!(compositions.len(), 12);
        blobs.sort();
        let pin_rows = format!(
            "SELECT sha256_hex FROM code_pins WHERE node = '{}'",
            node[0]
        );
        assert_eq!(sql(&pin_rows), blobs);
        for statement in [
            "CREATE TABLE pin_statements (n BIGINT NOT NULL)",
            "INSERT INTO pin_statements VALUES (0)",
            "CREATE FUNCTION count_pin_statement() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN UPDATE pin_statements SET n = n + 1; RETURN NULL; END $$",
            "CREATE TRIGGER count_pin_statements AFTER INSERT ON code_pins \
             FOR EACH STATEMENT EXECUTE FUNCTION count_pin_statement()",
        ] {
            sql(statement);
        }
        sql(&format!(
            "DELETE FROM code_nodes WHERE node = '{}' RETURNING node",
            node[0]
        ));
        assert!(sql(&pin_rows).is_empty(), "the node's pins went with it");
        // Its next round trip tells a it was taken for dead: a pin of code nobody stored.
        assert!(a.code().pin_stored(&"0".repeat(64)).is_none());
        assert_eq!(
            sql(&pin_rows),
            blobs,
            "every stored code pinned has its row again"
        );
        assert_eq!(
            sql("SELECT n::text FROM pin_statements"),
            ["2"],
            "one statement for the 6 codes pinned (none for the 12 compositions), one for the code asked about"
        );
        drop((pins, compositions));
    }

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary directory")
    }

    fn until_collected_on(node: &hearth_store::Store, hash: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while node.code().pin_stored(hash).is_some() {
            assert!(
                std::time::Instant::now() < deadline,
                "{hash} never collected"
            );
            node.code().collect_code();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

fn a_layer_blob_stays_while_its_version_or_a_function_uses_it(s: Fixture) {
    let a = hearth_model::arn::ACCOUNT;
    let (used, p1) = put(&s, "used layer");
    let (unused, p2) = put(&s, "unused layer");
    let (function_code, p3) = put(&s, "function");
    let v1 = s
        .layers()
        .publish_layer_version(&crate::layers::layer(a, "l", used.clone()))
        .expect("publish");
    s.layers()
        .publish_layer_version(&crate::layers::layer(a, "l", unused.clone()))
        .expect("publish");
    let mut f = sample("f");
    f.code = function_code.clone();
    f.layers = vec![hearth_model::function::LayerRef {
        arn: v1.version_arn(),
        code: used.clone(),
    }];
    s.metadata().insert_function(&f).expect("insert");
    // Version 1 of the function keeps the layer when `$LATEST` drops it.
    publish(&s, "f");
    s.metadata()
        .update_function("f", |f| {
            f.layers.clear();
            Ok::<_, ()>(())
        })
        .expect("db")
        .expect("exists")
        .expect("updated");
    drop((p1, p2, p3));
    let hashes = |codes: &[&CodeRef]| codes.iter().map(|c| c.sha256_hex.clone()).collect();
    assert_eq!(
        s.code().referenced_code().expect("referenced"),
        hashes(&[&used, &unused, &function_code])
    );
    // Both layer versions count, with `$LATEST` and version 1 of the function.
    assert_eq!(
        s.code().total_code_size().expect("size"),
        used.size + unused.size + 2 * function_code.size
    );
    // Both layer versions deleted: the one a function version uses stays.
    assert!(s.layers().delete_layer_version(a, "l", 1).expect("delete"));
    assert!(s.layers().delete_layer_version(a, "l", 2).expect("delete"));
    until_collected(&s, &unused.sha256_hex);
    let pin = s.code().pin_stored(&used.sha256_hex).expect("kept");
    assert!(s.code().unpacked(&pin).expect("unpack").is_dir());
    drop(pin);
    assert!(s.metadata().delete_version("f", 1).expect("delete"));
    until_collected(&s, &used.sha256_hex);
    assert_eq!(
        s.code().referenced_code().expect("referenced"),
        hashes(&[&function_code])
    );
}

fn layers_compose_once_and_stay_while_a_row_names_them(s: Fixture) {
    let (own, p0) = put(&s, "own");
    let (first, p1) = put(&s, "first");
    let (second, p2) = put(&s, "second");
    let mut f = sample("f");
    f.code = own.clone();
    f.layers = [&first, &second]
        .iter()
        .enumerate()
        .map(|(i, c)| hearth_model::function::LayerRef {
            arn: format!("arn:aws:lambda:us-east-1:000000000000:layer:l{i}:1"),
            code: (*c).clone(),
        })
        .collect();
    s.metadata().insert_function(&f).expect("insert");
    drop((p0, p1, p2));
    let hashes = |codes: &[&CodeRef]| codes.iter().map(|c| c.sha256_hex.clone()).collect();
    // A function's layers are code its row names.
    assert_eq!(
        s.code().referenced_code().expect("referenced"),
        hashes(&[&own, &first, &second])
    );
    let pins: Vec<CodePin> = [&first, &second]
        .iter()
        .map(|c| s.code().pin_stored(&c.sha256_hex).expect("stored"))
        .collect();
    let (opt_pin, opt) = s.code().composed(&pins).expect("composed");
    assert_eq!(
        opt.file_name().and_then(|n| n.to_str()),
        Some(
            hearth_store::composition_key([first.sha256_hex.as_str(), second.sha256_hex.as_str()])
                .as_str()
        )
    );
    // The later layer's file wins; the tree is read-only.
    assert_eq!(
        std::fs::read(opt.join("bootstrap")).expect("read"),
        b"second"
    );
    let mode = std::fs::metadata(&opt).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o555);
    let (pin_again, again) = s.code().composed(&pins).expect("composed again");
    assert_eq!(again, opt);
    drop((opt_pin, pins, pin_again));
    // Named by the row: a sweep keeps it.
    s.code().collect_code();
    assert!(s.code().pin_stored(&first.sha256_hex).is_some());
    // The function gone, its code, its layers and their tree go.
    assert!(s.metadata().delete_function("f").expect("delete"));
    for c in [&own, &first, &second] {
        until_collected(&s, &c.sha256_hex);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while opt.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never collected",
            opt.display()
        );
        s.code().collect_code();
        std::thread::sleep(Duration::from_millis(10));
    }
}
