//! A function's layers composed into one tree, its `/opt`: `opt/<key>/` beside the
//! unpacked code, where `<key>` names the ordered list of layer hashes
//! ([`composition_key`]). Each layer is unpacked once (as any code, `code/<sha>/`), then
//! its files are linked into the composition in the function's order, a later layer's
//! file replacing an earlier one's, as Lambda extracts layers into `/opt` one after the
//! other. A composition is built once, read-only, and shared by every environment of
//! every function version with the same layers in the same order: a cold start with
//! layers costs what one without does once the composition exists.
//!
//! # Collection
//! A composition is kept while a row names it (a function's `$LATEST` or a published
//! version whose `layers` give its key) or while it is pinned: an environment pins its
//! composition's key, in the same pin map as code hashes (a key is a SHA-256 too, and
//! never the hash of a stored zip, so the code sweep never mistakes one for the other),
//! along with each of its layers' code. The code sweep removes the other compositions
//! the way it removes unused code trees: decided under the pin lock, moved aside there,
//! deleted after. The layer blobs themselves are kept by the rows that name them
//! (`REFERENCED` in `code_gc.rs`) and by those pins.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hearth_model::function::LayerRef;
use sha2::{Digest, Sha256};

use crate::blobs::unique_suffix;
use crate::code_gc::{is_hash, is_leftover, remove_path, CodeUse};
use crate::StoreError;

/// The name of the directory, under a store's root, that holds the compositions.
pub(crate) const OPT_DIR: &str = "opt";

/// The key of the `/opt` composed from layers with these code hashes (lowercase hex),
/// in this order: 64 hex digits, so that it is pinned like code. A different order is a
/// different composition, since a later layer's files win.
pub fn composition_key<'a>(layer_hashes: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    // A prefix of its own, so that a key is never a code hash of anything stored.
    h.update(b"hearth-opt-v1\n");
    for hex in layer_hashes {
        h.update(hex.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// The keys of the compositions and the layer code hashes that rows' `layers` (as
/// stored, a JSON array of [`LayerRef`]) name; a row's value that does not parse is
/// skipped with a warning (it names nothing this store can use).
pub(crate) fn named_by_rows(
    layer_lists: impl IntoIterator<Item = String>,
) -> (HashSet<String>, HashSet<String>) {
    let mut keys = HashSet::new();
    let mut hashes = HashSet::new();
    for json in layer_lists {
        let layers: Vec<LayerRef> = match serde_json::from_str(&json) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "a row's layers cannot be read");
                continue;
            }
        };
        if layers.is_empty() {
            continue;
        }
        keys.insert(composition_key(
            layers.iter().map(|l| l.code.sha256_hex.as_str()),
        ));
        hashes.extend(layers.into_iter().map(|l| l.code.sha256_hex));
    }
    (keys, hashes)
}

/// The composition `key` under `opt_root`, built from the unpacked `trees` (in order)
/// on first use. Concurrent first uses each build their own and one rename wins, as
/// for unpacked code.
pub(crate) fn compose(
    opt_root: &Path,
    key: &str,
    trees: &[PathBuf],
) -> Result<PathBuf, StoreError> {
    let dir = opt_root.join(key);
    if dir.exists() {
        return Ok(dir);
    }
    fs::create_dir_all(opt_root)?;
    let tmp = opt_root.join(format!(".{key}.tmp-{}", unique_suffix()));
    let built = build(&tmp, trees).and_then(|()| match fs::rename(&tmp, &dir) {
        Ok(()) => Ok(()),
        Err(_) if dir.exists() => Ok(()),
        Err(e) => Err(e),
    });
    if let Err(e) = remove_path(&tmp) {
        tracing::warn!(path = %tmp.display(), error = %e, "could not remove a temporary layer tree");
    }
    built.map(|()| dir).map_err(StoreError::from)
}

/// Lays `trees` over each other into `dest`, then makes every directory read-only (the
/// files are read-only already: they are the unpacked layers' own, linked).
fn build(dest: &Path, trees: &[PathBuf]) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;

    fs::create_dir_all(dest)?;
    let mut dirs = vec![dest.to_path_buf()];
    for tree in trees {
        overlay(tree, dest, &mut dirs)?;
    }
    for d in dirs {
        // A directory a later layer replaced with a file is gone, or a file now.
        if fs::symlink_metadata(&d).is_ok_and(|m| m.is_dir()) {
            fs::set_permissions(&d, fs::Permissions::from_mode(0o555))?;
        }
    }
    Ok(())
}

/// Puts every file of `src` at the same place under `dest`, replacing what is there
/// (a file, or a directory where the later layer has a file, and the other way round).
fn overlay(src: &Path, dest: &Path, dirs: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let existing = fs::symlink_metadata(&to).ok();
        if entry.file_type()?.is_dir() {
            match existing {
                Some(m) if m.is_dir() => {}
                Some(_) => {
                    fs::remove_file(&to)?;
                    fs::create_dir(&to)?;
                    dirs.push(to.clone());
                }
                None => {
                    fs::create_dir(&to)?;
                    dirs.push(to.clone());
                }
            }
            overlay(&from, &to, dirs)?;
            continue;
        }
        match existing {
            Some(m) if m.is_dir() => remove_path(&to)?,
            Some(_) => fs::remove_file(&to)?,
            None => {}
        }
        // A hard link costs no copy and keeps the bytes should the layer's own tree be
        // collected first; a copy where linking is not possible.
        if fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

/// Compositions on disk (their keys).
fn stored(opt_root: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(opt_root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        if let Some(name) = entry?.file_name().to_str().filter(|n| is_hash(n)) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// Removes every composition under `opt_root` that `keep` does not name and no pin
/// holds; returns their keys. Decided and moved aside under the pin lock, deleted after.
pub(crate) fn sweep(
    opt_root: &Path,
    keep: &HashSet<String>,
    uses: &CodeUse,
) -> Result<Vec<String>, StoreError> {
    let candidates = stored(opt_root)?;
    let (collected, trash) = uses.with_pins(|pins| {
        let mut collected = Vec::new();
        let mut trash = Vec::new();
        for key in candidates {
            if keep.contains(&key) || pins.contains_key(&key) {
                continue;
            }
            let from = opt_root.join(&key);
            let to = opt_root.join(format!(".{key}.gc-{}", unique_suffix()));
            match fs::rename(&from, &to) {
                Ok(()) => {
                    trash.push(to);
                    collected.push(key);
                }
                Err(e) => {
                    tracing::warn!(path = %from.display(), error = %e, "could not collect a layer tree")
                }
            }
        }
        (collected, trash)
    });
    for path in trash {
        if let Err(e) = remove_path(&path) {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a layer tree");
        }
    }
    Ok(collected)
}

/// Removes temporary and half-collected compositions an earlier process left.
pub(crate) fn remove_leftovers(opt_root: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let entries = match fs::read_dir(opt_root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_str().is_some_and(is_leftover) {
            remove_path(&entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;

    fn tree(root: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = root.join(name);
        for (path, body) in files {
            let p = dir.join(path);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(&p, body).expect("write");
            fs::set_permissions(&p, fs::Permissions::from_mode(0o444)).expect("chmod");
        }
        dir
    }

    #[test]
    fn a_later_layer_wins_and_the_tree_is_read_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = tree(
            tmp.path(),
            "a",
            &[
                ("python/shared.py", "a"),
                ("python/only_a.py", "a"),
                ("x", "file in a"),
            ],
        );
        let b = tree(
            tmp.path(),
            "b",
            &[
                ("python/shared.py", "b"),
                ("bin/tool", "b"),
                ("x/inside", "dir in b"),
            ],
        );
        let opt = tmp.path().join("opt");
        let key = composition_key(["aa", "bb"]);
        let dir = compose(&opt, &key, &[a, b]).expect("compose");
        assert_eq!(dir, opt.join(&key));
        let read = |p: &str| fs::read_to_string(dir.join(p)).expect("read");
        assert_eq!(read("python/shared.py"), "b");
        assert_eq!(read("python/only_a.py"), "a");
        assert_eq!(read("bin/tool"), "b");
        assert_eq!(read("x/inside"), "dir in b");
        let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o555);
        assert_eq!(mode(&dir.join("python")), 0o555);
        assert_eq!(mode(&dir.join("python/shared.py")), 0o444);
        // Nothing temporary is left beside it.
        let names: Vec<_> = fs::read_dir(&opt)
            .expect("list")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        assert_eq!(names, vec![key]);
    }

    #[test]
    fn a_later_layers_file_replaces_a_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = tree(tmp.path(), "a", &[("x/inside", "dir in a"), ("y", "kept")]);
        let b = tree(tmp.path(), "b", &[("x", "file in b")]);
        let opt = tmp.path().join("opt");
        let dir = compose(&opt, &composition_key(["a", "b"]), &[a, b]).expect("compose");
        assert_eq!(
            fs::read_to_string(dir.join("x")).expect("read"),
            "file in b"
        );
        let mode = fs::metadata(dir.join("x"))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o444);
        assert_eq!(fs::read_to_string(dir.join("y")).expect("read"), "kept");
    }

    #[test]
    fn the_key_depends_on_the_order() {
        assert_ne!(composition_key(["a", "b"]), composition_key(["b", "a"]));
        assert_eq!(composition_key(["a", "b"]), composition_key(["a", "b"]));
        assert!(is_hash(&composition_key(["a"])));
    }

    #[test]
    fn a_composition_is_built_once() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = tree(tmp.path(), "a", &[("lib/x.so", "1")]);
        let opt = tmp.path().join("opt");
        let key = composition_key(["aa"]);
        let first = compose(&opt, &key, std::slice::from_ref(&a)).expect("first");
        let inode = |p: &Path| {
            use std::os::unix::fs::MetadataExt;
            fs::metadata(p).expect("meta").ino()
        };
        let before = inode(&first);
        // The layer's tree gone, a second use still finds the composition as it was.
        remove_path(&a).expect("remove layer");
        let second = compose(&opt, &key, &[a]).expect("second");
        assert_eq!(second, first);
        assert_eq!(inode(&second), before);
        assert_eq!(
            fs::read_to_string(second.join("lib/x.so")).expect("read"),
            "1"
        );
    }

    #[test]
    fn sweep_keeps_what_rows_or_pins_name() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = tree(tmp.path(), "a", &[("f", "1")]);
        let opt = tmp.path().join("opt");
        let uses = Arc::new(CodeUse::default());
        let named = composition_key(["n"]);
        let pinned = composition_key(["p"]);
        let unused = composition_key(["u"]);
        for key in [&named, &pinned, &unused] {
            compose(&opt, key, std::slice::from_ref(&a)).expect("compose");
        }
        let pin = uses.pin(&pinned);
        let keep: HashSet<String> = [named.clone()].into();
        assert_eq!(
            sweep(&opt, &keep, &uses).expect("sweep"),
            vec![unused.clone()]
        );
        assert!(opt.join(&named).is_dir());
        assert!(opt.join(&pinned).is_dir());
        assert!(!opt.join(&unused).exists());
        drop(pin);
        assert_eq!(sweep(&opt, &keep, &uses).expect("sweep"), vec![pinned]);
        assert_eq!(remove_leftovers(&opt).expect("leftovers"), 0);
    }

    #[test]
    fn rows_name_their_composition_and_layers() {
        let layer = |hex: &str| {
            serde_json::json!({"arn": format!("arn:aws:lambda:us-east-1:000000000000:layer:{hex}:1"),
                "code": {"sha256_hex": hex, "sha256_b64": "", "size": 1, "unzipped_size": 1}})
        };
        let rows = vec![
            serde_json::json!([layer("a1"), layer("b2")]).to_string(),
            serde_json::json!([]).to_string(),
            "not json".to_string(),
        ];
        let (keys, hashes) = named_by_rows(rows);
        assert_eq!(keys, [composition_key(["a1", "b2"])].into());
        assert_eq!(hashes, ["a1".to_string(), "b2".to_string()].into());
    }
}
