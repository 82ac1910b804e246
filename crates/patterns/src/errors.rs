//! The refusal of a pattern, worded as the dialect's service words it.

use crate::Dialect;

/// Why a pattern was refused. `Display` is the message the dialect's service answers with:
///
/// - EventBridge (`InvalidEventPatternException`): `Event pattern is not valid. Reason: …`,
///   the reason worded as EventBridge's engine (Event Ruler) words it. AWS appends a
///   Jackson parser location (`at [Source: …; line: 1, column: 20]`) that Hearth does not
///   reproduce.
/// - SNS (`InvalidParameter`): `Invalid parameter: FilterPolicy: …` as
///   `SetSubscriptionAttributes` answers; `Subscribe` answers with
///   [`PatternError::sns_subscribe_message`].
/// - Lambda (`InvalidParameterValueException`): `Invalid filter pattern definition.`, the
///   one message Lambda gives for any bad pattern; [`PatternError::reason`] keeps the detail
///   for logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct PatternError {
    dialect: Dialect,
    reason: String,
    /// SNS words a few refusals about the policy as a whole without the `FilterPolicy:`
    /// label (the attribute scope's refusal of nesting).
    unlabelled: bool,
}

impl PatternError {
    pub(crate) fn new(dialect: Dialect, reason: impl Into<String>) -> Self {
        PatternError {
            dialect,
            reason: reason.into(),
            unlabelled: false,
        }
    }

    pub(crate) fn unlabelled(dialect: Dialect, reason: impl Into<String>) -> Self {
        PatternError {
            dialect,
            reason: reason.into(),
            unlabelled: true,
        }
    }

    /// The detail alone (`Unrecognized match type foo`), without the service's framing.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The dialect whose rules refused the pattern.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The AWS error code the service answers with.
    pub fn error_code(&self) -> &'static str {
        match self.dialect {
            Dialect::EventBridge => "InvalidEventPatternException",
            Dialect::SnsMessageAttributes | Dialect::SnsMessageBody => "InvalidParameter",
            Dialect::LambdaFilter => "InvalidParameterValueException",
        }
    }

    /// The message of the dialect's service (the `Display` text).
    pub fn message(&self) -> String {
        match self.dialect {
            Dialect::EventBridge => format!("Event pattern is not valid. Reason: {}", self.reason),
            Dialect::SnsMessageAttributes | Dialect::SnsMessageBody => {
                format!("Invalid parameter: {}", self.sns_detail())
            }
            Dialect::LambdaFilter => "Invalid filter pattern definition.".to_string(),
        }
    }

    /// SNS's `Subscribe` frames the same refusal differently from
    /// `SetSubscriptionAttributes`: `Invalid parameter: Attributes Reason: FilterPolicy: …`.
    pub fn sns_subscribe_message(&self) -> String {
        format!(
            "Invalid parameter: Attributes Reason: {}",
            self.sns_detail()
        )
    }

    fn sns_detail(&self) -> String {
        if self.unlabelled {
            self.reason.clone()
        } else {
            format!("FilterPolicy: {}", self.reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dialect_frames_the_reason_its_way() {
        let r = "Unrecognized match type foo";
        assert_eq!(
            PatternError::new(Dialect::EventBridge, r).to_string(),
            "Event pattern is not valid. Reason: Unrecognized match type foo"
        );
        let sns = PatternError::new(Dialect::SnsMessageBody, r);
        assert_eq!(
            sns.to_string(),
            "Invalid parameter: FilterPolicy: Unrecognized match type foo"
        );
        assert_eq!(
            sns.sns_subscribe_message(),
            "Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized match type foo"
        );
        let lambda = PatternError::new(Dialect::LambdaFilter, r);
        assert_eq!(lambda.to_string(), "Invalid filter pattern definition.");
        assert_eq!(lambda.reason(), r);
        assert_eq!(lambda.error_code(), "InvalidParameterValueException");
    }

    #[test]
    fn unlabelled_sns_refusals_have_no_filter_policy_label() {
        let e = PatternError::unlabelled(
            Dialect::SnsMessageAttributes,
            "Filter policy scope MessageAttributes does not support nested filter policy",
        );
        assert_eq!(
            e.to_string(),
            "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
        );
    }
}
