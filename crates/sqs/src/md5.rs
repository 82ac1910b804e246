//! The checksums SQS answers with a message, computed as AWS documents them (and as the
//! SDKs recompute them to verify an answer): `MD5OfMessageBody` is the MD5 of the body's
//! UTF-8 bytes; `MD5OfMessageAttributes` (and `MD5OfMessageSystemAttributes`) is the MD5 of
//! the attributes sorted by name, each encoded as its name, its data type (each as a 4-byte
//! big-endian length and the UTF-8 bytes), one transport byte (1 for `String`/`Number`,
//! 2 for `Binary`) and its value (a 4-byte length and the bytes). Hex, lower case.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::message::MessageAttributeValue;

/// The MD5 of `bytes` in lower-case hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// The MD5 of a set of message (or system) attributes; `None` when there are none.
pub fn md5_of_attributes(attrs: &BTreeMap<String, MessageAttributeValue>) -> Option<String> {
    if attrs.is_empty() {
        return None;
    }
    let mut buf = Vec::new();
    // A BTreeMap iterates by name: the order AWS sorts them in (byte order of UTF-8).
    for (name, v) in attrs {
        put(&mut buf, name.as_bytes());
        put(&mut buf, v.data_type.as_bytes());
        match &v.binary_value {
            Some(b) if v.is_binary() => {
                buf.push(2);
                put(&mut buf, b);
            }
            _ => {
                buf.push(1);
                put(&mut buf, v.string_value.as_deref().unwrap_or("").as_bytes());
            }
        }
    }
    Some(md5_hex(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(t: &str, v: &str) -> MessageAttributeValue {
        MessageAttributeValue {
            data_type: t.into(),
            string_value: Some(v.into()),
            binary_value: None,
        }
    }

    #[test]
    fn body_digest_is_plain_md5() {
        // RFC 1321's test vector.
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn attribute_digest_follows_the_documented_encoding() {
        // The encoding spelled out byte by byte, independently of `md5_of_attributes`.
        let mut attrs = BTreeMap::new();
        attrs.insert("b".to_string(), string("Number", "1"));
        attrs.insert(
            "a".to_string(),
            MessageAttributeValue {
                data_type: "Binary".into(),
                string_value: None,
                binary_value: Some(vec![0, 1, 2]),
            },
        );
        let mut expected: Vec<u8> = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 6]);
        expected.extend_from_slice(b"Binary");
        expected.extend_from_slice(&[2, 0, 0, 0, 3, 0, 1, 2]);
        expected.extend_from_slice(&[0, 0, 0, 1, b'b', 0, 0, 0, 6]);
        expected.extend_from_slice(b"Number");
        expected.extend_from_slice(&[1, 0, 0, 0, 1, b'1']);
        assert_eq!(md5_of_attributes(&attrs), Some(md5_hex(&expected)));
        assert_eq!(md5_of_attributes(&BTreeMap::new()), None);
    }

    #[test]
    fn known_digests() {
        // Computed apart from this code (Python's hashlib over the documented encoding).
        let mut attrs = BTreeMap::new();
        attrs.insert("attr".to_string(), string("String", "value"));
        assert_eq!(
            md5_of_attributes(&attrs).as_deref(),
            Some("0a3eacc505c2c642f442010ddab0e8dc")
        );
        let mut trace = BTreeMap::new();
        trace.insert(
            "AWSTraceHeader".to_string(),
            string(
                "String",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            ),
        );
        assert_eq!(
            md5_of_attributes(&trace).as_deref(),
            Some("5ae4d5d7636402d80f4eb6d213245a88")
        );
    }
}
