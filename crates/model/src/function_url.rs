//! Function URLs: the record kept per function and qualifier (`$LATEST` or an alias),
//! the shapes of the `FunctionUrlConfig` operations (botocore's `lambda/2015-03-31`,
//! under `/2021-10-31/functions/{FunctionName}/url`), and their checks, with the
//! validator's messages.

use serde::{Deserialize, Serialize};

use crate::error::AwsError;
use crate::violations::Violations;

/// The model's pattern of a function URL's `Qualifier`: an alias, never a version number
/// (and not `$LATEST`, which is named by giving no qualifier).
pub const QUALIFIER_PATTERN: &str = r"((?!^\d+$)^[0-9a-zA-Z-_]+$)";

/// The pattern AWS's message names when the qualifier is a version number (the one its
/// other qualifiers have; checked first, so a version gets this message).
const VERSION_PATTERN: &str = r"(^\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))";

/// How callers of the URL are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthType {
    /// Anyone the function's resource policy lets invoke the URL (`Principal: *`).
    #[serde(rename = "NONE")]
    None,
    /// Callers who sign with SigV4, allowed by IAM.
    #[serde(rename = "AWS_IAM")]
    AwsIam,
}

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::AwsIam => "AWS_IAM",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "NONE" => Some(Self::None),
            "AWS_IAM" => Some(Self::AwsIam),
            _ => None,
        }
    }
}

/// How the function's answer reaches the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum InvokeMode {
    /// The whole response, once the function returns (at most 6 MB).
    #[default]
    #[serde(rename = "BUFFERED")]
    Buffered,
    /// The bytes as the function writes them.
    #[serde(rename = "RESPONSE_STREAM")]
    ResponseStream,
}

impl InvokeMode {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "BUFFERED" => Some(Self::Buffered),
            "RESPONSE_STREAM" => Some(Self::ResponseStream),
            _ => None,
        }
    }
}

/// The URL's CORS settings, as the API takes and answers them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
}

impl Cors {
    /// The model's constraints, field by field in its order.
    fn check(&self, v: &mut Violations) {
        fn list<'a>(
            v: &mut Violations,
            items: &'a Option<Vec<String>>,
            field: &str,
            most: usize,
        ) -> Option<&'a Vec<String>> {
            let items = items.as_ref()?;
            if items.len() > most {
                v.value(
                    &format!("[{}]", items.join(", ")),
                    field,
                    &format!("Member must have length less than or equal to {most}"),
                );
            }
            Some(items)
        }
        if let Some(h) = list(v, &self.allow_headers, "cors.allowHeaders", 100) {
            for (i, h) in h.iter().enumerate() {
                v.length(h, &format!("cors.allowHeaders.{}.member", i + 1), 0, 1024);
            }
        }
        if let Some(m) = list(v, &self.allow_methods, "cors.allowMethods", 6) {
            for (i, m) in m.iter().enumerate() {
                v.length(m, &format!("cors.allowMethods.{}.member", i + 1), 0, 6);
            }
        }
        if let Some(o) = list(v, &self.allow_origins, "cors.allowOrigins", 100) {
            for (i, o) in o.iter().enumerate() {
                v.length(o, &format!("cors.allowOrigins.{}.member", i + 1), 1, 253);
            }
        }
        if let Some(h) = list(v, &self.expose_headers, "cors.exposeHeaders", 100) {
            for (i, h) in h.iter().enumerate() {
                v.length(h, &format!("cors.exposeHeaders.{}.member", i + 1), 0, 1024);
            }
        }
        if let Some(age) = self.max_age {
            v.range(age, "cors.maxAge", Some(0), Some(86_400));
        }
    }
}

/// The body of CreateFunctionUrlConfig and UpdateFunctionUrlConfig, before its checks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UrlConfigRequest {
    #[serde(default)]
    pub auth_type: Option<String>,
    #[serde(default)]
    pub cors: Option<Cors>,
    #[serde(default)]
    pub invoke_mode: Option<String>,
}

/// A checked Create or Update: what it sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlChange {
    pub auth_type: Option<AuthType>,
    pub cors: Option<Cors>,
    pub invoke_mode: Option<InvokeMode>,
}

impl UrlConfigRequest {
    /// The validator's checks; `create` requires `AuthType`.
    pub fn check(self, create: bool) -> Result<UrlChange, AwsError> {
        let mut v = Violations::new();
        let auth_type = match self.auth_type.as_deref() {
            None => {
                if create {
                    v.null("authType");
                }
                None
            }
            Some(s) => {
                let t = AuthType::parse(s);
                if t.is_none() {
                    v.value(
                        s,
                        "authType",
                        "Member must satisfy enum value set: [AWS_IAM, NONE]",
                    );
                }
                t
            }
        };
        if let Some(c) = &self.cors {
            c.check(&mut v);
        }
        let invoke_mode = self.invoke_mode.as_deref().and_then(|s| {
            let m = InvokeMode::parse(s);
            if m.is_none() {
                v.value(
                    s,
                    "invokeMode",
                    "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]",
                );
            }
            m
        });
        v.into_result()?;
        Ok(UrlChange {
            auth_type,
            cors: self.cors,
            invoke_mode,
        })
    }
}

/// Checks a function URL operation's `Qualifier`: an alias name (`None` is `$LATEST`).
pub fn check_qualifier(q: &str) -> Result<(), AwsError> {
    let mut v = Violations::new();
    v.length(q, "qualifier", 1, 128);
    if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) {
        v.pattern(q, "qualifier", false, VERSION_PATTERN);
    } else {
        let ok = !q.is_empty()
            && q.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        v.pattern(q, "qualifier", ok, QUALIFIER_PATTERN);
    }
    v.into_result()
}

/// A function URL as it is kept: one per function and qualifier, found by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionUrl {
    /// The URL's id (32 lower-case letters and digits), its host's first label. Kept
    /// across updates.
    pub url_id: String,
    /// The function's key (`hearth_model::arn::function_key`).
    pub function: String,
    /// `$LATEST` or an alias.
    pub qualifier: String,
    pub auth_type: AuthType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,
    #[serde(default)]
    pub invoke_mode: InvokeMode,
    /// ISO 8601 with microseconds, as AWS answers (`2026-12-02T20:40:12.345678Z`).
    pub creation_time: String,
    pub last_modified_time: String,
}

impl FunctionUrl {
    /// Applies a checked Update: only what it names changes.
    pub fn apply(&mut self, change: &UrlChange, now: &str) {
        if let Some(a) = change.auth_type {
            self.auth_type = a;
        }
        if let Some(c) = &change.cors {
            self.cors = Some(c.clone());
        }
        if let Some(m) = change.invoke_mode {
            self.invoke_mode = m;
        }
        self.last_modified_time = now.to_string();
    }

    /// The ARN the answers name: unqualified for `$LATEST`, the alias's otherwise.
    pub fn function_arn(&self) -> String {
        let q = (self.qualifier != crate::arn::LATEST).then_some(self.qualifier.as_str());
        crate::arn::function_arn(&self.function, q)
    }

    /// The `FunctionUrlConfig` shape (Get, Update, List); Create's lacks the last
    /// modified time. `url` is the address the server answers it at.
    pub fn to_shape(&self, url: &str, with_modified: bool) -> serde_json::Value {
        let mut out = serde_json::json!({
            "FunctionUrl": url,
            "FunctionArn": self.function_arn(),
            "AuthType": self.auth_type.as_str(),
            "CreationTime": self.creation_time,
            "InvokeMode": self.invoke_mode,
        });
        if let Some(c) = &self.cors {
            out["Cors"] = serde_json::to_value(c).unwrap_or_default();
        }
        if with_modified {
            out["LastModifiedTime"] = self.last_modified_time.clone().into();
        }
        out
    }
}

/// Now, as function URL answers write times.
pub fn now_timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: AwsError) -> String {
        e.message
    }

    #[test]
    fn qualifiers_are_aliases_only() {
        assert!(check_qualifier("live").is_ok());
        assert!(check_qualifier("a-b_C9").is_ok());
        assert_eq!(
            message(check_qualifier("$LATEST").expect_err("refused")),
            r"1 validation error detected: Value '$LATEST' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)"
        );
        assert_eq!(
            message(check_qualifier("12").expect_err("refused")),
            r"1 validation error detected: Value '12' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (^\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))"
        );
    }

    #[test]
    fn create_needs_an_auth_type_of_the_enum_and_cors_within_its_bounds() {
        let none = UrlConfigRequest::default();
        assert_eq!(
            message(none.clone().check(true).expect_err("refused")),
            "1 validation error detected: Value null at 'authType' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            none.check(false).expect("an update may omit it"),
            UrlChange::default()
        );
        let bad = UrlConfigRequest {
            auth_type: Some("OPEN".into()),
            cors: Some(Cors {
                allow_methods: Some(vec!["GET".into(), "OPTIONS!".into()]),
                max_age: Some(86_401),
                ..Default::default()
            }),
            invoke_mode: Some("STREAM".into()),
        };
        let m = message(bad.check(true).expect_err("refused"));
        assert!(m.starts_with("4 validation errors detected: "), "{m}");
        assert!(m.contains("Value 'OPEN' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_IAM, NONE]"), "{m}");
        assert!(m.contains("Value 'OPTIONS!' at 'cors.allowMethods.2.member' failed to satisfy constraint: Member must have length less than or equal to 6"), "{m}");
        assert!(m.contains("Value '86401' at 'cors.maxAge' failed to satisfy constraint: Member must have value less than or equal to 86400"), "{m}");
        assert!(m.contains("Value 'STREAM' at 'invokeMode'"), "{m}");
    }

    #[test]
    fn an_update_changes_only_what_it_names_and_keeps_the_id() {
        let mut url = FunctionUrl {
            url_id: "abc".into(),
            function: "f".into(),
            qualifier: "$LATEST".into(),
            auth_type: AuthType::None,
            cors: None,
            invoke_mode: InvokeMode::Buffered,
            creation_time: "t0".into(),
            last_modified_time: "t0".into(),
        };
        url.apply(
            &UrlChange {
                invoke_mode: Some(InvokeMode::ResponseStream),
                ..Default::default()
            },
            "t1",
        );
        assert_eq!(url.auth_type, AuthType::None);
        assert_eq!(url.invoke_mode, InvokeMode::ResponseStream);
        assert_eq!(
            (url.url_id.as_str(), url.last_modified_time.as_str()),
            ("abc", "t1")
        );
        let shape = url.to_shape("http://h/lambda-url/abc/", true);
        assert_eq!(
            shape,
            serde_json::json!({
                "FunctionUrl": "http://h/lambda-url/abc/",
                "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f",
                "AuthType": "NONE",
                "CreationTime": "t0",
                "LastModifiedTime": "t1",
                "InvokeMode": "RESPONSE_STREAM",
            })
        );
    }
}
