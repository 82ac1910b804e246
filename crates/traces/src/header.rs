//! The X-Ray trace header (`X-Amzn-Trace-Id`, `Lambda-Runtime-Trace-Id`, `_X_AMZN_TRACE_ID`):
//! its ids, parsing and formatting, and the rule Lambda applies to an incoming header before it
//! hands one to the function.
//!
//! The header is `Root=1-<8 hex epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=0|1|?`, with
//! `Lineage=` (Lambda's recursion-loop counter) and keys other services add (`Self=` from load
//! balancers) kept as they came.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

/// Why a trace header, trace id or segment id could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A trace id that is not `1-<8 hex>-<24 hex>`.
    #[error("invalid X-Ray trace id `{0}`")]
    TraceId(String),
    /// A segment id that is not 16 hex digits.
    #[error("invalid X-Ray segment id `{0}`")]
    SegmentId(String),
    /// A header part without `=`.
    #[error("invalid trace header part `{0}`")]
    Part(String),
}

/// An X-Ray trace id: version 1, the epoch second the trace began, and 96 random bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId {
    /// The trace's start, in seconds since the Unix epoch (the 8 hex digits).
    pub epoch_seconds: u32,
    /// The 96-bit unique part (the 24 hex digits); the top 32 bits are always zero.
    pub unique: u128,
}

impl TraceId {
    const UNIQUE_MASK: u128 = (1 << 96) - 1;

    /// A new random trace id stamped with `now`.
    pub fn new(now: SystemTime) -> Self {
        let seconds = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        TraceId {
            // X-Ray's field is 8 hex digits; past 2106 it wraps, as AWS's would.
            epoch_seconds: seconds as u32,
            unique: rand::rng().random::<u128>() & Self::UNIQUE_MASK,
        }
    }

    /// The 32 hex digits OpenTelemetry and W3C trace context use for this trace
    /// (`1-5759e988-bd862e3fe1be46a994272793` → `5759e988bd862e3fe1be46a994272793`).
    pub fn to_otel_hex(&self) -> String {
        format!("{:08x}{:024x}", self.epoch_seconds, self.unique)
    }

    /// The same 128 bits as a number, the form OpenTelemetry's `TraceId` is built from.
    pub fn to_u128(&self) -> u128 {
        (u128::from(self.epoch_seconds) << 96) | self.unique
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unique > Self::UNIQUE_MASK {
            // Not a trace id this crate makes or reads: as many digits as it takes.
            return write!(f, "1-{:08x}-{:024x}", self.epoch_seconds, self.unique);
        }
        let mut text = [0u8; 35];
        text[..2].copy_from_slice(b"1-");
        text[2..10].copy_from_slice(&hex::<8>(self.epoch_seconds.into()));
        text[10] = b'-';
        text[11..].copy_from_slice(&hex::<24>(self.unique));
        write_ascii(f, &text)
    }
}

/// The lowest `N` hex digits of `value`, zero-padded: what `{:0Nx}` writes for a value
/// that fits, without the formatter's general integer path (a trace header is written
/// for every invocation, with three of these in it).
fn hex<const N: usize>(mut value: u128) -> [u8; N] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'0'; N];
    for digit in out.iter_mut().rev() {
        *digit = DIGITS[(value & 0xf) as usize];
        value >>= 4;
    }
    out
}

/// Writes `text`, ASCII made by [`hex`] and literals.
fn write_ascii(f: &mut fmt::Formatter<'_>, text: &[u8]) -> fmt::Result {
    f.write_str(std::str::from_utf8(text).map_err(|_| fmt::Error)?)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl FromStr for TraceId {
    type Err = HeaderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || HeaderError::TraceId(s.to_owned());
        let mut parts = s.split('-');
        let (Some("1"), Some(epoch), Some(unique), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if !is_hex(epoch, 8) || !is_hex(unique, 24) {
            return Err(bad());
        }
        Ok(TraceId {
            epoch_seconds: u32::from_str_radix(epoch, 16).map_err(|_| bad())?,
            unique: u128::from_str_radix(unique, 16).map_err(|_| bad())?,
        })
    }
}

/// A segment (or subsegment) id: 64 bits, written as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentId(pub u64);

impl SegmentId {
    /// A new random, non-zero segment id (zero is OpenTelemetry's "no span").
    pub fn new() -> Self {
        let mut rng = rand::rng();
        loop {
            let id = rng.random::<u64>();
            if id != 0 {
                return SegmentId(id);
            }
        }
    }
}

impl Default for SegmentId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ascii(f, &hex::<16>(self.0.into()))
    }
}

impl FromStr for SegmentId {
    type Err = HeaderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !is_hex(s, 16) {
            return Err(HeaderError::SegmentId(s.to_owned()));
        }
        u64::from_str_radix(s, 16)
            .map(SegmentId)
            .map_err(|_| HeaderError::SegmentId(s.to_owned()))
    }
}

/// The header's sampling decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampled {
    /// `Sampled=1`: record the trace.
    Yes,
    /// `Sampled=0`: do not record.
    No,
    /// `Sampled=?`: the caller asks the next service to decide.
    Requested,
}

impl Sampled {
    fn as_str(self) -> &'static str {
        match self {
            Sampled::Yes => "1",
            Sampled::No => "0",
            Sampled::Requested => "?",
        }
    }
}

/// A parsed X-Ray trace header. Every part is optional, as callers send partial headers
/// (a bare `Root=` is common from clients that start a trace without sampling it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceHeader {
    /// `Root=`: the trace.
    pub root: Option<TraceId>,
    /// `Parent=`: the caller's segment or subsegment.
    pub parent: Option<SegmentId>,
    /// `Sampled=`; `None` when absent or not one of `0`, `1`, `?`.
    pub sampled: Option<Sampled>,
    /// `Lineage=`, kept verbatim: Lambda's recursion counter, opaque here.
    pub lineage: Option<String>,
    /// Other `key=value` parts in the order they came (e.g. `Self=` from a load balancer).
    pub extra: Vec<(String, String)>,
}

impl FromStr for TraceHeader {
    type Err = HeaderError;

    /// Parses parts in any order, with spaces around them; empty parts are skipped, unknown
    /// keys kept. A malformed `Root` or `Parent` is an error: the caller then starts a new
    /// trace rather than continue one it cannot name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut header = TraceHeader::default();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| HeaderError::Part(part.to_owned()))?;
            let (key, value) = (key.trim(), value.trim());
            match key {
                "Root" => header.root = Some(value.parse()?),
                "Parent" => header.parent = Some(value.parse()?),
                "Sampled" => {
                    header.sampled = match value {
                        "1" => Some(Sampled::Yes),
                        "0" => Some(Sampled::No),
                        "?" => Some(Sampled::Requested),
                        _ => None,
                    }
                }
                "Lineage" => header.lineage = Some(value.to_owned()),
                _ => header.extra.push((key.to_owned(), value.to_owned())),
            }
        }
        Ok(header)
    }
}

impl fmt::Display for TraceHeader {
    /// `Root`, `Parent`, `Sampled`, `Lineage`, then the other parts, `;`-separated: the order
    /// Lambda's `_X_AMZN_TRACE_ID` shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written straight into the formatter: this runs for every invocation.
        let mut sep = "";
        let mut part = |f: &mut fmt::Formatter<'_>, key: &str, value: &dyn fmt::Display| {
            let written = write!(f, "{sep}{key}={value}");
            sep = ";";
            written
        };
        if let Some(root) = &self.root {
            part(f, "Root", root)?;
        }
        if let Some(parent) = &self.parent {
            part(f, "Parent", parent)?;
        }
        if let Some(sampled) = self.sampled {
            part(f, "Sampled", &sampled.as_str())?;
        }
        if let Some(lineage) = &self.lineage {
            part(f, "Lineage", lineage)?;
        }
        for (key, value) in &self.extra {
            part(f, key, value)?;
        }
        Ok(())
    }
}

/// A function's `TracingConfig.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracingMode {
    /// Lambda samples requests itself and records its own segments.
    Active,
    /// Lambda only passes the caller's decision on.
    PassThrough,
}

/// What Lambda decided for one invocation: the ids of its trace and segments, whether it is
/// sampled, and the header the function's runtime receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationTrace {
    /// The trace, continued from the caller's `Root` or new.
    pub trace_id: TraceId,
    /// The caller's `Parent`: the parent of the `AWS::Lambda` segment.
    pub upstream_parent: Option<SegmentId>,
    /// The `AWS::Lambda` (service) segment's id.
    pub service_segment_id: SegmentId,
    /// The `AWS::Lambda::Function` segment's id; also the header's `Parent` for the function,
    /// so the X-Ray SDK's facade segment (and what the function records under it) hangs there.
    pub function_segment_id: SegmentId,
    /// Whether this invocation is sampled.
    pub sampled: bool,
    /// Whether Hearth records the `AWS::Lambda` and `AWS::Lambda::Function` segments:
    /// sampled, and the function's mode is `Active`.
    pub record_platform_segments: bool,
    /// `Lineage=`, kept from the caller.
    pub lineage: Option<String>,
    /// The caller's other header parts, kept.
    pub extra: Vec<(String, String)>,
}

impl InvocationTrace {
    /// The header handed to the runtime as `Lambda-Runtime-Trace-Id`.
    ///
    /// Its `Parent` is the function segment when Hearth records it; otherwise the caller's
    /// `Parent`, so what the function records still hangs from a segment that exists.
    /// UNSURE: which `Parent` AWS hands a PassThrough function is not documented.
    pub fn function_header(&self) -> TraceHeader {
        let parent = if self.record_platform_segments {
            self.function_segment_id
        } else {
            self.upstream_parent.unwrap_or(self.function_segment_id)
        };
        TraceHeader {
            root: Some(self.trace_id),
            parent: Some(parent),
            sampled: Some(if self.sampled {
                Sampled::Yes
            } else {
                Sampled::No
            }),
            lineage: self.lineage.clone(),
            extra: self.extra.clone(),
        }
    }
}

/// The rule Lambda applies to an invocation's incoming header.
///
/// - An incoming `Root` is continued and its `Parent` becomes the service segment's parent;
///   without one a new trace is started (Lambda always hands the function a header).
/// - A `Sampled=1` or `Sampled=0` from the caller is honoured in both modes.
/// - Otherwise (no header, no `Sampled`, or `Sampled=?`), `Active` asks `sample` (the
///   default rule, see [`crate::Sampler`]) and `PassThrough` does not sample.
///
/// UNSURE: AWS documents PassThrough as "Lambda propagates the tracing header it receives"
/// and creates a header when none came; that the new one is `Sampled=0`, that `Sampled=?`
/// is treated as "not sampled" in PassThrough, and that Lambda records its own service
/// segments only in Active mode (even for an upstream `Sampled=1`) is our reading, not a
/// documented statement.
pub fn continue_trace(
    incoming: Option<&TraceHeader>,
    mode: TracingMode,
    now: SystemTime,
    sample: impl FnOnce() -> bool,
) -> InvocationTrace {
    let incoming_root = incoming.and_then(|h| h.root);
    let trace_id = incoming_root.unwrap_or_else(|| TraceId::new(now));
    // A Parent without the Root it belongs to names nothing.
    let upstream_parent = incoming_root.and(incoming.and_then(|h| h.parent));
    let decided = incoming_root.and(incoming.and_then(|h| h.sampled));
    let sampled = match (decided, mode) {
        (Some(Sampled::Yes), _) => true,
        (Some(Sampled::No), _) => false,
        (_, TracingMode::Active) => sample(),
        (_, TracingMode::PassThrough) => false,
    };
    InvocationTrace {
        trace_id,
        upstream_parent,
        service_segment_id: SegmentId::new(),
        function_segment_id: SegmentId::new(),
        sampled,
        record_platform_segments: sampled && mode == TracingMode::Active,
        lineage: incoming.and_then(|h| h.lineage.clone()),
        extra: incoming.map(|h| h.extra.clone()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn ids_are_written_as_the_formatter_would() {
        let mut rng = rand::rng();
        for i in 0..2000u32 {
            // Small values too: the leading zeros are where padding goes wrong.
            let unique = rng.random::<u128>() >> (32 + i % 96);
            let id = TraceId {
                epoch_seconds: rng.random::<u32>() >> (i % 32),
                unique,
            };
            assert_eq!(
                id.to_string(),
                format!("1-{:08x}-{:024x}", id.epoch_seconds, id.unique)
            );
            let segment = SegmentId(rng.random::<u64>() >> (i % 64));
            assert_eq!(segment.to_string(), format!("{:016x}", segment.0));
        }
        // Not one this crate makes, but written as asked all the same.
        let wide = TraceId {
            epoch_seconds: 1,
            unique: u128::MAX,
        };
        assert_eq!(wide.to_string(), format!("1-00000001-{:x}", u128::MAX));
    }

    #[test]
    fn trace_id_round_trips_and_converts_to_otel() {
        let id: TraceId = "1-5759e988-bd862e3fe1be46a994272793"
            .parse()
            .expect("a valid trace id");
        assert_eq!(id.epoch_seconds, 0x5759e988);
        assert_eq!(id.unique, 0xbd862e3fe1be46a994272793);
        assert_eq!(id.to_string(), "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(id.to_otel_hex(), "5759e988bd862e3fe1be46a994272793");
        assert_eq!(id.to_u128(), 0x5759e988bd862e3fe1be46a994272793);
    }

    #[test]
    fn malformed_trace_ids_are_rejected() {
        for bad in [
            "",
            "2-5759e988-bd862e3fe1be46a994272793",
            "1-5759e98-bd862e3fe1be46a994272793",
            "1-5759e988-bd862e3fe1be46a99427279",
            "1-5759e988-bd862e3fe1be46a99427279z",
            "1-5759e988-bd862e3fe1be46a994272793-00",
            "1-+759e988-bd862e3fe1be46a994272793",
        ] {
            assert_eq!(
                bad.parse::<TraceId>(),
                Err(HeaderError::TraceId(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn new_trace_id_carries_the_epoch_second() {
        let id = TraceId::new(at(1_480_615_200));
        assert_eq!(format!("{:08x}", id.epoch_seconds), "58406520");
        assert_eq!(id.unique >> 96, 0);
        assert_eq!(id.to_string().len(), 35);
        assert_ne!(TraceId::new(at(1)).unique, TraceId::new(at(1)).unique);
    }

    #[test]
    fn segment_ids_are_16_hex_digits() {
        assert_eq!(SegmentId(0xab).to_string(), "00000000000000ab");
        assert_eq!(
            "53995c3f42cd8ad8".parse::<SegmentId>(),
            Ok(SegmentId(0x53995c3f42cd8ad8))
        );
        assert!("53995c3f42cd8ad".parse::<SegmentId>().is_err());
        assert!("+3995c3f42cd8ad8".parse::<SegmentId>().is_err());
        assert_eq!(SegmentId::new().to_string().len(), 16);
    }

    #[test]
    fn parses_lambdas_header() {
        let header: TraceHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0"
            .parse()
            .expect("a valid header");
        assert_eq!(
            header,
            TraceHeader {
                root: Some(TraceId {
                    epoch_seconds: 0x5759e988,
                    unique: 0xbd862e3fe1be46a994272793
                }),
                parent: Some(SegmentId(0x53995c3f42cd8ad8)),
                sampled: Some(Sampled::Yes),
                lineage: Some("a87bd80c:0".to_owned()),
                extra: vec![],
            }
        );
    }

    #[test]
    fn parsing_tolerates_order_spaces_and_unknown_keys() {
        let header: TraceHeader =
            " Self=1-67891234-12456789abcdef012345678 ; Sampled=? ;Parent=53995c3f42cd8ad8; Root=1-5759e988-bd862e3fe1be46a994272793;;Foo = bar "
                .parse()
                .expect("a valid header");
        assert_eq!(
            header.root.map(|r| r.to_string()).as_deref(),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(header.parent, Some(SegmentId(0x53995c3f42cd8ad8)));
        assert_eq!(header.sampled, Some(Sampled::Requested));
        assert_eq!(
            header.extra,
            vec![
                (
                    "Self".to_owned(),
                    "1-67891234-12456789abcdef012345678".to_owned()
                ),
                ("Foo".to_owned(), "bar".to_owned())
            ]
        );
        assert_eq!(
            header.to_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?;Self=1-67891234-12456789abcdef012345678;Foo=bar"
        );
    }

    #[test]
    fn parsing_rejects_malformed_parts() {
        assert_eq!(
            "Root".parse::<TraceHeader>(),
            Err(HeaderError::Part("Root".to_owned()))
        );
        assert_eq!(
            "Root=1-xyz".parse::<TraceHeader>(),
            Err(HeaderError::TraceId("1-xyz".to_owned()))
        );
        assert_eq!(
            "Parent=12".parse::<TraceHeader>(),
            Err(HeaderError::SegmentId("12".to_owned()))
        );
        let odd: TraceHeader = "Sampled=yes"
            .parse()
            .expect("an unknown Sampled is no decision");
        assert_eq!(odd.sampled, None);
    }

    fn incoming(s: &str) -> TraceHeader {
        s.parse().expect("a valid header")
    }

    #[test]
    fn an_incoming_root_is_continued_and_its_decision_honoured() {
        let header = incoming(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1",
        );
        for mode in [TracingMode::Active, TracingMode::PassThrough] {
            let trace = continue_trace(Some(&header), mode, at(5), || {
                panic!("an upstream decision is not re-sampled")
            });
            assert_eq!(trace.trace_id, header.root.expect("root"));
            assert_eq!(trace.upstream_parent, Some(SegmentId(0x53995c3f42cd8ad8)));
            assert!(trace.sampled);
            assert_eq!(trace.record_platform_segments, mode == TracingMode::Active);
            let parent = match mode {
                TracingMode::Active => trace.function_segment_id.to_string(),
                TracingMode::PassThrough => "53995c3f42cd8ad8".to_owned(),
            };
            assert_eq!(
                trace.function_header().to_string(),
                format!(
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent={parent};Sampled=1;Lineage=a87bd80c:1"
                )
            );
        }
        let unsampled = incoming("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0");
        let trace = continue_trace(Some(&unsampled), TracingMode::Active, at(5), || {
            panic!("an upstream decision is not re-sampled")
        });
        assert!(!trace.sampled);
        assert!(!trace.record_platform_segments);
        assert_eq!(trace.upstream_parent, None);
    }

    #[test]
    fn without_a_decision_active_samples_and_passthrough_does_not() {
        let requested = incoming("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?");
        let active = continue_trace(Some(&requested), TracingMode::Active, at(5), || true);
        assert!(active.sampled);
        assert!(active.record_platform_segments);
        let declined = continue_trace(Some(&requested), TracingMode::Active, at(5), || false);
        assert!(!declined.sampled);
        let passthrough = continue_trace(Some(&requested), TracingMode::PassThrough, at(5), || {
            panic!("PassThrough does not sample")
        });
        assert!(!passthrough.sampled);
        assert_eq!(passthrough.trace_id, requested.root.expect("root"));
    }

    #[test]
    fn without_a_header_lambda_starts_a_trace() {
        let trace = continue_trace(None, TracingMode::PassThrough, at(0x5759e988), || {
            panic!("PassThrough does not sample")
        });
        assert_eq!(trace.trace_id.epoch_seconds, 0x5759e988);
        assert_eq!(trace.upstream_parent, None);
        assert!(!trace.sampled);
        let header = trace.function_header().to_string();
        assert!(header.starts_with("Root=1-5759e988-"), "{header}");
        assert!(header.ends_with(";Sampled=0"), "{header}");
        assert_ne!(trace.service_segment_id, trace.function_segment_id);
    }

    #[test]
    fn a_parent_or_decision_without_a_root_is_ignored() {
        let orphan = incoming("Parent=53995c3f42cd8ad8;Sampled=1");
        let trace = continue_trace(Some(&orphan), TracingMode::Active, at(7), || false);
        assert_eq!(trace.upstream_parent, None);
        assert!(!trace.sampled);
        assert_eq!(trace.trace_id.epoch_seconds, 7);
    }
}
