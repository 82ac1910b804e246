//! Writing results to standard output. A closed pipe (`hearth ls | head -1`) ends the command
//! quietly instead of panicking the way `println!` does.

use std::fmt;
use std::io::Write;

/// Standard output was closed by the reader; the command should stop and exit successfully.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes `bytes` to standard output and flushes.
pub fn emit(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(err) => Err(err.into()),
    }
}

/// Writes one line (`text` plus a newline) to standard output.
pub fn line(text: impl fmt::Display) -> anyhow::Result<()> {
    emit(format!("{text}\n").as_bytes())
}
