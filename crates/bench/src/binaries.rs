//! The executables the bench runs besides itself: the `hearth` whose server it measures
//! and the Rust echo it deploys, both built by the same `cargo build` into the same target
//! directory as `hearth-bench`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The server binary (package `hearth-cli`).
pub const HEARTH: &str = "hearth";
/// The echo function's package and binary.
pub const ECHO: &str = "hearth-echo";

/// `name` in this executable's directory (`target/release/hearth` next to
/// `target/release/hearth-bench`), or why it is not there.
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let dir = exe.parent().context("this executable has no directory")?;
    in_dir(dir, name)
}

fn in_dir(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    if !path.is_file() {
        let role = if name == HEARTH {
            "the bench starts its server from the hearth binary built next to it (or the one \
             --hearth / HEARTH_BIN names)"
        } else {
            "the bench deploys the Rust echo function built next to it"
        };
        bail!(
            "{} is missing: {role}. Build them together with `cargo build --release` \
             and run target/release/hearth-bench",
            path.display()
        );
    }
    Ok(path)
}

/// The `hearth` binary given with `--hearth` (or `HEARTH_BIN`), made absolute so that
/// messages name it in full.
pub fn given(path: &Path) -> anyhow::Result<PathBuf> {
    if !path.is_file() {
        bail!("--hearth {}: no such file", path.display());
    }
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_sibling_says_how_to_build_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = in_dir(dir.path(), HEARTH).expect_err("missing");
        let text = format!("{err:#}");
        assert!(text.contains("hearth is missing"), "{text}");
        assert!(text.contains("cargo build --release"), "{text}");
        assert!(text.contains("--hearth"), "{text}");
        assert!(format!("{:#}", in_dir(dir.path(), ECHO).expect_err("missing")).contains("echo"));
        std::fs::write(dir.path().join(HEARTH), "").expect("write");
        assert_eq!(
            in_dir(dir.path(), HEARTH).expect("present"),
            dir.path().join(HEARTH)
        );
        assert!(given(&dir.path().join("nope")).is_err());
        assert!(given(&dir.path().join(HEARTH))
            .expect("given")
            .is_absolute());
    }
}
