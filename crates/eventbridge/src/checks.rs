//! The model's constraints on names, lengths and enums, refused as AWS's service framework
//! refuses them (`1 validation error detected: Value 'x' at 'name' failed to satisfy
//! constraint: …`; only the first broken constraint is reported).

use hearth_model::first_violation;

use crate::messages;
use crate::EventsError;

/// The model's pattern of rule names and target ids (`RuleName`, `TargetId`).
pub(crate) const NAME_PATTERN: &str = r"[\.\-_A-Za-z0-9]+";
/// The model's pattern of bus names (`EventBusName`).
pub(crate) const BUS_PATTERN: &str = r"[/\.\-_A-Za-z0-9]+";

fn fail(value: &str, at: &str, constraint: &str) -> EventsError {
    EventsError::validation(messages::constraint(value, at, constraint))
}

/// A length of `min..=max` characters.
pub(crate) fn length(value: &str, at: &str, min: usize, max: usize) -> Result<(), EventsError> {
    first_violation::length(value, at, min, max).map_err(EventsError::validation)
}

/// An optional value's length.
pub(crate) fn length_opt(
    value: Option<&str>,
    at: &str,
    min: usize,
    max: usize,
) -> Result<(), EventsError> {
    value.map_or(Ok(()), |v| length(v, at, min, max))
}

/// A rule name or target id: 1..=64 of `[.-_A-Za-z0-9]`.
pub(crate) fn name(value: &str, at: &str) -> Result<(), EventsError> {
    length(value, at, 1, 64)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(fail(
            value,
            at,
            &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
        ));
    }
    Ok(())
}

/// A bus name: 1..=256 of `[/.-_A-Za-z0-9]`.
pub(crate) fn bus_name(value: &str, at: &str) -> Result<(), EventsError> {
    length(value, at, 1, 256)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_'))
    {
        return Err(fail(
            value,
            at,
            &format!("Member must satisfy regular expression pattern: {BUS_PATTERN}"),
        ));
    }
    Ok(())
}

/// A value of an enum.
pub(crate) fn one_of(value: &str, at: &str, allowed: &[&str]) -> Result<(), EventsError> {
    first_violation::one_of(value, at, allowed).map_err(EventsError::validation)
}

/// An integer within `min..=max`.
pub(crate) fn range(value: i64, at: &str, min: i64, max: i64) -> Result<(), EventsError> {
    first_violation::range(value, at, min, max).map_err(EventsError::validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: EventsError) -> String {
        e.to_string()
    }

    #[test]
    fn broken_constraints_are_worded_as_the_framework_words_them() {
        assert_eq!(
            message(name("a b", "name").expect_err("space")),
            "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
        );
        assert_eq!(
            message(name(&"x".repeat(65), "name").expect_err("long")),
            format!(
                "1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: \
                 Member must have length less than or equal to 64",
                "x".repeat(65)
            )
        );
        assert_eq!(
            message(range(186, "r", 0, 185).expect_err("high")),
            "1 validation error detected: Value '186' at 'r' failed to satisfy constraint: \
             Member must have value less than or equal to 185"
        );
        assert!(bus_name("a/b.c-d_e", "name").is_ok());
        assert!(one_of("ENABLED", "state", &["ENABLED", "DISABLED"]).is_ok());
    }
}
