//! An environment's output on its way to the log store, held in bounded memory: bytes
//! become lines (split as CloudWatch splits long events), lines are packed into a
//! [`LogChunk`], and what one period (init, an invocation, the idle time between them)
//! may store is capped; the rest is counted and reported in one line when the period
//! ends.

use std::collections::VecDeque;

use hearth_model::limits::LOG_TAIL_BYTES;
use hearth_store::LogChunk;

/// CloudWatch's largest event was 256 KB (262,144 bytes) counting 26 bytes of overhead
/// per event, and Lambda splits a longer line into events of 2^18 - 26 bytes of message
/// (as observed on Lambda; PutLogEvents itself now takes events up to 1 MB).
pub(crate) const MAX_EVENT: usize = 256 * 1024 - 26;
/// Lines held before they must be handed to the store writer; the pipe is not read
/// while this much waits (the function's writes block: back-pressure, not buffering).
pub(crate) const HOLD: usize = 256 * 1024;

/// What each period may store, in bytes of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// One invocation (and an environment's init).
    pub invocation: u64,
    /// The time between invocations (output of threads left running).
    pub idle: u64,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            invocation: 100 * 1024 * 1024,
            idle: 10 * 1024 * 1024,
        }
    }
}

/// Who wrote a piece of output: the runtime (the function) or an external extension.
/// Both go to the log alike; the Telemetry API sends them as `function` and `extension`
/// records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Function,
    Extension,
}

/// What a period is, for the dropped-output line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeriodKind {
    Init,
    Invocation,
    Idle,
}

impl PeriodKind {
    fn describe(self) -> &'static str {
        match self {
            Self::Init => "init phase (limited by --log-invocation-limit)",
            Self::Invocation => "invocation (limited by --log-invocation-limit)",
            Self::Idle => "time between invocations (limited by --log-idle-limit)",
        }
    }
}

struct Period {
    kind: PeriodKind,
    limit: u64,
    stored: u64,
    dropped: u64,
    /// Whether its last lines are kept for [`Output::next_period`] to return: an idle
    /// period's never are, an invocation's only when its caller asked for the tail.
    keeps_tail: bool,
}

/// The output of one environment not yet handed to the store.
pub(crate) struct Output {
    limits: LogLimits,
    period: Period,
    /// The current line, before its newline: at most [`MAX_EVENT`] bytes.
    partial: Vec<u8>,
    /// Whose output `partial` holds now; the other source's current line waits in
    /// `other_partial` (the extensions' pipe is read apart from the runtime's).
    source: Source,
    other_partial: Vec<u8>,
    chunk: LogChunk,
    /// The last lines of the current init or invocation, for `X-Amz-Log-Result`.
    recent: VecDeque<(i64, String)>,
    recent_bytes: usize,
    /// The function's stored lines that may be EMF documents (a subset of the chunk's,
    /// so bounded with it), for the observer.
    metric_lines: Vec<String>,
    /// Where the function's lines go as `function` records, all of them (CloudWatch's cap
    /// does not apply to a subscriber); none for an output nobody may subscribe to.
    telemetry: Option<super::telemetry::Telemetry>,
}

impl Output {
    pub(crate) fn new(limits: LogLimits, kind: PeriodKind) -> Self {
        Self {
            limits,
            period: Self::period(limits, kind),
            partial: Vec::new(),
            source: Source::Function,
            other_partial: Vec::new(),
            chunk: LogChunk::default(),
            recent: VecDeque::new(),
            recent_bytes: 0,
            metric_lines: Vec::new(),
            telemetry: None,
        }
    }

    /// Sends the function's lines to `telemetry` from now on.
    pub(crate) fn set_telemetry(&mut self, telemetry: Option<super::telemetry::Telemetry>) {
        self.telemetry = telemetry;
    }

    fn period(limits: LogLimits, kind: PeriodKind) -> Period {
        Period {
            kind,
            limit: match kind {
                PeriodKind::Idle => limits.idle,
                _ => limits.invocation,
            },
            stored: 0,
            dropped: 0,
            keeps_tail: kind != PeriodKind::Idle,
        }
    }

    /// The current period keeps no tail: its caller did not ask for `LogType: Tail`, and
    /// copying every line into the tail cost allocations on every invocation.
    pub(crate) fn without_tail(&mut self) {
        self.period.keeps_tail = false;
        self.recent.clear();
        self.recent_bytes = 0;
    }

    /// Bytes held in memory.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.chunk.size() + self.partial.len()
    }

    /// Whether the pipe may be read: there is room for what one read brings.
    pub(crate) fn has_room(&self) -> bool {
        self.chunk.size() < HOLD
    }

    /// Makes `source`'s current line the one bytes go to.
    fn switch_to(&mut self, source: Source) {
        if self.source != source {
            std::mem::swap(&mut self.partial, &mut self.other_partial);
            self.source = source;
        }
    }

    /// Output `source` wrote, read from its pipe at `now`.
    pub(crate) fn push_from(&mut self, source: Source, data: &[u8], now: i64) {
        self.switch_to(source);
        self.push_current(data, now);
    }

    /// Output read from the runtime's pipe at `now`.
    #[cfg(test)]
    pub(crate) fn push_bytes(&mut self, data: &[u8], now: i64) {
        self.push_from(Source::Function, data, now);
    }

    /// Output of the current line's source.
    fn push_current(&mut self, mut data: &[u8], now: i64) {
        while !data.is_empty() {
            let room = MAX_EVENT - self.partial.len();
            let window = &data[..data.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.partial.extend_from_slice(&window[..i]);
                    data = &data[i + 1..];
                    self.end_line(now);
                }
                None => {
                    self.partial.extend_from_slice(window);
                    data = &data[window.len()..];
                    if self.partial.len() >= MAX_EVENT {
                        self.split_long_line(now);
                    }
                }
            }
        }
    }

    /// A line of [`MAX_EVENT`] bytes with more to come: the event ends at the last
    /// character boundary, the rest starts the next one.
    fn split_long_line(&mut self, now: i64) {
        let len = self.partial.len();
        // The last character starts at most 3 continuation bytes (10xxxxxx) back.
        let start = (len.saturating_sub(4)..len)
            .rev()
            .find(|&i| self.partial[i] & 0xC0 != 0x80)
            .unwrap_or(len);
        let width = match self.partial.get(start) {
            Some(b) if *b >= 0xF0 => 4,
            Some(b) if *b >= 0xE0 => 3,
            Some(b) if *b >= 0xC0 => 2,
            _ => 1,
        };
        let cut = if start + width > len { start } else { len };
        let rest = self.partial.split_off(cut);
        self.end_line(now);
        self.partial = rest;
    }

    /// Ends the current lines of both sources, if any (the output ended, or the
    /// invocation did).
    pub(crate) fn end_partial(&mut self, now: i64) {
        for _ in 0..2 {
            if !self.partial.is_empty() {
                self.end_line(now);
            }
            let other = match self.source {
                Source::Function => Source::Extension,
                Source::Extension => Source::Function,
            };
            self.switch_to(other);
        }
    }

    fn end_line(&mut self, now: i64) {
        let bytes = std::mem::take(&mut self.partial);
        let line = String::from_utf8_lossy(&bytes);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if let Some(telemetry) = &self.telemetry {
            match self.source {
                Source::Function => telemetry.function_line(now, line),
                Source::Extension => telemetry.extension_line(now, line),
            }
        }
        // Counted as printed, newline included: a flood of empty lines costs too.
        let size = line.len() as u64 + 1;
        if self.period.stored + size > self.period.limit {
            self.period.dropped += size;
            return;
        }
        self.period.stored += size;
        self.chunk.push(now, line);
        self.remember(now, line);
        // Only the function's own lines, and only those stored: CloudWatch Logs extracts
        // metrics from the events it has.
        if self.source == Source::Function && crate::observe::may_be_emf(line) {
            self.metric_lines.push(line.to_string());
        }
        // Keep the allocation for the next line, unless a long one made it large.
        if bytes.capacity() <= 4096 {
            self.partial = bytes;
            self.partial.clear();
        }
    }

    /// A line of Hearth's own (`START`, `END`, `REPORT`, ...): not counted against the cap.
    pub(crate) fn push_line(&mut self, ts: i64, line: &str) {
        self.chunk.push(ts, line);
        self.remember(ts, line);
    }

    fn remember(&mut self, ts: i64, line: &str) {
        if !self.period.keeps_tail {
            return;
        }
        // Only the end of a long line can be in a 4 KB tail.
        let mut start = line.len().saturating_sub(LOG_TAIL_BYTES);
        while !line.is_char_boundary(start) {
            start += 1;
        }
        let kept = &line[start..];
        self.recent_bytes += kept.len() + 1;
        self.recent.push_back((ts, kept.to_string()));
        while self.recent_bytes > LOG_TAIL_BYTES + 1 {
            let Some(front) = self.recent.front() else {
                break;
            };
            let front_size = front.1.len() + 1;
            if self.recent_bytes - front_size < LOG_TAIL_BYTES {
                break;
            }
            self.recent_bytes -= front_size;
            self.recent.pop_front();
        }
    }

    /// Ends the current period, writing how much output it dropped, and starts `next`.
    /// Returns the last lines of the period that ended (none for an idle one).
    pub(crate) fn next_period(&mut self, next: PeriodKind, now: i64) -> Vec<(i64, String)> {
        self.close_period(now);
        self.period = Self::period(self.limits, next);
        self.recent_bytes = 0;
        std::mem::take(&mut self.recent).into()
    }

    /// Writes how much output the current period dropped so far, if any.
    pub(crate) fn close_period(&mut self, now: i64) {
        if self.period.dropped > 0 {
            let note = format!(
                "[hearth] {} bytes of output dropped: this {} may store {} bytes of output",
                self.period.dropped,
                self.period.kind.describe(),
                self.period.limit
            );
            self.push_line(now, &note);
            self.period.dropped = 0;
        }
    }

    /// The lines ready to be handed over.
    pub(crate) fn take_chunk(&mut self) -> LogChunk {
        std::mem::take(&mut self.chunk)
    }

    /// The function's lines that may be EMF documents, since the last call.
    pub(crate) fn take_metric_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.metric_lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(c: &LogChunk) -> Vec<String> {
        c.lines().map(|(_, l)| l.to_string()).collect()
    }

    fn roomy() -> LogLimits {
        LogLimits {
            invocation: 1 << 30,
            idle: 1 << 30,
        }
    }

    #[test]
    fn splits_lines_and_keeps_partial() {
        let mut o = Output::new(roomy(), PeriodKind::Invocation);
        o.push_bytes(b"one\ntw", 1);
        o.push_bytes(b"o\r\nthr", 2);
        assert_eq!(lines(&o.take_chunk()), ["one", "two"]);
        assert_eq!(o.partial, b"thr");
        o.end_partial(3);
        assert_eq!(lines(&o.take_chunk()), ["thr"]);
    }

    #[test]
    fn the_extensions_lines_are_logged_with_the_runtimes_each_source_its_own_partial() {
        let mut o = Output::new(roomy(), PeriodKind::Invocation);
        o.push_bytes(b"fun", 1);
        o.push_from(Source::Extension, b"ext one\next ", 2);
        o.push_bytes(b"ction\n", 3);
        // An extension's EMF-looking line is not the function's metric.
        o.push_from(Source::Extension, b"two {\"_aws\":1}\n", 4);
        o.push_from(Source::Extension, b"tail", 5);
        o.push_bytes(b"{\"_aws\":{}}\nlast", 6);
        o.end_partial(7);
        assert_eq!(
            lines(&o.take_chunk()),
            [
                "ext one",
                "function",
                "ext two {\"_aws\":1}",
                "{\"_aws\":{}}",
                "last",
                "tail"
            ]
        );
        assert_eq!(o.take_metric_lines(), [r#"{"_aws":{}}"#]);
    }

    #[test]
    fn long_lines_split_at_the_event_limit_on_a_character_boundary() {
        let mut o = Output::new(roomy(), PeriodKind::Invocation);
        let mut data = vec![b'a'; MAX_EVENT - 1];
        data.extend_from_slice("é".as_bytes());
        data.extend_from_slice(b"tail\n");
        o.push_bytes(&data, 1);
        let got = lines(&o.take_chunk());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), MAX_EVENT - 1);
        assert_eq!(got[1], "étail");
        let mut o = Output::new(roomy(), PeriodKind::Invocation);
        o.push_bytes(&vec![b'x'; 2 * MAX_EVENT + 5], 1);
        o.end_partial(1);
        let sizes: Vec<usize> = o.take_chunk().lines().map(|(_, l)| l.len()).collect();
        assert_eq!(sizes, [MAX_EVENT, MAX_EVENT, 5]);
    }

    #[test]
    fn a_period_over_its_cap_drops_and_says_so() {
        let limits = LogLimits {
            invocation: 12,
            idle: 5,
        };
        let mut o = Output::new(limits, PeriodKind::Invocation);
        o.push_bytes(b"12345\n67890\nabc\nde\n", 1);
        let tail = o.next_period(PeriodKind::Idle, 2);
        let got = lines(&o.take_chunk());
        assert_eq!(got[..2], ["12345", "67890"]);
        assert_eq!(
            got[2],
            "[hearth] 7 bytes of output dropped: this invocation (limited by --log-invocation-limit) may store 12 bytes of output"
        );
        assert_eq!(tail.len(), 3);
        // The idle period has its own cap, and the next one starts afresh.
        o.push_bytes(b"1234\n5\n", 3);
        o.next_period(PeriodKind::Invocation, 4);
        let got = lines(&o.take_chunk());
        assert_eq!(got[0], "1234");
        assert!(
            got[1].starts_with("[hearth] 2 bytes of output dropped: this time between invocations")
        );
        o.push_bytes(b"fresh\n", 5);
        assert_eq!(lines(&o.take_chunk()), ["fresh"]);
    }

    #[test]
    fn an_invocation_without_its_tail_stores_every_line_and_keeps_none() {
        let limits = LogLimits {
            invocation: 1024,
            idle: 1024,
        };
        let mut o = Output::new(limits, PeriodKind::Idle);
        o.next_period(PeriodKind::Invocation, 1);
        o.without_tail();
        o.push_bytes(b"one\ntwo\n", 2);
        assert!(o.next_period(PeriodKind::Idle, 3).is_empty());
        assert_eq!(lines(&o.take_chunk()), ["one", "two"]);
        // The next invocation keeps its tail again unless told otherwise.
        o.next_period(PeriodKind::Invocation, 4);
        o.push_bytes(b"three\n", 5);
        let tail = o.next_period(PeriodKind::Idle, 6);
        assert_eq!(tail, [(5, "three".to_string())]);
    }

    #[test]
    fn stored_function_lines_that_may_be_emf_are_kept_for_the_observer() {
        let limits = LogLimits {
            invocation: 50,
            idle: 0,
        };
        let mut o = Output::new(limits, PeriodKind::Invocation);
        o.push_line(1, r#"{"_aws":"a platform line"}"#);
        o.push_bytes(
            b"{\"_aws\":{}}\nplain \"_aws\"\n  {\"a\":1}\n {\"_aws\":2}\n",
            1,
        );
        // Over the cap: dropped from the log, so not extracted either.
        o.push_bytes(b"{\"_aws\":3, \"pad\":\"xxxxxxxxxx\"}\n", 1);
        assert_eq!(o.take_metric_lines(), [r#"{"_aws":{}}"#, r#" {"_aws":2}"#]);
        assert!(o.take_metric_lines().is_empty());
    }

    #[test]
    fn hearth_lines_are_not_capped() {
        let mut o = Output::new(
            LogLimits {
                invocation: 0,
                idle: 0,
            },
            PeriodKind::Invocation,
        );
        o.push_line(1, "START RequestId: x");
        o.push_bytes(b"dropped\n", 1);
        o.push_line(1, "END RequestId: x");
        let got = lines(&o.take_chunk());
        assert_eq!(got, ["START RequestId: x", "END RequestId: x"]);
    }

    #[test]
    fn the_tail_keeps_about_4_kb_of_the_invocation() {
        let mut o = Output::new(roomy(), PeriodKind::Invocation);
        for i in 0..10_000 {
            o.push_bytes(format!("line {i}\n").as_bytes(), 1);
        }
        o.push_bytes(&vec![b'z'; 100_000], 1);
        o.push_bytes(b"\nlast\n", 1);
        let tail = o.next_period(PeriodKind::Idle, 2);
        let text: usize = tail.iter().map(|l| l.1.len() + 1).sum();
        assert!(
            (LOG_TAIL_BYTES..LOG_TAIL_BYTES + 64).contains(&text),
            "{text}"
        );
        assert_eq!(tail.last().map(|l| l.1.as_str()), Some("last"));
        // Idle output is not remembered.
        o.push_bytes(b"idle\n", 3);
        assert!(o.next_period(PeriodKind::Invocation, 4).is_empty());
    }

    #[test]
    fn memory_held_is_the_chunk_not_a_string_per_line() {
        let mut o = Output::new(roomy(), PeriodKind::Idle);
        let mut n = 0;
        while o.has_room() {
            o.push_bytes(b"ab\n", 1);
            n += 1;
        }
        // About 3 bytes a line (2 of text, a separator, a timestamp delta).
        assert!(o.held() < HOLD + 16, "{}", o.held());
        assert!(n > HOLD / 5, "{n} lines");
    }
}
