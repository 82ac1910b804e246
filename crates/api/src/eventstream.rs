//! The AWS event stream encoding (`application/vnd.amazon.eventstream`) of the answers
//! that stream, as the SDKs decode them: each message is a prelude (total length,
//! headers length, CRC32 of those 8 bytes), headers (name length, name, type 7 for a
//! string, value length, value), the payload, and the CRC32 of everything before it.
//! All integers big-endian. Only what Hearth sends is encoded: string headers, events.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

/// Header value type 7: a UTF-8 string with a 2-byte length.
const STRING: u8 = 7;
/// Prelude (12 bytes) and message CRC (4 bytes).
const FRAMING: usize = 16;

/// One event message: `:event-type` `event_type`, `:content-type` `content_type`,
/// `:message-type` `event`, then `payload`.
pub(crate) fn event(event_type: &str, content_type: &str, payload: &[u8]) -> Bytes {
    message(
        &[
            (":event-type", event_type),
            (":content-type", content_type),
            (":message-type", "event"),
        ],
        payload,
    )
}

/// A message with string headers. Header names are at most 255 bytes and values at
/// most 65,535 (the format's limits); Hearth's are short constants.
fn message(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let headers_len: usize = headers
        .iter()
        .map(|(name, value)| 1 + name.len() + 1 + 2 + value.len())
        .sum();
    let total = FRAMING + headers_len + payload.len();
    let mut out = BytesMut::with_capacity(total);
    out.put_u32(total as u32);
    out.put_u32(headers_len as u32);
    out.put_u32(crc32fast::hash(&out[..8]));
    for (name, value) in headers {
        out.put_u8(name.len() as u8);
        out.put_slice(name.as_bytes());
        out.put_u8(STRING);
        out.put_u16(value.len() as u16);
        out.put_slice(value.as_bytes());
    }
    out.put_slice(payload);
    let crc = crc32fast::hash(&out);
    out.put_u32(crc);
    out.freeze()
}

/// `InvokeWithResponseStream`'s events.
pub(crate) mod lambda {
    use super::*;

    /// `PayloadChunk`: bytes of the function's response, as it wrote them.
    pub(crate) fn payload_chunk(bytes: &[u8]) -> Bytes {
        event("PayloadChunk", "application/octet-stream", bytes)
    }

    /// `InvokeComplete`'s members, absent ones left out.
    #[derive(Debug, Default, Serialize)]
    #[serde(rename_all = "PascalCase")]
    pub(crate) struct InvokeComplete<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub error_code: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub error_details: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub log_result: Option<&'a str>,
    }

    /// `InvokeComplete`: the end of the stream.
    pub(crate) fn invoke_complete(complete: &InvokeComplete<'_>) -> Bytes {
        let json = serde_json::to_vec(complete).expect("a struct of strings serializes");
        event("InvokeComplete", "application/json", &json)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A decoded message: its string headers and payload.
    #[derive(Debug, PartialEq, Eq)]
    pub(crate) struct Decoded {
        pub headers: Vec<(String, String)>,
        pub payload: Vec<u8>,
    }

    fn be32(b: &[u8]) -> u32 {
        u32::from_be_bytes(b[..4].try_into().expect("4 bytes"))
    }

    /// Decodes one message from the front of `buf`, checking both CRCs; returns it and
    /// how many bytes it took.
    pub(crate) fn decode(buf: &[u8]) -> (Decoded, usize) {
        let total = be32(buf) as usize;
        let headers_len = be32(&buf[4..]) as usize;
        assert_eq!(be32(&buf[8..]), crc32fast::hash(&buf[..8]), "prelude crc");
        assert_eq!(
            be32(&buf[total - 4..]),
            crc32fast::hash(&buf[..total - 4]),
            "message crc"
        );
        let mut headers = Vec::new();
        let mut at = 12;
        while at < 12 + headers_len {
            let n = buf[at] as usize;
            let name = String::from_utf8(buf[at + 1..at + 1 + n].to_vec()).expect("utf8");
            at += 1 + n;
            assert_eq!(buf[at], STRING);
            let len = u16::from_be_bytes([buf[at + 1], buf[at + 2]]) as usize;
            let value = String::from_utf8(buf[at + 3..at + 3 + len].to_vec()).expect("utf8");
            at += 3 + len;
            headers.push((name, value));
        }
        let payload = buf[12 + headers_len..total - 4].to_vec();
        (Decoded { headers, payload }, total)
    }

    #[test]
    fn an_empty_message_is_the_reference_frame() {
        // The `empty_message` test vector of AWS's event stream libraries
        // (aws-c-event-stream, smithy-rs): no headers, no payload.
        let want = [
            0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98,
            0xc8, 0xff,
        ];
        assert_eq!(&message(&[], b"")[..], &want);
    }

    #[test]
    fn a_message_with_a_string_header_matches_the_reference_layout() {
        // The header block of the `all_headers` vector's string header: name length,
        // name, type 7, 2-byte length, value.
        let m = message(&[("event-type", "aws")], b"");
        let headers = &m[12..m.len() - 4];
        let mut want = vec![10u8];
        want.extend_from_slice(b"event-type");
        want.extend_from_slice(&[7, 0, 3]);
        want.extend_from_slice(b"aws");
        assert_eq!(headers, &want[..]);
        assert_eq!(be32(&m), m.len() as u32);
        assert_eq!(be32(&m[4..]), want.len() as u32);
    }

    #[test]
    fn what_is_encoded_decodes() {
        let chunk = lambda::payload_chunk(b"hello\0world");
        let (got, used) = decode(&chunk);
        assert_eq!(used, chunk.len());
        assert_eq!(got.payload, b"hello\0world");
        assert_eq!(
            got.headers,
            [
                (":event-type".into(), "PayloadChunk".into()),
                (":content-type".into(), "application/octet-stream".into()),
                (":message-type".into(), "event".into()),
            ]
        );
        let done = lambda::invoke_complete(&lambda::InvokeComplete {
            error_code: Some("Sandbox.Timedout"),
            error_details: Some("Task timed out"),
            log_result: None,
        });
        let (got, _) = decode(&done);
        assert_eq!(got.headers[0].1, "InvokeComplete");
        assert_eq!(got.headers[1].1, "application/json");
        assert_eq!(
            got.payload,
            br#"{"ErrorCode":"Sandbox.Timedout","ErrorDetails":"Task timed out"}"#
        );
        let clean = lambda::invoke_complete(&lambda::InvokeComplete::default());
        assert_eq!(decode(&clean).0.payload, b"{}");
    }
}
