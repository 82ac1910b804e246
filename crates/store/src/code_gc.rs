//! Collection of code nothing uses: a zip blob (`blobs/<sha>.zip`) and its unpacked
//! tree (`code/<sha>/`) are removed once no function (`$LATEST`, or the code an update
//! in progress may fall back to), no published version, and no pin references them.
//!
//! A pin ([`CodePin`]) is taken by whoever is about to use code that no row may name
//! yet or any more: a create or update between storing the zip and writing its row,
//! the unpacking of a change being settled, and every execution environment (starting,
//! idle, busy or provisioned) for as long as it lives. A sweep reads the rows and
//! decides under the pin lock, and only renames what it collects there, so a pin is
//! either taken before the sweep looked (and the code stays) or after the code was
//! moved away (and the pinner stores it again, or finds it gone and looks the function
//! up again); the slow removal happens after the lock is released.
//!
//! Sweeps run on a thread of their own, woken when a pin is released for the last time
//! or when [`SqliteStore::collect_code`] is called after a row stopped naming some code, and
//! once, synchronously, when the store is opened (with the temporary and half-collected
//! files a crashed process left behind).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::{SqliteStore, StoreError};

/// Which code is pinned, and whether a sweep is wanted.
#[derive(Default)]
pub(crate) struct CodeUse {
    state: Mutex<UseState>,
    wake: Condvar,
}

#[derive(Default)]
pub(crate) struct UseState {
    /// Pins per code hash (lowercase hex).
    pins: HashMap<String, usize>,
    /// A sweep has been asked for since the last one started.
    dirty: bool,
}

impl CodeUse {
    fn lock(&self) -> MutexGuard<'_, UseState> {
        // The state is a counter map: a panic elsewhere cannot leave it half-changed.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn request_sweep(&self) {
        self.lock().dirty = true;
        self.wake.notify_all();
    }

    /// A new pin of `hex`, counted at once (for a store that keeps its own pins here,
    /// as the PostgreSQL one does).
    pub(crate) fn pin(self: &Arc<Self>, hex: &str) -> CodePin {
        *self.lock().pins.entry(hex.to_string()).or_default() += 1;
        CodePin {
            hex: hex.to_string(),
            uses: self.clone(),
        }
    }

    /// The hashes pinned now.
    pub(crate) fn pinned(&self) -> HashSet<String> {
        self.lock().pins.keys().cloned().collect()
    }

    /// Runs `f` on the pinned hashes while no pin can be taken or released (a sweep
    /// deciding what to remove).
    pub(crate) fn with_pins<T>(&self, f: impl FnOnce(&HashMap<String, usize>) -> T) -> T {
        f(&self.lock().pins)
    }

    /// Waits up to `timeout` for a sweep to be asked for; true if one was (the request
    /// is then taken).
    pub(crate) fn wait_for_sweep(&self, timeout: Duration) -> bool {
        let mut state = self.lock();
        if !state.dirty {
            state = self
                .wake
                .wait_timeout(state, timeout)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        std::mem::take(&mut state.dirty)
    }
}

/// Keeps one code's blob and unpacked tree from being collected while it lives.
pub struct CodePin {
    hex: String,
    uses: Arc<CodeUse>,
}

impl CodePin {
    /// The pinned code's SHA-256, lowercase hex.
    pub fn sha256_hex(&self) -> &str {
        &self.hex
    }
}

impl std::fmt::Debug for CodePin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CodePin").field(&self.hex).finish()
    }
}

impl Drop for CodePin {
    fn drop(&mut self) {
        let mut state = self.uses.lock();
        let last = match state.pins.get_mut(&self.hex) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            _ => {
                state.pins.remove(&self.hex);
                true
            }
        };
        // The last user gone: the code may now be unreferenced.
        if last {
            state.dirty = true;
            drop(state);
            self.uses.wake.notify_all();
        }
    }
}

/// Whether `name` is a code hash as the store names them (64 lowercase hex digits).
pub(crate) fn is_hash(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `name` is a temporary (`.tmp-`) or half-collected (`.gc-`) entry.
pub(crate) fn is_leftover(name: &str) -> bool {
    name.contains(".tmp-") || name.contains(".gc-")
}

/// Removes a file or a whole tree. Unpacked code is read-only (directories `0555`),
/// which stops an unprivileged owner from deleting its entries, so directories are
/// made writable first.
pub(crate) fn remove_path(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;

    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return fs::remove_file(path);
    }
    if meta.permissions().mode() & 0o700 != 0o700 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    }
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            remove_path(&entry.path())?;
        } else {
            fs::remove_file(entry.path())?;
        }
    }
    fs::remove_dir(path)
}

/// How often the collector looks whether its store is gone, when nothing wakes it.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Least time between the starts of two sweeps that were asked for. A sweep reads every
/// function's and version's row, and deleting functions asks for one each: spaced out, a
/// run of deletions (or of environments retired) costs two sweeps a second rather than one
/// after another for as long as it lasts. Nothing waits on a sweep.
pub(crate) const SWEEP_SPACING: Duration = Duration::from_millis(500);

/// Sleeps until [`SWEEP_SPACING`] has passed since the sweep that began at `last`.
pub(crate) fn space_out_sweep(last: Option<Instant>) {
    let left = last.map_or(Duration::ZERO, |l| {
        SWEEP_SPACING.saturating_sub(l.elapsed())
    });
    if !left.is_zero() {
        std::thread::sleep(left);
    }
}

/// Sweeps whenever asked, until the store is dropped.
pub(crate) fn collector(
    root: PathBuf,
    conn: Weak<Mutex<rusqlite::Connection>>,
    uses: Weak<CodeUse>,
    env_seal: crate::sealed_env::EnvSeal,
) {
    let mut last_sweep = None;
    loop {
        let Some(code) = uses.upgrade() else { return };
        {
            let mut state = code.lock();
            if !state.dirty {
                state = code
                    .wake
                    .wait_timeout(state, IDLE_CHECK)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            if !state.dirty {
                continue;
            }
        }
        // What is asked for meanwhile is this sweep's too: it reads the rows after the wait.
        space_out_sweep(last_sweep);
        code.lock().dirty = false;
        last_sweep = Some(Instant::now());
        let Some(conn) = conn.upgrade() else { return };
        let store = SqliteStore {
            room: Arc::new(crate::space::Room::new(&root)),
            root: root.clone(),
            conn,
            code,
            // A sweep changes no metadata: nobody to tell.
            changes: Arc::default(),
            env_seal: env_seal.clone(),
        };
        if let Err(e) = store.sweep_code() {
            tracing::warn!(error = %e, "code collection failed; it is retried on the next change");
        }
    }
}

/// Hashes of every code a row names: `$LATEST`'s, the code an update in progress
/// falls back to, every published version's, every layer version's, and the layers
/// `$LATEST` and the versions use (a deleted layer version's zip keeps serving the
/// functions that use it).
const REFERENCED: &str = "
SELECT json_extract(data, '$.code.sha256_hex') FROM functions
UNION SELECT json_extract(data, '$.previous_code.sha256_hex') FROM functions
UNION SELECT json_extract(data, '$.code.sha256_hex') FROM versions
UNION SELECT json_extract(data, '$.code.sha256_hex') FROM layer_versions
UNION SELECT json_extract(l.value, '$.code.sha256_hex')
    FROM functions, json_each(functions.data, '$.layers') l
UNION SELECT json_extract(l.value, '$.code.sha256_hex')
    FROM versions, json_each(versions.data, '$.layers') l
";

/// Lambda's `TotalCodeSize`: the zip of every `$LATEST`, of every published version
/// (a version of unchanged code counts again) and of every layer version ("deployment
/// packages and layer archives", in the model's words).
const ACCOUNT_CODE_SIZE: &str = "
SELECT (SELECT COALESCE(SUM(json_extract(data, '$.code.size')), 0) FROM functions)
     + (SELECT COALESCE(SUM(json_extract(data, '$.code.size')), 0) FROM versions)
     + (SELECT COALESCE(SUM(json_extract(data, '$.code.size')), 0) FROM layer_versions)";

/// Code hashes that rows name, their layers' included.
fn referenced(conn: &rusqlite::Connection) -> Result<HashSet<String>, StoreError> {
    let mut stmt = conn.prepare_cached(REFERENCED)?;
    let rows = stmt.query_map([], |r| r.get::<_, Option<String>>(0))?;
    let mut out = HashSet::new();
    for row in rows {
        out.extend(row?);
    }
    out.extend(named_layers(conn)?.1);
    Ok(out)
}

/// Every row's `layers` (a JSON array), for [`crate::layer_trees::named_by_rows`].
const LAYER_LISTS: &str = "
SELECT json_extract(data, '$.layers') FROM functions
UNION ALL SELECT json_extract(data, '$.layers') FROM versions";

/// The compositions and the layer code that rows name (see `layer_trees.rs`).
fn named_layers(
    conn: &rusqlite::Connection,
) -> Result<(HashSet<String>, HashSet<String>), StoreError> {
    let mut stmt = conn.prepare_cached(LAYER_LISTS)?;
    let rows = stmt.query_map([], |r| r.get::<_, Option<String>>(0))?;
    let mut lists = Vec::new();
    for row in rows {
        lists.extend(row?);
    }
    Ok(crate::layer_trees::named_by_rows(lists))
}

impl SqliteStore {
    /// Pins code about to be stored (see [`SqliteStore::put_zip`]).
    pub(crate) fn pin(&self, hex: &str) -> CodePin {
        *self.code.lock().pins.entry(hex.to_string()).or_default() += 1;
        CodePin {
            hex: hex.to_string(),
            uses: self.code.clone(),
        }
    }

    /// Pins stored code for use (unpacking it, running it); `None` if it is not stored
    /// (never was, or was collected because nothing referenced it any more).
    pub(crate) fn pin_stored(&self, sha256_hex: &str) -> Option<CodePin> {
        let mut state = self.code.lock();
        if !is_hash(sha256_hex) || !self.zip_path(sha256_hex).is_file() {
            return None;
        }
        *state.pins.entry(sha256_hex.to_string()).or_default() += 1;
        Some(CodePin {
            hex: sha256_hex.to_string(),
            uses: self.code.clone(),
        })
    }

    /// Asks the collector for a sweep: call after a row stopped naming some code.
    pub(crate) fn collect_code(&self) {
        self.code.request_sweep();
    }

    /// Code hashes that rows name.
    pub(crate) fn referenced_code(&self) -> Result<HashSet<String>, StoreError> {
        referenced(&self.conn())
    }

    /// Lambda's `TotalCodeSize`: the zip size of each function's `$LATEST` plus that of
    /// each published version and each layer version, as Lambda counts it (not the bytes stored: versions share
    /// their code's one copy).
    pub(crate) fn total_code_size(&self) -> Result<u64, StoreError> {
        let size: i64 = self.conn().query_row(ACCOUNT_CODE_SIZE, [], |r| r.get(0))?;
        Ok(size.max(0) as u64)
    }

    /// Hashes with a blob or an unpacked tree on disk.
    pub(crate) fn stored_code(&self) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        for entry in fs::read_dir(self.root.join("blobs"))? {
            let name = entry?.file_name();
            if let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".zip")) {
                if is_hash(hex) {
                    out.insert(hex.to_string());
                }
            }
        }
        for entry in fs::read_dir(self.root.join("code"))? {
            let name = entry?.file_name();
            if let Some(hex) = name.to_str().filter(|n| is_hash(n)) {
                out.insert(hex.to_string());
            }
        }
        Ok(out)
    }

    /// Removes the blob and tree of every stored code that no row names and no pin
    /// holds; returns their hashes.
    pub(crate) fn sweep_code(&self) -> Result<Vec<String>, StoreError> {
        // Listed before deciding: code stored after this is left for the next sweep.
        let candidates = self.stored_code()?;
        let mut trash = Vec::new();
        let mut collected = Vec::new();
        let compositions;
        {
            // The database before the pins, always: a pin may be released (and this lock
            // taken) by code that holds the database, never the other way round.
            let conn = self.conn();
            compositions = named_layers(&conn)?.0;
            let state = self.code.lock();
            let referenced = referenced(&conn)?;
            for hex in candidates {
                if referenced.contains(&hex) || state.pins.contains_key(&hex) {
                    continue;
                }
                let mut moved = false;
                for path in [self.zip_path(&hex), self.root.join("code").join(&hex)] {
                    if fs::symlink_metadata(&path).is_err() {
                        continue;
                    }
                    let parent = path.parent().unwrap_or(&self.root);
                    let to = parent.join(format!(".{hex}.gc-{}", crate::blobs::unique_suffix()));
                    // A failure leaves this code for the next sweep (or the next start).
                    match fs::rename(&path, &to) {
                        Ok(()) => {
                            trash.push(to);
                            moved = true;
                        }
                        Err(e) => {
                            tracing::warn!(path = %path.display(), error = %e, "could not collect code")
                        }
                    }
                }
                if moved {
                    collected.push(hex);
                }
            }
        }
        for path in trash {
            if let Err(e) = remove_path(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove collected code");
            }
        }
        if !collected.is_empty() {
            tracing::debug!(count = collected.len(), "collected unreferenced code");
        }
        let trees = crate::layer_trees::sweep(
            &self.root.join(crate::layer_trees::OPT_DIR),
            &compositions,
            &self.code,
        )?;
        if !trees.is_empty() {
            tracing::debug!(count = trees.len(), "collected unused layer trees");
        }
        Ok(collected)
    }

    /// The `/opt` composed from pinned layers (in the function's order), built on first
    /// use, and a pin of it for as long as an environment uses it (see `layer_trees.rs`).
    pub(crate) fn composed(&self, layers: &[CodePin]) -> Result<(CodePin, PathBuf), StoreError> {
        let key = crate::layer_trees::composition_key(layers.iter().map(|p| p.sha256_hex()));
        let pin = self.pin(&key);
        let mut trees = Vec::with_capacity(layers.len());
        let opt = self.root.join(crate::layer_trees::OPT_DIR);
        if !opt.join(&key).is_dir() {
            for layer in layers {
                trees.push(self.unpacked(layer)?);
            }
        }
        let dir = crate::layer_trees::compose(&opt, &key, &trees)?;
        Ok((pin, dir))
    }

    /// Removes what an earlier process left half done: temporary zips and trees of a
    /// store or unpack that never finished, and code a sweep had moved aside. Only at
    /// open, before this process has any of its own.
    pub(crate) fn remove_code_leftovers(&self) -> Result<usize, StoreError> {
        let mut removed = 0;
        for dir in [self.root.join("blobs"), self.root.join("code")] {
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                if entry.file_name().to_str().is_some_and(is_leftover) {
                    remove_path(&entry.path())?;
                    removed += 1;
                }
            }
        }
        removed +=
            crate::layer_trees::remove_leftovers(&self.root.join(crate::layer_trees::OPT_DIR))?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::tests::make_zip;
    use crate::db::tests::sample;
    use hearth_model::function::CodeRef;

    /// A store without the background collector, so each test decides when to sweep.
    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open_with(
            dir.path(),
            &crate::seal::SealKey::from_bytes([1; 32]),
            false,
        )
        .expect("open");
        (dir, store)
    }

    /// Stores (and unpacks) a distinct zip; the pin is released.
    fn code(store: &SqliteStore, tag: &str) -> CodeRef {
        let zip = make_zip(&[("bootstrap", tag.as_bytes(), 0o755)]);
        let (code, pin) = store.put_zip(&zip).expect("put");
        store.unpacked(&pin).expect("unpack");
        code
    }

    /// Publishes `$LATEST` of `name` as its next version.
    fn publish(store: &SqliteStore, name: &str) {
        let outcome = store
            .publish_with(
                name,
                Box::new(|latest, _, next| {
                    Some(crate::Publish::New(hearth_model::FunctionConfig {
                        version: next.to_string(),
                        ..latest.clone()
                    }))
                }),
            )
            .expect("publish");
        assert!(matches!(outcome, crate::Edited::Done(_)), "{outcome:?}");
    }

    fn function(name: &str, code: &CodeRef) -> hearth_model::FunctionConfig {
        let mut f = sample(name);
        f.code = code.clone();
        f
    }

    fn on_disk(store: &SqliteStore, c: &CodeRef) -> (bool, bool) {
        (
            store.zip_path(&c.sha256_hex).is_file(),
            store.root().join("code").join(&c.sha256_hex).is_dir(),
        )
    }

    #[test]
    fn keeps_what_rows_or_pins_name_and_collects_the_rest() {
        let (_dir, store) = store();
        let latest = code(&store, "latest");
        let versioned = code(&store, "versioned");
        let previous = code(&store, "previous");
        let pinned = code(&store, "pinned");
        let orphan = code(&store, "orphan");

        store
            .insert_function(&function("f", &versioned))
            .expect("insert");
        publish(&store, "f");
        store
            .metadata()
            .update_function("f", |f| {
                f.code = latest.clone();
                f.previous_code = Some(previous.clone());
                Ok::<_, ()>(())
            })
            .expect("db")
            .expect("exists")
            .expect("updated");
        let pin = store.pin_stored(&pinned.sha256_hex).expect("stored");

        assert_eq!(
            store.sweep_code().expect("sweep"),
            vec![orphan.sha256_hex.clone()]
        );
        assert_eq!(on_disk(&store, &orphan), (false, false));
        for kept in [&latest, &versioned, &previous, &pinned] {
            assert_eq!(on_disk(&store, kept), (true, true), "{kept:?}");
        }
        // Nothing moved aside is left behind.
        let names: Vec<_> = fs::read_dir(store.root().join("code"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");

        // The last pin going, the update settling, the version and then the function
        // being deleted each free their code.
        drop(pin);
        assert_eq!(
            store.sweep_code().expect("sweep"),
            vec![pinned.sha256_hex.clone()]
        );
        store
            .metadata()
            .update_function("f", |f| {
                f.previous_code = None;
                Ok::<_, ()>(())
            })
            .expect("db")
            .expect("exists")
            .expect("updated");
        assert_eq!(
            store.sweep_code().expect("sweep"),
            vec![previous.sha256_hex.clone()]
        );
        assert!(store.delete_version("f", 1).expect("delete"));
        assert_eq!(
            store.sweep_code().expect("sweep"),
            vec![versioned.sha256_hex.clone()]
        );
        assert!(store.delete_function("f").expect("delete"));
        assert_eq!(
            store.sweep_code().expect("sweep"),
            vec![latest.sha256_hex.clone()]
        );
        assert!(store.stored_code().expect("list").is_empty());
    }

    #[test]
    fn a_functions_layers_and_their_composition_stay_while_it_names_them() {
        let (_dir, store) = store();
        let own = code(&store, "own");
        let first = code(&store, "layer one");
        let second = code(&store, "layer two");
        let mut f = function("f", &own);
        f.layers = [&first, &second]
            .iter()
            .enumerate()
            .map(|(i, c)| hearth_model::function::LayerRef {
                arn: format!("arn:aws:lambda:us-east-1:000000000000:layer:l:{i}"),
                code: (*c).clone(),
            })
            .collect();
        store.insert_function(&f).expect("insert");
        let pins: Vec<_> = [&first, &second]
            .iter()
            .map(|c| store.pin_stored(&c.sha256_hex).expect("stored"))
            .collect();
        let (opt_pin, opt) = store.composed(&pins).expect("composed");
        assert_eq!(
            opt,
            store
                .root()
                .join("opt")
                .join(crate::layer_trees::composition_key([
                    first.sha256_hex.as_str(),
                    second.sha256_hex.as_str()
                ]))
        );
        // The later layer's bootstrap wins.
        assert_eq!(fs::read(opt.join("bootstrap")).expect("read"), b"layer two");
        drop((opt_pin, pins));
        // Unpinned, but named by the function's row: nothing goes.
        assert!(store.sweep_code().expect("sweep").is_empty());
        assert!(opt.is_dir());
        assert_eq!(on_disk(&store, &first), (true, true));
        // An unnamed composition that is pinned stays until its pin goes.
        let only_second = [store.pin_stored(&second.sha256_hex).expect("stored")];
        let (pin, other) = store.composed(&only_second).expect("composed");
        drop(only_second);
        assert!(store.sweep_code().expect("sweep").is_empty());
        assert!(other.is_dir());
        drop(pin);
        assert!(store.sweep_code().expect("sweep").is_empty());
        assert!(!other.exists());
        assert!(opt.is_dir());
        // The function gone, its layers and their composition go with its code.
        assert!(store.delete_function("f").expect("delete"));
        let mut gone = store.sweep_code().expect("sweep");
        gone.sort();
        let mut want = vec![own.sha256_hex, first.sha256_hex, second.sha256_hex];
        want.sort();
        assert_eq!(gone, want);
        assert!(!opt.exists());
    }

    #[test]
    fn code_shared_by_two_functions_stays_until_both_are_gone() {
        let (_dir, store) = store();
        let shared = code(&store, "shared");
        store.insert_function(&function("a", &shared)).expect("a");
        store.insert_function(&function("b", &shared)).expect("b");
        store.delete_function("a").expect("delete");
        assert!(store.sweep_code().expect("sweep").is_empty());
        store.delete_function("b").expect("delete");
        assert_eq!(store.sweep_code().expect("sweep"), vec![shared.sha256_hex]);
    }

    #[test]
    fn a_pin_taken_before_the_row_is_written_protects_new_code() {
        let (_dir, store) = store();
        let zip = make_zip(&[("bootstrap", b"new", 0o755)]);
        let (code, pin) = store.put_zip(&zip).expect("put");
        assert!(store.sweep_code().expect("sweep").is_empty());
        store
            .insert_function(&function("f", &code))
            .expect("insert");
        drop(pin);
        assert!(store.sweep_code().expect("sweep").is_empty());
        assert!(on_disk(&store, &code).0);
    }

    #[test]
    fn open_removes_leftovers_and_unreferenced_code() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (kept, orphan) = {
            let store = SqliteStore::open_with(
                dir.path(),
                &crate::seal::SealKey::from_bytes([1; 32]),
                false,
            )
            .expect("open");
            let kept = code(&store, "kept");
            store
                .insert_function(&function("f", &kept))
                .expect("insert");
            // What a crash leaves: an orphan blob and tree (the row never written), a
            // half-written zip, a half-extracted tree (read-only, as extraction leaves
            // it) and code a sweep had moved aside.
            let zip = make_zip(&[("bootstrap", b"orphan", 0o755)]);
            let (orphan, pin) = store.put_zip(&zip).expect("put");
            store.unpacked(&pin).expect("unpack");
            // The crash: the pin is never released.
            std::mem::forget(pin);
            let tmp = dir
                .path()
                .join("code")
                .join(format!(".{}.tmp-1-0", orphan.sha256_hex));
            fs::create_dir_all(tmp.join("lib")).expect("mkdir");
            fs::write(tmp.join("lib/x"), b"x").expect("write");
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(tmp.join("lib"), fs::Permissions::from_mode(0o555)).expect("chmod");
            fs::write(
                dir.path()
                    .join("blobs")
                    .join(format!("{}.tmp-1-0", orphan.sha256_hex)),
                b"z",
            )
            .expect("write");
            fs::create_dir(
                dir.path()
                    .join("code")
                    .join(format!(".{}.gc-1-1", orphan.sha256_hex)),
            )
            .expect("mkdir");
            (kept, orphan)
        };
        let store = SqliteStore::open_with(
            dir.path(),
            &crate::seal::SealKey::from_bytes([1; 32]),
            false,
        )
        .expect("reopen");
        assert_eq!(on_disk(&store, &kept), (true, true));
        assert_eq!(on_disk(&store, &orphan), (false, false));
        for sub in ["blobs", "code"] {
            let names: Vec<_> = fs::read_dir(dir.path().join(sub))
                .expect("list")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(names.len(), 1, "{sub}: {names:?}");
        }
    }
}
