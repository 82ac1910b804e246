//! The service framework's `ValidationException` when only the first broken constraint is
//! reported (EventBridge, EventBridge Scheduler): `1 validation error detected: Value 'x' at
//! 'name' failed to satisfy constraint: …`. Each check answers that whole message; the
//! services wrap it in their own error type. [`crate::violations`] lists every broken
//! constraint instead, as Lambda's request validator does.

/// The message for `value` breaking `constraint` at `at`.
pub fn message(value: &str, at: &str, constraint: &str) -> String {
    format!(
        "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: {constraint}"
    )
}

/// A length of `min..=max` characters.
pub fn length(value: &str, at: &str, min: usize, max: usize) -> Result<(), String> {
    let n = value.chars().count();
    if n > max {
        return Err(message(
            value,
            at,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if n < min {
        return Err(message(
            value,
            at,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    Ok(())
}

/// A value that must satisfy the model's `pattern`; `matches` says whether it does.
pub fn pattern(value: &str, at: &str, matches: bool, pattern: &str) -> Result<(), String> {
    if matches {
        return Ok(());
    }
    Err(message(
        value,
        at,
        &format!("Member must satisfy regular expression pattern: {pattern}"),
    ))
}

/// A value of an enum.
pub fn one_of(value: &str, at: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(message(
        value,
        at,
        &format!(
            "Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ),
    ))
}

/// An integer within `min..=max`.
pub fn range(value: i64, at: &str, min: i64, max: i64) -> Result<(), String> {
    if value > max {
        return Err(message(
            &value.to_string(),
            at,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    if value < min {
        return Err(message(
            &value.to_string(),
            at,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_broken_constraint_is_the_answer() {
        assert_eq!(
            length("abc", "name", 1, 2).expect_err("refused"),
            "1 validation error detected: Value 'abc' at 'name' failed to satisfy constraint: Member must have length less than or equal to 2"
        );
        assert_eq!(
            length("", "name", 1, 2)
                .expect_err("refused")
                .split(": ")
                .last(),
            Some("Member must have length greater than or equal to 1")
        );
        assert!(length("ab", "name", 1, 2).is_ok());
        assert_eq!(
            one_of("X", "state", &["A", "B"]).expect_err("refused"),
            "1 validation error detected: Value 'X' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [A, B]"
        );
        assert!(range(0, "n", 1, 5)
            .expect_err("refused")
            .ends_with("greater than or equal to 1"));
        assert!(range(6, "n", 1, 5)
            .expect_err("refused")
            .ends_with("less than or equal to 5"));
        assert!(pattern("a b", "name", false, "[a-z]+")
            .expect_err("refused")
            .ends_with("pattern: [a-z]+"));
    }
}
