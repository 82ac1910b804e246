//! Turning a deploy PATH into a code zip: a `.zip` file as it is, or a directory zipped in
//! memory in a deterministic order with its unix permission bits (so `bootstrap` and other
//! executables stay executable in the function's environment).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Symbolic links are followed (as `zip -r` does); this bounds a link loop.
const MAX_DEPTH: usize = 64;

/// The zip bytes for a deploy PATH.
pub fn load(path: &Path) -> anyhow::Result<Vec<u8>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        return zip_dir(path);
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !bytes.starts_with(b"PK\x03\x04") && !bytes.starts_with(b"PK\x05\x06") {
        bail!("{} is neither a directory nor a .zip file", path.display());
    }
    Ok(bytes)
}

/// Zips the contents of `dir` (not `dir` itself) into memory.
pub fn zip_dir(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let mut entries = Vec::new();
    walk(dir, "", 0, &mut entries)?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));

    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default());
    for entry in &entries {
        let options = base.unix_permissions(entry.mode);
        match &entry.file {
            None => zip
                .add_directory(entry.name.as_str(), options)
                .with_context(|| format!("zipping {}", entry.name))?,
            Some(file) => {
                let data = std::fs::read(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                zip.start_file(entry.name.as_str(), options)
                    .with_context(|| format!("zipping {}", entry.name))?;
                zip.write_all(&data)
                    .with_context(|| format!("zipping {}", entry.name))?;
            }
        }
    }
    let cursor = zip.finish().context("finishing the zip")?;
    Ok(cursor.into_inner())
}

struct Entry {
    /// Path inside the zip, `/`-separated; directories end with `/`.
    name: String,
    mode: u32,
    /// The file to read; `None` for a directory.
    file: Option<PathBuf>,
}

fn walk(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<Entry>) -> anyhow::Result<()> {
    if depth > MAX_DEPTH {
        bail!(
            "{} is nested too deeply (a symbolic link loop?)",
            dir.display()
        );
    }
    let listing =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for item in listing {
        let item = item.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = item.path();
        let Some(file_name) = item.file_name().to_str().map(str::to_string) else {
            bail!("{} is not a UTF-8 file name", path.display());
        };
        let meta =
            std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let mode = meta.permissions().mode() & 0o7777;
        let name = format!("{prefix}{file_name}");
        if meta.is_dir() {
            let name = format!("{name}/");
            walk(&path, &name, depth + 1, out)?;
            out.push(Entry {
                name,
                mode,
                file: None,
            });
        } else if meta.is_file() {
            out.push(Entry {
                name,
                mode,
                file: Some(path),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hearth-package-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    fn write(path: &Path, data: &str, mode: u32) {
        std::fs::write(path, data).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn zipping_a_directory_keeps_exec_bits_and_order() {
        let dir = scratch("exec");
        write(&dir.join("bootstrap"), "#!/bin/sh\necho hi\n", 0o755);
        std::fs::create_dir(dir.join("lib")).expect("mkdir");
        write(&dir.join("lib/util.py"), "x = 1\n", 0o644);
        write(&dir.join("app.py"), "def handler(e, c): return e\n", 0o600);

        let bytes = zip_dir(&dir).expect("zip");
        assert_eq!(bytes, zip_dir(&dir).expect("zip again"), "deterministic");

        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("read zip");
        let names: Vec<String> = archive
            .file_names()
            .map(|name| name.expect("utf-8 name").to_string())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 4);
        let mut bootstrap = archive.by_name("bootstrap").expect("bootstrap");
        assert_eq!(bootstrap.unix_mode().expect("mode") & 0o777, 0o755);
        let mut text = String::new();
        bootstrap.read_to_string(&mut text).expect("contents");
        assert_eq!(text, "#!/bin/sh\necho hi\n");
        drop(bootstrap);
        let app = archive.by_name("app.py").expect("app.py");
        assert_eq!(app.unix_mode().expect("mode") & 0o777, 0o600);
        drop(app);
        assert!(archive.by_name("lib/util.py").is_ok());
        assert!(archive.by_name("lib/").is_ok());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn zip_files_pass_through_and_others_are_refused() {
        let dir = scratch("files");
        write(&dir.join("a"), "hello", 0o644);
        let zipped = zip_dir(&dir).expect("zip");
        let zip_path = dir.join("code.zip");
        std::fs::write(&zip_path, &zipped).expect("write zip");
        assert_eq!(load(&zip_path).expect("load zip"), zipped);
        assert!(load(&dir.join("a")).is_err());
        assert!(load(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
