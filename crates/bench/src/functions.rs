//! The functions the bench measures, each in two forms from the same files: a zip to deploy
//! to Hearth, and the command that runs the very same runtime against the floor. The floor
//! command comes from Hearth's own runtime catalogue (`Catalog::launch` with host paths), so
//! it is what Hearth would run, with the environment variables Hearth would set
//! (`contract::variables`, as under `--sandbox process`).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context;
use base64::Engine as _;
use hearth_model::arn::LATEST;
use hearth_model::function::log_group_of;
use hearth_runtimes::{contract, Catalog};
use hearth_sandbox::GuestPaths;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::floor::RuntimeCommand;
use super::server::FunctionSpec;

/// Lambda ties CPU to memory (1769 MB = one vCPU) and Hearth's jail enforces it. The floor
/// runs without a quota, so the functions get one full vCPU: the figures are about Hearth's
/// overhead, not about a 128 MB function's CPU share.
pub const MEMORY_MB: u32 = 1769;

const PYTHON_HANDLER: &[u8] = b"def handler(event, context):\n    return event\n";

/// A bench function: what to deploy and how to run its floor.
pub struct BenchFunction {
    pub label: &'static str,
    pub spec: FunctionSpec,
    pub floor: RuntimeCommand,
}

/// A zip of `(name, bytes, unix mode)` entries with fixed timestamps.
pub fn zip_files(entries: &[(&str, &[u8], u32)]) -> anyhow::Result<Vec<u8>> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default());
    for (name, data, mode) in entries {
        zip.start_file(*name, base.unix_permissions(*mode))
            .with_context(|| format!("zipping {name}"))?;
        zip.write_all(data)
            .with_context(|| format!("zipping {name}"))?;
    }
    Ok(zip.finish().context("finishing a zip")?.into_inner())
}

/// Writes `files` into a fresh `dir` (the floor's task root, as Hearth unpacks the zip).
fn task_root(dir: &Path, files: &[(&str, &[u8], u32)]) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, data, mode) in files {
        let path = dir.join(name);
        std::fs::write(&path, data).with_context(|| format!("cannot write {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
            .with_context(|| format!("cannot chmod {}", path.display()))?;
    }
    Ok(())
}

/// One function from its files: the zip for Hearth, the unpacked copy and command for the
/// floor.
fn function(
    label: &'static str,
    catalog: &Catalog,
    runtime: &str,
    handler: &str,
    files: &[(&str, &[u8], u32)],
    work: &Path,
) -> anyhow::Result<BenchFunction> {
    let zip = zip_files(files)?;
    let dir = work.join(format!("floor-task-{label}"));
    task_root(&dir, files)?;
    let launch = catalog
        .launch(runtime, handler, &dir, &GuestPaths::Host)
        .with_context(|| format!("cannot run {runtime} for the floor"))?;
    let name = format!("bench-floor-{label}");
    let env = contract::variables(
        &contract::FunctionEnv {
            name: &name,
            runtime,
            handler,
            version: LATEST,
            memory_mb: i64::from(MEMORY_MB),
            log_group: &log_group_of(&name),
            log_stream: "2024/01/01/[$LATEST]00000000000000000000000000000000",
            initialization_type: contract::Initialization::OnDemand,
            log_format: "Text",
            log_level: None,
        },
        // The floor's own Runtime API, whose address is known when the runtime starts.
        None,
        &dir,
        &launch,
        &GuestPaths::Host,
    );
    Ok(BenchFunction {
        label,
        spec: FunctionSpec {
            runtime: runtime.to_string(),
            handler: handler.to_string(),
            zip_base64: base64::engine::general_purpose::STANDARD.encode(&zip),
            memory_mb: MEMORY_MB,
        },
        floor: RuntimeCommand {
            program: launch.program,
            args: launch.args,
            env,
            cwd: dir,
        },
    })
}

/// The Rust `lambda_runtime` echo, zipped as `bootstrap`.
pub fn rust_echo(catalog: &Catalog, echo: &Path, work: &Path) -> anyhow::Result<BenchFunction> {
    let binary = std::fs::read(echo).with_context(|| format!("cannot read {}", echo.display()))?;
    function(
        "rust",
        catalog,
        "provided.al2023",
        "bootstrap",
        &[("bootstrap", &binary, 0o755)],
        work,
    )
}

/// A Python echo (`app.handler`) on the newest installed `python3.N`, or why there is none.
pub fn python_echo(catalog: &Catalog, work: &Path) -> Result<BenchFunction, String> {
    let Some(runtime) = newest_python(&catalog.available()) else {
        return Err(format!(
            "no python3.N runtime is installed in {} (run `hearth runtime install` with the \
             same --runtimes-dir)",
            catalog.runtimes_dir().display()
        ));
    };
    function(
        "python",
        catalog,
        &runtime,
        "app.handler",
        &[("app.py", PYTHON_HANDLER, 0o644)],
        work,
    )
    .map_err(|e| format!("{e:#}"))
}

/// The highest `python3.N` among `names` (3.12 above 3.9).
pub(crate) fn newest_python(names: &[String]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| {
            let minor: u32 = n.strip_prefix("python3.")?.parse().ok()?;
            Some((minor, n))
        })
        .max_by_key(|(minor, _)| *minor)
        .map(|(_, n)| n.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn zips_keep_modes() {
        let bytes =
            zip_files(&[("bootstrap", b"#!/bin/sh\n", 0o755), ("a.py", b"x", 0o644)]).expect("zip");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("read");
        let mut boot = archive.by_name("bootstrap").expect("bootstrap");
        assert_eq!(boot.unix_mode().expect("mode") & 0o777, 0o755);
        let mut text = String::new();
        boot.read_to_string(&mut text).expect("read");
        assert_eq!(text, "#!/bin/sh\n");
    }

    #[test]
    fn picks_the_newest_python() {
        let names: Vec<String> = [
            "provided",
            "python3.9",
            "python3.12",
            "python3.11",
            "nodejs20.x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(newest_python(&names).as_deref(), Some("python3.12"));
        assert_eq!(newest_python(&names[..1]), None);
    }
}
