//! A PutEvents request entry and AWS's checks of it. An entry AWS refuses is reported in the
//! response's `Entries[]` with `ErrorCode` and `ErrorMessage` while the others go through
//! ([`validate_entry`] → [`EntryError`]); only a request as a whole can be refused
//! ([`check_request`] → [`RequestError`]): no entries, more than ten, or more than 256 KB.
//!
//! Checks run in this order, the first failure answering: `Source`, `DetailType`, `Detail`
//! present and non-empty (an empty string counts as absent, as moto and LocalStack have it);
//! `DetailType` at most 128 characters; `Detail` a JSON object; `Source` not in the `aws.`
//! namespace; `Time` writable as RFC 3339. The order between the last four is not documented
//! by AWS. The model documents that a request none of whose entries has all three of
//! `Source`, `DetailType`, `Detail` fails as a whole, but AWS (as recorded by moto) answers a
//! one-entry request without `Source` with a failed entry, so that rule is not applied.

use crate::envelope::EventTime;
use crate::json::Json;
use crate::messages;
use serde::Deserialize;
use thiserror::Error;

/// One element of `Entries` as the JSON 1.1 protocol carries it. `Time` is a timestamp,
/// which the SDKs send as epoch seconds (possibly with a fraction).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsEntry {
    pub time: Option<f64>,
    pub source: Option<String>,
    pub resources: Option<Vec<String>>,
    pub detail_type: Option<String>,
    pub detail: Option<String>,
    pub event_bus_name: Option<String>,
    pub trace_header: Option<String>,
}

/// An entry that passed [`validate_entry`], with its `Detail` parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidEntry {
    pub source: String,
    pub detail_type: String,
    /// Always a JSON object, keys in the sender's order.
    pub detail: Json,
    pub resources: Vec<String>,
    /// The entry's own time, truncated to whole seconds.
    pub time: Option<EventTime>,
    pub event_bus_name: Option<String>,
    pub trace_header: Option<String>,
}

/// Why one entry was refused: the `ErrorCode` and `ErrorMessage` of its result entry.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{code}: {message}")]
pub struct EntryError {
    pub code: &'static str,
    pub message: &'static str,
}

/// Why a whole PutEvents request was refused (a `ValidationException`).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("{0}")]
    Validation(String),
}

/// The most `Entries` a request may hold (model: `PutEventsRequestEntryList` max 10).
pub const MAX_ENTRIES: usize = 10;
/// The most the entries of one request may add up to, by [`entry_size`]: 256 KB. AWS says
/// "256 KB"; whether a request of exactly 262,144 bytes passes is UNSURE (it does here).
pub const MAX_REQUEST_SIZE: usize = 256 * 1024;
/// The longest `DetailType` (model documentation: "a maximum of 128 characters").
pub const MAX_DETAIL_TYPE_CHARS: usize = 128;
/// What an entry's `Time` counts for in [`entry_size`], whatever its value.
pub const TIME_SIZE: usize = 14;

/// Checks one entry as AWS does, in the order the module documentation gives.
pub fn validate_entry(entry: &PutEventsEntry) -> Result<ValidEntry, EntryError> {
    let invalid = |message| EntryError {
        code: messages::INVALID_ARGUMENT,
        message,
    };
    let source = non_empty(&entry.source).ok_or(invalid(messages::SOURCE_REQUIRED))?;
    let detail_type =
        non_empty(&entry.detail_type).ok_or(invalid(messages::DETAIL_TYPE_REQUIRED))?;
    let detail_text = non_empty(&entry.detail).ok_or(invalid(messages::DETAIL_REQUIRED))?;
    if detail_type.chars().count() > MAX_DETAIL_TYPE_CHARS {
        return Err(invalid(messages::DETAIL_TYPE_TOO_LONG));
    }
    let detail = match Json::parse(detail_text) {
        Ok(detail @ Json::Object(_)) => detail,
        _ => {
            return Err(EntryError {
                code: messages::MALFORMED_DETAIL,
                message: messages::DETAIL_MALFORMED,
            })
        }
    };
    // Only AWS services publish in the `aws.` namespace; callers are refused.
    if source.starts_with("aws.") {
        return Err(EntryError {
            code: messages::NOT_AUTHORIZED_FOR_SOURCE,
            message: messages::SOURCE_NOT_AUTHORIZED,
        });
    }
    let time = match entry.time {
        None => None,
        // `as` saturates, and a saturated value is out of range below.
        Some(seconds) => Some(
            EventTime::from_epoch_seconds(seconds.floor() as i64)
                .ok_or(invalid(messages::TIME_OUT_OF_RANGE))?,
        ),
    };
    Ok(ValidEntry {
        source: source.to_owned(),
        detail_type: detail_type.to_owned(),
        detail,
        resources: entry.resources.clone().unwrap_or_default(),
        time,
        event_bus_name: entry.event_bus_name.clone(),
        trace_header: entry.trace_header.clone(),
    })
}

fn non_empty(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|s| !s.is_empty())
}

/// An entry's size as AWS documents it ("Calculating PutEvents event entry size"): 14 bytes
/// for `Time` if present, plus the UTF-8 lengths of `Source`, `DetailType`, `Detail` and each
/// of `Resources`. `EventBusName` and `TraceHeader` do not count.
pub fn entry_size(entry: &PutEventsEntry) -> usize {
    let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let time = if entry.time.is_some() { TIME_SIZE } else { 0 };
    let resources: usize = entry.resources.iter().flatten().map(String::len).sum();
    time + len(&entry.source) + len(&entry.detail_type) + len(&entry.detail) + resources
}

/// The checks on the request as a whole, made before any entry is looked at.
pub fn check_request(entries: &[PutEventsEntry]) -> Result<(), RequestError> {
    // UNSURE: AWS shows the entries inside `Value '…'`; moto and LocalStack write the
    // placeholder used here.
    let count = |constraint| {
        RequestError::Validation(messages::constraint(
            "[PutEventsRequestEntry]",
            "entries",
            constraint,
        ))
    };
    if entries.is_empty() {
        return Err(count("Member must have length greater than or equal to 1"));
    }
    if entries.len() > MAX_ENTRIES {
        return Err(count("Member must have length less than or equal to 10"));
    }
    let total: usize = entries.iter().map(entry_size).sum();
    if total > MAX_REQUEST_SIZE {
        return Err(RequestError::Validation(
            messages::REQUEST_TOO_LARGE.to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> PutEventsEntry {
        serde_json::from_str(json).expect("entry JSON")
    }

    const SOURCE_REQ: (&str, &str) = (
        "InvalidArgument",
        "Parameter Source is not valid. Reason: Source is a required argument.",
    );
    const TYPE_REQ: (&str, &str) = (
        "InvalidArgument",
        "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
    );
    const DETAIL_REQ: (&str, &str) = (
        "InvalidArgument",
        "Parameter Detail is not valid. Reason: Detail is a required argument.",
    );
    const MALFORMED: (&str, &str) = ("MalformedDetail", "Detail is malformed.");
    const AWS_SOURCE: (&str, &str) = (
        "NotAuthorizedForSourceException",
        "Not authorized for the source.",
    );

    #[test]
    fn refused_entries() {
        let long_type = format!(
            r#"{{"Source":"s","DetailType":"{}","Detail":"{{}}"}}"#,
            "t".repeat(129)
        );
        let cases: Vec<(&str, (&str, &str))> = vec![
            ("{}", SOURCE_REQ),
            (r#"{"DetailType":"t","Detail":"{}"}"#, SOURCE_REQ),
            (
                r#"{"Source":"","DetailType":"t","Detail":"{}"}"#,
                SOURCE_REQ,
            ),
            (r#"{"Source":"s"}"#, TYPE_REQ),
            (r#"{"Source":"s","DetailType":"","Detail":"{}"}"#, TYPE_REQ),
            (r#"{"Source":"s","DetailType":"t"}"#, DETAIL_REQ),
            (r#"{"Source":"s","DetailType":"t","Detail":""}"#, DETAIL_REQ),
            (r#"{"Source":"s","DetailType":"t","Detail":" "}"#, MALFORMED),
            (
                r#"{"Source":"s","DetailType":"t","Detail":"not json"}"#,
                MALFORMED,
            ),
            (
                r#"{"Source":"s","DetailType":"t","Detail":"{\"a\":"}"#,
                MALFORMED,
            ),
            (
                r#"{"Source":"s","DetailType":"t","Detail":"[1]"}"#,
                MALFORMED,
            ),
            (
                r#"{"Source":"s","DetailType":"t","Detail":"\"x\""}"#,
                MALFORMED,
            ),
            (r#"{"Source":"s","DetailType":"t","Detail":"1"}"#, MALFORMED),
            (
                r#"{"Source":"s","DetailType":"t","Detail":"null"}"#,
                MALFORMED,
            ),
            (
                r#"{"Source":"s","DetailType":"t","Detail":"{} {}"}"#,
                MALFORMED,
            ),
            (
                r#"{"Source":"aws.ec2","DetailType":"t","Detail":"{}"}"#,
                AWS_SOURCE,
            ),
            (
                r#"{"Source":"aws.","DetailType":"t","Detail":"{}"}"#,
                AWS_SOURCE,
            ),
            // The detail is checked before the source's namespace.
            (
                r#"{"Source":"aws.ec2","DetailType":"t","Detail":"x"}"#,
                MALFORMED,
            ),
            (
                r#"{"Source":"s","DetailType":"t","Detail":"{}","Time":-62167219201}"#,
                (
                    "InvalidArgument",
                    "Parameter Time is not valid. Reason: Time is out of range.",
                ),
            ),
            (
                r#"{"Source":"s","DetailType":"t","Detail":"{}","Time":1e300}"#,
                (
                    "InvalidArgument",
                    "Parameter Time is not valid. Reason: Time is out of range.",
                ),
            ),
            (
                &long_type,
                (
                    "InvalidArgument",
                    "Parameter DetailType is not valid. Reason: DetailType exceeds 128 characters.",
                ),
            ),
        ];
        for (json, (code, message)) in cases {
            let err = validate_entry(&parse(json)).expect_err(json);
            assert_eq!(err, EntryError { code, message }, "for {json}");
        }
    }

    #[test]
    fn accepted_entries() {
        let e = parse(
            r#"{"Source":"awsome.app","DetailType":"t","Detail":"{\"b\":1,\"a\":2}",
                "Resources":["r1"],"Time":1447277394.75,"EventBusName":"bus","TraceHeader":"h"}"#,
        );
        let valid = validate_entry(&e).expect("valid");
        assert_eq!(
            valid,
            ValidEntry {
                source: "awsome.app".into(),
                detail_type: "t".into(),
                detail: Json::parse(r#"{"b":1,"a":2}"#).expect("json"),
                resources: vec!["r1".into()],
                time: EventTime::from_epoch_seconds(1_447_277_394),
                event_bus_name: Some("bus".into()),
                trace_header: Some("h".into()),
            }
        );
        let minimal = validate_entry(&parse(
            r#"{"Source":"Aws.x","DetailType":"t","Detail":"{}"}"#,
        ))
        .expect("valid");
        assert_eq!(minimal.resources, Vec::<String>::new());
        assert_eq!(minimal.time, None);
        let before_epoch = validate_entry(&parse(
            r#"{"Source":"s","DetailType":"t","Detail":"{}","Time":-0.5}"#,
        ))
        .expect("valid");
        assert_eq!(before_epoch.time.map(EventTime::epoch_seconds), Some(-1));
        let long_ok = format!(
            r#"{{"Source":"s","DetailType":"{}","Detail":"{{}}"}}"#,
            "é".repeat(128)
        );
        assert!(validate_entry(&parse(&long_ok)).is_ok());
    }

    #[test]
    fn sizes_as_aws_documents() {
        let cases = [
            ("{}", 0),
            (r#"{"Source":"abc"}"#, 3),
            (r#"{"Source":"abc","DetailType":"de","Detail":"{}"}"#, 7),
            (
                r#"{"Source":"abc","DetailType":"de","Detail":"{}","Time":0}"#,
                21,
            ),
            (r#"{"Source":"é","DetailType":"€","Detail":"{}"}"#, 7),
            (
                r#"{"Resources":["ab","cde",""],"EventBusName":"ignored","TraceHeader":"ignored"}"#,
                5,
            ),
        ];
        for (json, want) in cases {
            assert_eq!(entry_size(&parse(json)), want, "for {json}");
        }
    }

    fn sized(bytes: usize) -> PutEventsEntry {
        PutEventsEntry {
            source: Some("s".into()),
            detail_type: Some("t".into()),
            detail: Some(format!("{{\"a\":\"{}\"}}", "x".repeat(bytes - 10))),
            ..Default::default()
        }
    }

    #[test]
    fn request_checks() {
        assert_eq!(entry_size(&sized(100)), 100);
        let too_large = Err(RequestError::Validation(
            "Total size of the entries in the request is over the limit.".into(),
        ));
        assert_eq!(check_request(&[sized(MAX_REQUEST_SIZE)]), Ok(()));
        assert_eq!(check_request(&[sized(MAX_REQUEST_SIZE + 1)]), too_large);
        assert_eq!(
            check_request(&[sized(MAX_REQUEST_SIZE / 2), sized(MAX_REQUEST_SIZE / 2)]),
            Ok(())
        );
        assert_eq!(
            check_request(&[sized(MAX_REQUEST_SIZE / 2), sized(MAX_REQUEST_SIZE / 2 + 1)]),
            too_large
        );
        assert_eq!(
            check_request(&[]),
            Err(RequestError::Validation(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length greater than or equal to 1".into()
            ))
        );
        assert_eq!(check_request(&vec![PutEventsEntry::default(); 10]), Ok(()));
        assert_eq!(
            check_request(&vec![PutEventsEntry::default(); 11]),
            Err(RequestError::Validation(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10".into()
            ))
        );
    }
}
