//! A `ScheduleExpression` parsed: `rate(...)`, `cron(...)` or `at(...)`, and which API allows
//! which kind (EventBridge rules: rate and cron; EventBridge Scheduler: all three).

use chrono::NaiveDateTime;

use crate::cron::Cron;
use crate::error::ScheduleError;
use crate::rate::Rate;

/// Which API the expression was given to; they accept different kinds and answer different
/// messages (see [`ScheduleError::aws_message`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// EventBridge `PutRule`'s `ScheduleExpression`: rate or cron, always UTC.
    Rule,
    /// EventBridge Scheduler's `ScheduleExpression`: at, rate or cron, in
    /// `ScheduleExpressionTimezone`.
    Scheduler,
}

/// The kind of a schedule expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionKind {
    Rate,
    Cron,
    At,
}

impl ExpressionKind {
    /// Whether `dialect` accepts this kind.
    pub fn allowed_in(self, dialect: Dialect) -> bool {
        !(self == ExpressionKind::At && dialect == Dialect::Rule)
    }
}

/// A parsed, valid schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expression {
    /// `rate(value unit)`.
    Rate(Rate),
    /// `cron(fields)`.
    Cron(Box<Cron>),
    /// `at(yyyy-mm-ddThh:mm:ss)`: a wall-clock time in the schedule's zone.
    At(NaiveDateTime),
}

impl Expression {
    /// Parses and validates `text` as `dialect` accepts it. The text must be exactly
    /// `kind(...)`: no surrounding spaces, lower-case kind; inside, fields are separated by
    /// white space.
    pub fn parse(text: &str, dialect: Dialect) -> Result<Self, ScheduleError> {
        let (kind, body) = split(text)?;
        if !kind.allowed_in(dialect) {
            return Err(ScheduleError::NotAllowedForRules(text.to_string()));
        }
        match kind {
            ExpressionKind::Rate => Rate::parse(body).map(Expression::Rate),
            ExpressionKind::Cron => Cron::parse(body).map(|c| Expression::Cron(Box::new(c))),
            ExpressionKind::At => crate::at::parse(body).map(Expression::At),
        }
    }

    pub fn kind(&self) -> ExpressionKind {
        match self {
            Expression::Rate(_) => ExpressionKind::Rate,
            Expression::Cron(_) => ExpressionKind::Cron,
            Expression::At(_) => ExpressionKind::At,
        }
    }

    /// Whether the expression fires once (`at`) rather than recurring.
    pub fn is_one_time(&self) -> bool {
        self.kind() == ExpressionKind::At
    }
}

fn split(text: &str) -> Result<(ExpressionKind, &str), ScheduleError> {
    let unknown = || ScheduleError::UnknownKind(text.to_string());
    let (kind, rest) = text.split_once('(').ok_or_else(unknown)?;
    let body = rest.strip_suffix(')').ok_or_else(unknown)?;
    if body.contains([')', '(']) {
        return Err(unknown());
    }
    let kind = match kind {
        "rate" => ExpressionKind::Rate,
        "cron" => ExpressionKind::Cron,
        "at" => ExpressionKind::At,
        _ => return Err(unknown()),
    };
    Ok((kind, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_dialects() {
        let rate = Expression::parse("rate(5 minutes)", Dialect::Rule).expect("rate parses");
        assert_eq!(rate.kind(), ExpressionKind::Rate);
        let cron = Expression::parse("cron(0 10 * * ? *)", Dialect::Rule).expect("cron parses");
        assert_eq!(cron.kind(), ExpressionKind::Cron);
        let at = Expression::parse("at(2030-01-01T00:00:00)", Dialect::Scheduler)
            .expect("at parses for Scheduler");
        assert!(at.is_one_time());
        assert_eq!(
            Expression::parse("at(2030-01-01T00:00:00)", Dialect::Rule),
            Err(ScheduleError::NotAllowedForRules(
                "at(2030-01-01T00:00:00)".into()
            ))
        );
        assert!(ExpressionKind::Rate.allowed_in(Dialect::Rule));
        assert!(ExpressionKind::Cron.allowed_in(Dialect::Rule));
        assert!(!ExpressionKind::At.allowed_in(Dialect::Rule));
        assert!(ExpressionKind::At.allowed_in(Dialect::Scheduler));
    }

    #[test]
    fn malformed_wrappers_are_refused() {
        for text in [
            "",
            "rate",
            "rate 5 minutes",
            "rate(5 minutes",
            "rate(5 minutes))",
            " rate(5 minutes)",
            "rate(5 minutes) ",
            "RATE(5 minutes)",
            "every(5 minutes)",
            "cron((0 10 * * ? *)",
        ] {
            assert!(
                matches!(
                    Expression::parse(text, Dialect::Scheduler),
                    Err(ScheduleError::UnknownKind(_))
                ),
                "{text:?}"
            );
        }
    }
}
