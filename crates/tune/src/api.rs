//! What a tuning run needs of a server: the Lambda API as requests and their answers. `hearth
//! tune` sends them over HTTP, signed with its key; the server's `POST /_hearth/tune` hands
//! them to its own router as its caller, so each step is authorised and audited as that
//! caller's own request.

use serde_json::Value;

/// Sends requests of the Lambda API (and `/_hearth/code`, where GetFunction's code is).
pub trait Api: Send + Sync {
    /// Sends `method path` with `headers` and `body` (JSON unless `headers` name another
    /// type) and returns the answer whatever its status; an error only when none came.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, String>;

    /// Something the run could not do and went on without (a copy it could not delete).
    fn warn(&self, message: &str);
}

/// An answer, any status.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The AWS-style error an answer carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Reply {
    /// The header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error of a failed answer (as the CLI's other verbs read errors, [`error_parts`]).
    pub fn failure(&self) -> ApiFailure {
        let (code, message, _) =
            error_parts(self.status, self.header("x-amzn-errortype"), &self.body);
        ApiFailure {
            status: self.status,
            code,
            message,
        }
    }
}

/// An AWS-style error answer's code, message and body as JSON (`null` if it is not): the
/// code from `x-amzn-ErrorType` (before any `:`) or the body's `__type`, else `HTTP
/// <status>`; the message from the body's `message`, `Message` or `errorMessage`, else the
/// body as text.
pub fn error_parts(status: u16, error_type: Option<&str>, body: &[u8]) -> (String, String, Value) {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = error_type
        .map(|t| t.split(':').next().unwrap_or(t).to_string())
        .or_else(|| {
            json.get("__type")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|key| json.get(*key).and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    (code, message, json)
}

/// `%`-encodes what a path segment cannot hold as it is (a name, or an ARN with its `:`).
pub(crate) fn encode(value: &str) -> String {
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
pub(crate) fn function_path(name: &str) -> String {
    format!("/2015-03-31/functions/{}", encode(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aws_error_shapes() {
        let reply = Reply {
            status: 404,
            headers: vec![(
                "x-amzn-errortype".into(),
                "ResourceNotFoundException:http://internal.amazon.com/".into(),
            )],
            body: br#"{"Type":"User","message":"Function not found: f"}"#.to_vec(),
        };
        assert_eq!(
            reply.failure(),
            ApiFailure {
                status: 404,
                code: "ResourceNotFoundException".into(),
                message: "Function not found: f".into()
            }
        );
        let json10 = Reply {
            status: 400,
            headers: vec![],
            body: br#"{"__type":"InvalidParameterValue","Message":"bad"}"#.to_vec(),
        };
        assert_eq!(json10.failure().to_string(), "InvalidParameterValue: bad");
        assert_eq!(
            Reply {
                status: 502,
                ..Default::default()
            }
            .failure()
            .code,
            "HTTP 502"
        );
        assert_eq!(encode("a b/c:$"), "a%20b%2Fc:%24");
    }
}
