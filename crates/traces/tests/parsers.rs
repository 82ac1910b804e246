//! Property tests for the parsers that read bytes from outside Hearth: the trace header
//! callers send and the datagrams functions send to the X-Ray daemon endpoint.

use hearth_traces::{parse_datagram, Sampled, SegmentId, TraceHeader, TraceId};
use proptest::prelude::*;

fn sampled() -> impl Strategy<Value = Option<Sampled>> {
    prop_oneof![
        Just(None),
        Just(Some(Sampled::Yes)),
        Just(Some(Sampled::No)),
        Just(Some(Sampled::Requested)),
    ]
}

proptest! {
    #[test]
    fn any_text_parses_or_is_refused_without_panicking(text in "\\PC{0,200}") {
        let _ = text.parse::<TraceHeader>();
    }

    #[test]
    fn any_bytes_parse_or_are_dropped_without_panicking(
        bytes in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        let _ = parse_datagram(&bytes);
    }

    #[test]
    fn any_document_after_a_valid_header_parses_or_is_dropped(body in "\\PC{0,300}") {
        let datagram = format!("{{\"format\": \"json\", \"version\": 1}}\n{body}");
        let _ = parse_datagram(datagram.as_bytes());
    }

    #[test]
    fn formatted_headers_parse_back_to_themselves(
        epoch in any::<u32>(),
        unique in any::<u128>(),
        parent in proptest::option::of(any::<u64>()),
        sampled in sampled(),
        lineage in proptest::option::of("[0-9a-f]{8}:[0-9]{1,3}"),
        extra in proptest::collection::vec(("[A-Z][a-z]{0,6}", "[A-Za-z0-9:-]{0,12}"), 0..3),
    ) {
        // Known keys in `extra` would be read back as themselves, not as extra parts.
        let extra: Vec<(String, String)> = extra
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "Root" | "Parent" | "Sampled" | "Lineage"))
            .collect();
        let header = TraceHeader {
            root: Some(TraceId { epoch_seconds: epoch, unique: unique & ((1 << 96) - 1) }),
            parent: parent.map(SegmentId),
            sampled,
            lineage,
            extra,
        };
        let parsed: TraceHeader = header.to_string().parse().expect("a formatted header parses");
        prop_assert_eq!(parsed, header);
    }
}
