//! Any bytes a streaming function writes, cut into chunks anywhere: the prelude splitter
//! (`hearth_http_events::PreludeSplitter`) never panics, and how the stream is cut
//! changes nothing: the prelude, the body and the refusals are those of the stream whole.
#![no_main]

use bytes::Bytes;
use hearth_http_events::{Piece, Prelude, PreludeError, PreludeSplitter};
use libfuzzer_sys::fuzz_target;

/// The prelude and body of `chunks`, or the refusal.
fn split(chunks: &[&[u8]]) -> Result<(Option<Prelude>, Vec<u8>), PreludeError> {
    let mut s = PreludeSplitter::new();
    let mut prelude = None;
    let mut body = Vec::new();
    for c in chunks {
        for piece in s.push(Bytes::copy_from_slice(c))? {
            match piece {
                Piece::Head(p) => {
                    assert!(prelude.is_none(), "a second prelude");
                    assert!(body.is_empty(), "body before the prelude");
                    prelude = Some(p);
                }
                Piece::Body(b) => {
                    assert!(prelude.is_some(), "body before the prelude");
                    assert!(!b.is_empty(), "an empty body piece");
                    body.extend_from_slice(&b);
                }
            }
        }
    }
    match s.finish()? {
        Some(p) => {
            assert!(prelude.is_none(), "a second prelude at the end");
            Ok((Some(p), body))
        }
        None => Ok((prelude, body)),
    }
}

fuzz_target!(|input: (Vec<u8>, Vec<u16>)| {
    let (data, cuts) = input;
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (data.len() + 1))
        .collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut last = 0;
    for c in at.into_iter().chain(std::iter::once(data.len())) {
        chunks.push(&data[last..c]);
        last = c;
    }
    let whole = split(&[&data]);
    let cut = split(&chunks);
    match (&whole, &cut) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{a} / {b}"
        ),
        _ => panic!("whole {whole:?}, cut {cut:?}"),
    }
});
