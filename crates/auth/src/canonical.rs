//! The canonical request and string to sign of a header-signed request, written
//! directly for the common case: what every request pays for, so it allocates one string
//! and hashes once (aws-sigv4's general signer builds a URI, a header map, a dozen
//! strings, formats dates and derives the signing key each time; ~3x the cost).
//!
//! Only a request whose every part reads the same under both is taken here: a path of
//! unreserved characters, `/` and `%XX` escapes with no empty, `.` or `..` segment
//! (path normalization leaves it as it is); a query of unreserved characters, `=`, `&`
//! and `%XX` (no `+`, which form decoding reads as a space); signed header names in
//! ascending order without repeats, of lower-case letters, digits and `-`; a canonical
//! `X-Amz-Date`. Anything else answers `None` and aws-sigv4 decides, so both agree by
//! construction on what is taken, and the unit tests compare them on many requests.

use std::borrow::Cow;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// What goes into the canonical request besides the request itself.
pub(crate) struct Signing<'a> {
    /// The claimed signed header names (lower case), as the client listed them.
    pub signed_headers: &'a [String],
    /// `YYYYMMDDTHHMMSSZ`.
    pub date_time: &'a str,
    /// The session token, when it is signed.
    pub token: Option<&'a str>,
    /// Whether `x-amz-content-sha256` is signed with `payload_hash` as its value.
    pub content_sha256: bool,
    pub payload_hash: &'a str,
}

/// Headers aws-sigv4 adds itself (from the date, the token and the payload hash).
pub(crate) const ADDED: [&str; 3] = ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `%XX` escapes well formed from `i` on.
fn escape_at(s: &[u8], i: usize) -> bool {
    s.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
}

/// Every byte allowed by `ok`, and each `%` a well-formed escape.
fn plain(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    b.iter()
        .enumerate()
        .all(|(i, &c)| ok(c) || (c == b'%' && escape_at(b, i)))
}

/// The canonical path (percent-encoded once more, as for every service but S3), if the
/// path is plain.
fn canonical_path(path: &str, out: &mut String) -> Option<()> {
    if !path.starts_with('/')
        || !plain(path, |c| unreserved(c) || c == b'/')
        || path.contains("//")
        || path.split('/').any(|seg| matches!(seg, "." | ".."))
    {
        return None;
    }
    for c in path.chars() {
        if c == '%' {
            out.push_str("%25");
        } else {
            out.push(c);
        }
    }
    Some(())
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// A query name or value decoded then encoded again (every byte but the unreserved ones
/// as upper-case `%XX`), as aws-sigv4 does; `None` if it does not decode to UTF-8.
fn reencode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut decoded = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && escape_at(b, i) {
            decoded.push(hex_value(b[i + 1]) * 16 + hex_value(b[i + 2]));
            i += 3;
        } else {
            decoded.push(b[i]);
            i += 1;
        }
    }
    std::str::from_utf8(&decoded).ok()?;
    let mut out = String::with_capacity(decoded.len());
    for c in decoded {
        if unreserved(c) {
            out.push(char::from(c));
        } else {
            let _ = write!(out, "%{c:02X}");
        }
    }
    Some(out)
}

/// The canonical query (pairs decoded, encoded again, sorted), if the query is plain.
fn canonical_query(query: &str, out: &mut String) -> Option<()> {
    if !plain(query, |c| unreserved(c) || c == b'=' || c == b'&') {
        return None;
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((reencode(k)?, reencode(v)?));
    }
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    Some(())
}

/// A header value as signed: trimmed of spaces, runs of spaces made one.
fn push_trimmed(value: &str, out: &mut String) {
    let mut last_space = false;
    for c in value.trim_matches(' ').chars() {
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
    }
}

/// The canonical request, if the request is of the plain kind the module describes.
pub(crate) fn canonical_request(
    method: &str,
    path_and_query: &str,
    headers: &http::HeaderMap,
    s: &Signing<'_>,
) -> Option<String> {
    let date = s.date_time.as_bytes();
    let date_ok = date.len() == 16
        && date[8] == b'T'
        && date[15] == b'Z'
        && date[..8].iter().chain(&date[9..15]).all(u8::is_ascii_digit);
    let names_ok = s.signed_headers.windows(2).all(|w| w[0] < w[1])
        && s.signed_headers.iter().all(|n| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if !date_ok || !names_ok {
        return None;
    }
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut out = String::with_capacity(512);
    out.push_str(method);
    out.push('\n');
    canonical_path(path, &mut out)?;
    out.push('\n');
    canonical_query(query, &mut out)?;
    out.push('\n');
    // The signed names: the client's but those aws-sigv4 adds, then the added ones
    // that are signed, sorted.
    let mut names: Vec<&str> = s
        .signed_headers
        .iter()
        .map(String::as_str)
        .filter(|n| !ADDED.contains(n))
        .collect();
    names.push("x-amz-date");
    if s.token.is_some() {
        names.push("x-amz-security-token");
    }
    if s.content_sha256 {
        names.push("x-amz-content-sha256");
    }
    names.sort_unstable();
    for name in &names {
        out.push_str(name);
        out.push(':');
        match *name {
            "x-amz-date" => out.push_str(s.date_time),
            "x-amz-security-token" => out.push_str(s.token.unwrap_or_default()),
            "x-amz-content-sha256" => out.push_str(s.payload_hash),
            _ => {
                let mut values = headers
                    .get_all(*name)
                    .iter()
                    .filter_map(|v| v.to_str().ok());
                let first = values.next().unwrap_or_default();
                let joined: Cow<'_, str> = match values.next() {
                    // One value, almost always: no string is made for it.
                    None => Cow::Borrowed(first),
                    Some(second) => {
                        let mut all = format!("{first},{second}");
                        for v in values {
                            all.push(',');
                            all.push_str(v);
                        }
                        Cow::Owned(all)
                    }
                };
                if *name == "host"
                    && !joined
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
                {
                    return None;
                }
                push_trimmed(&joined, &mut out);
            }
        }
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    out.push_str(s.payload_hash);
    Some(out)
}

/// Lower-case hex of a digest (the `hex` crate's iterator costs several times more, on
/// every request).
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// The string to sign of a canonical request under `scope` (`DATE/REGION/SERVICE`).
pub(crate) fn string_to_sign(date_time: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}/aws4_request\n{}",
        lower_hex(&Sha256::digest(canonical_request.as_bytes()))
    )
}
