//! Parsing what a SigV4 request carries: the `Authorization` header
//! (`AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request,
//! SignedHeaders=a;b, Signature=hex`) or a presigned query string (`X-Amz-Algorithm`,
//! `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
//! `X-Amz-Signature`). Pure functions of their input, so that they can be fuzzed
//! ([`parse_authorization`], [`parse_presigned`]). What they answer borrows from the
//! header: every request is parsed, and a parse that allocates a dozen strings costs
//! several times more on a server's cold caches than one that allocates none.

use std::borrow::Cow;

use crate::error::AuthError;

/// The one algorithm Hearth verifies.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The `Credential=` value: `KEY/DATE/REGION/SERVICE/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope<'a> {
    pub access_key_id: Cow<'a, str>,
    /// `YYYYMMDD`.
    pub date: Cow<'a, str>,
    pub region: Cow<'a, str>,
    pub service: Cow<'a, str>,
}

impl Scope<'_> {
    /// The same scope owning its parts.
    pub fn into_owned(self) -> Scope<'static> {
        Scope {
            access_key_id: Cow::Owned(self.access_key_id.into_owned()),
            date: Cow::Owned(self.date.into_owned()),
            region: Cow::Owned(self.region.into_owned()),
            service: Cow::Owned(self.service.into_owned()),
        }
    }
}

/// What a request's signature claims, wherever it was carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed<'a> {
    pub scope: Scope<'a>,
    /// The signed header names as given, `;`-separated, in lower case
    /// ([`Claimed::signed_headers`] lists them).
    pub signed: Cow<'a, str>,
    /// Lower-case hex, as sent (not checked for length: a wrong one simply does not match).
    pub signature: Cow<'a, str>,
    /// `X-Amz-Date` of a presigned URL (a header-signed request's is in its headers).
    pub date: Option<Cow<'a, str>>,
    /// `X-Amz-Expires` of a presigned URL, in seconds.
    pub expires: Option<u64>,
    /// `X-Amz-Security-Token` of a presigned URL.
    pub security_token: Option<Cow<'a, str>>,
    /// Whether it came in the query string.
    pub presigned: bool,
}

impl Claimed<'_> {
    /// The signed header names (lower case), in the order given.
    pub fn signed_headers(&self) -> impl Iterator<Item = &str> + Clone {
        self.signed.split(';').filter(|h| !h.is_empty())
    }

    /// Whether `name` (lower case) is signed.
    pub fn signs(&self, name: &str) -> bool {
        self.signed_headers().any(|h| h == name)
    }
}

/// Parses `Credential=`'s value.
pub fn parse_scope(credential: &str) -> Result<Scope<'_>, AuthError> {
    let mut parts = credential.splitn(6, '/');
    let mut next = || parts.next();
    let (Some(key), Some(date), Some(region), Some(service), Some(term), None) =
        (next(), next(), next(), next(), next(), next())
    else {
        return Err(AuthError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if term != "aws4_request" {
        return Err(AuthError::Signature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{term}'. "
        )));
    }
    Ok(Scope {
        access_key_id: Cow::Borrowed(key),
        date: Cow::Borrowed(date),
        region: Cow::Borrowed(region),
        service: Cow::Borrowed(service),
    })
}

/// Parses an `Authorization` header of SigV4.
pub fn parse_authorization(header: &str) -> Result<Claimed<'_>, AuthError> {
    let (algorithm, rest) = header.split_once(' ').unwrap_or((header, ""));
    if algorithm != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported Authorization Type: '{algorithm}'"
        )));
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some((name, value)) = part.split_once('=') {
            match name.trim() {
                "Credential" => credential = Some(value.trim()),
                "SignedHeaders" => signed = Some(value.trim()),
                "Signature" => signature = Some(value.trim()),
                _ => {}
            }
        }
    }
    let mut missing = String::new();
    for (name, value) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed),
    ] {
        if value.is_none_or(str::is_empty) {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    let (Some(credential), Some(signed), Some(signature), true) =
        (credential, signed, signature, missing.is_empty())
    else {
        return Err(AuthError::Incomplete(format!(
            "{missing}Authorization={header}"
        )));
    };
    Ok(Claimed {
        scope: parse_scope(credential)?,
        signed: lower_case(Cow::Borrowed(signed)),
        signature: Cow::Borrowed(signature),
        date: None,
        expires: None,
        security_token: None,
        presigned: false,
    })
}

/// `names` in lower case, copied only if it is not already (SDKs send lower case).
fn lower_case(names: Cow<'_, str>) -> Cow<'_, str> {
    if names.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(names.to_ascii_lowercase())
    } else {
        names
    }
}

/// Whether a query string carries a presigned signature (`X-Amz-Signature` or
/// `X-Amz-Credential`).
pub fn is_presigned(query: &str) -> bool {
    query_pairs(query).any(|(k, _)| k == "X-Amz-Signature" || k == "X-Amz-Credential")
}

/// The decoded `name=value` pairs of a query string.
pub fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

/// Percent-decodes one query component (`+` is a space, as forms send it).
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a presigned URL's query string.
pub fn parse_presigned(query: &str) -> Result<Claimed<'static>, AuthError> {
    let (
        mut algorithm,
        mut credential,
        mut date,
        mut expires,
        mut signed,
        mut signature,
        mut token,
    ) = (None, None, None, None, None, None, None);
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "X-Amz-Algorithm" => algorithm = Some(v),
            "X-Amz-Credential" => credential = Some(v),
            "X-Amz-Date" => date = Some(v),
            "X-Amz-Expires" => expires = Some(v),
            "X-Amz-SignedHeaders" => signed = Some(v),
            "X-Amz-Signature" => signature = Some(v),
            "X-Amz-Security-Token" => token = Some(v),
            _ => {}
        }
    }
    let mut missing = String::new();
    for (name, value) in [
        ("X-Amz-Algorithm", &algorithm),
        ("X-Amz-Credential", &credential),
        ("X-Amz-Signature", &signature),
        ("X-Amz-SignedHeaders", &signed),
        ("X-Amz-Date", &date),
        ("X-Amz-Expires", &expires),
    ] {
        if value.as_deref().is_none_or(str::is_empty) {
            missing.push_str(&format!(
                "AWS query-string parameters must include '{name}'. "
            ));
        }
    }
    let (
        Some(algorithm),
        Some(credential),
        Some(date),
        Some(expires),
        Some(signed),
        Some(signature),
        true,
    ) = (
        algorithm,
        credential,
        date,
        expires,
        signed,
        signature,
        missing.is_empty(),
    )
    else {
        return Err(AuthError::Incomplete(format!(
            "{missing}Re-examine the query-string parameters."
        )));
    };
    if algorithm != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\""
        )));
    }
    let expires: u64 = expires.parse().map_err(|_| {
        AuthError::Incomplete(format!(
            "X-Amz-Expires should be a number, not '{expires}'."
        ))
    })?;
    Ok(Claimed {
        scope: parse_scope(&credential)?.into_owned(),
        signed: lower_case(Cow::Owned(signed)),
        signature: Cow::Owned(signature),
        date: Some(Cow::Owned(date)),
        expires: Some(expires),
        security_token: token.map(Cow::Owned),
        presigned: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorization_header_parses() {
        let c = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/lambda/aws4_request, SignedHeaders=host;X-Amz-Date, Signature=abc",
        )
        .expect("parses");
        assert_eq!(
            c.scope,
            Scope {
                access_key_id: "AKID".into(),
                date: "20261201".into(),
                region: "us-east-1".into(),
                service: "lambda".into()
            }
        );
        assert_eq!(
            c.signed_headers().collect::<Vec<_>>(),
            ["host", "x-amz-date"]
        );
        assert!(c.signs("x-amz-date") && !c.signs("x-amz"));
        assert_eq!(c.signature, "abc");
        assert!(!c.presigned);
    }

    #[test]
    fn missing_parts_are_named() {
        let err = parse_authorization("AWS4-HMAC-SHA256 Credential=AK/1/r/s/aws4_request")
            .expect_err("incomplete");
        assert_eq!(
            err,
            AuthError::Incomplete(
                "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AK/1/r/s/aws4_request".into()
            )
        );
        assert!(matches!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=AK/1/r, SignedHeaders=host, Signature=a"),
            Err(AuthError::Incomplete(m)) if m.starts_with("Credential must have exactly 5")
        ));
        assert!(matches!(
            parse_authorization("Basic dXNlcjpwYXNz"),
            Err(AuthError::Incomplete(_))
        ));
        assert!(matches!(
            parse_authorization(
                "AWS4-HMAC-SHA256 Credential=AK/1/r/s/aws5, SignedHeaders=host, Signature=a"
            ),
            Err(AuthError::Signature(_))
        ));
    }

    #[test]
    fn a_presigned_query_parses() {
        let q = "Action=x&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261201%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Date=20261201T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ff&X-Amz-Security-Token=a%2Bb";
        assert!(is_presigned(q));
        let c = parse_presigned(q).expect("parses");
        assert_eq!(c.scope.service, "lambda");
        assert_eq!(c.expires, Some(60));
        assert_eq!(c.security_token.as_deref(), Some("a+b"));
        assert!(c.presigned);
        assert!(!is_presigned("Action=x"));
        assert!(matches!(
            parse_presigned("X-Amz-Signature=ff"),
            Err(AuthError::Incomplete(_))
        ));
    }

    #[test]
    fn decoding_never_panics_on_truncated_escapes() {
        assert_eq!(decode("a%2"), "a%2");
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%41+b"), "A b");
    }
}
