//! Collecting an environment's output and writing invocation logs in Lambda's format
//! (`START`, the function's lines, `END`, `REPORT`).

use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_model::settings::Logging;
use hearth_model::time::now_ms;
use hearth_store::{LogBatch, Writer};
use tokio::net::unix::pipe;
use tokio::task::JoinHandle;

use super::output::{LogLimits, Output, PeriodKind, Source};

/// Where an environment's lines go.
#[derive(Clone)]
pub(crate) struct LogSink {
    pub writer: Writer,
    pub function: String,
    pub stream: String,
    pub limits: LogLimits,
    /// How platform lines are written (the function's `LoggingConfig`).
    pub logging: Logging,
    /// The version the environment runs and its runtime version's ARN, for the JSON
    /// records of platform lines.
    pub version: String,
    pub runtime_version_arn: String,
    /// Told of the lines that may be EMF documents.
    pub observer: crate::observe::ObserverHandle,
    /// Where the function's lines go as `function` records, if anyone may subscribe.
    pub telemetry: Option<super::telemetry::Telemetry>,
}

impl LogSink {
    /// Hands the lines that may be EMF documents to the observer.
    fn metric_lines(&self, lines: Vec<String>) {
        for line in &lines {
            self.observer.0.metric_line(&self.function, line);
        }
    }

    /// Platform lines in the function's log format (see `platform_log`).
    fn platform<'a>(&self, lines: &'a [(i64, String)]) -> std::borrow::Cow<'a, [(i64, String)]> {
        super::platform_log::render(
            &super::platform_log::PlatformContext {
                logging: &self.logging,
                function: &self.function,
                version: &self.version,
                runtime_version_arn: &self.runtime_version_arn,
            },
            lines,
        )
    }
}

/// Reads an environment's merged stdout/stderr as it is written and hands it to the
/// store writer as it comes, holding at most [`super::output::HOLD`] bytes of lines
/// (plus one partial line): when the writer's backlog is full the pipe is left unread
/// and the function's writes wait.
pub(crate) struct LogCollector {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    output: pipe::Receiver,
    /// The external extensions' own pipe, when the sandbox gives them one: logged with
    /// the runtime's output, sent to the Telemetry API as `extension` records.
    extensions: Option<pipe::Receiver>,
    sink: LogSink,
    /// Held while reading the pipe, so that two readers (the collector task and the
    /// invocation's own reads) keep the bytes in order.
    state: Mutex<Output>,
    /// Held from taking lines out of `state` until they are handed to the writer, so
    /// they reach it in the order they were taken.
    order: tokio::sync::Mutex<()>,
}

/// What one read of the pipe came to.
#[derive(PartialEq, Eq)]
enum Drained {
    /// Nothing more to read now.
    Empty,
    /// The held lines are full: hand them over before reading on.
    Full,
    Closed,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, Output> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads whatever the pipe holds now, while there is room. This calls read(2)
    /// itself rather than tokio's `try_read`, which trusts cached readiness and can
    /// report "would block" for bytes the kernel already has: the end of an invocation
    /// must see every byte written before it.
    fn drain(&self) -> Drained {
        let function = self.drain_one(Source::Function);
        if self.extensions.is_some() && self.drain_one(Source::Extension) == Drained::Full {
            return Drained::Full;
        }
        function
    }

    /// The pipe `source` writes to (the runtime's when extensions have none of their own).
    fn pipe(&self, source: Source) -> &pipe::Receiver {
        match (source, &self.extensions) {
            (Source::Extension, Some(p)) => p,
            _ => &self.output,
        }
    }

    /// [`Self::drain`] for one source's pipe.
    fn drain_one(&self, source: Source) -> Drained {
        // Left uninitialised: read(2) fills what it returns, and zeroing 16 KB on every
        // drain (several per invocation) showed in the warm path's profile.
        let mut chunk = [MaybeUninit::<u8>::uninit(); 16 * 1024];
        let pipe = self.pipe(source);
        let mut out = self.state();
        loop {
            if !out.has_room() {
                return Drained::Full;
            }
            match rustix::io::read(pipe.as_fd(), &mut chunk) {
                Ok(([], _)) => return Drained::Closed,
                Ok((read, _)) => out.push_from(source, read, now_ms()),
                Err(rustix::io::Errno::AGAIN) => return Drained::Empty,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return Drained::Closed,
            }
        }
    }

    /// Hands the held lines to the writer (waiting for room in its backlog).
    async fn flush(&self) {
        let _order = self.order.lock().await;
        self.submit_held().await;
    }

    /// [`Self::flush`] for a caller that holds `order`.
    async fn submit_held(&self) {
        let (chunk, metric_lines) = {
            let mut out = self.state();
            (out.take_chunk(), out.take_metric_lines())
        };
        self.sink.metric_lines(metric_lines);
        if !chunk.is_empty() {
            let s = &self.sink;
            s.writer
                .submit_logs(LogBatch::new(&s.function, &s.stream, chunk))
                .await;
        }
    }

    /// Reads the pipe until it is empty, handing lines over whenever the hold is full.
    async fn drain_all(&self) {
        while self.drain() == Drained::Full {
            self.submit_held().await;
        }
    }
}

impl LogCollector {
    /// Starts collecting the runtime's `output` and the external extensions' own pipe if
    /// they have one; `first` are lines that precede the output (`INIT_START`). The
    /// environment starts in its init phase.
    pub(crate) fn start(
        (output, extensions): (pipe::Receiver, Option<pipe::Receiver>),
        sink: LogSink,
        first: &[(i64, String)],
    ) -> Self {
        let mut state = Output::new(sink.limits, PeriodKind::Init);
        state.set_telemetry(sink.telemetry.clone());
        for (ts, line) in sink.platform(first).iter() {
            state.push_line(*ts, line);
        }
        let shared = Arc::new(Shared {
            output,
            extensions,
            sink,
            state: Mutex::new(state),
            order: tokio::sync::Mutex::new(()),
        });
        let task = tokio::spawn(collect(shared.clone()));
        Self { shared, task }
    }

    /// Ends the current period (init, or the time between invocations) and starts an
    /// invocation whose log begins with `lines` (`START`). Those lines stay held: they
    /// go to the writer with the invocation's first output, or with its `END` and
    /// `REPORT`, so that a quiet invocation costs the writer one hand-over, not two (each
    /// one wakes its thread).
    /// `tail`: whether [`LogCollector::end_period`] returns the invocation's last lines.
    pub(crate) async fn begin_invocation(&self, lines: &[(i64, String)], tail: bool) {
        let s = &self.shared;
        let _order = s.order.lock().await;
        s.drain_all().await;
        let lines = s.sink.platform(lines);
        let mut out = s.state();
        out.next_period(PeriodKind::Invocation, now_ms());
        if !tail {
            out.without_tail();
        }
        for (ts, line) in lines.iter() {
            out.push_line(*ts, line);
        }
    }

    /// Reads everything written so far (its lines reach the Telemetry API's subscribers)
    /// without ending the period.
    pub(crate) async fn catch_up(&self) {
        let s = &self.shared;
        let _order = s.order.lock().await;
        s.drain_all().await;
    }

    /// Ends the current init or invocation with `lines` (`END`, `REPORT`), after
    /// everything written so far: output that reached the pipe before this call is
    /// included (the runtime wrote it before posting its response, and a pipe write is
    /// complete when `write` returns). Returns about the last 4 KB of that period's
    /// lines, for `X-Amz-Log-Result` (none for an invocation begun without its tail).
    /// The environment is idle afterwards.
    pub(crate) async fn end_period(&self, lines: &[(i64, String)]) -> Vec<(i64, String)> {
        let s = &self.shared;
        let _order = s.order.lock().await;
        s.drain_all().await;
        let lines = s.sink.platform(lines);
        let (tail, all, metric_lines) = {
            let mut out = s.state();
            let now = now_ms();
            out.end_partial(now);
            // The dropped-output note goes before the closing lines.
            out.close_period(now);
            for (ts, line) in lines.iter() {
                out.push_line(*ts, line);
            }
            let tail = out.next_period(PeriodKind::Idle, now);
            (tail, out.take_chunk(), out.take_metric_lines())
        };
        let sink = &s.sink;
        sink.metric_lines(metric_lines);
        sink.writer
            .submit_logs(LogBatch::new(&sink.function, &sink.stream, all))
            .await;
        tail
    }
}

impl Drop for LogCollector {
    /// Writes what the environment printed since its last invocation (with a note if
    /// some was dropped): the writer takes it at once, as it is bounded by the hold.
    fn drop(&mut self) {
        self.task.abort();
        let s = &self.shared;
        s.drain();
        let mut out = s.state();
        out.end_partial(now_ms());
        out.next_period(PeriodKind::Idle, now_ms());
        let chunk = out.take_chunk();
        let metric_lines = out.take_metric_lines();
        drop(out);
        s.sink.metric_lines(metric_lines);
        s.sink
            .writer
            .submit_logs_now(LogBatch::new(&s.sink.function, &s.sink.stream, chunk));
    }
}

/// Waits until `pipe` may be read; never, for none.
async fn readable(pipe: Option<&pipe::Receiver>) -> std::io::Result<()> {
    match pipe {
        Some(p) => p.readable().await,
        None => std::future::pending().await,
    }
}

/// Hands output to the writer as it comes, so the pipes never fill while anything
/// reads them (a runtime that prints more than a pipe holds would otherwise block).
/// Ends when both pipes have ended.
async fn collect(shared: Arc<Shared>) {
    let mut function = Some(&shared.output);
    let mut extensions = shared.extensions.as_ref();
    while function.is_some() || extensions.is_some() {
        let source = tokio::select! {
            r = readable(function) => match r {
                Ok(()) => Source::Function,
                Err(_) => { function = None; continue; }
            },
            r = readable(extensions) => match r {
                Ok(()) => Source::Extension,
                Err(_) => { extensions = None; continue; }
            },
        };
        let pipe = shared.pipe(source);
        let mut drained = Drained::Empty;
        // `try_io` clears tokio's readiness when the pipe runs dry (WouldBlock), so
        // `readable` waits for new data instead of spinning; when the hold is full the
        // readiness stays, and reading goes on once the lines are handed over.
        let _ = pipe.try_io(|| {
            drained = shared.drain_one(source);
            match drained {
                Drained::Empty => Err(std::io::ErrorKind::WouldBlock.into()),
                _ => Ok(()),
            }
        });
        shared.flush().await;
        if drained == Drained::Closed {
            match source {
                Source::Function => function = None,
                Source::Extension => extensions = None,
            }
        }
    }
    let _order = shared.order.lock().await;
    shared.state().end_partial(now_ms());
    shared.submit_held().await;
}

/// Longest value copied from a request into a log line (`START`, `END`, `REPORT`).
const FIELD_MAX: usize = 256;

/// A value from a request as it goes into a log line: cut to [`FIELD_MAX`] bytes at a
/// character boundary. Today only Hearth's own request ids reach log lines (no header
/// value is copied into one); anything taken from a request later goes through here.
pub(crate) fn field(value: &str) -> std::borrow::Cow<'_, str> {
    if value.len() <= FIELD_MAX {
        return value.into();
    }
    let mut end = FIELD_MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &value[..end]).into()
}

/// Formats milliseconds as Lambda does in `REPORT` (`3.01 ms`).
pub(crate) fn ms(d: Duration) -> String {
    Ms(d).to_string()
}

/// A duration as `REPORT` writes it: milliseconds with two decimals, rounded half up, in
/// integers (a float's `{:.2}` took more of the warm path than the rest of the line).
struct Ms(Duration);

impl std::fmt::Display for Ms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hundredths = (self.0.as_nanos() + 5_000) / 10_000;
        write!(f, "{}.{:02} ms", hundredths / 100, hundredths % 100)
    }
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

/// What AWS bills for an invocation, in ms: its duration and, since 1 August 2025, the
/// init phase of the on-demand environment it cold-started (before, only custom runtimes
/// and container images had theirs billed), together rounded up to the millisecond, at
/// least 1. Provisioned environments' init is not in it: their allocation is billed.
pub fn billed_ms(duration: Duration, init: Option<Duration>) -> u64 {
    let total = duration + init.unwrap_or_default();
    (total.as_secs_f64() * 1000.0).ceil().max(1.0) as u64
}

impl Report<'_> {
    pub(crate) fn line(&self) -> String {
        use std::fmt::Write as _;
        let billed = billed_ms(self.duration, self.init_duration);
        // One buffer with room for the usual line; writing to a String cannot fail.
        let mut line = String::with_capacity(192);
        let _ = write!(
            line,
            "REPORT RequestId: {}\tDuration: {}\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            field(self.request_id),
            Ms(self.duration),
            billed,
            self.memory_size_mb,
            self.max_memory_used_mb
        );
        if let Some(init) = self.init_duration {
            let _ = write!(line, "\tInit Duration: {}", Ms(init));
        }
        if let Some(status) = &self.status {
            let _ = write!(line, "\tStatus: {status}");
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
    fn durations_have_two_decimals_rounded_half_up() {
        for (micros, text) in [
            (0, "0.00 ms"),
            (4, "0.00 ms"),
            (5, "0.01 ms"),
            (3_010, "3.01 ms"),
            (3_014, "3.01 ms"),
            (3_015, "3.02 ms"),
            (999_995, "1000.00 ms"),
            (61_234_567, "61234.57 ms"),
        ] {
            assert_eq!(ms(Duration::from_micros(micros)), text, "{micros} µs");
        }
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
            "REPORT RequestId: abc\tDuration: 3.01 ms\tBilled Duration: 114 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\tInit Duration: 110.10 ms"
        );
    }

    #[test]
    fn request_values_in_log_lines_are_bounded() {
        assert_eq!(field("abc"), "abc");
        let long = "é".repeat(1000);
        let cut = field(&long);
        assert!(
            cut.len() <= FIELD_MAX + 3 && cut.ends_with("..."),
            "{}",
            cut.len()
        );
        let r = Report {
            request_id: &"x".repeat(10_000),
            duration: Duration::ZERO,
            memory_size_mb: 128,
            max_memory_used_mb: 1,
            init_duration: None,
            status: None,
        };
        assert!(r.line().len() < 400);
    }

    #[test]
    fn tail_cuts_from_the_front() {
        let lines = vec![(0, "aaaa".to_string()), (0, "bb".to_string())];
        assert_eq!(tail(&lines, 100), "aaaa\nbb\n");
        assert_eq!(tail(&lines, 4), "\nbb\n");
        let wide = vec![(0, "ééé".to_string())];
        assert_eq!(tail(&wide, 4), "é\n");
    }

    /// Keeps the metric lines it is told of.
    #[derive(Default)]
    struct Lines(Mutex<Vec<(String, String)>>);

    impl crate::observe::Observer for Lines {
        fn metric_line(&self, function: &str, line: &str) {
            self.0
                .lock()
                .expect("lock")
                .push((function.into(), line.into()));
        }
    }

    #[tokio::test]
    async fn lines_that_may_be_emf_reach_the_observer_by_the_end_of_the_invocation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = hearth_store::Store::open(dir.path()).expect("store");
        let writer = Writer::with_backlog(store, 64 * 1024).expect("writer");
        let (reader, mut w) = std::io::pipe().expect("pipe");
        let rx = pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(reader)).expect("rx");
        let lines = Arc::new(Lines::default());
        let sink = LogSink {
            writer,
            function: "111122223333:f".into(),
            stream: "s".into(),
            limits: LogLimits::default(),
            logging: Logging::default(),
            version: "$LATEST".into(),
            runtime_version_arn: String::new(),
            telemetry: None,
            observer: crate::observe::ObserverHandle(lines.clone()),
        };
        let collector = LogCollector::start((rx, None), sink, &[(1, "INIT_START".into())]);
        collector
            .begin_invocation(&[(2, "START".into())], true)
            .await;
        use std::io::Write;
        w.write_all(b"plain\n{\"_aws\":{\"Timestamp\":1}}\n{\"no\":1}")
            .expect("write");
        collector.end_period(&[(3, "END".into())]).await;
        assert_eq!(
            *lines.0.lock().expect("lock"),
            [(
                "111122223333:f".to_string(),
                r#"{"_aws":{"Timestamp":1}}"#.to_string()
            )]
        );
    }

    #[tokio::test]
    async fn an_invocations_output_is_in_its_log_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = hearth_store::Store::open(dir.path()).expect("store");
        let writer = Writer::with_backlog(store.clone(), 64 * 1024).expect("writer");
        let (reader, writer_end) = std::io::pipe().expect("pipe");
        let rx = pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(reader)).expect("rx");
        let sink = LogSink {
            writer: writer.clone(),
            function: "f".into(),
            stream: "s".into(),
            limits: LogLimits::default(),
            logging: Logging::default(),
            version: "$LATEST".into(),
            runtime_version_arn: String::new(),
            telemetry: None,
            observer: Default::default(),
        };
        let collector = LogCollector::start((rx, None), sink, &[(1, "INIT_START".into())]);
        use std::io::Write;
        let mut w = writer_end;
        w.write_all(
            b"init line
",
        )
        .expect("write");
        collector
            .begin_invocation(&[(2, "START".into())], true)
            .await;
        // More than the hold and the writer's backlog: the collector hands it over as
        // it goes, from a thread that blocks when the pipe is full.
        let big = std::thread::spawn(move || {
            for i in 0..20_000 {
                writeln!(w, "line {i} {}", "x".repeat(40)).expect("write");
            }
            w.write_all(b"no newline").expect("write");
            w
        });
        let w = tokio::task::spawn_blocking(move || big.join().expect("join"))
            .await
            .expect("joined");
        let tail = collector.end_period(&[(3, "END".into())]).await;
        assert_eq!(tail.last().map(|l| l.1.as_str()), Some("END"));
        assert_eq!(tail[tail.len() - 2].1, "no newline");
        drop(w);
        writer.flush().await.expect("flush");
        let lines: Vec<String> = store
            .logs()
            .query_logs(
                "f",
                &hearth_store::LogQuery {
                    limit: 100_000,
                    ..Default::default()
                },
            )
            .expect("query")
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(lines[..3], ["INIT_START", "init line", "START"]);
        assert_eq!(lines.len(), 3 + 20_000 + 2);
        assert_eq!(lines[3 + 19_999], format!("line 19999 {}", "x".repeat(40)));
        assert_eq!(lines.last().map(String::as_str), Some("END"));
    }
}
