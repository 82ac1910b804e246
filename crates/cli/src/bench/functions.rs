//! The functions the bench measures, each in two forms from the same files: a zip to deploy
//! to Hearth, and the command that runs the very same runtime against the floor. The floor
//! command comes from Hearth's own runtime catalogue (`Catalog::launch` with host paths), so
//! it is what Hearth would run, with the environment variables Hearth would set.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::Engine as _;
use hearth_engine::runtimes::Catalog;
use hearth_sandbox::GuestPaths;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::floor::RuntimeCommand;
use super::server::FunctionSpec;

/// The echo's package and binary, built by `cargo build --release` next to `hearth`.
pub const ECHO_BINARY: &str = "hearth-echo";

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

/// `target/release/hearth-echo` next to this executable.
pub fn echo_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let dir = exe
        .parent()
        .context("this executable has no directory")?
        .to_path_buf();
    let echo = dir.join(ECHO_BINARY);
    if !echo.is_file() {
        bail!(
            "{} is missing: `hearth bench` deploys the Rust echo function built next to it. \
             Build both with `cargo build --release` (or `cargo build --release -p hearth-echo`) \
             and run target/release/hearth bench",
            echo.display()
        );
    }
    Ok(echo)
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
    let mut env = lambda_env(&format!("bench-floor-{label}"), handler, &dir, &launch);
    if launch.managed {
        env.push(("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{runtime}")));
    }
    env.extend(launch.env.iter().cloned());
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

/// The variables Hearth gives a runtime (LAMBDA-SPEC §1), with host paths as under
/// `--sandbox process`; the runtime's own (PATH, PYTHONPATH) come from the catalogue.
fn lambda_env(
    name: &str,
    handler: &str,
    task: &Path,
    launch: &hearth_engine::runtimes::Launch,
) -> Vec<(String, String)> {
    let task = task.display().to_string();
    let runtime_dir = launch
        .runtime_dir
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| "/var/runtime".into());
    let pairs = [
        ("_HANDLER", handler.to_string()),
        ("LAMBDA_TASK_ROOT", task.clone()),
        ("LAMBDA_RUNTIME_DIR", runtime_dir.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", MEMORY_MB.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2024/01/01/[$LATEST]00000000000000000000000000000000".to_string(),
        ),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "hearth".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "hearth".to_string()),
        ("AWS_SESSION_TOKEN", "hearth".to_string()),
        ("TZ", ":UTC".to_string()),
        ("LANG", "en_US.UTF-8".to_string()),
        (
            "LD_LIBRARY_PATH",
            format!("/var/lang/lib:/lib64:/usr/lib64:{runtime_dir}:{runtime_dir}/lib:{task}:{task}/lib:/opt/lib"),
        ),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
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
