//! Why a schedule expression, time zone, date bound or flexible time window was refused,
//! and the one place where those refusals become AWS's `ValidationException` messages.
//!
//! The variants say precisely what is wrong (for logs and tests); [`ScheduleError::aws_message`]
//! says what AWS answers, which is often much less precise. Keep every wire message here so a
//! message read from a real AWS answer can be corrected in one line.

use crate::expression::Dialect;

/// A cron field, named as AWS's cron reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronField {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl CronField {
    /// The field's name as AWS's cron reference table spells it.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Minutes => "Minutes",
            CronField::Hours => "Hours",
            CronField::DayOfMonth => "Day-of-month",
            CronField::Month => "Month",
            CronField::DayOfWeek => "Day-of-week",
            CronField::Year => "Year",
        }
    }
}

impl std::fmt::Display for CronField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused schedule parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Not `rate(...)`, `cron(...)` or `at(...)`, or not closed by `)`.
    #[error("schedule expression {0:?} is not rate(...), cron(...) or at(...)")]
    UnknownKind(String),
    /// `at(...)` given where only recurring expressions are allowed (EventBridge rules).
    #[error("schedule expression {0:?}: at(...) is only allowed for EventBridge Scheduler")]
    NotAllowedForRules(String),
    /// The rate's value is not a positive integer (or too large to be a time span).
    #[error("rate value {0:?} is not a positive integer")]
    RateValue(String),
    /// The rate's unit is unknown, or singular/plural does not agree with the value.
    #[error("rate unit {unit:?} is not valid for value {value} (use minute|hour|day for 1, minutes|hours|days above 1)")]
    RateUnit { value: u64, unit: String },
    /// A rate with other than two space-separated parts.
    #[error("rate expression {0:?} must be rate(value unit)")]
    RateShape(String),
    /// A cron with other than six fields.
    #[error("cron expression has {0} fields; six are required (Minutes Hours Day-of-month Month Day-of-week Year)")]
    CronFieldCount(usize),
    /// One cron field's text is not valid for that field.
    #[error("cron {field} field {text:?} is not valid: {reason}")]
    CronField {
        field: CronField,
        text: String,
        reason: &'static str,
    },
    /// Day-of-month and Day-of-week are both `?`, or neither is.
    #[error("exactly one of the cron Day-of-month and Day-of-week fields must be ?")]
    CronDayFields,
    /// The `at(...)` time is not `yyyy-mm-ddThh:mm:ss`.
    #[error("at expression time {0:?} is not yyyy-mm-ddThh:mm:ss")]
    At(String),
    /// `ScheduleExpressionTimezone` is not an IANA time zone name.
    #[error("time zone {0:?} is not an IANA time zone name")]
    TimeZone(String),
    /// `EndDate` is not after `StartDate`.
    #[error("EndDate must be after StartDate")]
    EndBeforeStart,
    /// `FlexibleTimeWindow.Mode` is not `OFF` or `FLEXIBLE`.
    #[error("FlexibleTimeWindow Mode {0:?} is not OFF or FLEXIBLE")]
    WindowMode(String),
    /// `FLEXIBLE` without `MaximumWindowInMinutes`, or a value outside 1..=1440.
    #[error(
        "FlexibleTimeWindow MaximumWindowInMinutes {0:?} must be 1 to 1440 when Mode is FLEXIBLE"
    )]
    WindowSize(Option<i64>),
}

impl ScheduleError {
    /// Whether the refusal is about the `ScheduleExpression` parameter itself.
    pub fn is_expression_error(&self) -> bool {
        !matches!(
            self,
            ScheduleError::TimeZone(_)
                | ScheduleError::EndBeforeStart
                | ScheduleError::WindowMode(_)
                | ScheduleError::WindowSize(_)
        )
    }

    /// The message of the `ValidationException` AWS answers for this refusal.
    ///
    /// - [`Dialect::Rule`] (EventBridge `PutRule`): every bad expression is answered
    ///   `Parameter ScheduleExpression is not valid.`; this is believed to be AWS's exact text.
    /// - [`Dialect::Scheduler`] (EventBridge Scheduler `CreateSchedule`/`UpdateSchedule`): the
    ///   texts below are NOT confirmed against AWS; they are plausible placeholders, kept here so
    ///   they can be corrected once read from a real answer.
    pub fn aws_message(&self, dialect: Dialect) -> String {
        match dialect {
            Dialect::Rule => match self {
                ScheduleError::TimeZone(_)
                | ScheduleError::EndBeforeStart
                | ScheduleError::WindowMode(_)
                | ScheduleError::WindowSize(_) => self.to_string(),
                _ => "Parameter ScheduleExpression is not valid.".to_string(),
            },
            // Unconfirmed: AWS's Scheduler wording for each case.
            Dialect::Scheduler => match self {
                ScheduleError::TimeZone(zone) => format!("Invalid timezone: {zone}."),
                ScheduleError::EndBeforeStart => {
                    "The EndDate must be after the StartDate.".to_string()
                }
                ScheduleError::WindowMode(_) | ScheduleError::WindowSize(_) => {
                    "Invalid FlexibleTimeWindow: MaximumWindowInMinutes must be between 1 and 1440 when Mode is FLEXIBLE.".to_string()
                }
                _ => "Invalid Schedule Expression.".to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_expression_errors_answer_aws_exact_text() {
        let err = ScheduleError::CronDayFields;
        assert_eq!(
            err.aws_message(Dialect::Rule),
            "Parameter ScheduleExpression is not valid."
        );
        assert!(err.is_expression_error());
        assert!(!ScheduleError::TimeZone("Mars/Base".into()).is_expression_error());
    }

    #[test]
    fn display_names_the_field() {
        let err = ScheduleError::CronField {
            field: CronField::DayOfMonth,
            text: "32".into(),
            reason: "value out of range",
        };
        assert_eq!(
            err.to_string(),
            "cron Day-of-month field \"32\" is not valid: value out of range"
        );
    }
}
