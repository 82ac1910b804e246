//! Verifying a SigV4-signed request: parse what it claims, check the scope (region,
//! service, date), the time (15 minutes of skew; a presigned URL's expiry), find the
//! secret (a long-term key, or a session token's), re-sign the request as received
//! with `aws-sigv4` over the headers the client signed, and compare in constant time.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use chrono::{DateTime, NaiveDateTime, Utc};
use hearth_model::caller::Caller;
use sha2::{Digest, Sha256};

use crate::error::AuthError;
use crate::parse::{is_presigned, parse_authorization, parse_presigned, Claimed};
use crate::session::Sessions;

/// How far a request's date may be from the server's clock, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The longest a presigned URL may be valid (seven days, as on AWS).
pub const MAX_EXPIRES: u64 = 604_800;

const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// A long-term key's secret and whose it is.
#[derive(Clone)]
pub struct LongTermKey {
    pub secret: String,
    pub caller: Caller,
}

/// Where long-term keys are found (the server's keys, cached from its store).
pub trait KeyLookup: Send + Sync {
    fn lookup(&self, access_key_id: &str) -> Option<LongTermKey>;
}

/// The request as received.
pub struct Incoming<'a> {
    pub method: &'a str,
    /// The path and query exactly as sent (still percent-encoded).
    pub path_and_query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// Which services a request may be scoped to.
#[derive(Debug, Clone, Copy)]
pub enum ServiceCheck<'a> {
    /// The service the request is for.
    Is(&'a str),
    /// One of these (the query protocol's services, told apart by the scope itself).
    OneOf(&'a [&'a str]),
}

/// Verifies requests for one server (its region, keys and session key).
#[derive(Clone)]
pub struct Verifier {
    region: String,
    keys: Arc<dyn KeyLookup>,
    sessions: Sessions,
}

impl Verifier {
    pub fn new(region: impl Into<String>, keys: Arc<dyn KeyLookup>, sessions: Sessions) -> Self {
        Self {
            region: region.into(),
            keys,
            sessions,
        }
    }

    /// The session issuer this verifier accepts the tokens of.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Who signed `req`, if its signature is valid at `now` for a service `service` allows.
    pub fn verify(
        &self,
        req: &Incoming<'_>,
        service: ServiceCheck<'_>,
        now: SystemTime,
    ) -> Result<Caller, AuthError> {
        let query = req.path_and_query.split_once('?').map_or("", |(_, q)| q);
        let auth = req
            .headers
            .get(http::header::AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let claimed = match &auth {
            Some(header) => parse_authorization(header)?,
            None if is_presigned(query) => parse_presigned(query)?,
            None => return Err(AuthError::Missing),
        };
        let date_text = match &claimed.date {
            Some(d) => d.clone(),
            None => header(req.headers, "x-amz-date")
                .ok_or_else(|| {
                    AuthError::Incomplete(format!(
                        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={}",
                        auth.as_deref().unwrap_or_default()
                    ))
                })?
                .to_string(),
        };
        let signed_at = parse_date(&date_text)?;
        self.check_scope(&claimed, &date_text, service)?;
        check_time(&claimed, &date_text, signed_at, now)?;
        let token = claimed
            .security_token
            .clone()
            .or_else(|| header(req.headers, "x-amz-security-token").map(str::to_string));
        let (caller, secret) =
            self.secret_of(&claimed.scope.access_key_id, token.as_deref(), now)?;
        let expected = self.signature(req, &claimed, &secret, token, signed_at)?;
        if constant_time_eq(expected.as_bytes(), claimed.signature.as_bytes()) {
            Ok(caller)
        } else {
            Err(AuthError::mismatch())
        }
    }

    fn check_scope(
        &self,
        claimed: &Claimed,
        date: &str,
        service: ServiceCheck<'_>,
    ) -> Result<(), AuthError> {
        let scope = &claimed.scope;
        if date.get(..8) != Some(scope.date.as_str()) {
            return Err(AuthError::Signature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{date}'.",
                scope.date,
                date.get(..8).unwrap_or(date)
            )));
        }
        if scope.region != self.region {
            return Err(AuthError::Signature(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                scope.region
            )));
        }
        let allowed = match service {
            ServiceCheck::Is(s) => scope.service == s,
            ServiceCheck::OneOf(list) => list.contains(&scope.service.as_str()),
        };
        if !allowed {
            let want = match service {
                ServiceCheck::Is(s) => s,
                ServiceCheck::OneOf(list) => list.first().copied().unwrap_or_default(),
            };
            return Err(AuthError::Signature(format!(
                "Credential should be scoped to correct service: '{want}'. "
            )));
        }
        Ok(())
    }

    fn secret_of(
        &self,
        access_key_id: &str,
        token: Option<&str>,
        now: SystemTime,
    ) -> Result<(Caller, String), AuthError> {
        if access_key_id.starts_with("ASIA") {
            let token = token.ok_or(AuthError::UnknownKey)?;
            return self.sessions.open(access_key_id, token, now);
        }
        let key = self
            .keys
            .lookup(access_key_id)
            .ok_or(AuthError::UnknownKey)?;
        Ok((key.caller, key.secret))
    }

    /// The signature of `req` as a client holding `secret` computes it.
    fn signature(
        &self,
        req: &Incoming<'_>,
        claimed: &Claimed,
        secret: &str,
        token: Option<String>,
        signed_at: SystemTime,
    ) -> Result<String, AuthError> {
        let signs = |name: &str| claimed.signed_headers.iter().any(|h| h == name);
        let content_sha = header(req.headers, "x-amz-content-sha256");
        let body = match content_sha {
            Some(UNSIGNED_PAYLOAD) => SignableBody::UnsignedPayload,
            Some(hash) => {
                // A signed payload hash must be the body's: else anything could be sent
                // under a signature of something else.
                if !hash.eq_ignore_ascii_case(&hex::encode(Sha256::digest(req.body))) {
                    return Err(AuthError::mismatch());
                }
                SignableBody::Precomputed(hash.to_ascii_lowercase())
            }
            None => SignableBody::Bytes(req.body),
        };
        // The headers the client signed, as received (several values joined by commas);
        // aws-sigv4 adds x-amz-date, the token and the content hash itself.
        let added = ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];
        let mut headers: Vec<(&str, Cow<'_, str>)> = Vec::new();
        for name in &claimed.signed_headers {
            if !claimed.presigned && added.contains(&name.as_str()) {
                continue;
            }
            let values: Vec<&str> = req
                .headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            headers.push((name.as_str(), Cow::Owned(values.join(","))));
        }
        if !signs("host") {
            // aws-sigv4 always signs a host; without one the client's cannot match.
            return Err(AuthError::mismatch());
        }
        let path_and_query = if claimed.presigned {
            strip_presign_params(req.path_and_query)
        } else {
            Cow::Borrowed(req.path_and_query)
        };
        let host = header(req.headers, "host").unwrap_or("localhost");
        let uri = format!("http://{host}{path_and_query}");
        let mut settings = SigningSettings::default();
        settings.excluded_headers = Some(Vec::new());
        settings.percent_encoding_mode = PercentEncodingMode::Double;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
        settings.payload_checksum_kind =
            if !claimed.presigned && content_sha.is_some() && signs("x-amz-content-sha256") {
                PayloadChecksumKind::XAmzSha256
            } else {
                PayloadChecksumKind::NoHeader
            };
        settings.session_token_mode = if claimed.presigned || signs("x-amz-security-token") {
            SessionTokenMode::Include
        } else {
            SessionTokenMode::Exclude
        };
        if claimed.presigned {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = claimed.expires.map(Duration::from_secs);
        }
        let identity = Credentials::new(
            claimed.scope.access_key_id.clone(),
            secret.to_string(),
            token,
            None,
            "hearth",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&claimed.scope.region)
            .name(&claimed.scope.service)
            .time(signed_at)
            .settings(settings)
            .build()
            .map_err(|_| AuthError::mismatch())?
            .into();
        let signable = SignableRequest::new(
            req.method,
            uri,
            headers.iter().map(|(n, v)| (*n, v.as_ref())),
            body,
        )
        .map_err(|_| AuthError::mismatch())?;
        let out = sign(signable, &params).map_err(|_| AuthError::mismatch())?;
        Ok(out.signature().to_string())
    }
}

/// The query string without the presigned signature's own parameters, which aws-sigv4
/// adds back from what it signs with.
fn strip_presign_params(path_and_query: &str) -> Cow<'_, str> {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return Cow::Borrowed(path_and_query);
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| {
            let name = crate::parse::decode(p.split_once('=').map_or(p, |(k, _)| k));
            !matches!(
                name.as_str(),
                "X-Amz-Algorithm"
                    | "X-Amz-Credential"
                    | "X-Amz-Date"
                    | "X-Amz-Expires"
                    | "X-Amz-SignedHeaders"
                    | "X-Amz-Signature"
                    | "X-Amz-Security-Token"
            )
        })
        .collect();
    if kept.is_empty() {
        Cow::Owned(path.to_string())
    } else {
        Cow::Owned(format!("{path}?{}", kept.join("&")))
    }
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `20261201T203000Z` as a time.
fn parse_date(text: &str) -> Result<SystemTime, AuthError> {
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .map(|t| SystemTime::from(t.and_utc()))
        .map_err(|_| {
            AuthError::Incomplete(format!(
                "Date must be in ISO-8601 'basic format'. Got '{text}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ))
        })
}

fn stamp(t: SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// AWS's 15 minutes either way for a signed request; a presigned URL from its date to
/// its expiry.
fn check_time(
    claimed: &Claimed,
    date: &str,
    signed_at: SystemTime,
    now: SystemTime,
) -> Result<(), AuthError> {
    if signed_at > now + MAX_SKEW {
        return Err(AuthError::Signature(format!(
            "Signature not yet current: {date} is still later than {} ({} + 15 min.)",
            stamp(now + MAX_SKEW),
            stamp(now)
        )));
    }
    match claimed.expires {
        Some(expires) => {
            if expires > MAX_EXPIRES {
                return Err(AuthError::Incomplete(format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is 604800, not {expires}."
                )));
            }
            let until = signed_at + Duration::from_secs(expires);
            if now > until {
                return Err(AuthError::Signature(format!(
                    "Signature expired: {} is now earlier than {} ({} - {expires} sec.)",
                    stamp(until),
                    stamp(now),
                    stamp(now),
                )));
            }
        }
        None => {
            if signed_at + MAX_SKEW < now {
                return Err(AuthError::Signature(format!(
                    "Signature expired: {date} is now earlier than {} ({} - 15 min.)",
                    stamp(now - MAX_SKEW),
                    stamp(now)
                )));
            }
        }
    }
    Ok(())
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
