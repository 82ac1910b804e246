//! Asynchronous invocation settings (`FunctionEventInvokeConfig`): retry attempts,
//! maximum event age and destinations, per function, version or alias; and the limits
//! Lambda applies to queued events.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::arn::function_arn;
use crate::error::AwsError;

/// Function errors are retried this many times unless configured (0–2).
pub const DEFAULT_MAX_RETRY_ATTEMPTS: i64 = 2;
pub const MAX_RETRY_ATTEMPTS_MAX: i64 = 2;
/// An event is discarded this long after it was accepted unless configured.
pub const DEFAULT_MAX_EVENT_AGE_S: i64 = 6 * 60 * 60;
pub const MAX_EVENT_AGE_MIN_S: i64 = 60;
pub const MAX_EVENT_AGE_MAX_S: i64 = 21_600;
/// An asynchronous invoke's payload (Lambda raised it from 256 KB to 1 MB).
pub const ASYNC_REQUEST_MAX_BYTES: usize = 1024 * 1024;
/// `DestinationArn`'s length limit in the model.
pub const DESTINATION_ARN_MAX: usize = 350;
/// ListFunctionEventInvokeConfigs' `MaxItems`: its default and its maximum.
pub const LIST_MAX_ITEMS: usize = 50;

/// botocore's `DestinationArn` pattern, as AWS's request validator quotes it.
const DESTINATION_ARN_PATTERN: &str = r"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)";

static DESTINATION_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^(?:{DESTINATION_ARN_PATTERN})$"))
        .expect("botocore's DestinationArn pattern is a valid regex")
});

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Destination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// `DestinationConfig`: where records of processed events go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    #[serde(default)]
    pub on_success: Destination,
    #[serde(default)]
    pub on_failure: Destination,
}

impl DestinationConfig {
    pub fn on_success(&self) -> Option<&str> {
        self.on_success
            .destination
            .as_deref()
            .filter(|d| !d.is_empty())
    }

    pub fn on_failure(&self) -> Option<&str> {
        self.on_failure
            .destination
            .as_deref()
            .filter(|d| !d.is_empty())
    }

    /// The same destinations with an empty `Destination` (which means none) dropped.
    pub fn normalized(&self) -> Self {
        let dest = |d: Option<&str>| Destination {
            destination: d.map(str::to_string),
        };
        Self {
            on_success: dest(self.on_success()),
            on_failure: dest(self.on_failure()),
        }
    }

    /// Checks both destination ARNs against the model's length and pattern.
    fn validate(&self) -> Result<(), AwsError> {
        for (arn, field) in [
            (
                &self.on_success.destination,
                "destinationConfig.onSuccess.destination",
            ),
            (
                &self.on_failure.destination,
                "destinationConfig.onFailure.destination",
            ),
        ] {
            let Some(arn) = arn else { continue };
            if arn.len() > DESTINATION_ARN_MAX {
                return Err(AwsError::constraint(
                    arn,
                    field,
                    &format!("Member must have length less than or equal to {DESTINATION_ARN_MAX}"),
                ));
            }
            if !DESTINATION_ARN.is_match(arn) {
                return Err(AwsError::constraint(
                    arn,
                    field,
                    &format!(
                        "Member must satisfy regular expression pattern: {DESTINATION_ARN_PATTERN}"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The message of Lambda's InvalidParameterValue for destinations of a kind it does
    /// not accept.
    pub fn invalid_message(&self) -> String {
        let part = |kind: &str, d: Option<&str>| match d {
            Some(d) => format!("{kind}(destination={d})"),
            None => "null".to_string(),
        };
        format!(
            "The provided destination config DestinationConfig(onSuccess={}, onFailure={}) is invalid.",
            part("OnSuccess", self.on_success()),
            part("OnFailure", self.on_failure())
        )
    }
}

/// What a (pattern-valid, non-empty) destination ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestinationKind {
    /// A Lambda function (`arn:aws:lambda:...`).
    Function,
    /// An SQS queue (`arn:aws:sqs:...`): the record is sent as a message.
    Queue,
    /// An SNS topic (`arn:aws:sns:...`): the record is published.
    Topic,
    /// An EventBridge event bus (`arn:aws:events:...:event-bus/...`): the record is the
    /// detail of an event put on it.
    EventBus,
    /// A kind Lambda delivers to but Hearth does not yet (buckets, for failures): the
    /// service's name.
    NotYetSupported(&'static str),
    /// A kind Lambda rejects as a destination of this outcome.
    Invalid,
}

impl DestinationKind {
    /// Classifies a destination ARN by its service; S3 takes only failure records.
    pub fn of(arn: &str, on_failure: bool) -> Self {
        if !arn.starts_with("arn:") {
            return Self::Invalid;
        }
        match arn.split(':').nth(2) {
            Some("lambda") => Self::Function,
            Some("sqs") => Self::Queue,
            Some("sns") => Self::Topic,
            Some("events")
                if arn
                    .split(':')
                    .nth(5)
                    .is_some_and(|r| r.starts_with("event-bus/")) =>
            {
                Self::EventBus
            }
            Some("s3") if on_failure => Self::NotYetSupported("s3"),
            _ => Self::Invalid,
        }
    }
}

/// The message for a destination Lambda accepts but Hearth cannot deliver to yet.
pub fn destination_not_yet_supported(arn: &str, service: &str) -> String {
    format!(
        "The destination ARN {arn} names a {service} resource; Hearth delivers asynchronous invocation records only to Lambda functions, SQS queues, SNS topics and event buses so far."
    )
}

/// The operation Lambda calls, with the function's execution role, to hand something to
/// the resource `arn` names (a destination record, a dead-letter message): its IAM action
/// and the operation's name as Lambda's messages write it. `None` for a service Lambda
/// does not send to this way.
pub fn send_operation(arn: &str) -> Option<(&'static str, &'static str)> {
    match arn.split(':').nth(2)? {
        "lambda" => Some(("lambda:InvokeFunction", "InvokeFunction")),
        "sqs" => Some(("sqs:SendMessage", "SendMessage")),
        "sns" => Some(("sns:Publish", "Publish")),
        "events" => Some(("events:PutEvents", "PutEvents")),
        _ => None,
    }
}

/// Put- and UpdateFunctionEventInvokeConfig's body. Put replaces the whole
/// configuration; Update changes only the members given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EventInvokeConfigRequest {
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_event_age_in_seconds: Option<i64>,
    pub destination_config: Option<DestinationConfig>,
}

impl EventInvokeConfigRequest {
    /// Whether none of the three settings is given (Lambda requires one).
    pub fn is_empty(&self) -> bool {
        self.maximum_retry_attempts.is_none()
            && self.maximum_event_age_in_seconds.is_none()
            && self.destination_config.is_none()
    }

    /// The model's constraints (ValidationException, as AWS's request validator reports
    /// them), then Lambda's own rule that at least one setting is given.
    pub fn validate(&self) -> Result<(), AwsError> {
        if let Some(n) = self.maximum_retry_attempts {
            range(n, 0, MAX_RETRY_ATTEMPTS_MAX, "maximumRetryAttempts")?;
        }
        if let Some(n) = self.maximum_event_age_in_seconds {
            range(
                n,
                MAX_EVENT_AGE_MIN_S,
                MAX_EVENT_AGE_MAX_S,
                "maximumEventAgeInSeconds",
            )?;
        }
        if let Some(d) = &self.destination_config {
            d.validate()?;
        }
        if self.is_empty() {
            return Err(AwsError::invalid(
                "You must specify at least one of error handling or destination setting.",
            ));
        }
        Ok(())
    }
}

impl EventInvokeConfigRequest {
    /// The settings as the engine takes them, once [`Self::validate`] passes.
    pub fn validated(self) -> Result<EventInvokeSettings, AwsError> {
        self.validate()?;
        Ok(EventInvokeSettings {
            maximum_retry_attempts: self.maximum_retry_attempts,
            maximum_event_age_in_seconds: self.maximum_event_age_in_seconds,
            destination_config: self.destination_config,
        })
    }
}

/// The settings of a Put- or UpdateFunctionEventInvokeConfig, within the model's
/// constraints and with at least one given (see
/// [`EventInvokeConfigRequest::validated`]); `None` is a setting not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventInvokeSettings {
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_event_age_in_seconds: Option<i64>,
    pub destination_config: Option<DestinationConfig>,
}

fn range(n: i64, min: i64, max: i64, field: &str) -> Result<(), AwsError> {
    crate::validate::at_least(n, min, field)?;
    if n > max {
        return Err(AwsError::constraint(
            &n.to_string(),
            field,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// A stored configuration, per function and qualifier (`$LATEST` when unqualified).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventInvokeConfig {
    pub function: String,
    pub qualifier: String,
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_event_age_in_seconds: Option<i64>,
    pub destination_config: DestinationConfig,
    /// Epoch seconds (the API's `LastModified` is a timestamp number).
    pub last_modified: f64,
}

impl EventInvokeConfig {
    /// The configuration PutFunctionEventInvokeConfig stores: the settings not given
    /// are unset.
    pub fn from_settings(
        function: &str,
        qualifier: &str,
        req: &EventInvokeSettings,
        last_modified: f64,
    ) -> Self {
        Self {
            function: function.to_string(),
            qualifier: qualifier.to_string(),
            maximum_retry_attempts: req.maximum_retry_attempts,
            maximum_event_age_in_seconds: req.maximum_event_age_in_seconds,
            destination_config: req
                .destination_config
                .as_ref()
                .map(DestinationConfig::normalized)
                .unwrap_or_default(),
            last_modified,
        }
    }

    /// UpdateFunctionEventInvokeConfig: each setting given replaces the stored one
    /// (`DestinationConfig` as a whole); the others are kept.
    pub fn merge(&mut self, req: &EventInvokeSettings, last_modified: f64) {
        if let Some(n) = req.maximum_retry_attempts {
            self.maximum_retry_attempts = Some(n);
        }
        if let Some(n) = req.maximum_event_age_in_seconds {
            self.maximum_event_age_in_seconds = Some(n);
        }
        if let Some(d) = &req.destination_config {
            self.destination_config = d.normalized();
        }
        self.last_modified = last_modified;
    }

    /// The API's view, under the qualified ARN (`...:$LATEST` when unqualified).
    pub fn to_response(&self) -> FunctionEventInvokeConfig {
        FunctionEventInvokeConfig {
            last_modified: self.last_modified,
            function_arn: function_arn(&self.function, Some(&self.qualifier)),
            maximum_retry_attempts: self.maximum_retry_attempts,
            maximum_event_age_in_seconds: self.maximum_event_age_in_seconds,
            destination_config: self.destination_config.clone(),
        }
    }

    /// Retries of a function error, with Lambda's default.
    pub fn retry_attempts(&self) -> i64 {
        self.maximum_retry_attempts
            .unwrap_or(DEFAULT_MAX_RETRY_ATTEMPTS)
    }

    /// Maximum event age in seconds, with Lambda's default.
    pub fn max_event_age_s(&self) -> i64 {
        self.maximum_event_age_in_seconds
            .unwrap_or(DEFAULT_MAX_EVENT_AGE_S)
    }
}

/// The API's `FunctionEventInvokeConfig`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionEventInvokeConfig {
    pub last_modified: f64,
    pub function_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_event_age_in_seconds: Option<i64>,
    pub destination_config: DestinationConfig,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListFunctionEventInvokeConfigsResponse {
    pub function_event_invoke_configs: Vec<FunctionEventInvokeConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn settings(retries: Option<i64>, age: Option<i64>) -> EventInvokeSettings {
        req(retries, age).validated().expect("valid settings")
    }

    fn req(retries: Option<i64>, age: Option<i64>) -> EventInvokeConfigRequest {
        EventInvokeConfigRequest {
            maximum_retry_attempts: retries,
            maximum_event_age_in_seconds: age,
            destination_config: None,
        }
    }

    fn destinations(success: Option<&str>, failure: Option<&str>) -> DestinationConfig {
        DestinationConfig {
            on_success: Destination {
                destination: success.map(str::to_string),
            },
            on_failure: Destination {
                destination: failure.map(str::to_string),
            },
        }
    }

    #[test]
    fn something_must_be_set() {
        let err = req(None, None).validate().expect_err("empty");
        assert_eq!(err.code, ErrorCode::InvalidParameterValue);
        assert_eq!(
            err.message,
            "You must specify at least one of error handling or destination setting."
        );
        req(Some(0), None).validate().expect("retries only");
        req(None, Some(60)).validate().expect("age only");
        let only_destinations = EventInvokeConfigRequest {
            destination_config: Some(DestinationConfig::default()),
            ..Default::default()
        };
        only_destinations
            .validate()
            .expect("an empty DestinationConfig counts");
    }

    #[test]
    fn ranges_are_model_constraints() {
        for ok in [req(Some(0), Some(60)), req(Some(2), Some(21_600))] {
            ok.validate().expect("in range");
        }
        let err = req(Some(3), None).validate().expect_err("3 retries");
        assert_eq!(err.code, ErrorCode::Validation);
        assert_eq!(
            err.message,
            "1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"
        );
        let err = req(Some(-1), None).validate().expect_err("-1 retries");
        assert!(
            err.message.ends_with("greater than or equal to 0"),
            "{}",
            err.message
        );
        let err = req(None, Some(59)).validate().expect_err("59 s");
        assert_eq!(
            err.message,
            "1 validation error detected: Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"
        );
        let err = req(None, Some(21_601)).validate().expect_err("21601 s");
        assert_eq!(err.code, ErrorCode::Validation);
        // A range error wins over the missing-settings rule: the validator runs first.
        let err = req(Some(5), None).validate().expect_err("5");
        assert_eq!(err.code, ErrorCode::Validation);
    }

    #[test]
    fn destination_arns_follow_the_model_pattern() {
        let with = |d: DestinationConfig| EventInvokeConfigRequest {
            destination_config: Some(d),
            ..Default::default()
        };
        for ok in [
            "",
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            "arn:aws:sqs:us-east-1:000000000000:q",
            "arn:aws:events:us-east-1:000000000000:event-bus/default",
            "arn:aws:s3:::bucket",
        ] {
            with(destinations(Some(ok), Some(ok))).validate().expect(ok);
        }
        let bad = "arn:aws:_-/!lambda:us-east-1:000000000000:function:f";
        let err = with(destinations(None, Some(bad)))
            .validate()
            .expect_err("bad pattern");
        assert_eq!(err.code, ErrorCode::Validation);
        assert!(
            err.message.starts_with(&format!(
                "1 validation error detected: Value '{bad}' at 'destinationConfig.onFailure.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: $|kafka://"
            )),
            "{}",
            err.message
        );
        let err = with(destinations(Some("not-an-arn"), None))
            .validate()
            .expect_err("not an ARN");
        assert!(err
            .message
            .contains("'destinationConfig.onSuccess.destination'"));
        let long = format!("arn:aws:sqs:us-east-1:000000000000:{}", "q".repeat(350));
        let err = with(destinations(Some(&long), None))
            .validate()
            .expect_err("too long");
        assert!(err.message.ends_with("length less than or equal to 350"));
    }

    #[test]
    fn destination_kinds() {
        let arn = |service: &str| format!("arn:aws:{service}:us-east-1:000000000000:x");
        assert_eq!(
            DestinationKind::of(&arn("lambda"), false),
            DestinationKind::Function
        );
        assert_eq!(
            DestinationKind::of(&arn("sqs"), false),
            DestinationKind::Queue
        );
        assert_eq!(
            DestinationKind::of(&arn("sns"), true),
            DestinationKind::Topic
        );
        assert_eq!(
            DestinationKind::of(
                "arn:aws:events:us-east-1:000000000000:event-bus/default",
                false
            ),
            DestinationKind::EventBus
        );
        assert_eq!(
            DestinationKind::of(&arn("events"), false),
            DestinationKind::Invalid
        );
        assert_eq!(
            send_operation(&arn("sqs")),
            Some(("sqs:SendMessage", "SendMessage"))
        );
        assert_eq!(
            send_operation(&arn("events")),
            Some(("events:PutEvents", "PutEvents"))
        );
        assert_eq!(send_operation(&arn("s3")), None);
        assert_eq!(
            DestinationKind::of("arn:aws:s3:::b", true),
            DestinationKind::NotYetSupported("s3")
        );
        assert_eq!(
            DestinationKind::of("arn:aws:s3:::b", false),
            DestinationKind::Invalid
        );
        assert_eq!(
            DestinationKind::of(&arn("iam"), true),
            DestinationKind::Invalid
        );
        assert_eq!(
            DestinationKind::of("kafka://topic", true),
            DestinationKind::Invalid
        );
        assert_eq!(
            destinations(Some(&arn("iam")), None).invalid_message(),
            "The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:iam:us-east-1:000000000000:x), onFailure=null) is invalid."
        );
    }

    #[test]
    fn put_replaces_and_update_merges() {
        let put = EventInvokeConfigRequest {
            maximum_retry_attempts: Some(1),
            maximum_event_age_in_seconds: Some(120),
            destination_config: Some(destinations(
                Some(""),
                Some("arn:aws:sqs:us-east-1:000000000000:q"),
            )),
        };
        let put = put.validated().expect("valid");
        let mut c = EventInvokeConfig::from_settings("f", "$LATEST", &put, 1.0);
        // An empty destination means none.
        assert_eq!(
            c.destination_config,
            destinations(None, Some("arn:aws:sqs:us-east-1:000000000000:q"))
        );
        c.merge(&settings(Some(0), None), 2.0);
        assert_eq!(
            (
                c.maximum_retry_attempts,
                c.maximum_event_age_in_seconds,
                c.last_modified
            ),
            (Some(0), Some(120), 2.0)
        );
        assert!(c.destination_config.on_failure().is_some());
        c.merge(
            &EventInvokeSettings {
                destination_config: Some(DestinationConfig::default()),
                ..Default::default()
            },
            3.0,
        );
        assert_eq!(c.destination_config, DestinationConfig::default());
        assert_eq!(c.maximum_retry_attempts, Some(0));

        // Put starts over: what it does not give is unset, and the defaults apply.
        let c = EventInvokeConfig::from_settings("f", "live", &settings(None, Some(60)), 4.0);
        assert_eq!(
            (c.maximum_retry_attempts, c.retry_attempts()),
            (None, DEFAULT_MAX_RETRY_ATTEMPTS)
        );
        assert_eq!(c.max_event_age_s(), 60);
    }

    #[test]
    fn response_shape() {
        let c = EventInvokeConfig::from_settings(
            "f",
            "$LATEST",
            &settings(Some(1), None),
            1_700_000_000.5,
        );
        let json = serde_json::to_value(c.to_response()).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "LastModified": 1_700_000_000.5,
                "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST",
                "MaximumRetryAttempts": 1,
                "DestinationConfig": {"OnSuccess": {}, "OnFailure": {}}
            })
        );
    }
}
