//! The prelude of a streamed HTTP response: a function that streams through
//! `awslambda.HttpResponseStream.from(stream, {statusCode, headers, cookies})` (content
//! type `application/vnd.awslambda.http-integration-response`) writes the JSON of that
//! object, then eight NUL bytes, then the body. [`PreludeSplitter`] takes the stream's
//! chunks as they come (the prelude and the NULs may be split anywhere) and gives the
//! parsed prelude once, then the body's bytes as they arrive, without holding more than
//! the prelude.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use serde::Deserialize;

/// The content type of a stream that begins with a prelude.
pub const HTTP_INTEGRATION_CONTENT_TYPE: &str =
    "application/vnd.awslambda.http-integration-response";

/// What separates the prelude from the body.
const SEPARATOR: [u8; 8] = [0; 8];

/// The most prelude held while looking for its end; a status and headers fit well
/// within it, and a stream that never sends the separator cannot make it grow.
pub const PRELUDE_MAX_BYTES: usize = 64 * 1024;

/// The status, headers and cookies a streamed response begins with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prelude {
    /// 200 when absent.
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Each becomes a `Set-Cookie` header.
    #[serde(default)]
    pub cookies: Vec<String>,
}

/// Why a stream's prelude could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PreludeError {
    #[error("the response prelude is longer than {PRELUDE_MAX_BYTES} bytes")]
    TooLong,
    #[error("the response prelude is not valid JSON: {0}")]
    Invalid(String),
}

/// A piece of the split stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// The prelude: always the first piece, given once.
    Head(Prelude),
    /// Bytes of the body, as they arrived.
    Body(Bytes),
}

/// Splits a streamed response into its prelude and its body.
#[derive(Debug, Default)]
pub struct PreludeSplitter {
    /// The prelude so far, until its separator is found.
    held: BytesMut,
    /// Whether the prelude has been given.
    split: bool,
}

impl PreludeSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next chunk of the stream; returns what it completes (nothing while the
    /// prelude is still incomplete).
    pub fn push(&mut self, chunk: Bytes) -> Result<Vec<Piece>, PreludeError> {
        if self.split {
            return Ok(body(chunk).into_iter().collect());
        }
        // The separator may straddle the previous chunk: look again at its last 7 bytes.
        let from = self.held.len().saturating_sub(SEPARATOR.len() - 1);
        self.held.extend_from_slice(&chunk);
        let Some(at) = self.held[from..]
            .windows(SEPARATOR.len())
            .position(|w| w == SEPARATOR)
            .map(|p| p + from)
        else {
            // The separator could still begin in the last 7 bytes held.
            if self.held.len().saturating_sub(SEPARATOR.len() - 1) > PRELUDE_MAX_BYTES {
                return Err(PreludeError::TooLong);
            }
            return Ok(Vec::new());
        };
        if at > PRELUDE_MAX_BYTES {
            return Err(PreludeError::TooLong);
        }
        let mut held = std::mem::take(&mut self.held);
        let rest = held.split_off(at + SEPARATOR.len());
        let prelude = parse(&held[..at])?;
        self.split = true;
        let mut out = vec![Piece::Head(prelude)];
        out.extend(body(rest.freeze()));
        Ok(out)
    }

    /// The stream ended. A stream that ended before its separator gets its prelude from
    /// what it sent (an empty one from nothing: the defaults); `None` once given.
    pub fn finish(self) -> Result<Option<Prelude>, PreludeError> {
        if self.split {
            return Ok(None);
        }
        parse(&self.held).map(Some)
    }
}

fn body(bytes: Bytes) -> Option<Piece> {
    (!bytes.is_empty()).then_some(Piece::Body(bytes))
}

fn parse(json: &[u8]) -> Result<Prelude, PreludeError> {
    if json.iter().all(u8::is_ascii_whitespace) {
        return Ok(Prelude::default());
    }
    serde_json::from_slice(json).map_err(|e| PreludeError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRELUDE: &[u8] =
        br#"{"statusCode":201,"headers":{"content-type":"text/plain"},"cookies":["a=1"]}"#;

    fn want_prelude() -> Prelude {
        Prelude {
            status_code: Some(201),
            headers: BTreeMap::from([("content-type".into(), "text/plain".into())]),
            cookies: vec!["a=1".into()],
        }
    }

    fn stream() -> Vec<u8> {
        let mut s = PRELUDE.to_vec();
        s.extend_from_slice(&SEPARATOR);
        s.extend_from_slice(b"hello\0world");
        s
    }

    /// Feeds `data` cut at `cuts` and returns the prelude and the body joined.
    fn split_at(data: &[u8], cuts: &[usize]) -> (Prelude, Vec<u8>) {
        let mut s = PreludeSplitter::new();
        let mut pieces = Vec::new();
        let mut last = 0;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            pieces.extend(
                s.push(Bytes::copy_from_slice(&data[last..c]))
                    .expect("splits"),
            );
            last = c;
        }
        assert_eq!(s.finish(), Ok(None));
        let Some(Piece::Head(prelude)) = pieces.first().cloned() else {
            panic!("the prelude comes first: {pieces:?}");
        };
        let mut body = Vec::new();
        for p in &pieces[1..] {
            match p {
                Piece::Body(b) => body.extend_from_slice(b),
                Piece::Head(_) => panic!("a second prelude"),
            }
        }
        (prelude, body)
    }

    #[test]
    fn a_prelude_in_one_chunk_with_the_body() {
        let (prelude, body) = split_at(&stream(), &[]);
        assert_eq!(prelude, want_prelude());
        assert_eq!(body, b"hello\0world");
    }

    #[test]
    fn every_cut_point_gives_the_same_split() {
        // Every place one cut can fall, and every pair (the prelude split across
        // chunks, the NULs split across chunks, chunks of one byte in the separator).
        let data = stream();
        for i in 0..=data.len() {
            assert_eq!(
                split_at(&data, &[i]),
                (want_prelude(), b"hello\0world".to_vec()),
                "cut at {i}"
            );
            for j in i..=data.len() {
                assert_eq!(split_at(&data, &[i, j]).1, b"hello\0world", "{i} {j}");
            }
        }
    }

    #[test]
    fn body_bytes_flow_as_they_come_after_the_split() {
        let mut s = PreludeSplitter::new();
        let mut head = PRELUDE.to_vec();
        head.extend_from_slice(&SEPARATOR);
        assert_eq!(
            s.push(Bytes::from(head)),
            Ok(vec![Piece::Head(want_prelude())])
        );
        assert_eq!(
            s.push(Bytes::from_static(b"\0\0\0\0\0\0\0\0")),
            Ok(vec![Piece::Body(Bytes::from_static(b"\0\0\0\0\0\0\0\0"))]),
            "NULs in the body are body"
        );
        assert_eq!(s.push(Bytes::new()), Ok(vec![]));
    }

    #[test]
    fn an_empty_body() {
        let mut data = PRELUDE.to_vec();
        data.extend_from_slice(&SEPARATOR);
        let (prelude, body) = split_at(&data, &[3]);
        assert_eq!(prelude, want_prelude());
        assert!(body.is_empty());
    }

    #[test]
    fn a_stream_that_ends_before_its_separator() {
        let mut s = PreludeSplitter::new();
        assert_eq!(s.push(Bytes::from_static(PRELUDE)), Ok(vec![]));
        assert_eq!(s.finish(), Ok(Some(want_prelude())));
        assert_eq!(
            PreludeSplitter::new().finish(),
            Ok(Some(Prelude::default()))
        );
    }

    #[test]
    fn a_prelude_of_the_largest_size_is_taken_however_it_is_cut() {
        let mut data = vec![b' '; PRELUDE_MAX_BYTES - 2];
        data.extend_from_slice(b"{}");
        data.extend_from_slice(&SEPARATOR);
        data.extend_from_slice(b"body");
        for cut in PRELUDE_MAX_BYTES - 2..data.len() {
            assert_eq!(split_at(&data, &[cut]).1, b"body", "cut at {cut}");
        }
        let mut over = vec![b' '; PRELUDE_MAX_BYTES + 1];
        over.extend_from_slice(&SEPARATOR);
        let mut s = PreludeSplitter::new();
        assert_eq!(s.push(Bytes::from(over)), Err(PreludeError::TooLong));
    }

    #[test]
    fn a_bad_or_endless_prelude_is_refused() {
        let mut s = PreludeSplitter::new();
        let mut bad = b"not json".to_vec();
        bad.extend_from_slice(&SEPARATOR);
        assert!(matches!(
            s.push(Bytes::from(bad)),
            Err(PreludeError::Invalid(_))
        ));
        let mut s = PreludeSplitter::new();
        let mut refused = None;
        for _ in 0..=PRELUDE_MAX_BYTES / 1024 {
            if let Err(e) = s.push(Bytes::from(vec![b' '; 1024])) {
                refused = Some(e);
                break;
            }
        }
        assert_eq!(refused, Some(PreludeError::TooLong));
    }
}
