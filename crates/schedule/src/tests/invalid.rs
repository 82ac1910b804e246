//! Expressions AWS refuses, and the message a refusal answers.

use crate::{CronField, Dialect, Expression, ScheduleError};

#[test]
fn refused_expressions() {
    let cases: &[(&str, ScheduleError)] = &[
        ("cron(0 10 * * * *)", ScheduleError::CronDayFields),
        ("cron(0 10 ? * ? *)", ScheduleError::CronDayFields),
        ("cron(0 18 1 * MON *)", ScheduleError::CronDayFields),
        ("cron(0 10 * * ?)", ScheduleError::CronFieldCount(5)),
        ("cron(0 0 10 * * ? *)", ScheduleError::CronFieldCount(7)),
        ("cron()", ScheduleError::CronFieldCount(0)),
        (
            "cron(60 10 * * ? *)",
            ScheduleError::CronField {
                field: CronField::Minutes,
                text: "60".into(),
                reason: "value out of range",
            },
        ),
        (
            "cron(0 24 * * ? *)",
            ScheduleError::CronField {
                field: CronField::Hours,
                text: "24".into(),
                reason: "value out of range",
            },
        ),
        (
            "cron(0 10 32 * ? *)",
            ScheduleError::CronField {
                field: CronField::DayOfMonth,
                text: "32".into(),
                reason: "value out of range",
            },
        ),
        (
            "cron(0 10 ? 13 MON *)",
            ScheduleError::CronField {
                field: CronField::Month,
                text: "13".into(),
                reason: "value out of range",
            },
        ),
        (
            "cron(0 10 ? * 8 *)",
            ScheduleError::CronField {
                field: CronField::DayOfWeek,
                text: "8".into(),
                reason: "value out of range",
            },
        ),
        (
            "cron(0 10 * * ? 1969)",
            ScheduleError::CronField {
                field: CronField::Year,
                text: "1969".into(),
                reason: "value out of range",
            },
        ),
        (
            "cron(0 10 * * ? 2200)",
            ScheduleError::CronField {
                field: CronField::Year,
                text: "2200".into(),
                reason: "value out of range",
            },
        ),
        (
            "cron(0 10 ? * 3#1,6#3 *)",
            ScheduleError::CronField {
                field: CronField::DayOfWeek,
                text: "3#1,6#3".into(),
                reason: "# allows a single expression",
            },
        ),
        ("rate(0 minutes)", ScheduleError::RateValue("0".into())),
        (
            "rate(1 minutes)",
            ScheduleError::RateUnit {
                value: 1,
                unit: "minutes".into(),
            },
        ),
        (
            "rate(5 minute)",
            ScheduleError::RateUnit {
                value: 5,
                unit: "minute".into(),
            },
        ),
        (
            "rate(2 weeks)",
            ScheduleError::RateUnit {
                value: 2,
                unit: "weeks".into(),
            },
        ),
        (
            "rate(5minutes)",
            ScheduleError::RateShape("5minutes".into()),
        ),
        ("rate(-5 minutes)", ScheduleError::RateValue("-5".into())),
        (
            "at(2024-01-01 00:00:00)",
            ScheduleError::At("2024-01-01 00:00:00".into()),
        ),
        (
            "cron 0 10 * * ? *",
            ScheduleError::UnknownKind("cron 0 10 * * ? *".into()),
        ),
    ];
    for (text, error) in cases {
        assert_eq!(
            Expression::parse(text, Dialect::Scheduler).as_ref(),
            Err(error),
            "{text}"
        );
        assert_eq!(
            error.aws_message(Dialect::Rule),
            "Parameter ScheduleExpression is not valid.",
            "{text}"
        );
    }
}

#[test]
fn at_is_for_scheduler_only() {
    let text = "at(2030-01-01T00:00:00)";
    let err = Expression::parse(text, Dialect::Rule).expect_err("rules refuse at");
    assert_eq!(err, ScheduleError::NotAllowedForRules(text.into()));
    assert_eq!(
        err.aws_message(Dialect::Rule),
        "Parameter ScheduleExpression is not valid."
    );
    assert!(Expression::parse(text, Dialect::Scheduler).is_ok());
}

#[test]
fn accepted_variants() {
    for text in [
        "cron(*/5 * * * ? *)",
        "cron(0 12 * * ? 2024,2026-2030)",
        "cron(0 12 ? JAN-MAR SUN *)",
        "cron(0 12 L * ? *)",
        "cron(0 12 LW * ? *)",
        "cron(0 12 1W * ? *)",
        "cron(0 12 ? * L *)",
        "cron(0 12 ? * 1L *)",
        "cron(0 12 ? * MON#2 *)",
        "cron(0  12\t* * ? *)",
        "rate(1 minute)",
        "rate(1 day)",
        "rate(365 days)",
    ] {
        assert!(Expression::parse(text, Dialect::Rule).is_ok(), "{text}");
    }
}
