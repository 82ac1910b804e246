//! Reading request bodies with a size limit checked as the bytes arrive and a minimum
//! pace, and parsing JSON bodies into the model's request shapes.

use std::pin::Pin;
use std::task::Poll;

use axum::body::{Body, HttpBody};
use bytes::{Bytes, BytesMut};
use hearth_model::{AwsError, ErrorCode};
use http_body::Frame;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::body_budget::Exhausted;
use crate::error::{bad_content, ApiError};

/// Control-plane bodies: a 50 MB zip, base64-encoded, plus the rest of the request; the
/// limit AWS states for CreateFunction ("Request must be smaller than 70167211 bytes").
pub(crate) const CONTROL_BODY_MAX: usize = 70_167_211;

/// How slowly a body may arrive: within `grace`, then at `min_rate` bytes a second on
/// average. Without it a client that trickles a body (slow POST) would hold its connection,
/// which is busy and so never timed out nor pushed out at the connection cap, forever.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    pub(crate) grace: std::time::Duration,
    pub(crate) min_rate: u64,
}

/// Longer than the body budget's wait (a chunked body may wait for it while being read);
/// 64 KiB/s is far below any network a client of a local server uses.
pub(crate) const PACE: Pace = Pace {
    grace: std::time::Duration::from_secs(60),
    min_rate: 64 * 1024,
};

impl Pace {
    /// When a body that started at `start` must have delivered more than `received` bytes.
    fn deadline(&self, start: tokio::time::Instant, received: usize) -> tokio::time::Instant {
        let earned = std::time::Duration::from_secs_f64(received as f64 / self.min_rate as f64);
        start + self.grace + earned
    }
}

pub(crate) async fn read(body: Body, limit: usize, operation: &str) -> Result<Bytes, ApiError> {
    read_paced(body, limit, operation, PACE).await
}

pub(crate) async fn read_paced(
    body: Body,
    limit: usize,
    operation: &str,
    pace: Pace,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError(AwsError::new(
            ErrorCode::RequestTooLarge,
            format!("Request must be smaller than {limit} bytes for the {operation} operation"),
        ))
    };
    let mut body = body;
    // A body that comes as one chunk (one an earlier layer read whole and handed on) is
    // answered as that chunk, not copied: a 50 MB upload read by the authentication, the
    // audit and the handler stays one allocation.
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    let start = tokio::time::Instant::now();
    loop {
        let so_far = buf.len() + first.as_ref().map_or(0, Bytes::len);
        // A frame already here (a body read before, or one that came with the headers)
        // is taken without arming a timer: most bodies, on every request.
        let frame = match frame_now(&mut body).await {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                let deadline = pace.deadline(start, so_far);
                let Ok(frame) = tokio::time::timeout_at(deadline, body.frame()).await else {
                    return Err(bad_content(format!(
                        "the body arrived too slowly ({so_far} bytes in {} s)",
                        start.elapsed().as_secs()
                    )));
                };
                frame
            }
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(body_error)?;
        if let Ok(data) = frame.into_data() {
            if so_far + data.len() > limit {
                return Err(too_large());
            }
            match first.take() {
                None if buf.is_empty() => first = Some(data),
                earlier => {
                    if let Some(earlier) = earlier {
                        buf.extend_from_slice(&earlier);
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

/// The body's next frame if it is ready now, without waiting.
async fn frame_now(body: &mut Body) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *body).poll_frame(cx))).await
}

/// A body that could not be read: the body budget's wait ran out (429), or the bytes
/// are not a valid HTTP body.
fn body_error(e: axum::Error) -> ApiError {
    match e.into_inner().downcast::<Exhausted>() {
        Ok(exhausted) => ApiError(exhausted.0),
        Err(other) => bad_content(other),
    }
}

/// Reads and parses a JSON request body; an empty body is an empty object.
pub(crate) async fn json<T: DeserializeOwned>(body: Body, operation: &str) -> Result<T, ApiError> {
    let bytes = control(body, operation).await?;
    parse(&bytes)
}

/// Reads a control-plane request body. Over the limit it is AWS's front end that
/// answers, with its own code (`RequestEntityTooLargeException`) and limit.
pub(crate) async fn control(body: Body, operation: &str) -> Result<Bytes, ApiError> {
    read(body, CONTROL_BODY_MAX, operation).await.map_err(|e| {
        if e.0.code == ErrorCode::RequestTooLarge {
            ApiError(AwsError::new(ErrorCode::RequestEntityTooLarge, e.0.message))
        } else {
            e
        }
    })
}

/// Parses a JSON request body already read; an empty body is an empty object.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(bad_content)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use axum::body::HttpBody;
    use http_body::Frame;

    use super::*;

    /// A body in one chunk is answered as that chunk (no copy); one in several chunks is
    /// joined in order.
    #[tokio::test]
    async fn one_chunk_is_not_copied_and_several_are_joined() {
        let whole = Bytes::from(vec![7u8; 4096]);
        let read = read(Body::from(whole.clone()), 1 << 20, "Op")
            .await
            .expect("read");
        assert_eq!((read.as_ptr(), read.len()), (whole.as_ptr(), whole.len()));
        let joined = read_paced(chunks(&[b"ab", b"cd", b"e"]), 10, "Op", PACE).await;
        assert_eq!(joined.expect("read"), Bytes::from_static(b"abcde"));
        let too_large = read_paced(chunks(&[b"abcdef", b"ghijk"]), 10, "Op", PACE).await;
        assert_eq!(
            too_large.expect_err("11 bytes").0.code,
            ErrorCode::RequestTooLarge
        );
    }

    /// A body that arrives as these chunks, then ends.
    fn chunks(parts: &[&'static [u8]]) -> Body {
        let parts: Vec<Bytes> = parts.iter().map(|p| Bytes::from_static(p)).collect();
        Body::new(Chunks(parts.into_iter()))
    }

    /// A body of unknown length that arrives in these chunks (as a chunked upload).
    pub(crate) struct Chunks(pub(crate) std::vec::IntoIter<Bytes>);

    impl HttpBody for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.next().map(|b| Ok(Frame::data(b))))
        }
    }

    /// Sends `first`, then nothing more (a client that stopped sending).
    struct Stalled(Option<Bytes>);

    impl HttpBody for Stalled {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            match self.0.take() {
                Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                None => Poll::Pending,
            }
        }
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_is_refused() {
        let pace = Pace {
            grace: Duration::from_millis(50),
            min_rate: 1024,
        };
        let body = Body::new(Stalled(Some(Bytes::from_static(b"{\"a\":"))));
        let err = read_paced(body, 1 << 20, "Test", pace)
            .await
            .expect_err("refused");
        assert_eq!(err.0.code, ErrorCode::InvalidRequestContent);
        assert!(err.0.message.contains("too slowly"), "{}", err.0.message);
        // A complete body is read whatever the pace.
        let body = Body::from("{}");
        assert_eq!(
            read_paced(body, 1 << 20, "Test", pace).await.expect("read"),
            "{}"
        );
    }

    #[test]
    fn received_bytes_extend_the_deadline() {
        let pace = Pace {
            grace: Duration::from_secs(60),
            min_rate: 64 * 1024,
        };
        let start = tokio::time::Instant::now();
        assert_eq!(pace.deadline(start, 0), start + Duration::from_secs(60));
        assert_eq!(
            pace.deadline(start, 64 * 1024 * 10),
            start + Duration::from_secs(70)
        );
    }
}
