//! Where the probe says what it saw: each line on its output (the function's log stream),
//! prefixed with [`PREFIX`], and, when `$EXT_OUT` is set, appended to a file there so that
//! a test on the same machine can read it exactly: `<name>.log` for the Extensions API's
//! events (`INVOKE <request id>`, `SHUTDOWN <reason>`), `<name>.telemetry.log` for the
//! Telemetry API's verdicts.

use std::io::Write;
use std::path::PathBuf;

use crate::checker::PREFIX;

/// The name the `lambda-extension` crate registers under: the executable's file name.
pub fn own_name() -> String {
    std::env::args()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "hearth-ext-probe".into())
}

/// Which of the probe's files a line goes to.
#[derive(Debug, Clone, Copy)]
pub enum File {
    Events,
    Telemetry,
}

fn path(file: File) -> Option<PathBuf> {
    let out = std::env::var_os("EXT_OUT")?;
    let suffix = match file {
        File::Events => "log",
        File::Telemetry => "telemetry.log",
    };
    Some(PathBuf::from(out).join(format!("{}.{suffix}", own_name())))
}

/// Prints `line` and appends it to `file` under `$EXT_OUT`, if set.
pub fn say(file: File, line: &str) -> std::io::Result<()> {
    println!("{PREFIX}{line}");
    let Some(path) = path(file) else {
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(f, "{line}")
}
