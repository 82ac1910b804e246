//! The `requestParameters` of an audit event, as CloudTrail records them: the
//! operation's input (path and query parameters and body members) as one JSON object
//! whose member names are the model's with a lower-case first letter (`functionName`,
//! `memorySize`, `roleName`), user-named map keys (tags) unchanged, and every member the
//! service model marks sensitive (a function's zip and environment variables, passwords,
//! tokens) replaced by CloudTrail's `HIDDEN_DUE_TO_SECURITY_REASONS`.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::{Map, Value};

/// What CloudTrail writes in place of a sensitive member's value.
pub(crate) const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Members whose values are never recorded: the inputs botocore's models mark
/// `sensitive` in the operations Hearth audits (Lambda: `Code.ZipFile`, `ZipFile`,
/// `Content.ZipFile`, `Environment.Variables`, durable executions' payloads and errors;
/// IAM: passwords and private keys; STS: assertions and tokens), and secrets of Hearth's
/// own endpoints.
const SENSITIVE: &[&str] = &[
    "ZipFile",
    "Variables",
    "Payload",
    "Result",
    "Reason",
    "ErrorData",
    "ErrorMessage",
    "ErrorType",
    "StackTrace",
    "Password",
    "NewPassword",
    "OldPassword",
    "PrivateKey",
    "AddPrivateKey",
    "SAMLAssertion",
    "WebIdentityToken",
    "TradeInToken",
    "SecretAccessKey",
    "Secret",
];

/// Members that are maps of the caller's own keys (left as written).
const USER_MAPS: &[&str] = &["Tags"];

/// Query parameters that are lists in the model (one element per repetition).
const QUERY_LISTS: &[&str] = &["tagKeys"];

/// The model's names of the path parameters of Hearth's routes (by the route's names).
const PATH_NAMES: &[(&str, &str)] = &[
    ("function", "FunctionName"),
    ("name", "Name"),
    ("alias", "Name"),
    ("sid", "StatementId"),
    ("resource", "Resource"),
    ("arn", "Resource"),
];

/// The parameters of a request to a REST route (Lambda's, `/_hearth`'s): its path
/// parameters, its query string and its JSON body's members; `None` when it has none.
pub(crate) fn rest(params: &[(String, String)], query: &str, body: Option<&[u8]>) -> Option<Value> {
    let mut out = Map::new();
    for (name, value) in params {
        let model = PATH_NAMES
            .iter()
            .find(|(route, _)| route == name)
            .map_or(name.as_str(), |(_, model)| model);
        put(&mut out, model, Value::String(value.clone()));
    }
    for (name, value) in form_pairs(query) {
        if QUERY_LISTS.contains(&name.as_str()) {
            let list = out
                .entry(lower_first(&name))
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.push(Value::String(value));
            }
        } else {
            put(&mut out, &name, Value::String(value));
        }
    }
    if let Some(Value::Object(members)) = body.filter(|b| !b.is_empty()).and_then(|b| {
        let mut d = serde_json::Deserializer::from_slice(b);
        Cleaned { name: None }.deserialize(&mut d).ok()
    }) {
        out.extend(members);
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// The parameters of a JSON 1.1 request (CloudWatch Logs, CloudTrail): its body's members.
pub(crate) fn json_body(body: &[u8]) -> Option<Value> {
    rest(&[], "", Some(body))
}

/// The parameters of a query-protocol request (IAM, STS): its form's members but
/// `Action` and `Version`, lists (`Tags.member.1.Key`) as arrays of objects.
pub(crate) fn query_form(form: &str) -> Option<Value> {
    let mut out = Value::Object(Map::new());
    for (name, value) in form_pairs(form) {
        if name == "Action" || name == "Version" {
            continue;
        }
        let path: Vec<&str> = name.split('.').filter(|s| *s != "member").collect();
        insert_path(&mut out, &path, Value::String(value));
    }
    match out {
        Value::Object(m) if !m.is_empty() => Some(clean(None, Value::Object(m))),
        _ => None,
    }
}

/// Adds one member, named and hidden as CloudTrail does.
fn put(out: &mut Map<String, Value>, name: &str, value: Value) {
    out.insert(lower_first(name), clean(Some(name), value));
}

/// A member's value as recorded: hidden if sensitive, its members renamed (but a user
/// map's keys), recursively ([`Cleaned`], reading the value it is given).
fn clean(name: Option<&str>, value: Value) -> Value {
    // Every JSON value reads as one: there is nothing to fail.
    Cleaned { name }.deserialize(value).unwrap_or(Value::Null)
}

/// A JSON value read as it is recorded (hidden if sensitive, members renamed but a user
/// map's keys), with a sensitive member's value skipped unread: read from a request's
/// bytes, a 50 MB `ZipFile` is never copied into the record (the request's body
/// is in memory already, within the body budget; its record must not double it).
struct Cleaned<'a> {
    /// The member this is the value of.
    name: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for Cleaned<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.name.is_some_and(is_sensitive) {
            IgnoredAny::deserialize(d)?;
            return Ok(Value::String(HIDDEN.to_string()));
        }
        let user_map = self
            .name
            .is_some_and(|n| USER_MAPS.iter().any(|m| m.eq_ignore_ascii_case(n)));
        d.deserialize_any(CleanVisitor { user_map })
    }
}

struct CleanVisitor {
    /// A map of the caller's own keys: kept as written.
    user_map: bool,
}

impl<'de> Visitor<'de> for CleanVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Cleaned { name: None })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.user_map {
                let value = map.next_value_seed(Cleaned { name: None })?;
                out.insert(key, value);
            } else {
                let value = map.next_value_seed(Cleaned { name: Some(&key) })?;
                out.insert(lower_first(&key), value);
            }
        }
        Ok(Value::Object(out))
    }
}

fn is_sensitive(name: &str) -> bool {
    SENSITIVE.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// `FunctionName` -> `functionName` (CloudTrail's names of request members).
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Sets `path` (names, and 1-based list positions) in a tree of objects and arrays.
fn insert_path(node: &mut Value, path: &[&str], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return;
    };
    if let Ok(position) = first.parse::<usize>() {
        if !node.is_array() {
            *node = Value::Array(Vec::new());
        }
        if let Value::Array(items) = node {
            let index = position.saturating_sub(1).min(items.len());
            if index == items.len() {
                items.push(Value::Null);
            }
            insert_path(&mut items[index], rest, value);
        }
        return;
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    if let Value::Object(members) = node {
        let child = members.entry(first.to_string()).or_insert(Value::Null);
        insert_path(child, rest, value);
    }
}

/// The decoded `name=value` pairs of a query string or form.
fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                crate::audit::percent_decode(k),
                crate::audit::percent_decode(v),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lambda_requests_are_named_as_cloudtrail_names_them_and_secrets_hidden() {
        let body = json!({
            "FunctionName": "f", "Runtime": "python3.11", "MemorySize": 256,
            "Code": {"ZipFile": "UEsDBA=="},
            "Environment": {"Variables": {"PASSWORD": "hunter2"}},
            "Tags": {"Team": "a", "cost-Center": "b"},
            "TracingConfig": {"Mode": "Active"},
            "Architectures": ["x86_64"],
        });
        let params = rest(&[], "", Some(body.to_string().as_bytes())).expect("params");
        assert_eq!(
            params,
            json!({
                "functionName": "f", "runtime": "python3.11", "memorySize": 256,
                "code": {"zipFile": HIDDEN},
                "environment": {"variables": HIDDEN},
                "tags": {"Team": "a", "cost-Center": "b"},
                "tracingConfig": {"mode": "Active"},
                "architectures": ["x86_64"],
            })
        );
        let update = rest(
            &[("function".into(), "f".into())],
            "",
            Some(br#"{"ZipFile": "UEsDBA==", "Publish": true}"#),
        );
        assert_eq!(
            update,
            Some(json!({"functionName": "f", "zipFile": HIDDEN, "publish": true}))
        );
        let delete = rest(&[("function".into(), "f".into())], "Qualifier=%241", None);
        assert_eq!(
            delete,
            Some(json!({"functionName": "f", "qualifier": "$1"}))
        );
        let untag = rest(
            &[("resource".into(), "arn:f".into())],
            "tagKeys=a&tagKeys=b%20c",
            None,
        );
        assert_eq!(
            untag,
            Some(json!({"resource": "arn:f", "tagKeys": ["a", "b c"]}))
        );
        assert_eq!(rest(&[], "", Some(b"")), None);
    }

    #[test]
    fn query_forms_become_objects_and_lists() {
        let form = "Action=CreateRole&Version=2010-05-08&RoleName=r&Path=%2Fx%2F\
                    &AssumeRolePolicyDocument=%7B%7D&Tags.member.1.Key=a&Tags.member.1.Value=1\
                    &Tags.member.2.Key=b&Tags.member.2.Value=2";
        assert_eq!(
            query_form(form),
            Some(json!({
                "roleName": "r", "path": "/x/", "assumeRolePolicyDocument": "{}",
                "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}],
            }))
        );
        assert_eq!(
            query_form("Action=AssumeRoleWithWebIdentity&WebIdentityToken=t&RoleArn=a"),
            Some(json!({"webIdentityToken": HIDDEN, "roleArn": "a"}))
        );
        assert_eq!(query_form("Action=ListRoles&Version=2010-05-08"), None);
    }
}
