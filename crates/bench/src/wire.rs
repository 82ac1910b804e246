//! Just enough HTTP/1.1 for the bench, over blocking `std` sockets: reading one message head
//! and its body (`Content-Length` or chunked), for both the floor's server side and the load
//! generator's client side. Hand-written so that nothing but a read and a write sits between
//! the bench and the process it measures.

use std::io::{self, BufRead, BufReader, Read};
use std::net::TcpStream;

/// Heads larger than this are refused: neither Hearth nor a runtime client sends them.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Bodies larger than this are refused: invoke payloads are at most 6 MB, zips at most 50 MB
/// base64-encoded, and the bench sends neither near the limit.
pub const MAX_BODY_BYTES: usize = 80 * 1024 * 1024;

/// The start line and headers of a request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// `GET /path HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub start: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The method and target of a request line.
    pub fn request_line(&self) -> Option<(&str, &str)> {
        let mut parts = self.start.split(' ');
        Some((parts.next()?, parts.next()?))
    }

    /// The status code of a status line.
    pub fn status(&self) -> Option<u16> {
        self.start.split(' ').nth(1)?.parse().ok()
    }

    /// Checks a Runtime API `next` answer as the official clients read it (200, the
    /// function's ARN, a trace id, a deadline in epoch milliseconds) and returns its
    /// request id: for the floors' tests.
    #[cfg(test)]
    pub fn next_event_id(&self, function_arn: &str) -> String {
        assert_eq!(self.status(), Some(200));
        assert_eq!(
            self.header("lambda-runtime-invoked-function-arn"),
            Some(function_arn)
        );
        assert!(self.header("lambda-runtime-trace-id").is_some());
        let deadline: u128 = self
            .header("lambda-runtime-deadline-ms")
            .expect("deadline")
            .parse()
            .expect("epoch ms");
        assert!(deadline > 0);
        self.header("lambda-runtime-aws-request-id")
            .expect("request id")
            .to_string()
    }

    /// Whether the peer closes the connection after this message.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || self.start.starts_with("HTTP/1.0")
            || self.start.ends_with("HTTP/1.0")
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Reads one message head; `None` when the peer closed the connection before sending a byte.
pub fn read_head<R: BufRead>(reader: &mut R) -> io::Result<Option<Head>> {
    let mut start = String::new();
    let mut total = 0;
    let mut headers = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .by_ref()
            .take((MAX_HEAD_BYTES - total + 1) as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            if total == 0 {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        total += n;
        if total > MAX_HEAD_BYTES {
            return Err(invalid("message head too large"));
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| invalid("message head is not UTF-8"))?
            .trim_end_matches(['\r', '\n']);
        if start.is_empty() {
            if text.is_empty() {
                // Tolerated before a request line (RFC 9112 §2.2).
                continue;
            }
            start = text.to_string();
        } else if text.is_empty() {
            return Ok(Some(Head { start, headers }));
        } else {
            let (name, value) = text
                .split_once(':')
                .ok_or_else(|| invalid(format!("malformed header line {text:?}")))?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
}

/// Reads the body that follows `head`: by `Content-Length`, chunked, or none.
pub fn read_body<R: BufRead>(reader: &mut R, head: &Head) -> io::Result<Vec<u8>> {
    let chunked = head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader);
    }
    let Some(length) = head.header("content-length") else {
        return Ok(Vec::new());
    };
    let length: usize = length
        .parse()
        .map_err(|_| invalid(format!("bad Content-Length {length:?}")))?;
    if length > MAX_BODY_BYTES {
        return Err(invalid("body too large"));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked<R: BufRead>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.by_ref().take(1024).read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers, if any, up to the empty line.
            loop {
                line.clear();
                let n = reader.by_ref().take(8192).read_line(&mut line)?;
                if n == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(invalid("body too large"));
        }
        let at = body.len();
        body.resize(at + size, 0);
        reader.read_exact(&mut body[at..])?;
        line.clear();
        reader.by_ref().take(2).read_line(&mut line)?;
    }
}

/// A connected socket with a read buffer; writes go straight to the socket.
pub type Stream = BufReader<TcpStream>;

/// Wraps a socket for [`read_head`]; Nagle is off so small requests and answers leave at once
/// (with it on, a head and a body written apart can wait for a delayed ACK, ~40 ms).
pub fn stream(socket: TcpStream) -> io::Result<Stream> {
    socket.set_nodelay(true)?;
    Ok(BufReader::with_capacity(64 * 1024, socket))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> (Head, Vec<u8>) {
        let mut reader = BufReader::new(raw);
        let head = read_head(&mut reader).expect("head").expect("not EOF");
        let body = read_body(&mut reader, &head).expect("body");
        (head, body)
    }

    #[test]
    fn requests_and_responses() {
        let (head, body) =
            parse(b"POST /a/b HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\n\r\nhello");
        assert_eq!(head.request_line(), Some(("POST", "/a/b")));
        assert_eq!(head.header("Content-Length"), Some("5"));
        assert_eq!(body, b"hello");
        assert!(!head.closes());

        let (head, body) = parse(b"HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\n");
        assert_eq!(head.status(), Some(202));
        assert!(head.closes());
        assert!(body.is_empty());
    }

    #[test]
    fn chunked_bodies() {
        let (_, body) = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n",
        );
        assert_eq!(body, b"abcde");
    }

    #[test]
    fn end_of_stream_and_garbage() {
        let mut empty = BufReader::new(&b""[..]);
        assert!(read_head(&mut empty).expect("clean EOF").is_none());
        let mut cut = BufReader::new(&b"GET / HTTP/1.1\r\nHost"[..]);
        assert!(read_head(&mut cut).is_err());
        let mut bad = BufReader::new(&b"GET / HTTP/1.1\r\nno colon\r\n\r\n"[..]);
        assert!(read_head(&mut bad).is_err());
        let huge = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        let mut huge = BufReader::new(huge.as_bytes());
        assert!(read_head(&mut huge).is_err());
        let mut short = BufReader::new(&b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"[..]);
        let head = read_head(&mut short).expect("head").expect("not EOF");
        assert!(read_body(&mut short, &head).is_err());
    }
}
