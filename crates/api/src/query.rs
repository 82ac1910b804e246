//! AWS's query protocol, shared by the services that speak it (IAM and STS today; SQS
//! and SNS later): the request is a form (`Action=...&Version=...&Param=...`, in a
//! `POST /` body or a `GET /` query string) with botocore's encodings of lists
//! (`Name.member.N`) and structures in lists (`Tags.member.N.Key`); the answer is XML
//! in AWS's envelope (`<ActionResponse xmlns=NS><ActionResult>...</ActionResult>
//! <ResponseMetadata><RequestId>...`), and an error is an `<ErrorResponse>` with
//! `Type`, `Code` and `Message`.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One query-protocol request: its action, version and parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueryRequest {
    pub action: String,
    pub version: Option<String>,
    params: HashMap<String, String>,
}

impl QueryRequest {
    /// Parses a form (`a=1&b=%20`); a later duplicate of a name wins, as in AWS's
    /// front end.
    pub fn parse(form: &[u8]) -> Self {
        let mut params: HashMap<String, String> = form_urlencoded::parse(form)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let action = params.remove("Action").unwrap_or_default();
        let version = params.remove("Version");
        Self {
            action,
            version,
            params,
        }
    }

    /// A scalar parameter.
    /// Every parameter but `Action` and `Version`.
    pub fn params(&self) -> &HashMap<String, String> {
        &self.params
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// A list of scalars: `name.member.1`, `name.member.2`, ... up to the first gap.
    pub fn list(&self, name: &str) -> Vec<&str> {
        (1..)
            .map_while(|i| self.get(&format!("{name}.member.{i}")))
            .collect()
    }

    /// A list of structures: for `name.member.N.Field`, one map of `Field` to value per
    /// `N` from 1 up to the first gap.
    pub fn structs(&self, name: &str) -> Vec<HashMap<&str, &str>> {
        self.items(name, "member")
    }

    /// A map's entries: for `name.entry.N.Field` (`key`/`value`, or the names the model
    /// gives them), one map of `Field` to value per `N` from 1 up to the first gap.
    pub fn entries(&self, name: &str) -> Vec<HashMap<&str, &str>> {
        self.items(name, "entry")
    }

    fn items(&self, name: &str, word: &str) -> Vec<HashMap<&str, &str>> {
        let mut out = Vec::new();
        for i in 1.. {
            let prefix = format!("{name}.{word}.{i}.");
            let item: HashMap<&str, &str> = self
                .params
                .iter()
                .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|f| (f, v.as_str())))
                .collect();
            if item.is_empty() {
                break;
            }
            out.push(item);
        }
        out
    }
}

/// `text` with XML's five special characters escaped, and the control characters XML
/// 1.0 cannot carry dropped (none of AWS's answers has them).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

/// An XML document under construction; every text goes through [`escape`].
#[derive(Debug, Default)]
pub(crate) struct Xml(String);

impl Xml {
    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(tag);
        self.0.push('>');
        self
    }

    /// `<tag>text</tag>`.
    pub fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        self.0.push_str(&escape(text));
        self.close(tag)
    }

    /// A leaf when there is a value.
    pub fn leaf_opt(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(tag, t);
        }
        self
    }

    /// `<tag>` ... `</tag>` around what `inner` writes.
    pub fn element(&mut self, tag: &str, inner: impl FnOnce(&mut Self)) -> &mut Self {
        self.open(tag);
        inner(self);
        self.close(tag)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A service that speaks the query protocol: its XML namespace and API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Protocol {
    /// `https://iam.amazonaws.com/doc/2010-05-08/`.
    pub namespace: &'static str,
    /// `2010-05-08`.
    pub version: &'static str,
}

fn xml_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/xml"));
    resp
}

impl Protocol {
    /// The answer to `action`: its result's members (if it has a result) and the
    /// request id.
    pub fn answer(&self, action: &str, request_id: &str, result: Option<Xml>) -> Response {
        let mut x = Xml::default();
        x.0.push_str(&format!(r#"<{action}Response xmlns="{}">"#, self.namespace));
        if let Some(result) = result {
            x.element(&format!("{action}Result"), |x| x.0.push_str(&result.0));
        }
        x.element("ResponseMetadata", |x| {
            x.leaf("RequestId", request_id);
        });
        x.close(&format!("{action}Response"));
        xml_response(StatusCode::OK, x.into_string())
    }

    /// The `<ErrorResponse>` of `e`.
    pub fn error(&self, e: &QueryError, request_id: &str) -> Response {
        let mut x = Xml::default();
        x.0.push_str(&format!(r#"<ErrorResponse xmlns="{}">"#, self.namespace));
        x.element("Error", |x| {
            x.leaf("Type", if e.sender { "Sender" } else { "Receiver" })
                .leaf("Code", &e.code)
                .leaf("Message", &e.message);
        });
        x.leaf("RequestId", request_id);
        x.close("ErrorResponse");
        xml_response(e.status, x.into_string())
    }
}

/// An error of a query-protocol service: its status, code, message, and whether the
/// client (`Sender`) or the service (`Receiver`) is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub sender: bool,
}

impl QueryError {
    /// A client's error.
    pub fn sender(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            sender: true,
        }
    }

    /// The service's own failure (the cause goes to the log, not the client).
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "query-protocol service failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "ServiceFailure".into(),
            message: "The request processing has failed because of an unknown error, exception or failure.".into(),
            sender: false,
        }
    }

    /// `ValidationError` (400) with `message`: how IAM and STS name a request that
    /// breaks their model's constraints.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::sender(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    /// A required parameter that is absent (`MissingParameter`, as the query
    /// protocol's front end answers).
    pub fn missing(name: &str) -> Self {
        Self::sender(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    }

    /// An action the service (or Hearth) does not have.
    pub fn invalid_action(action: &str, version: &str) -> Self {
        Self::sender(
            StatusCode::BAD_REQUEST,
            "InvalidAction",
            format!("Could not find operation {action} for version {version}"),
        )
    }
}

/// A required scalar parameter.
pub(crate) fn required<'a>(req: &'a QueryRequest, name: &str) -> Result<&'a str, QueryError> {
    req.get(name).ok_or_else(|| QueryError::missing(name))
}

/// An integer parameter, or a validation error naming `field` as the model does.
pub(crate) fn integer(
    req: &QueryRequest,
    name: &str,
    field: &str,
) -> Result<Option<i64>, QueryError> {
    req.get(name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                QueryError::validation(format!(
                    "1 validation error detected: Value '{v}' at '{field}' failed to satisfy constraint: Member must be a number"
                ))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_with_botocores_list_and_struct_encodings() {
        let r = QueryRequest::parse(
            b"Action=CreateRole&Version=2010-05-08&RoleName=r&Doc=%7B%22a%22%3A+1%7D\
              &Tags.member.1.Key=k1&Tags.member.1.Value=v1&Tags.member.2.Key=k2&Tags.member.2.Value=\
              &Ids.member.1=a&Ids.member.2=b&Ids.member.4=d",
        );
        assert_eq!(r.action, "CreateRole");
        assert_eq!(r.version.as_deref(), Some("2010-05-08"));
        assert_eq!(r.get("Doc"), Some(r#"{"a": 1}"#));
        assert_eq!(r.list("Ids"), ["a", "b"]);
        let tags = r.structs("Tags");
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[0]["Key"], "k1");
        assert_eq!(tags[1]["Value"], "");
        assert!(r.structs("Nope").is_empty());
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'b'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;b&apos;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1}b\r\n"), "ab&#xD;\n");
    }

    const IAM: Protocol = Protocol {
        namespace: "https://iam.amazonaws.com/doc/2010-05-08/",
        version: "2010-05-08",
    };

    async fn body(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn answers_and_errors_in_aws_envelopes() {
        let mut result = Xml::default();
        result.element("Role", |x| {
            x.leaf("RoleName", "a&b");
        });
        let resp = IAM.answer("GetRole", "rid", Some(result));
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "text/xml");
        assert_eq!(
            body(resp).await,
            r#"<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><RoleName>a&amp;b</RoleName></Role></GetRoleResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetRoleResponse>"#
        );
        let resp = IAM.answer("DeleteRole", "rid", None);
        assert_eq!(
            body(resp).await,
            r#"<DeleteRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></DeleteRoleResponse>"#
        );
        let e = QueryError::sender(
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            "The role with name <x> cannot be found.",
        );
        let resp = IAM.error(&e, "rid");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            body(resp).await,
            r#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name &lt;x&gt; cannot be found.</Message></Error><RequestId>rid</RequestId></ErrorResponse>"#
        );
        assert_eq!(
            QueryError::invalid_action("Bogus", IAM.version).message,
            "Could not find operation Bogus for version 2010-05-08"
        );
    }
}
