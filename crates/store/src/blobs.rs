//! Content-addressed code: zips stored as `blobs/<sha256>.zip`, unpacked once into
//! `code/<sha256>/` (read-only) and shared by every environment running that code.

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hearth_model::function::CodeRef;
use hearth_model::limits::UNZIPPED_MAX_BYTES;
use sha2::{Digest, Sha256};

use crate::{Store, StoreError};

/// What a zip claims to hold, checked before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipInfo {
    pub entries: usize,
    pub unzipped_size: u64,
}

/// Parses a zip's central directory: valid archive, no entry escaping the root, total
/// declared size within Lambda's unzipped limit.
pub fn inspect_zip(bytes: &[u8]) -> Result<ZipInfo, StoreError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| StoreError::BadZip(e.to_string()))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| StoreError::BadZip(e.to_string()))?;
        if entry.enclosed_name().is_none() {
            return Err(StoreError::BadZip(format!(
                "entry {:?} escapes the archive root",
                entry.name()
            )));
        }
        total = total.saturating_add(entry.size());
    }
    if total > UNZIPPED_MAX_BYTES {
        return Err(StoreError::TooLarge {
            size: total,
            limit: UNZIPPED_MAX_BYTES,
        });
    }
    Ok(ZipInfo {
        entries: archive.len(),
        unzipped_size: total,
    })
}

impl Store {
    /// Checks and stores a zip; returns its identity. Storing the same bytes twice is a
    /// no-op.
    pub fn put_zip(&self, bytes: &[u8]) -> Result<CodeRef, StoreError> {
        let info = inspect_zip(bytes)?;
        let digest = Sha256::digest(bytes);
        let hex = hex::encode(digest);
        let path = self.zip_path(&hex);
        if !path.exists() {
            let tmp = path.with_extension(format!("tmp-{}", unique_suffix()));
            let mut f = fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
        }
        Ok(CodeRef {
            sha256_b64: BASE64.encode(digest),
            sha256_hex: hex,
            size: bytes.len() as u64,
            unzipped_size: info.unzipped_size,
        })
    }

    pub fn zip_path(&self, sha256_hex: &str) -> PathBuf {
        self.root().join("blobs").join(format!("{sha256_hex}.zip"))
    }

    /// The unpacked code directory for a blob, extracting it on first use.
    pub fn unpacked(&self, sha256_hex: &str) -> Result<PathBuf, StoreError> {
        let dir = self.root().join("code").join(sha256_hex);
        if dir.exists() {
            return Ok(dir);
        }
        let bytes = fs::read(self.zip_path(sha256_hex))?;
        // Per call, not per process: concurrent first invocations of one code (a burst
        // of cold starts) each extract into their own directory, and one rename wins.
        let tmp = self
            .root()
            .join("code")
            .join(format!(".{sha256_hex}.tmp-{}", unique_suffix()));
        extract(&bytes, &tmp)?;
        match fs::rename(&tmp, &dir) {
            Ok(()) => {}
            // Another caller finished the same extraction first; theirs is identical.
            Err(_) if dir.exists() => fs::remove_dir_all(&tmp)?,
            Err(e) => return Err(e.into()),
        }
        Ok(dir)
    }
}

/// `<pid>-<n>`: unique among the temporary names this process uses.
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Extracts with the unix modes the zip records (so `bootstrap` stays executable) and
/// write bits removed: code is read-only to functions. Actual bytes written are capped,
/// whatever sizes the headers declare.
fn extract(bytes: &[u8], dest: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;

    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| StoreError::BadZip(e.to_string()))?;
    fs::create_dir_all(dest)?;
    let mut budget = UNZIPPED_MAX_BYTES;
    let mut dirs = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| StoreError::BadZip(e.to_string()))?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(StoreError::BadZip(format!(
                "entry {:?} escapes the archive root",
                entry.name()
            )));
        };
        let out = dest.join(rel);
        if entry.is_dir() {
            fs::create_dir_all(&out)?;
            dirs.push(out);
            continue;
        }
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent)?;
        }
        let mode = entry.unix_mode().unwrap_or(0o644);
        let mut file = fs::File::create(&out)?;
        let written = std::io::copy(&mut (&mut entry).take(budget + 1), &mut file)?;
        if written > budget {
            return Err(StoreError::TooLarge {
                size: UNZIPPED_MAX_BYTES + 1,
                limit: UNZIPPED_MAX_BYTES,
            });
        }
        budget -= written;
        // Executable bits are kept; everything becomes read-only and world-readable.
        let perm = (mode & 0o555) | 0o444;
        fs::set_permissions(&out, fs::Permissions::from_mode(perm))?;
    }
    for d in dirs {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o555))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn make_zip(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            for (name, data, mode) in files {
                let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
                w.start_file(*name, opts).expect("start");
                w.write_all(data).expect("write");
            }
            w.finish().expect("finish");
        }
        buf.into_inner()
    }

    #[test]
    fn stores_and_unpacks_once_keeping_exec_bit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let zip = make_zip(&[
            ("bootstrap", b"#!/bin/sh\n", 0o755),
            ("lib/a.txt", b"hello", 0o644),
        ]);
        let code = store.put_zip(&zip).expect("put");
        assert_eq!(code.size, zip.len() as u64);
        assert_eq!(code.unzipped_size, 15);
        let again = store.put_zip(&zip).expect("put again");
        assert_eq!(code, again);
        let root = store.unpacked(&code.sha256_hex).expect("unpack");
        let mode = fs::metadata(root.join("bootstrap"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o555);
        assert_eq!(fs::read(root.join("lib/a.txt")).expect("read"), b"hello");
        assert_eq!(store.unpacked(&code.sha256_hex).expect("cached"), root);
    }

    #[test]
    fn concurrent_first_unpacks_all_succeed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let zip = make_zip(&[("bootstrap", b"#!/bin/sh\n", 0o755)]);
        let code = store.put_zip(&zip).expect("put");
        let paths: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| store.unpacked(&code.sha256_hex)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread").expect("unpack"))
                .collect()
        });
        assert!(paths.iter().all(|p| *p == paths[0]));
        assert!(paths[0].join("bootstrap").is_file());
        // No temporary directory is left next to the code.
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("code"))
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn rejects_garbage_and_traversal() {
        assert!(matches!(
            inspect_zip(b"not a zip"),
            Err(StoreError::BadZip(_))
        ));
        let evil = make_zip(&[("../escape", b"x", 0o644)]);
        assert!(matches!(inspect_zip(&evil), Err(StoreError::BadZip(_))));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary bytes, or a valid zip with bytes flipped, never panic the inspector.
        #[test]
        fn inspect_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = inspect_zip(&bytes);
        }

        #[test]
        fn corrupted_zip_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut buf = Cursor::new(Vec::new());
            {
                let mut w = zip::ZipWriter::new(&mut buf);
                w.start_file("a.py", zip::write::SimpleFileOptions::default()).expect("start");
                w.write_all(b"print('hello')\n").expect("write");
                w.finish().expect("finish");
            }
            let mut bytes = buf.into_inner();
            for (at, value) in flips {
                let n = bytes.len();
                bytes[at % n] = value;
            }
            if inspect_zip(&bytes).is_ok() {
                let dir = tempfile::tempdir().expect("tempdir");
                let _ = extract(&bytes, &dir.path().join("x"));
            }
        }
    }
}
