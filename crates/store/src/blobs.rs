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

use crate::code_gc::remove_path;
use crate::{CodePin, SqliteStore, StoreError};

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

impl SqliteStore {
    /// Checks and stores a zip; returns its identity and a pin that keeps it from being
    /// collected until the caller has written the row that names it. Storing the same
    /// bytes twice is a no-op.
    pub(crate) fn put_zip(&self, bytes: &[u8]) -> Result<(CodeRef, CodePin), StoreError> {
        let info = inspect_zip(bytes)?;
        let digest = Sha256::digest(bytes);
        let hex = hex::encode(digest);
        let pin = self.pin(&hex);
        let path = self.zip_path(&hex);
        if !path.exists() {
            let tmp = path.with_extension(format!("tmp-{}", unique_suffix()));
            // Private (0600): only Hearth reads a stored zip; the unpacked code is what
            // environments see.
            let written = crate::private::create_file(&tmp).and_then(|mut f| {
                f.write_all(bytes)?;
                f.sync_all()
            });
            if let Err(e) = written.and_then(|()| fs::rename(&tmp, &path)) {
                let _ = fs::remove_file(&tmp);
                return Err(e.into());
            }
        }
        let code = CodeRef {
            sha256_b64: BASE64.encode(digest),
            sha256_hex: hex,
            size: bytes.len() as u64,
            unzipped_size: info.unzipped_size,
        };
        Ok((code, pin))
    }

    pub(crate) fn zip_path(&self, sha256_hex: &str) -> PathBuf {
        self.root().join("blobs").join(format!("{sha256_hex}.zip"))
    }

    /// The unpacked code directory of pinned code, extracting it on first use. A zip
    /// that cannot be extracted fails with [`StoreError::BadZip`] naming the entry and
    /// the problem, and leaves nothing behind.
    pub(crate) fn unpacked(&self, pin: &CodePin) -> Result<PathBuf, StoreError> {
        let sha256_hex = pin.sha256_hex();
        let dir = self.root().join("code").join(sha256_hex);
        if dir.exists() {
            return Ok(dir);
        }
        let zip = fs::File::open(self.zip_path(sha256_hex))?;
        // Per call, not per process: concurrent first invocations of one code (a burst
        // of cold starts) each extract into their own directory, and one rename wins.
        let tmp = self
            .root()
            .join("code")
            .join(format!(".{sha256_hex}.tmp-{}", unique_suffix()));
        let done = extract(std::io::BufReader::new(zip), &tmp).and_then(|()| {
            match fs::rename(&tmp, &dir) {
                Ok(()) => Ok(()),
                // Another caller finished the same extraction first; theirs is
                // identical, and ours is removed below.
                Err(_) if dir.exists() => Ok(()),
                Err(e) => Err(e.into()),
            }
        });
        if let Err(e) = remove_path(&tmp) {
            tracing::warn!(path = %tmp.display(), error = %e, "could not remove a temporary code directory");
        }
        done.map(|()| dir)
    }
}

/// `<pid>-<n>`: unique among the temporary names this process uses.
pub(crate) fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Copies one entry's bytes, at most `budget + 1` of them; a failure to read is the
/// zip's fault (corrupt data, wrong checksum), a failure to write is ours.
fn copy_entry(
    entry: &mut impl Read,
    name: &str,
    out: &mut fs::File,
    budget: u64,
) -> Result<u64, StoreError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    while written <= budget {
        let n = match entry.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::BadZip(format!("file {name:?} is corrupt: {e}"))),
        };
        out.write_all(&buf[..n])?;
        written += n as u64;
    }
    Ok(written)
}

/// Extracts with the unix modes the zip records (so `bootstrap` stays executable) and
/// write bits removed: code is read-only to functions. Actual bytes written are capped,
/// whatever sizes the headers declare. Every entry is read to its end, so its checksum
/// is verified.
pub(crate) fn extract<R: Read + std::io::Seek>(zip: R, dest: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;

    let mut archive = zip::ZipArchive::new(zip).map_err(|e| StoreError::BadZip(e.to_string()))?;
    fs::create_dir_all(dest)?;
    let mut budget = UNZIPPED_MAX_BYTES;
    let mut dirs = Vec::new();
    for i in 0..archive.len() {
        let name = match archive.name_for_index(i) {
            Some(Ok(n)) => n.into_owned(),
            _ => format!("#{i}"),
        };
        let mut entry = archive
            .by_index(i)
            .map_err(|e| StoreError::BadZip(format!("file {name:?} cannot be read: {e}")))?;
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
        let written = copy_entry(&mut entry, &name, &mut file, budget)?;
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
pub(crate) mod tests {
    use super::*;

    pub(crate) fn make_zip(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
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
    fn concurrent_first_unpacks_all_succeed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let zip = make_zip(&[("bootstrap", b"#!/bin/sh\n", 0o755)]);
        let (_code, pin) = store.put_zip(&zip).expect("put");
        let paths: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(|| store.unpacked(&pin))).collect();
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

    /// A zip whose directory is valid but whose last entry's data is not what its
    /// checksum says, after a large valid entry.
    pub(crate) fn corrupt_zip() -> Vec<u8> {
        let marker = b"these bytes get corrupted after the zip is written";
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let deflated = zip::write::SimpleFileOptions::default();
            w.start_file("big.bin", deflated).expect("start");
            w.write_all(&vec![0u8; 8 << 20]).expect("write");
            let stored = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            w.start_file("handler.py", stored).expect("start");
            w.write_all(marker).expect("write");
            w.finish().expect("finish");
        }
        let mut bytes = buf.into_inner();
        let at = bytes
            .windows(marker.len())
            .position(|w| w == marker)
            .expect("marker stored as is");
        bytes[at] ^= 0xff;
        bytes
    }

    #[test]
    fn a_corrupt_entry_names_itself_and_leaves_no_temporary_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let zip = corrupt_zip();
        // The directory is fine: the zip is accepted when it is stored.
        let (code, pin) = store.put_zip(&zip).expect("put");
        assert_eq!(code.unzipped_size, (8 << 20) + 50);
        for _ in 0..2 {
            match store.unpacked(&pin) {
                Err(StoreError::BadZip(m)) => {
                    assert!(m.contains("\"handler.py\""), "{m}");
                    assert!(m.contains("checksum"), "{m}");
                }
                other => panic!("expected BadZip, got {other:?}"),
            }
            let entries: Vec<_> = fs::read_dir(dir.path().join("code"))
                .expect("list")
                .map(|e| e.expect("entry").file_name())
                .collect();
            assert!(entries.is_empty(), "{entries:?}");
        }
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
                let _ = extract(Cursor::new(&bytes), &dir.path().join("x"));
            }
        }
    }
}
