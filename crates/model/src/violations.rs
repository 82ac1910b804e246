//! The request validator's `ValidationException`: every violated constraint of the API
//! model, in one message, as AWS's validator lists them ("2 validation errors detected:
//! Value '…' at '…' failed to satisfy constraint: …; Value …").
//!
//! Members are checked in the order the model declares them, and a member's constraints
//! in the order length, then pattern or enum, then range: one error per violated
//! constraint, so a value both too long and off-pattern gives two.

use crate::error::{AwsError, ErrorCode};

/// The violations found so far in one request.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(Vec<String>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// `value` (quoted in the message) broke `constraint` at `field`.
    pub fn value(&mut self, value: &str, field: &str, constraint: &str) {
        self.0.push(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member is absent (`Value null`, unquoted, as AWS writes it).
    pub fn null(&mut self, field: &str) {
        self.0.push(format!(
            "Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// A string member's length bounds, counted in characters as the model counts them.
    pub fn length(&mut self, value: &str, field: &str, min: usize, max: usize) {
        let n = value.chars().count();
        if n > max {
            self.value(
                value,
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        if n < min {
            self.value(
                value,
                field,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
    }

    /// A string member that must match the model's `pattern`.
    pub fn pattern(&mut self, value: &str, field: &str, matches: bool, pattern: &str) {
        if !matches {
            self.value(
                value,
                field,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    /// A number member's bounds.
    pub fn range(&mut self, n: i64, field: &str, min: Option<i64>, max: Option<i64>) {
        if let Some(min) = min.filter(|m| n < *m) {
            self.value(
                &n.to_string(),
                field,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
        if let Some(max) = max.filter(|m| n > *m) {
            self.value(
                &n.to_string(),
                field,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages so far, each "Value … failed to satisfy constraint: …".
    pub fn messages(&self) -> &[String] {
        &self.0
    }

    /// Appends another part's violations after these.
    pub fn extend(&mut self, other: Violations) {
        self.0.extend(other.0);
    }

    /// `Ok` when nothing was violated, else the one `ValidationException` listing all.
    pub fn into_result(self) -> Result<(), AwsError> {
        match self.into_error() {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// The `ValidationException` listing every violation, if there is one.
    pub fn into_error(self) -> Option<AwsError> {
        self.into_error_as(ErrorCode::Validation)
    }

    /// The same message under another code (Lambda answers a few model constraints as
    /// `InvalidParameterValueException`, with `Type`).
    pub fn into_error_as(self, code: ErrorCode) -> Option<AwsError> {
        let n = self.0.len();
        if n == 0 {
            return None;
        }
        let noun = if n == 1 { "error" } else { "errors" };
        Some(AwsError::new(
            code,
            format!("{n} validation {noun} detected: {}", self.0.join("; ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_violation_in_order() {
        let mut v = Violations::new();
        assert!(v.clone().into_result().is_ok());
        v.length("abcd", "name", 1, 3);
        v.pattern("abcd", "name", false, "[a-c]+");
        v.null("role");
        v.range(0, "timeout", Some(1), None);
        let e = v.into_result().expect_err("four violations");
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.body, crate::error::BodyKeys::Untyped);
        assert_eq!(
            e.message,
            "4 validation errors detected: \
             Value 'abcd' at 'name' failed to satisfy constraint: Member must have length less than or equal to 3; \
             Value 'abcd' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-c]+; \
             Value null at 'role' failed to satisfy constraint: Member must not be null; \
             Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        let mut one = Violations::new();
        one.null("code");
        assert_eq!(
            one.into_error().expect("one").message,
            "1 validation error detected: Value null at 'code' failed to satisfy constraint: Member must not be null"
        );
    }
}
