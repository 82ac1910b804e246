//! The model's constraints (lengths, patterns, enums, ranges), refused as AWS's service
//! framework refuses them: `1 validation error detected: Value 'x' at 'name' failed to
//! satisfy constraint: …`, only the first broken constraint reported. The form is the one
//! every AWS service framework answers; the member paths (`target.retryPolicy.…`, in
//! camelCase) are UNSURE for Scheduler's REST-JSON framework.

use hearth_model::first_violation;

use crate::SchedulerError;

/// The model's `Name`, `ScheduleGroupName` and their prefixes' pattern.
pub(crate) const NAME_PATTERN: &str = "^[0-9a-zA-Z-_.]+$";
/// The model's `ClientToken` pattern.
pub(crate) const TOKEN_PATTERN: &str = "^[a-zA-Z0-9-_]+$";
/// The model's `RoleArn` pattern.
pub(crate) const ROLE_PATTERN: &str = r"^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$";
/// The model's `DeadLetterConfigArnString` pattern.
pub(crate) const DLQ_PATTERN: &str = r"^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$";
/// The model's `KmsKeyArn` pattern.
pub(crate) const KMS_PATTERN: &str =
    r"^arn:aws(-[a-z]+)?:kms:[a-z0-9\-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$";
/// The model's `TagResourceArn` pattern.
pub(crate) const GROUP_ARN_PATTERN: &str =
    r"^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/[0-9a-zA-Z-_.]+$";
/// The model's `Source` pattern (EventBridgeParameters).
pub(crate) const SOURCE_PATTERN: &str =
    r"^(?=[/\.\-_A-Za-z0-9]+)((?!aws\.).*)|(\$(\.[\w_-]+(\[(\d+|\*)\])*)*)$";

/// A length of `min..=max` characters.
pub(crate) fn length(value: &str, at: &str, min: usize, max: usize) -> Result<(), SchedulerError> {
    first_violation::length(value, at, min, max).map_err(SchedulerError::validation)
}

/// An optional value's length.
pub(crate) fn length_opt(
    value: Option<&str>,
    at: &str,
    min: usize,
    max: usize,
) -> Result<(), SchedulerError> {
    value.map_or(Ok(()), |v| length(v, at, min, max))
}

/// A value that must satisfy `pattern`, which `ok` decides.
pub(crate) fn pattern(
    value: &str,
    at: &str,
    pattern: &str,
    ok: impl Fn(&str) -> bool,
) -> Result<(), SchedulerError> {
    first_violation::pattern(value, at, ok(value), pattern).map_err(SchedulerError::validation)
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// A schedule or group name (or a prefix of one): 1..=64 of `[0-9a-zA-Z-_.]`.
pub(crate) fn name(value: &str, at: &str) -> Result<(), SchedulerError> {
    length(value, at, 1, 64)?;
    pattern(value, at, NAME_PATTERN, |v| v.chars().all(name_char))
}

/// A `ClientToken`: 1..=64 of `[a-zA-Z0-9-_]`.
pub(crate) fn client_token(value: &str, at: &str) -> Result<(), SchedulerError> {
    length(value, at, 1, 64)?;
    pattern(value, at, TOKEN_PATTERN, |v| {
        v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    })
}

/// `arn:aws[-x]:<service>:` and what follows it, if `value` starts so.
fn after_service<'a>(value: &'a str, service: &str) -> Option<&'a str> {
    let rest = value.strip_prefix("arn:aws")?;
    let rest = match rest.strip_prefix('-') {
        Some(r) => {
            let n = r.find(|c: char| !c.is_ascii_lowercase())?;
            if n == 0 {
                return None;
            }
            &r[n..]
        }
        None => rest,
    };
    rest.strip_prefix(':')?
        .strip_prefix(service)?
        .strip_prefix(':')
}

fn twelve_digits(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn region_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `value` matches [`ROLE_PATTERN`].
pub(crate) fn is_role_arn(value: &str) -> bool {
    let Some(rest) = after_service(value, "iam") else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(':') else {
        return false;
    };
    let Some((account, resource)) = rest.split_once(':') else {
        return false;
    };
    let Some(role) = resource.strip_prefix("role/") else {
        return false;
    };
    twelve_digits(account)
        && !role.is_empty()
        && role
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@/-".contains(c))
}

/// Whether `value` matches [`DLQ_PATTERN`].
pub(crate) fn is_queue_arn(value: &str) -> bool {
    let Some(rest) = after_service(value, "sqs") else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(region), Some(account), Some(name)) => {
            region_ok(region)
                && twelve_digits(account)
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        }
        _ => false,
    }
}

/// Whether `value` matches [`KMS_PATTERN`].
pub(crate) fn is_kms_arn(value: &str) -> bool {
    let Some(rest) = after_service(value, "kms") else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(region), Some(account), Some(resource)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let id = resource
        .strip_prefix("key/")
        .or_else(|| resource.strip_prefix("alias/"));
    region_ok(region)
        && twelve_digits(account)
        && id.is_some_and(|id| {
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        })
}

/// Whether `value` matches [`GROUP_ARN_PATTERN`].
pub(crate) fn is_group_arn(value: &str) -> bool {
    let Some(rest) = after_service(value, "scheduler") else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(region), Some(account), Some(resource)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    region_ok(region)
        && twelve_digits(account)
        && resource
            .strip_prefix("schedule-group/")
            .is_some_and(|n| !n.is_empty() && n.chars().all(name_char))
}

/// Whether `value` matches [`SOURCE_PATTERN`]: a source that does not start with `aws.`
/// (and starts with one of `[/.-_A-Za-z0-9]`), or a `$.path`.
pub(crate) fn is_source(value: &str) -> bool {
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_'));
    (first_ok && !value.starts_with("aws.")) || value.starts_with('$')
}

/// A value of an enum.
pub(crate) fn one_of(value: &str, at: &str, allowed: &[&str]) -> Result<(), SchedulerError> {
    first_violation::one_of(value, at, allowed).map_err(SchedulerError::validation)
}

/// An integer within `min..=max`.
pub(crate) fn range(value: i64, at: &str, min: i64, max: i64) -> Result<(), SchedulerError> {
    first_violation::range(value, at, min, max).map_err(SchedulerError::validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_constraints_are_worded_as_the_framework_words_them() {
        assert_eq!(
            name("a b", "name").expect_err("space").to_string(),
            "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$"
        );
        assert_eq!(
            name(&"x".repeat(65), "name").expect_err("long").to_string(),
            format!(
                "1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: \
                 Member must have length less than or equal to 64",
                "x".repeat(65)
            )
        );
        assert_eq!(
            range(0, "flexibleTimeWindow.maximumWindowInMinutes", 1, 1440)
                .expect_err("low")
                .to_string(),
            "1 validation error detected: Value '0' at 'flexibleTimeWindow.maximumWindowInMinutes' \
             failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        assert_eq!(
            one_of("ON", "state", &["ENABLED", "DISABLED"])
                .expect_err("enum")
                .to_string(),
            "1 validation error detected: Value 'ON' at 'state' failed to satisfy constraint: \
             Member must satisfy enum value set: [ENABLED, DISABLED]"
        );
        assert!(name("a.b-c_D9", "name").is_ok());
        assert!(client_token("abc-1_2", "clientToken").is_ok());
        assert!(client_token("a.b", "clientToken").is_err());
    }

    #[test]
    fn arn_patterns_are_the_models() {
        assert!(is_role_arn(
            "arn:aws:iam::123456789012:role/service-role/x+y=z,a.b@c-d_e"
        ));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/r"));
        assert!(!is_role_arn("arn:aws:iam::12345678901:role/r"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/r"));
        assert!(!is_role_arn("arn:aws:iam:us-east-1:123456789012:role/r"));
        assert!(is_queue_arn("arn:aws:sqs:us-east-1:123456789012:dlq_1-a"));
        assert!(!is_queue_arn("arn:aws:sqs:us-east-1:123456789012:q.fifo"));
        assert!(!is_queue_arn("arn:aws:sns:us-east-1:123456789012:t"));
        assert!(is_kms_arn("arn:aws:kms:us-east-1:123456789012:key/abc-123"));
        assert!(!is_kms_arn("arn:aws:kms:us-east-1:123456789012:keys/abc"));
        assert!(is_group_arn(
            "arn:aws:scheduler:us-east-1:123456789012:schedule-group/g.1"
        ));
        assert!(!is_group_arn(
            "arn:aws:scheduler:us-east-1:123456789012:schedule/default/s"
        ));
        assert!(is_source("my.app"));
        assert!(!is_source("aws.events"));
        assert!(is_source("$.detail"));
    }
}

/// The hand-written matchers against the model's own regular expressions (ASCII `\w`, as
/// Java's), on strings made of the characters ARNs are made of and a few others.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn model(pattern: &str) -> regex::Regex {
        regex::RegexBuilder::new(pattern)
            .unicode(false)
            .build()
            .expect("the model's pattern compiles")
    }

    /// Strings near the shape of an ARN of `service`, and anything else now and then.
    fn near_arn(service: &'static str) -> impl Strategy<Value = String> {
        prop_oneof![
            (
                "(aws|aws-cn|aws-|AWS)",
                "(us-east-1|eu-west-2|)",
                "[0-9]{11,13}",
                "(role/|key/|alias/|schedule-group/|schedule/|user/|)[a-zA-Z0-9_.+=,@/-]{0,12}[ é:]?",
            )
                .prop_map(move |(p, r, a, rest)| format!("arn:{p}:{service}:{r}:{a}:{rest}")),
            (
                "(aws|aws-cn)",
                "[0-9]{12}",
                "[a-zA-Z0-9_.+=,@/-]{1,12}"
            )
                .prop_map(move |(p, a, name)| format!("arn:{p}:{service}::{a}:role/{name}")),
            "\\PC{0,40}",
        ]
    }

    proptest! {
        #[test]
        fn role_arns(s in near_arn("iam")) {
            prop_assert_eq!(is_role_arn(&s), model(ROLE_PATTERN).is_match(&s), "{}", s);
        }

        #[test]
        fn queue_arns(s in near_arn("sqs")) {
            prop_assert_eq!(is_queue_arn(&s), model(DLQ_PATTERN).is_match(&s), "{}", s);
        }

        #[test]
        fn kms_arns(s in near_arn("kms")) {
            prop_assert_eq!(is_kms_arn(&s), model(KMS_PATTERN).is_match(&s), "{}", s);
        }

        #[test]
        fn group_arns(s in near_arn("scheduler")) {
            prop_assert_eq!(is_group_arn(&s), model(GROUP_ARN_PATTERN).is_match(&s), "{}", s);
        }

        #[test]
        fn names(s in "[a-zA-Z0-9_. é-]{0,70}") {
            let matches = model(NAME_PATTERN).is_match(&s) && s.chars().count() <= 64;
            prop_assert_eq!(name(&s, "name").is_ok(), matches, "{}", s);
        }
    }
}
