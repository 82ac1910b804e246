//! Code on PostgreSQL ([`CodeStore`]): every zip is stored in the database, so that any
//! node of a fleet can run any function, and each node keeps a cache of its own under
//! [`PgStore::cache`] exactly as the SQLite store keeps its files (`blobs/<sha>.zip`
//! fetched on first use, `code/<sha>/` unpacked once, read-only, shared by every
//! environment of the node; see `blobs.rs` and `code_gc.rs`, whose checks, extraction,
//! pins and leftover handling this reuses).
//!
//! # Storage
//! A zip is content-addressed by its SHA-256: a `code_blobs` row (size, number of
//! chunks) and its bytes in `code_chunks` rows of at most [`CHUNK`] bytes (PostgreSQL
//! keeps each out of line, uncompressed: zips do not compress), written in one
//! transaction. Two nodes storing the same zip together are serialised by the blob's
//! primary key: the second insert waits for the first to commit and then does nothing.
//! A node checks a fetched zip against its hash before using it.
//!
//! # Collection across a fleet
//! A pin ([`CodePin`]) is in memory, on one node; another node cannot see it. So every
//! node also records what it pins in the database: `code_pins` (hash, node) rows, one per
//! pinned hash and node however many pins the node holds (taken when the node's first
//! pin of a hash is, in the same transaction as the upload for a stored zip), and a
//! `code_nodes` row per node, whose `alive_at` the node refreshes every [`HEARTBEAT`].
//!
//! **The rule**: a blob is removed from the database only when no function (`$LATEST`
//! or the code an update in progress falls back to) and no published version names it,
//! and no *live* node (one whose `alive_at` is within [`DEAD_AFTER`]) has a pin row for
//! it. The decision is taken per blob in a transaction that first locks the blob's row
//! (`FOR UPDATE`) and then reads pins and rows afresh; a pin row is inserted under the
//! foreign key's share lock of the same blob row. So a pin is either committed before
//! the sweep reads (the blob stays) or waits for the sweep and finds the blob gone (the
//! pinner answers "not stored", or uploads it again). A function row naming new code is
//! written while its writer holds the pin from `put_zip`, and the pin row is removed
//! only after the last local pin is dropped, hence after that write committed: a sweep
//! that no longer sees the pin sees the row.
//!
//! Why pins in the database rather than only a grace period after storing (a blob
//! younger than some minutes is never collected): a grace period safe against a slow
//! create or update would delay every collection by as much, whereas code must go as
//! soon as its last pin does, as on SQLite; and a grace period does not cover a pin
//! taken to run code whose row is being replaced. A pin row is written once per hash
//! and node, not per pin: an environment starting on code its node already runs costs
//! no round trip. [`DEAD_AFTER`] is the only grace period, and only for nodes that stop
//! without releasing their pins.
//!
//! A node that crashes leaves pin rows: they stop counting once its `alive_at` is older
//! than [`DEAD_AFTER`], and any node's sweep then deletes the node and its pins. A node
//! that could not reach the database for that long (so that its pins were ignored)
//! notices on its next heartbeat or pin and records its pins again; code collected in
//! between stays in its own cache while its environments use it (the local sweep keeps
//! what is pinned locally), but can no longer be fetched by other nodes. (The one loss
//! this allows: a zip stored by a node that then stayed out of reach for longer than
//! [`DEAD_AFTER`] before writing the row naming it.) A node that cannot reach the
//! database still pins code it has cached, and records the pin at its next heartbeat.
//!
//! Each node's own sweep (on [`CodeStore::collect_code`], when its last pin of a hash
//! goes, and every [`SWEEP_EVERY`]) removes its pin rows for hashes it no longer pins,
//! collects unreferenced blobs by the rule above, deletes dead nodes, and then removes
//! from its cache the zips and trees of blobs no longer in the database that it does not
//! pin (another node's sweep may have collected them). Temporary and half-removed files
//! a crashed process left in the cache are removed when the store is opened.
//!
//! [`CodeStore::zip_path`] is this node's cache: it holds a zip once this node stored
//! or unpacked that code, not before. (The engine's `Code.Location` download, which
//! serves the file at that path, thus finds a zip only on such a node.)
//!
//! Every time compared is the database's clock (`now()`), the same for every node.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hearth_model::function::CodeRef;
use sha2::{Digest, Sha256};
use tokio_postgres::error::SqlState;
use tokio_postgres::GenericClient;

use super::{backend, wait, PgStore, Pool};
use crate::blobs::{extract, inspect_zip, unique_suffix};
use crate::code_gc::{is_hash, is_leftover, remove_path, space_out_sweep, CodeUse};
use crate::traits::CodeStore;
use crate::{CodePin, StoreError};

/// This area's tables, part of the first migration ([`super::migrations`]).
pub(super) const SCHEMA: &str = "
-- stored_at: when first stored, for an operator's eyes (collection does not use it).
CREATE TABLE code_blobs (sha256_hex TEXT PRIMARY KEY, size BIGINT NOT NULL,
    chunks BIGINT NOT NULL, stored_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE code_chunks (
    sha256_hex TEXT NOT NULL REFERENCES code_blobs ON DELETE CASCADE,
    idx BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (sha256_hex, idx));
ALTER TABLE code_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE code_nodes (node TEXT PRIMARY KEY, alive_at TIMESTAMPTZ NOT NULL);
CREATE TABLE code_pins (
    sha256_hex TEXT NOT NULL REFERENCES code_blobs ON DELETE CASCADE,
    node TEXT NOT NULL REFERENCES code_nodes ON DELETE CASCADE,
    PRIMARY KEY (sha256_hex, node));
CREATE INDEX code_pins_by_node ON code_pins (node);
";

/// The largest chunk row: small enough for one message of reasonable size, large
/// enough that a 50 MB zip is 50 rows.
pub(crate) const CHUNK: usize = 1 << 20;
/// How often a node says it is alive.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(30);
/// How long after its last heartbeat a node's pins stop counting (many heartbeats, so
/// that a slow database or a busy node is not declared dead).
// Read by the SQL's literal interval below only through its unit test.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const DEAD_AFTER: Duration = Duration::from_secs(300);
/// How often a node sweeps unasked (other nodes' deletions free code too).
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often the collector looks whether its store is gone, when nothing wakes it.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// Attempts at storing a zip that another node's sweep keeps collecting.
const PUT_ATTEMPTS: usize = 3;

/// [`DEAD_AFTER`] as SQL (kept equal by a unit test).
macro_rules! dead_after {
    () => {
        "interval '300 seconds'"
    };
}

/// A pin row counts while its node is alive.
const LIVE_PIN: &str = concat!(
    "EXISTS (SELECT 1 FROM code_pins p JOIN code_nodes n USING (node) \
     WHERE p.sha256_hex = b.sha256_hex AND n.alive_at > now() - ",
    dead_after!(),
    ")"
);

/// Hashes of every code a row names: `$LATEST`'s, the code an update in progress
/// falls back to, every published version's, every layer version's and the layers
/// functions and versions use (the SQLite store's query, on the same JSON).
const REFERENCED: &str = "
SELECT data::jsonb #>> '{code,sha256_hex}' FROM functions
UNION SELECT data::jsonb #>> '{previous_code,sha256_hex}' FROM functions
UNION SELECT data::jsonb #>> '{code,sha256_hex}' FROM versions
UNION SELECT data::jsonb #>> '{code,sha256_hex}' FROM layer_versions
UNION SELECT l #>> '{code,sha256_hex}'
    FROM functions, jsonb_array_elements(COALESCE(data::jsonb -> 'layers', '[]'::jsonb)) l
UNION SELECT l #>> '{code,sha256_hex}'
    FROM versions, jsonb_array_elements(COALESCE(data::jsonb -> 'layers', '[]'::jsonb)) l";

/// Every row's `layers`, for the compositions rows name (`layer_trees.rs`).
const LAYER_LISTS: &str = "
SELECT data::jsonb ->> 'layers' FROM functions
UNION ALL SELECT data::jsonb ->> 'layers' FROM versions";

/// Lambda's `TotalCodeSize`: the zip of every `$LATEST`, of every published version and
/// of every layer version, each counted.
const ACCOUNT_CODE_SIZE: &str = "
SELECT ((SELECT COALESCE(SUM((data::jsonb #>> '{code,size}')::bigint), 0) FROM functions)
      + (SELECT COALESCE(SUM((data::jsonb #>> '{code,size}')::bigint), 0) FROM versions)
      + (SELECT COALESCE(SUM((data::jsonb #>> '{code,size}')::bigint), 0) FROM layer_versions))::bigint";

/// Blobs that look collectable (each is decided again under its lock).
fn candidates_sql() -> String {
    format!(
        "SELECT b.sha256_hex FROM code_blobs b WHERE NOT {LIVE_PIN} AND NOT EXISTS \
         (SELECT 1 FROM ({REFERENCED}) r (h) WHERE r.h = b.sha256_hex)"
    )
}

/// Whether the blob `$1` (locked) must stay.
fn still_used_sql() -> String {
    format!(
        "SELECT {LIVE_PIN} OR EXISTS (SELECT 1 FROM ({REFERENCED}) r (h) WHERE r.h = b.sha256_hex) \
         FROM code_blobs b WHERE b.sha256_hex = $1"
    )
}

/// Deletes nodes silent for longer than [`DEAD_AFTER`] (their pins go with them).
const DELETE_DEAD: &str = concat!(
    "DELETE FROM code_nodes WHERE alive_at < now() - ",
    dead_after!()
);

/// Records this node's pin of `$1` if the blob is stored; answers a row if it is.
const PIN: &str = "
INSERT INTO code_pins (sha256_hex, node)
SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM code_blobs WHERE sha256_hex = $1)
ON CONFLICT (sha256_hex, node) DO UPDATE SET node = EXCLUDED.node
RETURNING 1";

/// Records this node's pins of every hash of the array `$1` whose blob is stored, in one
/// statement (a heartbeat's or a revival's: one round trip however many codes and layer
/// compositions the node pins); answers the hashes that have their row. The blob rows
/// are read `FOR KEY SHARE`, the lock the foreign key takes: a blob being collected
/// (locked `FOR UPDATE` by a sweep, then deleted) is waited for and then left out, where
/// the foreign key check would fail the whole statement and with it the others' pins.
const PIN_ALL: &str = "
INSERT INTO code_pins (sha256_hex, node)
SELECT sha256_hex, $2 FROM code_blobs WHERE sha256_hex = ANY($1) FOR KEY SHARE
ON CONFLICT (sha256_hex, node) DO UPDATE SET node = EXCLUDED.node
RETURNING sha256_hex";

/// One node's code state: its pins (counted in memory as the SQLite store's are), its
/// name among the nodes, and which of its pins have a row.
pub(crate) struct CodeState {
    uses: Arc<CodeUse>,
    node: String,
    /// Hashes whose pin row this node has written and not removed. Held across the
    /// statements that add or remove such rows, so that a pin taken while its row is
    /// being removed writes it again (see [`Code::acquire`], [`Code::release`]).
    leased: Mutex<HashSet<String>>,
    /// Set when this node found its `code_nodes` row gone (declared dead) and wrote it
    /// again: its pin rows went with it and must be written again.
    revived: AtomicBool,
    /// The layer compositions this node has composed: their pins are counted in `uses`
    /// like a blob's, but a composition is this node's own and never has a row, so the
    /// heartbeat leaves them out rather than ask the database for them every time.
    compositions: Mutex<HashSet<String>>,
}

impl CodeState {
    /// Names this node among the nodes (a fresh name per store opened).
    pub(crate) fn register(pool: &Pool) -> Result<Arc<Self>, StoreError> {
        let conn = pool.get()?;
        let row = wait(conn.query_one(
            "INSERT INTO code_nodes (node, alive_at) VALUES (gen_random_uuid()::text, now()) \
             RETURNING node",
            &[],
        ))
        .map_err(backend)?;
        Ok(Arc::new(Self {
            uses: Arc::default(),
            node: row.get(0),
            leased: Mutex::default(),
            revived: AtomicBool::new(false),
            compositions: Mutex::default(),
        }))
    }

    fn leased(&self) -> MutexGuard<'_, HashSet<String>> {
        // A set of names: a panic elsewhere cannot leave it half-changed.
        self.leased.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn compositions(&self) -> MutexGuard<'_, HashSet<String>> {
        // A set of names, as above.
        self.compositions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The pinned hashes that may have a row: every pin but the compositions'.
    fn pinned_blobs(&self) -> Vec<String> {
        let compositions = self.compositions();
        self.uses
            .pinned()
            .into_iter()
            .filter(|h| !compositions.contains(h))
            .collect()
    }
}

/// What the code operations need of a store (the collector thread has no `PgStore`).
struct Code<'a> {
    pool: &'a Pool,
    state: &'a CodeState,
    cache: &'a Path,
}

impl PgStore {
    fn code_parts(&self) -> Code<'_> {
        Code {
            pool: &self.pool,
            state: &self.code,
            cache: &self.cache,
        }
    }
}

/// Prepares the cache, removes what a crashed process left in it, sweeps once, and
/// starts the node's collector thread.
pub(super) fn start(store: &PgStore) -> Result<(), StoreError> {
    let code = store.code_parts();
    crate::private::create_dir(&code.blobs_dir())?;
    fs::create_dir_all(code.code_dir())?;
    let leftovers = code.remove_leftovers()?;
    if leftovers > 0 {
        tracing::info!(count = leftovers, "removed unfinished code files");
    }
    // A sweep that fails here is retried by the collector: not a reason to refuse to
    // start.
    if let Err(e) = code.sweep() {
        tracing::warn!(error = %e, "code collection failed at start");
    }
    let pool = Arc::downgrade(&store.pool);
    let state = Arc::downgrade(&store.code);
    let cache = store.cache.clone();
    std::thread::Builder::new()
        .name("hearth-pg-code".into())
        .spawn(move || collector(pool, state, cache))?;
    Ok(())
}

/// Heartbeats and sweeps whenever asked (and every [`SWEEP_EVERY`]) until the store is
/// dropped.
fn collector(pool: Weak<Pool>, state: Weak<CodeState>, cache: PathBuf) {
    let mut last_beat = Instant::now();
    let mut last_sweep = Instant::now();
    loop {
        let Some(uses) = state.upgrade().map(|s| s.uses.clone()) else {
            return;
        };
        let asked = uses.wait_for_sweep(IDLE_CHECK);
        drop(uses);
        let (Some(pool), Some(state)) = (pool.upgrade(), state.upgrade()) else {
            return;
        };
        let code = Code {
            pool: &pool,
            state: &state,
            cache: &cache,
        };
        if last_beat.elapsed() >= HEARTBEAT {
            match code.heartbeat() {
                Ok(()) => last_beat = Instant::now(),
                Err(e) => tracing::warn!(error = %e, "cannot tell the database this node is alive"),
            }
        }
        if asked || last_sweep.elapsed() >= SWEEP_EVERY {
            if asked {
                space_out_sweep(Some(last_sweep));
            }
            last_sweep = Instant::now();
            if let Err(e) = code.sweep() {
                tracing::warn!(error = %e, "code collection failed; it is retried on the next change");
            }
        }
    }
}

impl Code<'_> {
    fn blobs_dir(&self) -> PathBuf {
        self.cache.join("blobs")
    }

    fn code_dir(&self) -> PathBuf {
        self.cache.join("code")
    }

    fn zip_path(&self, hex: &str) -> PathBuf {
        self.blobs_dir().join(format!("{hex}.zip"))
    }

    /// Says this node is alive; if it had been declared dead (its row deleted, and its
    /// pin rows with it), writes its row and flags its pins for writing again.
    fn touch(&self, client: &impl GenericClient) -> Result<(), StoreError> {
        let updated = wait(client.execute(
            "UPDATE code_nodes SET alive_at = now() WHERE node = $1",
            &[&self.state.node],
        ))
        .map_err(backend)?;
        if updated == 0 {
            wait(client.execute(
                "INSERT INTO code_nodes (node, alive_at) VALUES ($1, now()) \
                 ON CONFLICT (node) DO UPDATE SET alive_at = now()",
                &[&self.state.node],
            ))
            .map_err(backend)?;
            self.state.revived.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// After a revival: writes a pin row for each hash this node pins, in one statement
    /// (those whose blob is gone meanwhile stay pinned locally, from the cache, without a
    /// row).
    fn repin(
        &self,
        client: &impl GenericClient,
        leased: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        if !self.state.revived.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        tracing::warn!(
            node = self.state.node,
            "this node was taken for dead by the fleet; recording its code pins again"
        );
        leased.clear();
        self.record(client, self.state.pinned_blobs(), leased)
    }

    /// Writes the pin rows of `hashes` whose blob is stored, in one statement, and
    /// marks them leased. The others (a zip being stored, code no longer stored) get no
    /// row and are tried again at the next heartbeat.
    fn record(
        &self,
        client: &impl GenericClient,
        hashes: impl IntoIterator<Item = String>,
        leased: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        let hashes: Vec<String> = hashes.into_iter().collect();
        if hashes.is_empty() {
            return Ok(());
        }
        match wait(client.query(PIN_ALL, &[&hashes, &self.state.node])) {
            Ok(rows) => {
                leased.extend(rows.iter().map(|r| r.get::<_, String>(0)));
                Ok(())
            }
            // Not expected with the blobs locked as read; if it happens, nothing was
            // recorded and the next heartbeat tries again.
            Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    /// Says this node is alive, and records the pins it holds without a row (taken
    /// while the database could not be reached, or before a revival) in one statement
    /// for all of them.
    fn heartbeat(&self) -> Result<(), StoreError> {
        let mut leased = self.state.leased();
        let conn = self.pool.get()?;
        self.touch(&*conn)?;
        self.repin(&*conn, &mut leased)?;
        let unrecorded: Vec<String> = self
            .state
            .pinned_blobs()
            .into_iter()
            .filter(|h| !leased.contains(h))
            .collect();
        self.record(&*conn, unrecorded, &mut leased)
    }

    /// Makes sure the pin row of `hex` exists, the caller having counted its pin
    /// already; false if the blob is not stored.
    fn acquire(&self, hex: &str) -> Result<bool, StoreError> {
        let mut leased = self.state.leased();
        // Already recorded (an environment starting on code this node runs already): no
        // round trip. A node taken for dead meanwhile learns it on its next heartbeat.
        if leased.contains(hex) && !self.state.revived.load(Ordering::SeqCst) {
            return Ok(true);
        }
        let conn = self.pool.get()?;
        self.touch(&*conn)?;
        self.repin(&*conn, &mut leased)?;
        if leased.contains(hex) {
            return Ok(true);
        }
        match wait(conn.query(PIN, &[&hex, &self.state.node])) {
            Ok(rows) if rows.is_empty() => Ok(false),
            Ok(_) => {
                leased.insert(hex.to_string());
                Ok(true)
            }
            // The blob was being collected while the row was written.
            Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    /// Removes the pin rows of hashes this node no longer pins. Under the `leased`
    /// lock, with the pinned hashes read after taking it: a pin counted before that read
    /// keeps its row; one counted after finds its hash no longer leased and writes the
    /// row again ([`Self::acquire`]).
    fn release(&self) -> Result<(), StoreError> {
        let mut leased = self.state.leased();
        let pinned = self.state.uses.pinned();
        let keep: Vec<&str> = pinned.iter().map(String::as_str).collect();
        let conn = self.pool.get()?;
        wait(conn.execute(
            "DELETE FROM code_pins WHERE node = $1 AND NOT (sha256_hex = ANY($2))",
            &[&self.state.node, &keep],
        ))
        .map_err(backend)?;
        leased.retain(|h| pinned.contains(h));
        Ok(())
    }

    /// Stores `bytes` under `hex` unless stored, with this node's pin row, in one
    /// transaction.
    fn upload(&self, hex: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let tx = wait(conn.transaction()).map_err(backend)?;
        self.touch(&tx)?;
        let chunks = bytes.chunks(CHUNK).len() as i64;
        let inserted = wait(tx.execute(
            "INSERT INTO code_blobs (sha256_hex, size, chunks) VALUES ($1, $2, $3) \
             ON CONFLICT (sha256_hex) DO NOTHING",
            &[&hex, &(bytes.len() as i64), &chunks],
        ))
        .map_err(backend)?;
        if inserted == 1 {
            for (idx, chunk) in bytes.chunks(CHUNK).enumerate() {
                wait(tx.execute(
                    "INSERT INTO code_chunks (sha256_hex, idx, data) VALUES ($1, $2, $3)",
                    &[&hex, &(idx as i64), &chunk],
                ))
                .map_err(backend)?;
            }
        }
        wait(tx.execute(
            "INSERT INTO code_pins (sha256_hex, node) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&hex, &self.state.node],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)
    }

    fn put_zip(&self, bytes: &[u8]) -> Result<(CodeRef, CodePin), StoreError> {
        let info = inspect_zip(bytes)?;
        let digest = Sha256::digest(bytes);
        let hex = hex::encode(digest);
        // Counted before anything is written: this node's sweep keeps what is pinned.
        let pin = self.state.uses.pin(&hex);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.upload(&hex, bytes) {
                // Another node collected the blob between this one seeing it stored and
                // writing its pin row: stored again.
                Err(StoreError::Backend(e))
                    if attempt < PUT_ATTEMPTS && is_fk_violation(e.as_ref()) =>
                {
                    continue
                }
                other => other?,
            }
            // This node's sweep may have removed the pin row just written (it had read
            // the pins before this one was counted): written again, or the upload
            // repeated if the blob went meanwhile.
            if self.acquire(&hex)? {
                break;
            }
            if attempt >= PUT_ATTEMPTS {
                return Err(StoreError::Backend(
                    format!("code {hex} was collected by another node as it was stored").into(),
                ));
            }
        }
        self.write_cache(&hex, bytes)?;
        let code = CodeRef {
            sha256_b64: BASE64.encode(digest),
            sha256_hex: hex,
            size: bytes.len() as u64,
            unzipped_size: info.unzipped_size,
        };
        Ok((code, pin))
    }

    /// Writes the zip of `hex` into this node's cache unless there.
    fn write_cache(&self, hex: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.zip_path(hex);
        if path.is_file() {
            return Ok(());
        }
        let tmp = path.with_extension(format!("tmp-{}", unique_suffix()));
        // Private (0600), as the SQLite store's zips.
        let written = crate::private::create_file(&tmp).and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
        if let Err(e) = written.and_then(|()| fs::rename(&tmp, &path)) {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        Ok(())
    }

    /// Copies the stored zip of pinned `hex` into this node's cache, checking it
    /// against its hash.
    fn fetch(&self, hex: &str) -> Result<(), StoreError> {
        let conn = self.pool.get()?;
        let row = wait(conn.query_opt(
            "SELECT size, chunks FROM code_blobs WHERE sha256_hex = $1",
            &[&hex],
        ))
        .map_err(backend)?
        .ok_or_else(|| {
            StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("code {hex} is not stored"),
            ))
        })?;
        let (size, chunks): (i64, i64) = (row.get(0), row.get(1));
        let path = self.zip_path(hex);
        let tmp = path.with_extension(format!("tmp-{}", unique_suffix()));
        let copied = (|| {
            let mut file = crate::private::create_file(&tmp)?;
            let mut hasher = Sha256::new();
            let mut total = 0i64;
            // One chunk a statement: a 50 MB zip is never held whole in memory.
            for idx in 0..chunks {
                let row = wait(conn.query_opt(
                    "SELECT data FROM code_chunks WHERE sha256_hex = $1 AND idx = $2",
                    &[&hex, &idx],
                ))
                .map_err(backend)?;
                let data: &[u8] = match &row {
                    Some(r) => r.get(0),
                    None => {
                        return Err(StoreError::Backend(
                            format!("stored code {hex} lacks its chunk {idx}").into(),
                        ))
                    }
                };
                hasher.update(data);
                file.write_all(data)?;
                total += data.len() as i64;
            }
            if total != size || hex::encode(hasher.finalize()) != hex {
                return Err(StoreError::Backend(
                    format!("stored code {hex} does not match its hash").into(),
                ));
            }
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            Ok(())
        })();
        if copied.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        copied
    }

    /// The unpacked tree of pinned code, fetching and extracting it on first use, as the
    /// SQLite store does (`blobs.rs`).
    fn unpacked(&self, pin: &CodePin) -> Result<PathBuf, StoreError> {
        let hex = pin.sha256_hex();
        let dir = self.code_dir().join(hex);
        if dir.exists() {
            return Ok(dir);
        }
        if !self.zip_path(hex).is_file() {
            self.fetch(hex)?;
        }
        let zip = fs::File::open(self.zip_path(hex))?;
        // Per call: concurrent first uses each extract into their own directory, and one
        // rename wins.
        let tmp = self
            .code_dir()
            .join(format!(".{hex}.tmp-{}", unique_suffix()));
        let done = extract(std::io::BufReader::new(zip), &tmp).and_then(|()| {
            match fs::rename(&tmp, &dir) {
                Ok(()) => Ok(()),
                Err(_) if dir.exists() => Ok(()),
                Err(e) => Err(e.into()),
            }
        });
        if let Err(e) = remove_path(&tmp) {
            tracing::warn!(path = %tmp.display(), error = %e, "could not remove a temporary code directory");
        }
        done.map(|()| dir)
    }

    fn pin_stored(&self, hex: &str) -> Result<Option<CodePin>, StoreError> {
        if !is_hash(hex) {
            return Ok(None);
        }
        let pin = self.state.uses.pin(hex);
        // Dropping the pin when the code is not stored asks for a sweep, which finds
        // nothing to keep for it.
        match self.acquire(hex) {
            Ok(stored) => Ok(stored.then_some(pin)),
            // The database cannot be reached, but this node has the code: it runs from
            // its cache (its local sweep keeps what is pinned), and the pin's row is
            // written by the next pin of this code that reaches the database.
            Err(e) if self.is_cached(hex) => {
                tracing::warn!(code = hex, error = %e, "cannot record a code pin; running the cached copy");
                Ok(Some(pin))
            }
            Err(e) => Err(e),
        }
    }

    /// The `/opt` of pinned layers, composed in this node's cache (`layer_trees.rs`).
    /// Its pin is counted in memory only: a composition is this node's own, not a blob,
    /// and the heartbeat does not ask for a row for it (`CodeState::compositions`).
    fn composed(&self, layers: &[CodePin]) -> Result<(CodePin, PathBuf), StoreError> {
        let key = crate::layer_trees::composition_key(layers.iter().map(|p| p.sha256_hex()));
        self.state.compositions().insert(key.clone());
        let pin = self.state.uses.pin(&key);
        let opt = self.cache.join(crate::layer_trees::OPT_DIR);
        let mut trees = Vec::new();
        if !opt.join(&key).is_dir() {
            for layer in layers {
                trees.push(self.unpacked(layer)?);
            }
        }
        let dir = crate::layer_trees::compose(&opt, &key, &trees)?;
        Ok((pin, dir))
    }

    /// Whether this node has the zip or the unpacked tree of `hex`.
    fn is_cached(&self, hex: &str) -> bool {
        self.zip_path(hex).is_file() || self.code_dir().join(hex).is_dir()
    }

    /// Releases this node's pin rows, collects unused blobs from the database, deletes
    /// dead nodes and cleans this node's cache. Returns the hashes it removed from the
    /// database.
    fn sweep(&self) -> Result<Vec<String>, StoreError> {
        self.release()?;
        let collected = self.collect_blobs()?;
        let conn = self.pool.get()?;
        let dead = wait(conn.execute(DELETE_DEAD, &[])).map_err(backend)?;
        if dead > 0 {
            tracing::info!(
                count = dead,
                "forgot the code pins of nodes silent too long"
            );
        }
        let lists: Vec<String> = wait(conn.query(LAYER_LISTS, &[]))
            .map_err(backend)?
            .iter()
            .filter_map(|r| r.get::<_, Option<String>>(0))
            .collect();
        drop(conn);
        self.clean_cache()?;
        let (compositions, _) = crate::layer_trees::named_by_rows(lists);
        crate::layer_trees::sweep(
            &self.cache.join(crate::layer_trees::OPT_DIR),
            &compositions,
            &self.state.uses,
        )?;
        let opt = self.cache.join(crate::layer_trees::OPT_DIR);
        self.state
            .compositions()
            .retain(|key| opt.join(key).is_dir());
        if !collected.is_empty() {
            tracing::debug!(count = collected.len(), "collected unreferenced code");
        }
        Ok(collected)
    }

    /// Deletes every blob the rule of the module doc allows, each decided under its
    /// row's lock.
    fn collect_blobs(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.pool.get()?;
        let candidates: Vec<String> = wait(conn.query(&candidates_sql(), &[]))
            .map_err(backend)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let still_used = still_used_sql();
        let mut collected = Vec::new();
        for hex in candidates {
            let tx = wait(conn.transaction()).map_err(backend)?;
            let locked = wait(tx.query_opt(
                "SELECT 1 FROM code_blobs WHERE sha256_hex = $1 FOR UPDATE",
                &[&hex],
            ))
            .map_err(backend)?;
            if locked.is_none() {
                continue;
            }
            // A statement after the lock: it sees every pin and row committed before.
            let used: bool = wait(tx.query_one(&still_used, &[&hex]))
                .map_err(backend)?
                .get(0);
            if used {
                continue;
            }
            wait(tx.execute("DELETE FROM code_blobs WHERE sha256_hex = $1", &[&hex]))
                .map_err(backend)?;
            wait(tx.commit()).map_err(backend)?;
            collected.push(hex);
        }
        Ok(collected)
    }

    /// Hashes with a zip or a tree in this node's cache.
    fn cached(&self) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        for entry in fs::read_dir(self.blobs_dir())? {
            let name = entry?.file_name();
            if let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".zip")) {
                if is_hash(hex) {
                    out.insert(hex.to_string());
                }
            }
        }
        for entry in fs::read_dir(self.code_dir())? {
            let name = entry?.file_name();
            if let Some(hex) = name.to_str().filter(|n| is_hash(n)) {
                out.insert(hex.to_string());
            }
        }
        Ok(out)
    }

    /// Removes from the cache the code no longer stored that this node does not pin.
    /// The database is read before the pins are: a pin taken after that read, of code
    /// stored again meanwhile, is seen under the pin lock, where the files are moved.
    fn clean_cache(&self) -> Result<(), StoreError> {
        let cached: Vec<String> = self.cached()?.into_iter().collect();
        if cached.is_empty() {
            return Ok(());
        }
        let conn = self.pool.get()?;
        let stored: HashSet<String> = wait(conn.query(
            "SELECT sha256_hex FROM code_blobs WHERE sha256_hex = ANY($1)",
            &[&cached],
        ))
        .map_err(backend)?
        .iter()
        .map(|r| r.get(0))
        .collect();
        drop(conn);
        let trash = self.state.uses.with_pins(|pins| {
            let mut trash = Vec::new();
            for hex in cached.iter().filter(|h| !stored.contains(*h)) {
                if pins.contains_key(hex) {
                    continue;
                }
                for path in [self.zip_path(hex), self.code_dir().join(hex)] {
                    if fs::symlink_metadata(&path).is_err() {
                        continue;
                    }
                    let parent = path.parent().unwrap_or(self.cache);
                    let to = parent.join(format!(".{hex}.gc-{}", unique_suffix()));
                    match fs::rename(&path, &to) {
                        Ok(()) => trash.push(to),
                        Err(e) => {
                            tracing::warn!(path = %path.display(), error = %e, "could not remove cached code")
                        }
                    }
                }
            }
            trash
        });
        for path in trash {
            if let Err(e) = remove_path(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove cached code");
            }
        }
        Ok(())
    }

    /// Removes temporary and half-removed files of an earlier process. Only at open,
    /// before this store has any of its own.
    fn remove_leftovers(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        for dir in [self.blobs_dir(), self.code_dir()] {
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                if entry.file_name().to_str().is_some_and(is_leftover) {
                    remove_path(&entry.path())?;
                    removed += 1;
                }
            }
        }
        removed +=
            crate::layer_trees::remove_leftovers(&self.cache.join(crate::layer_trees::OPT_DIR))?;
        Ok(removed)
    }
}

/// Whether `e` is PostgreSQL's foreign key violation.
fn is_fk_violation(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    e.downcast_ref::<tokio_postgres::Error>()
        .and_then(|e| e.code())
        == Some(&SqlState::FOREIGN_KEY_VIOLATION)
}

impl CodeStore for PgStore {
    fn put_zip(&self, bytes: &[u8]) -> Result<(CodeRef, CodePin), StoreError> {
        self.code_parts().put_zip(bytes)
    }

    fn zip_path(&self, sha256_hex: &str) -> PathBuf {
        self.code_parts().zip_path(sha256_hex)
    }

    fn unpacked(&self, pin: &CodePin) -> Result<PathBuf, StoreError> {
        self.code_parts().unpacked(pin)
    }

    fn pin_stored(&self, sha256_hex: &str) -> Option<CodePin> {
        // The trait answers no error: a database that cannot be reached means the code
        // cannot be had now, as if it were not stored (the caller reports it gone).
        self.code_parts()
            .pin_stored(sha256_hex)
            .unwrap_or_else(|e| {
                tracing::warn!(code = sha256_hex, error = %e, "cannot pin code");
                None
            })
    }

    fn composed(&self, layers: &[CodePin]) -> Result<(CodePin, PathBuf), StoreError> {
        self.code_parts().composed(layers)
    }

    fn collect_code(&self) {
        self.code.uses.request_sweep();
    }

    fn total_code_size(&self) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let size: i64 = wait(conn.query_one(ACCOUNT_CODE_SIZE, &[]))
            .map_err(backend)?
            .get(0);
        Ok(size.max(0) as u64)
    }

    fn referenced_code(&self) -> Result<HashSet<String>, StoreError> {
        let conn = self.conn()?;
        let rows = wait(conn.query(REFERENCED, &[])).map_err(backend)?;
        Ok(rows
            .iter()
            .filter_map(|r| r.get::<_, Option<String>>(0))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_interval_is_dead_after() {
        assert_eq!(
            dead_after!(),
            format!("interval '{} seconds'", DEAD_AFTER.as_secs())
        );
    }

    #[test]
    fn the_heartbeat_asks_for_the_rows_of_blobs_and_not_of_compositions() {
        let state = CodeState {
            uses: Arc::default(),
            node: "n".into(),
            leased: Mutex::default(),
            revived: AtomicBool::new(false),
            compositions: Mutex::default(),
        };
        let key = crate::layer_trees::composition_key(["a".repeat(64).as_str()]);
        state.compositions().insert(key.clone());
        let pins = [state.uses.pin(&"a".repeat(64)), state.uses.pin(&key)];
        assert_eq!(state.uses.pinned().len(), 2);
        assert_eq!(state.pinned_blobs(), vec!["a".repeat(64)]);
        drop(pins);
    }

    #[test]
    fn a_foreign_key_violation_is_told_apart_only_from_postgres_errors() {
        let other: Box<dyn std::error::Error + Send + Sync> = "x".into();
        assert!(!is_fk_violation(other.as_ref()));
    }
}
