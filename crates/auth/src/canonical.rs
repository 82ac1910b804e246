//! The canonical request and string to sign of a header-signed request, written
//! directly for the common case: what every request pays for, so it is written on the
//! stack and hashed once, with no string made (aws-sigv4's general signer builds a URI, a header
//! map, a dozen strings, formats dates and derives the signing key each time; ~3x the
//! cost in a loop, more on a server's cold caches).
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

use sha2::Sha256;

/// What goes into the canonical request besides the request itself.
pub(crate) struct Signing<'a> {
    /// The claimed signed header names (lower case, `;`-separated), as the client listed them.
    pub signed_headers: &'a str,
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

/// The most signed headers the direct form takes (SDKs sign a handful; more goes to
/// aws-sigv4), so that their names are sorted on the stack.
const MAX_SIGNED: usize = 24;

/// Where a canonical request is written: a string (to read it) or a [`StackText`] (to
/// hash it, with no string made).
pub(crate) trait Sink {
    fn put(&mut self, s: &str);
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// Text written on the stack while it fits (a canonical request almost always does),
/// then on the heap: hashed in one call rather than piece by piece, which costs several
/// times less on a server's cold caches.
pub(crate) struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
    spilled: Option<String>,
}

impl<const N: usize> StackText<N> {
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            spilled: None,
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.spilled {
            Some(s) => s.as_bytes(),
            None => &self.buf[..self.len],
        }
    }
}

impl<const N: usize> Sink for StackText<N> {
    fn put(&mut self, s: &str) {
        if let Some(spilled) = &mut self.spilled {
            spilled.push_str(s);
            return;
        }
        let end = self.len + s.len();
        match self.buf.get_mut(self.len..end) {
            Some(room) => {
                room.copy_from_slice(s.as_bytes());
                self.len = end;
            }
            None => {
                // Only whole strings were written: the bytes so far are UTF-8.
                let mut spilled = String::from_utf8_lossy(&self.buf[..self.len]).into_owned();
                spilled.push_str(s);
                self.spilled = Some(spilled);
            }
        }
    }
}

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

/// Whether the path is plain (the module's documentation).
fn plain_path(path: &str) -> bool {
    path.starts_with('/')
        && plain(path, |c| unreserved(c) || c == b'/')
        && !path.contains("//")
        && !path.split('/').any(|seg| matches!(seg, "." | ".."))
}

/// The canonical form of a plain path: percent-encoded once more, as for every service
/// but S3.
fn canonical_path(path: &str, out: &mut impl Sink) {
    for (i, piece) in path.split('%').enumerate() {
        if i > 0 {
            out.put("%25");
        }
        out.put(piece);
    }
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
fn reencode(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        // Plain and unescaped: unreserved characters only, already canonical.
        return Some(Cow::Borrowed(s));
    }
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
    Some(Cow::Owned(out))
}

/// The canonical query (pairs decoded, encoded again, sorted), if the query is plain.
fn canonical_query(query: &str) -> Option<Vec<(Cow<'_, str>, Cow<'_, str>)>> {
    if !plain(query, |c| unreserved(c) || c == b'=' || c == b'&') {
        return None;
    }
    let mut pairs = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((reencode(k)?, reencode(v)?));
    }
    pairs.sort();
    Some(pairs)
}

/// A header value as signed: trimmed of spaces, runs of spaces made one.
fn put_trimmed(value: &str, out: &mut impl Sink) {
    for (i, word) in value.split(' ').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            out.put(" ");
        }
        out.put(word);
    }
}

/// Writes the canonical request to `out`, if the request is of the plain kind the
/// module describes (`false`, with `out` half written, if not).
pub(crate) fn canonical_request(
    method: &str,
    path_and_query: &str,
    headers: &http::HeaderMap,
    s: &Signing<'_>,
    out: &mut impl Sink,
) -> bool {
    let date = s.date_time.as_bytes();
    let date_ok = date.len() == 16
        && date[8] == b'T'
        && date[15] == b'Z'
        && date[..8].iter().chain(&date[9..15]).all(u8::is_ascii_digit);
    let claimed = || s.signed_headers.split(';').filter(|h| !h.is_empty());
    let names_ok = claimed().zip(claimed().skip(1)).all(|(a, b)| a < b)
        && claimed().all(|n| {
            n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    if !date_ok || !names_ok || !plain_path(path) {
        return false;
    }
    let Some(query) = canonical_query(query) else {
        return false;
    };
    // The signed names: the client's but those aws-sigv4 adds, then the added ones
    // that are signed, sorted.
    let mut names = [""; MAX_SIGNED];
    let mut n = 0;
    let added = [
        Some("x-amz-date"),
        s.token.map(|_| "x-amz-security-token"),
        s.content_sha256.then_some("x-amz-content-sha256"),
    ];
    for name in claimed()
        .filter(|n| !ADDED.contains(n))
        .chain(added.into_iter().flatten())
    {
        let Some(slot) = names.get_mut(n) else {
            return false;
        };
        *slot = name;
        n += 1;
    }
    let names = &mut names[..n];
    names.sort_unstable();
    out.put(method);
    out.put("\n");
    canonical_path(path, out);
    out.put("\n");
    for (i, (k, v)) in query.iter().enumerate() {
        if i > 0 {
            out.put("&");
        }
        out.put(k);
        out.put("=");
        out.put(v);
    }
    out.put("\n");
    for name in names.iter() {
        out.put(name);
        out.put(":");
        match *name {
            "x-amz-date" => out.put(s.date_time),
            "x-amz-security-token" => out.put(s.token.unwrap_or_default()),
            "x-amz-content-sha256" => out.put(s.payload_hash),
            _ => {
                // The usual ones by their constant names (a name given as `&str` is
                // parsed again on every lookup).
                let all = match *name {
                    "host" => headers.get_all(http::header::HOST),
                    "content-type" => headers.get_all(http::header::CONTENT_TYPE),
                    other => headers.get_all(other),
                };
                let mut values = all.iter().filter_map(|v| v.to_str().ok());
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
                    return false;
                }
                put_trimmed(&joined, out);
            }
        }
        out.put("\n");
    }
    out.put("\n");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.put(";");
        }
        out.put(name);
    }
    out.put("\n");
    out.put(s.payload_hash);
    true
}

/// Lower-case hex of a 32-byte digest, on the stack (the `hex` crate's iterator costs
/// several times more, on every request).
pub(crate) struct Hex([u8; 64]);

impl Hex {
    pub(crate) fn of(bytes: &[u8; 32]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 15)];
        }
        Self(out)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and letters were written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The signature of a canonical request (given by its hash) under `scope` (`date`,
/// `region`, `service`) with `mac`, an HMAC keyed with the signing key: the HMAC of the
/// string to sign.
pub(crate) fn sign(
    mut mac: hmac::Hmac<Sha256>,
    date_time: &str,
    (date, region, service): (&str, &str, &str),
    canonical_request_hash: &[u8; 32],
) -> [u8; 32] {
    use hmac::Mac;
    let mut text = StackText::<256>::new();
    for part in [
        "AWS4-HMAC-SHA256\n",
        date_time,
        "\n",
        date,
        "/",
        region,
        "/",
        service,
        "/aws4_request\n",
        Hex::of(canonical_request_hash).as_str(),
    ] {
        text.put(part);
    }
    mac.update(text.as_bytes());
    mac.finalize().into_bytes().into()
}
