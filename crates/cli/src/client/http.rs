//! The client side of Hearth's HTTP API: one blocking request at a time, AWS-style error
//! bodies turned into [`ApiError`], and a clear message when the server cannot be reached.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use ureq::http::{HeaderMap, Method, Request};
use ureq::tls::{parse_pem, Certificate, PemItem, RootCerts, TlsConfig};

/// The signing name of Lambda's API, the one most verbs speak.
const LAMBDA: &str = "lambda";

/// The largest response body read: invoke payloads are at most 6 MB, plus headroom.
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// An error answer from the server (`x-amzn-ErrorType` plus a JSON `message`).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// A raw answer, any status.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The AWS-style error this answer carries.
    pub fn error(&self) -> ApiError {
        let (code, mut message, body) =
            hearth_tune::error_parts(self.status, self.header("x-amzn-errortype"), &self.body);
        // A throttle says why (which limit) in `Reason`.
        if let Some(reason) = body.get("Reason").and_then(Value::as_str) {
            message = format!("{message} ({reason})");
        }
        ApiError { code, message }
    }

    /// The body as JSON (`null` when empty).
    pub fn json(&self) -> anyhow::Result<Value> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).context("the server answered with invalid JSON")
    }
}

/// A connection to one Hearth endpoint.
pub struct Client {
    agent: ureq::Agent,
    endpoint: String,
    credentials: Option<super::credentials::Credentials>,
    /// Whether the certificates trusted are a CA bundle's (for the words of a TLS error).
    ca_bundle: bool,
}

/// The certificates of a PEM file (`--ca-bundle`, `AWS_CA_BUNDLE`).
fn ca_bundle(path: &Path) -> anyhow::Result<Vec<Certificate<'static>>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read the CA bundle {}", path.display()))?;
    let mut certs = Vec::new();
    for item in parse_pem(&pem) {
        match item.with_context(|| format!("the CA bundle {} is not PEM", path.display()))? {
            PemItem::Certificate(cert) => certs.push(cert),
            _ => continue,
        }
    }
    if certs.is_empty() {
        anyhow::bail!("the CA bundle {} holds no certificate", path.display());
    }
    Ok(certs)
}

impl Client {
    /// A client of `common.endpoint`, trusting `common.ca_bundle`'s certificates if given.
    pub fn new(common: &super::CommonArgs) -> anyhow::Result<Self> {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)));
        if let Some(path) = &common.ca_bundle {
            config = config.tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::new_with_certs(&ca_bundle(path)?))
                    .build(),
            );
        }
        Ok(Self {
            agent: config.build().into(),
            endpoint: common.endpoint.trim_end_matches('/').to_string(),
            credentials: super::credentials::find(),
            ca_bundle: common.ca_bundle.is_some(),
        })
    }

    /// The SigV4 headers of a request (none without credentials: the server then
    /// answers `MissingAuthenticationTokenException`, which says what is wrong).
    fn signature(
        &self,
        service: &str,
        method: &Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Vec<(String, String)>> {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        let Some(c) = &self.credentials else {
            return Ok(Vec::new());
        };
        let identity = aws_credential_types::Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            c.session_token.clone(),
            None,
            "hearth",
        )
        .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(hearth_model::arn::REGION)
            .name(service)
            .time(std::time::SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let request = SignableRequest::new(
            method.as_str(),
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )?;
        let (instructions, _) = sign(request, &params)?.into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// Sends one Lambda request and returns the answer whatever its status.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Reply> {
        self.send_to(LAMBDA, method, path, headers, body)
    }

    /// Sends one request signed for `service` (the credential scope's service, which the
    /// server checks against the API the request is for) and returns the answer whatever
    /// its status. A body is sent as `application/json` unless `headers` name another
    /// `content-type`.
    pub fn send_to(
        &self,
        service: &str,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Reply> {
        self.send_with(service, method, path, headers, body, None)
    }

    /// [`Client::call`] with the request body's bytes counted on `bar` as they are sent
    /// (large uploads: a deploy's zip).
    pub fn call_tracked(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        bar: &indicatif::ProgressBar,
    ) -> anyhow::Result<Value> {
        let body = serde_json::to_vec(body)?;
        bar.set_length(body.len() as u64);
        let reply = self.send_with(LAMBDA, method, path, &[], Some(body), Some(bar))?;
        bar.finish_and_clear();
        if !reply.is_success() {
            return Err(reply.error().into());
        }
        reply.json()
    }

    fn send_with(
        &self,
        service: &str,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
        bar: Option<&indicatif::ProgressBar>,
    ) -> anyhow::Result<Reply> {
        let url = format!("{}{}", self.endpoint, path);
        let mut builder = Request::builder().method(method.clone()).uri(&url);
        let mut signed: Vec<(&str, &str)> = headers.to_vec();
        let typed = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !typed {
            signed.push(("content-type", "application/json"));
        }
        for (name, value) in &signed {
            builder = builder.header(*name, *value);
        }
        let signature = self.signature(
            service,
            &method,
            &url,
            &signed,
            body.as_deref().unwrap_or_default(),
        )?;
        for (name, value) in signature {
            builder = builder.header(name, value);
        }
        let result = match body {
            Some(body) if bar.is_some() => {
                let bar = bar.cloned().unwrap_or_else(indicatif::ProgressBar::hidden);
                // A reader body would go chunked: the length keeps it a plain upload.
                let request = builder
                    .header("content-length", body.len())
                    .body(ureq::SendBody::from_owned_reader(
                        bar.wrap_read(std::io::Cursor::new(body)),
                    ))
                    .with_context(|| format!("invalid request {method} {url}"))?;
                self.agent.run(request)
            }
            Some(body) => {
                let request = builder
                    .body(body)
                    .with_context(|| format!("invalid request {method} {url}"))?;
                self.agent.run(request)
            }
            None => {
                let request = builder
                    .body(())
                    .with_context(|| format!("invalid request {method} {url}"))?;
                self.agent.run(request)
            }
        };
        let mut response = result.map_err(|err| self.transport_error(err))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .with_context(|| format!("reading the answer to {method} {path}"))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Sends a JSON request to Lambda's API and returns the JSON answer; an error status
    /// becomes [`ApiError`].
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        self.call_to(LAMBDA, method, path, body)
    }

    /// [`Client::call`] for another REST-JSON API, signed for `service`.
    pub fn call_to(
        &self,
        service: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let body = body.map(serde_json::to_vec).transpose()?;
        let reply = self.send_to(service, method, path, &[], body)?;
        if !reply.is_success() {
            return Err(reply.error().into());
        }
        reply.json()
    }

    /// One operation of an AWS JSON 1.1 API (`X-Amz-Target: <prefix>.<operation>` on
    /// `POST /`), signed for `service`; an error status becomes [`ApiError`].
    pub fn call_json11(&self, service: &str, target: &str, body: &Value) -> anyhow::Result<Value> {
        let headers = [
            ("x-amz-target", target),
            ("content-type", "application/x-amz-json-1.1"),
        ];
        let reply = self.send_to(
            service,
            Method::POST,
            "/",
            &headers,
            Some(serde_json::to_vec(body)?),
        )?;
        if !reply.is_success() {
            return Err(reply.error().into());
        }
        reply.json()
    }

    fn transport_error(&self, err: ureq::Error) -> anyhow::Error {
        let reason = match &err {
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused".to_string()
            }
            ureq::Error::ConnectionFailed => "connection failed".to_string(),
            ureq::Error::HostNotFound => "host not found".to_string(),
            ureq::Error::BadUri(uri) => {
                return anyhow::anyhow!("invalid endpoint {:?}: {uri}", self.endpoint)
            }
            other if untrusted_certificate(other).is_some() => {
                let reason = untrusted_certificate(other).map(ToString::to_string);
                let reason = reason.unwrap_or_default();
                let hint = if self.ca_bundle {
                    "it is not signed by a certificate of the --ca-bundle (AWS_CA_BUNDLE) given"
                } else {
                    "for a self-signed one (`hearth server --tls-self-signed`), trust \
                     DATA_DIR/tls/self-signed.pem with --ca-bundle FILE or AWS_CA_BUNDLE"
                };
                return anyhow::anyhow!(
                    "cannot reach Hearth at {}: the server's TLS certificate is not trusted \
                     ({reason}); {hint}",
                    self.endpoint
                );
            }
            other => other.to_string(),
        };
        anyhow::anyhow!(
            "cannot reach Hearth at {}: {reason} (is `hearth server` running? set --endpoint or HEARTH_ENDPOINT)",
            self.endpoint
        )
    }
}

/// The certificate error of a transport error, if it is one (rustls's error, as ureq
/// gives it or inside an I/O error of the handshake).
fn untrusted_certificate(err: &ureq::Error) -> Option<&rustls::Error> {
    let rustls_error = match err {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    rustls_error.filter(|e| matches!(e, rustls::Error::InvalidCertificate(_)))
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters stay; `:` too,
/// so ARNs stay readable in paths).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The path of one function in the 2015-03-31 API.
pub fn function_path(name: &str) -> String {
    format!("/2015-03-31/functions/{}", encode(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_names_and_qualifiers() {
        assert_eq!(encode("$LATEST"), "%24LATEST");
        assert_eq!(
            encode("arn:aws:lambda:us-east-1:000000000000:function:f"),
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        );
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn reads_aws_error_shapes() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amzn-errortype",
            "ResourceNotFoundException:http://internal.amazon.com/"
                .parse()
                .expect("header"),
        );
        let reply = Reply {
            status: 404,
            headers,
            body: br#"{"Type":"User","Message":"Function not found: f"}"#.to_vec(),
        };
        let err = reply.error();
        assert_eq!(
            err.to_string(),
            "ResourceNotFoundException: Function not found: f"
        );

        let bare = Reply {
            status: 502,
            headers: HeaderMap::new(),
            body: b"bad gateway".to_vec(),
        };
        assert_eq!(bare.error().to_string(), "HTTP 502: bad gateway");

        let throttle = Reply {
            status: 429,
            headers: HeaderMap::new(),
            body: br#"{"Type":"User","message":"Rate Exceeded.","Reason":"ConcurrentInvocationLimitExceeded"}"#.to_vec(),
        };
        assert_eq!(
            throttle.error().to_string(),
            "HTTP 429: Rate Exceeded. (ConcurrentInvocationLimitExceeded)"
        );
    }
}
