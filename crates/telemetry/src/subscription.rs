//! The subscribe request of both APIs: `PUT /2022-07-01/telemetry` (Telemetry API) and
//! `PUT /2020-08-15/logs` (Logs API), parsed and validated into a [`Subscription`], and the
//! answers AWS gives.
//!
//! Shapes from "Lambda Telemetry API reference" and "Lambda Logs API" (docs.aws.amazon.com).
//! Unknown fields are ignored rather than refused: AWS's own sample clients send fields the
//! references do not list (`HTTPMethod`, `Encoding` in `destination`).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::bounds::{
    MAX_BYTES_DEFAULT, MAX_BYTES_MAX, MAX_BYTES_MIN, MAX_ITEMS_DEFAULT, MAX_ITEMS_MAX,
    MAX_ITEMS_MIN, TIMEOUT_MS_DEFAULT, TIMEOUT_MS_MAX, TIMEOUT_MS_MIN,
};
use crate::destination::{parse_uri, Destination, Protocol, ACCEPTED_HOSTS};

/// Which of the two subscription APIs a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Api {
    /// `PUT /2022-07-01/telemetry`.
    Telemetry,
    /// `PUT /2020-08-15/logs`.
    Logs,
}

impl Api {
    /// The request path the Runtime API serves this API at.
    pub fn path(self) -> &'static str {
        match self {
            Api::Telemetry => "/2022-07-01/telemetry",
            Api::Logs => "/2020-08-15/logs",
        }
    }

    /// The `errorType` of a refused subscription: `ValidationError` in the Telemetry API
    /// reference's example, `Logs.ValidationError` in the Logs API's.
    pub fn validation_error_type(self) -> &'static str {
        match self {
            Api::Telemetry => "ValidationError",
            Api::Logs => "Logs.ValidationError",
        }
    }
}

/// The record schema a subscriber asked for; it decides which record types it receives and
/// their shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaVersion {
    /// Telemetry API `2022-07-01`.
    Telemetry2022_07_01,
    /// Telemetry API `2022-12-13`.
    Telemetry2022_12_13,
    /// Telemetry API `2025-01-29` (documented as backward compatible; rendered as 2022-12-13).
    Telemetry2025_01_29,
    /// Logs API `2020-08-15` (the default when the field is absent).
    Logs2020_08_15,
    /// Logs API `2021-03-18`: adds `platform.runtimeDone`.
    Logs2021_03_18,
}

impl SchemaVersion {
    /// The version as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaVersion::Telemetry2022_07_01 => "2022-07-01",
            SchemaVersion::Telemetry2022_12_13 => "2022-12-13",
            SchemaVersion::Telemetry2025_01_29 => "2025-01-29",
            SchemaVersion::Logs2020_08_15 => "2020-08-15",
            SchemaVersion::Logs2021_03_18 => "2021-03-18",
        }
    }

    /// The API this schema belongs to.
    pub fn api(self) -> Api {
        match self {
            SchemaVersion::Telemetry2022_07_01
            | SchemaVersion::Telemetry2022_12_13
            | SchemaVersion::Telemetry2025_01_29 => Api::Telemetry,
            SchemaVersion::Logs2020_08_15 | SchemaVersion::Logs2021_03_18 => Api::Logs,
        }
    }

    fn parse(api: Api, raw: &str) -> Option<Self> {
        let all = [
            SchemaVersion::Telemetry2022_07_01,
            SchemaVersion::Telemetry2022_12_13,
            SchemaVersion::Telemetry2025_01_29,
            SchemaVersion::Logs2020_08_15,
            SchemaVersion::Logs2021_03_18,
        ];
        all.into_iter()
            .find(|v| v.api() == api && v.as_str() == raw)
    }
}

/// A stream a subscriber can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventType {
    /// Lambda's own records (`platform.*`).
    Platform,
    /// What the function writes to stdout and stderr.
    Function,
    /// What extensions write to stdout and stderr.
    Extension,
}

impl EventType {
    /// The name in `types`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Platform => "platform",
            EventType::Function => "function",
            EventType::Extension => "extension",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [
            EventType::Platform,
            EventType::Function,
            EventType::Extension,
        ]
        .into_iter()
        .find(|t| t.as_str() == raw)
    }
}

/// The buffering configuration, with AWS's defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffering {
    /// A batch is sent when this many records wait.
    pub max_items: u32,
    /// A batch is sent when this many bytes (of serialized records) wait.
    pub max_bytes: u32,
    /// A batch is sent this long after its first record arrived.
    pub timeout_ms: u32,
}

impl Default for Buffering {
    fn default() -> Self {
        Buffering {
            max_items: MAX_ITEMS_DEFAULT,
            max_bytes: MAX_BYTES_DEFAULT,
            timeout_ms: TIMEOUT_MS_DEFAULT,
        }
    }
}

impl Buffering {
    /// `timeout_ms` as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.timeout_ms))
    }
}

/// A validated subscription request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The record schema (and through it the API).
    pub schema_version: SchemaVersion,
    /// The streams asked for, never empty.
    pub types: BTreeSet<EventType>,
    /// The buffering configuration.
    pub buffering: Buffering,
    /// Where records go.
    pub destination: Destination,
}

/// A refused subscription: the answer is `400` with `{"errorType", "errorMessage"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct SubscribeError {
    /// The HTTP status of the answer.
    pub status: u16,
    /// The `errorType`.
    pub error_type: String,
    /// The `errorMessage`.
    pub message: String,
}

impl SubscribeError {
    pub(crate) fn validation(api: Api, message: impl Into<String>) -> Self {
        SubscribeError {
            status: 400,
            error_type: api.validation_error_type().to_owned(),
            message: message.into(),
        }
    }

    /// The JSON body of the answer.
    pub fn body(&self) -> String {
        serde_json::json!({"errorType": self.error_type, "errorMessage": self.message}).to_string()
    }
}

/// The body of a successful subscription's `200` answer: the JSON string `"OK"` (both
/// references show `HTTP/1.1 200 OK` then `"OK"`).
pub const OK_BODY: &str = "\"OK\"";

/// Parses and validates a subscribe request body for `api`. Every problem found is named, in
/// one message joined by `"; "` as in AWS's example ("URI port is not provided; types should
/// not be empty"). AWS's exact wording of each message is not documented beyond that example.
pub fn parse_subscription(api: Api, body: &[u8]) -> Result<Subscription, SubscribeError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        SubscribeError::validation(api, format!("request body is not valid JSON: {e}"))
    })?;
    let Value::Object(object) = value else {
        return Err(SubscribeError::validation(
            api,
            "request body should be a JSON object",
        ));
    };
    let mut errors = Vec::new();

    let schema_version = match (object.get("schemaVersion"), api) {
        // The Logs API documents the field as optional with default "2020-08-15"; the
        // Telemetry API as required.
        (None | Some(Value::Null), Api::Logs) => Some(SchemaVersion::Logs2020_08_15),
        (None | Some(Value::Null), Api::Telemetry) => {
            errors.push("schemaVersion is not provided".to_owned());
            None
        }
        (Some(Value::String(raw)), _) => {
            let parsed = SchemaVersion::parse(api, raw);
            if parsed.is_none() {
                let valid = match api {
                    Api::Telemetry => "2025-01-29, 2022-12-13, 2022-07-01",
                    Api::Logs => "2021-03-18, 2020-08-15",
                };
                errors.push(format!(
                    "schemaVersion '{raw}' is not supported; valid values: {valid}"
                ));
            }
            parsed
        }
        (Some(_), _) => {
            errors.push("schemaVersion should be a string".to_owned());
            None
        }
    };

    let destination = parse_destination(object.get("destination"), &mut errors);
    let types = parse_types(object.get("types"), &mut errors);
    let buffering = parse_buffering(object.get("buffering"), &mut errors);

    match (schema_version, destination, types, buffering) {
        (Some(schema_version), Some(destination), Some(types), Some(buffering))
            if errors.is_empty() =>
        {
            Ok(Subscription {
                schema_version,
                types,
                buffering,
                destination,
            })
        }
        _ => Err(SubscribeError::validation(api, errors.join("; "))),
    }
}

fn parse_destination(raw: Option<&Value>, errors: &mut Vec<String>) -> Option<Destination> {
    let object = match raw {
        None | Some(Value::Null) => {
            errors.push("destination is not provided".to_owned());
            return None;
        }
        Some(Value::Object(object)) => object,
        Some(_) => {
            errors.push("destination should be an object".to_owned());
            return None;
        }
    };
    let protocol = match object.get("protocol") {
        Some(Value::String(p)) if p == "HTTP" => Some(Protocol::Http),
        Some(Value::String(p)) if p == "TCP" => Some(Protocol::Tcp),
        None | Some(Value::Null) => {
            errors.push("destination protocol is not provided".to_owned());
            None
        }
        Some(other) => {
            errors.push(format!(
                "destination protocol {other} is not supported; valid values: HTTP, TCP"
            ));
            None
        }
    };
    let protocol = protocol?;
    match (object.get("URI"), object.get("port"), protocol) {
        (Some(Value::String(uri)), _, _) => parse_uri(protocol, uri, errors),
        // A TCP destination given as a bare port (the Logs API's older examples): the
        // environment's own address.
        (None | Some(Value::Null), Some(Value::Number(port)), Protocol::Tcp) => {
            let uri = format!("tcp://{}:{port}", ACCEPTED_HOSTS[0]);
            parse_uri(protocol, &uri, errors)
        }
        (None | Some(Value::Null), _, _) => {
            errors.push("URI is not provided".to_owned());
            None
        }
        (Some(_), _, _) => {
            errors.push("URI should be a string".to_owned());
            None
        }
    }
}

fn parse_types(raw: Option<&Value>, errors: &mut Vec<String>) -> Option<BTreeSet<EventType>> {
    let items = match raw {
        None | Some(Value::Null) => {
            errors.push("types should not be empty".to_owned());
            return None;
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push("types should be an array of strings".to_owned());
            return None;
        }
    };
    if items.is_empty() {
        errors.push("types should not be empty".to_owned());
        return None;
    }
    let mut types = BTreeSet::new();
    let mut ok = true;
    for item in items {
        match item.as_str().and_then(EventType::parse) {
            Some(t) => {
                types.insert(t);
            }
            None => {
                errors.push(format!(
                    "types value {item} is not supported; valid values: platform, function, extension"
                ));
                ok = false;
            }
        }
    }
    ok.then_some(types)
}

fn parse_buffering(raw: Option<&Value>, errors: &mut Vec<String>) -> Option<Buffering> {
    let object = match raw {
        None | Some(Value::Null) => return Some(Buffering::default()),
        Some(Value::Object(object)) => object,
        Some(_) => {
            errors.push("buffering should be an object".to_owned());
            return None;
        }
    };
    let before = errors.len();
    let mut field = |name: &str, default: u32, min: u32, max: u32| -> u32 {
        match object.get(name) {
            None | Some(Value::Null) => default,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v >= u64::from(min) && v <= u64::from(max) => {
                    u32::try_from(v).expect("within a u32 bound")
                }
                _ => {
                    errors.push(format!(
                        "buffering.{name} should be between {min} and {max}; got {n}"
                    ));
                    default
                }
            },
            Some(other) => {
                errors.push(format!(
                    "buffering.{name} should be an integer; got {other}"
                ));
                default
            }
        }
    };
    let buffering = Buffering {
        max_items: field("maxItems", MAX_ITEMS_DEFAULT, MAX_ITEMS_MIN, MAX_ITEMS_MAX),
        max_bytes: field("maxBytes", MAX_BYTES_DEFAULT, MAX_BYTES_MIN, MAX_BYTES_MAX),
        timeout_ms: field(
            "timeoutMs",
            TIMEOUT_MS_DEFAULT,
            TIMEOUT_MS_MIN,
            TIMEOUT_MS_MAX,
        ),
    };
    (errors.len() == before).then_some(buffering)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telemetry(body: &str) -> Result<Subscription, SubscribeError> {
        parse_subscription(Api::Telemetry, body.as_bytes())
    }

    fn message(result: Result<Subscription, SubscribeError>) -> String {
        let err = result.expect_err("refused");
        assert_eq!(err.status, 400);
        err.message
    }

    const DEST: &str =
        r#""destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/t"}"#;

    #[test]
    fn full_telemetry_request() {
        let body = format!(
            r#"{{"schemaVersion":"2022-12-13","types":["platform","function","extension"],
            "buffering":{{"maxItems":1000,"maxBytes":262144,"timeoutMs":100}},{DEST}}}"#
        );
        assert_eq!(
            telemetry(&body),
            Ok(Subscription {
                schema_version: SchemaVersion::Telemetry2022_12_13,
                types: [
                    EventType::Platform,
                    EventType::Function,
                    EventType::Extension
                ]
                .into(),
                buffering: Buffering {
                    max_items: 1000,
                    max_bytes: 262_144,
                    timeout_ms: 100
                },
                destination: Destination {
                    protocol: Protocol::Http,
                    host: "sandbox.localdomain".into(),
                    port: 8080,
                    path: "/t".into(),
                },
            })
        );
    }

    #[test]
    fn defaults_when_buffering_is_absent_or_partial() {
        let body = format!(r#"{{"schemaVersion":"2022-07-01","types":["function"],{DEST}}}"#);
        let sub = telemetry(&body).expect("valid");
        assert_eq!(
            sub.buffering,
            Buffering {
                max_items: 10_000,
                max_bytes: 262_144,
                timeout_ms: 1_000
            }
        );
        assert_eq!(sub.schema_version, SchemaVersion::Telemetry2022_07_01);
        let body = format!(
            r#"{{"schemaVersion":"2025-01-29","types":["function"],"buffering":{{"timeoutMs":25}},{DEST}}}"#
        );
        let sub = telemetry(&body).expect("valid");
        assert_eq!(
            sub.buffering,
            Buffering {
                max_items: 10_000,
                max_bytes: 262_144,
                timeout_ms: 25
            }
        );
    }

    #[test]
    fn each_buffering_bound() {
        let cases = [
            ("maxItems", 999, 1000, 10000),
            ("maxItems", 10001, 1000, 10000),
            ("maxBytes", 262143, 262144, 1048576),
            ("maxBytes", 1048577, 262144, 1048576),
            ("timeoutMs", 24, 25, 30000),
            ("timeoutMs", 30001, 25, 30000),
        ];
        for (name, value, min, max) in cases {
            let body = format!(
                r#"{{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{{"{name}":{value}}},{DEST}}}"#
            );
            assert_eq!(
                message(telemetry(&body)),
                format!("buffering.{name} should be between {min} and {max}; got {value}")
            );
        }
        for (name, value) in [
            ("maxItems", 1000),
            ("maxItems", 10000),
            ("maxBytes", 1048576),
            ("timeoutMs", 30000),
        ] {
            let body = format!(
                r#"{{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{{"{name}":{value}}},{DEST}}}"#
            );
            assert!(
                telemetry(&body).is_ok(),
                "{name}={value} is inside the bounds"
            );
        }
        let body = format!(
            r#"{{"schemaVersion":"2022-12-13","types":["platform"],"buffering":{{"maxItems":"1000","timeoutMs":-1}},{DEST}}}"#
        );
        assert_eq!(
            message(telemetry(&body)),
            "buffering.maxItems should be an integer; got \"1000\"; buffering.timeoutMs should be between 25 and 30000; got -1"
        );
    }

    #[test]
    fn several_problems_in_one_message_as_aws() {
        let body = r#"{"schemaVersion":"2022-12-13","types":[],
            "destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain"}}"#;
        let err = telemetry(body).expect_err("refused");
        assert_eq!(
            err.body(),
            r#"{"errorMessage":"URI port is not provided; types should not be empty","errorType":"ValidationError"}"#
        );
    }

    #[test]
    fn schema_version_and_types_and_destination_errors() {
        assert_eq!(
            message(telemetry(&format!(r#"{{"types":["platform"],{DEST}}}"#))),
            "schemaVersion is not provided"
        );
        assert_eq!(
            message(telemetry(&format!(r#"{{"schemaVersion":"2021-03-18","types":["platform"],{DEST}}}"#))),
            "schemaVersion '2021-03-18' is not supported; valid values: 2025-01-29, 2022-12-13, 2022-07-01"
        );
        assert_eq!(
            message(telemetry(&format!(
                r#"{{"schemaVersion":"2022-12-13","types":["platform","metrics"],{DEST}}}"#
            ))),
            "types value \"metrics\" is not supported; valid values: platform, function, extension"
        );
        assert_eq!(
            message(telemetry(
                r#"{"schemaVersion":"2022-12-13","types":["platform"]}"#
            )),
            "destination is not provided"
        );
        assert_eq!(
            message(telemetry(
                r#"{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTPS","URI":"x"}}"#
            )),
            "destination protocol \"HTTPS\" is not supported; valid values: HTTP, TCP"
        );
        assert_eq!(
            message(telemetry(
                r#"{"schemaVersion":"2022-12-13","types":["platform"],"destination":{"protocol":"HTTP"}}"#
            )),
            "URI is not provided"
        );
        assert_eq!(
            message(telemetry("not json")).split(':').next(),
            Some("request body is not valid JSON")
        );
        assert_eq!(
            message(telemetry("[]")),
            "request body should be a JSON object"
        );
    }

    #[test]
    fn logs_api_defaults_and_error_type() {
        let body = r#"{"types":["platform","function"],"destination":{"protocol":"TCP","URI":"tcp://sandbox.localdomain:4244"}}"#;
        let sub = parse_subscription(Api::Logs, body.as_bytes()).expect("valid");
        assert_eq!(sub.schema_version, SchemaVersion::Logs2020_08_15);
        assert_eq!(sub.destination.protocol, Protocol::Tcp);
        assert_eq!(sub.destination.port, 4244);
        let body = r#"{"schemaVersion":"2021-03-18","types":["platform"],"destination":{"protocol":"TCP","port":4245}}"#;
        let sub = parse_subscription(Api::Logs, body.as_bytes()).expect("valid");
        assert_eq!(sub.schema_version, SchemaVersion::Logs2021_03_18);
        assert_eq!(sub.destination.port, 4245);
        assert_eq!(sub.destination.host, "sandbox.localdomain");
        let err = parse_subscription(
            Api::Logs,
            br#"{"schemaVersion":"2022-12-13","types":["platform"]}"#,
        )
        .expect_err("refused");
        assert_eq!(
            err.body(),
            r#"{"errorMessage":"schemaVersion '2022-12-13' is not supported; valid values: 2021-03-18, 2020-08-15; destination is not provided","errorType":"Logs.ValidationError"}"#
        );
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let body = r#"{"schemaVersion":"2022-12-13","types":["platform"],"extra":1,
            "destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080","HTTPMethod":"POST","Encoding":"JSON"}}"#;
        assert!(telemetry(body).is_ok());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_are_answered_without_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            for api in [Api::Telemetry, Api::Logs] {
                if let Err(e) = parse_subscription(api, &body) {
                    prop_assert_eq!(e.status, 400);
                    prop_assert_eq!(e.error_type.as_str(), api.validation_error_type());
                }
            }
        }

        #[test]
        fn buffering_is_accepted_exactly_within_the_bounds(
            items in 0u64..20_000, bytes in 0u64..2_000_000, timeout in 0u64..40_000,
        ) {
            let body = format!(
                r#"{{"schemaVersion":"2022-12-13","types":["platform"],
                "buffering":{{"maxItems":{items},"maxBytes":{bytes},"timeoutMs":{timeout}}},
                "destination":{{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080"}}}}"#
            );
            let within = (u64::from(MAX_ITEMS_MIN)..=u64::from(MAX_ITEMS_MAX)).contains(&items)
                && (u64::from(MAX_BYTES_MIN)..=u64::from(MAX_BYTES_MAX)).contains(&bytes)
                && (u64::from(TIMEOUT_MS_MIN)..=u64::from(TIMEOUT_MS_MAX)).contains(&timeout);
            let parsed = parse_subscription(Api::Telemetry, body.as_bytes());
            prop_assert_eq!(parsed.is_ok(), within);
            if let Ok(sub) = parsed {
                prop_assert_eq!(
                    (u64::from(sub.buffering.max_items), u64::from(sub.buffering.max_bytes), u64::from(sub.buffering.timeout_ms)),
                    (items, bytes, timeout)
                );
            }
        }
    }
}
