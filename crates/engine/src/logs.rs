//! Collecting an environment's output and writing invocation logs in Lambda's format
//! (`START`, the function's lines, `END`, `REPORT`).

use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_model::time::now_ms;
use tokio::net::unix::pipe;
use tokio::task::JoinHandle;

/// CloudWatch caps an event at 256 KiB; a longer line is split there.
const MAX_LINE: usize = 256 * 1024;

#[derive(Default)]
struct Buffer {
    lines: Vec<(i64, String)>,
    partial: Vec<u8>,
}

impl Buffer {
    fn push_bytes(&mut self, data: &[u8]) {
        let now = now_ms();
        for &b in data {
            if b == b'\n' || self.partial.len() >= MAX_LINE {
                self.end_line(now);
                if b == b'\n' {
                    continue;
                }
            }
            self.partial.push(b);
        }
    }

    fn end_line(&mut self, ts: i64) {
        let line = String::from_utf8_lossy(&self.partial)
            .trim_end_matches('\r')
            .to_string();
        self.partial.clear();
        self.lines.push((ts, line));
    }
}

/// Reads an environment's merged stdout/stderr as it is written.
pub(crate) struct LogCollector {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    output: pipe::Receiver,
    /// Lines so far; held while reading the pipe, so that two readers (the collector
    /// task and [`LogCollector::take`]) keep the bytes in order.
    buffer: Mutex<Buffer>,
}

impl Shared {
    /// Reads whatever the pipe holds now into the buffer; false once it reports end of
    /// file. This calls read(2) itself rather than tokio's `try_read`, which trusts
    /// cached readiness and can report "would block" for bytes the kernel already has:
    /// `take` must see every byte written before it was called.
    fn drain(&self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        let mut buf = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match rustix::io::read(self.output.as_fd(), &mut chunk) {
                Ok(0) => return false,
                Ok(n) => buf.push_bytes(&chunk[..n]),
                Err(rustix::io::Errno::AGAIN) => return true,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return false,
            }
        }
    }
}

impl LogCollector {
    pub(crate) fn start(output: pipe::Receiver) -> Self {
        let shared = Arc::new(Shared {
            output,
            buffer: Mutex::new(Buffer::default()),
        });
        let task = tokio::spawn(collect(shared.clone()));
        Self { shared, task }
    }

    /// Everything written so far, as lines. Output that reached the pipe before this
    /// call is included: the runtime wrote it before posting its response, and a pipe
    /// write is complete when `write` returns. Reads the pipe here, without a round
    /// trip through the collector task: this is on every invocation's path.
    pub(crate) async fn take(&self) -> Vec<(i64, String)> {
        self.shared.drain();
        let mut buf = self.shared.buffer.lock().unwrap_or_else(|p| p.into_inner());
        if !buf.partial.is_empty() {
            buf.end_line(now_ms());
        }
        std::mem::take(&mut buf.lines)
    }
}

impl Drop for LogCollector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Keeps the pipe drained between invocations (a runtime that prints more than a pipe
/// holds would otherwise block).
async fn collect(shared: Arc<Shared>) {
    loop {
        if shared.output.readable().await.is_err() {
            return;
        }
        // `try_io` clears tokio's readiness when the pipe runs dry (WouldBlock), so
        // `readable` waits for new data instead of spinning.
        let open = shared
            .output
            .try_io(|| {
                if shared.drain() {
                    Err(std::io::ErrorKind::WouldBlock.into())
                } else {
                    Ok(())
                }
            })
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock);
        if !open {
            return;
        }
    }
}

/// Formats milliseconds as Lambda does in `REPORT` (`3.01 ms`).
pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The figures of one `REPORT` line.
pub(crate) struct Report<'a> {
    pub request_id: &'a str,
    pub duration: Duration,
    pub memory_size_mb: i64,
    pub max_memory_used_mb: u64,
    pub init_duration: Option<Duration>,
    /// `timeout`, `error` with an error type, or none for a clean run.
    pub status: Option<String>,
}

impl Report<'_> {
    pub(crate) fn line(&self) -> String {
        let billed = (self.duration.as_secs_f64() * 1000.0).ceil().max(1.0) as u64;
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {}\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.request_id,
            ms(self.duration),
            billed,
            self.memory_size_mb,
            self.max_memory_used_mb
        );
        if let Some(init) = self.init_duration {
            line.push_str(&format!("\tInit Duration: {}", ms(init)));
        }
        if let Some(status) = &self.status {
            line.push_str(&format!("\tStatus: {status}"));
        }
        line
    }
}

/// The last `limit` bytes of the invocation's log text, cut at a character boundary.
pub(crate) fn tail(lines: &[(i64, String)], limit: usize) -> String {
    let mut text = String::new();
    for (_, l) in lines {
        text.push_str(l);
        text.push('\n');
    }
    if text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_and_keeps_partial() {
        let mut b = Buffer::default();
        b.push_bytes(b"one\ntw");
        b.push_bytes(b"o\r\nthr");
        assert_eq!(
            b.lines.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(b.partial, b"thr");
    }

    #[test]
    fn report_line_matches_lambda() {
        let r = Report {
            request_id: "abc",
            duration: Duration::from_micros(3_010),
            memory_size_mb: 128,
            max_memory_used_mb: 36,
            init_duration: Some(Duration::from_micros(110_100)),
            status: None,
        };
        assert_eq!(
            r.line(),
            "REPORT RequestId: abc\tDuration: 3.01 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 110.10 ms"
        );
    }

    #[test]
    fn tail_cuts_from_the_front() {
        let lines = vec![(0, "aaaa".to_string()), (0, "bb".to_string())];
        assert_eq!(tail(&lines, 100), "aaaa\nbb\n");
        assert_eq!(tail(&lines, 4), "\nbb\n");
        let wide = vec![(0, "ééé".to_string())];
        assert_eq!(tail(&wide, 4), "é\n");
    }

    #[tokio::test]
    async fn collects_child_output_before_exit() {
        let (reader, writer) = std::io::pipe().expect("pipe");
        let rx = pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(reader)).expect("rx");
        let collector = LogCollector::start(rx);
        use std::io::Write;
        let mut w = writer;
        w.write_all(b"hello\nworld").expect("write");
        let lines = collector.take().await;
        assert_eq!(
            lines.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
            ["hello", "world"]
        );
    }
}
