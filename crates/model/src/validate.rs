//! Validation of function settings, with Lambda's error codes and wording.
//!
//! Two phases, as on AWS. The `check_*` functions add violations of the botocore
//! model's own constraints (patterns, `min`/`max`, list lengths) to a [`Violations`],
//! which becomes one `ValidationException` listing them all, as AWS's request validator
//! reports them. The others are Lambda's rules beyond the model (memory above 10240,
//! timeout above 900, reserved variables, runtimes), `InvalidParameterValueException`,
//! checked only once the request passed the first phase.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::error::AwsError;
use crate::limits::*;
use crate::violations::Violations;

/// Environment variable names Lambda sets itself and does not let users override.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];
const RESERVED_ENV_PREFIXES: &[&str] = &["AWS_LAMBDA_", "LAMBDA_"];
/// Names under those prefixes that AWS documents as the function's to set: the wrapper
/// script of an internal extension.
const UNRESERVED_ENV: &[&str] = &["AWS_LAMBDA_EXEC_WRAPPER"];

/// The runtimes Lambda lets a function be created or updated with, in the order AWS
/// lists them when it refuses another (recorded on AWS), plus `ruby4.0`, which the model
/// gained after that recording.
pub const SUPPORTED_RUNTIMES: &[&str] = &[
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java25",
    "python3.10",
    "python3.11",
    "java21",
    "ruby3.3",
    "ruby3.4",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "java17",
    "nodejs16.x",
    "dotnet10",
    "dotnet8",
    "java11",
    "dotnet6",
    "nodejs18.x",
    "provided.al2",
    "java8.al2",
    "ruby4.0",
];

/// Runtimes of the model that Lambda no longer accepts for new or updated functions
/// (`provided` among them: its successors are `provided.al2` and `provided.al2023`).
pub const DEPRECATED_RUNTIMES: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "java8",
    "python2.7",
    "python3.6",
    "python3.7",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
];

pub fn function_name(name: &str) -> Result<(), AwsError> {
    if crate::arn::valid_name(name) {
        Ok(())
    } else {
        Err(AwsError::constraint(
            name,
            "functionName",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length less than or equal to 64",
        ))
    }
}

/// A number member's lower bound, in the request validator's wording.
pub fn at_least(n: i64, min: i64, field: &str) -> Result<(), AwsError> {
    if n < min {
        return Err(AwsError::constraint(
            &n.to_string(),
            field,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    Ok(())
}

pub fn memory_size(mb: i64) -> Result<(), AwsError> {
    at_least(mb, MEMORY_MIN_MB, "memorySize")?;
    if mb > MEMORY_MAX_MB {
        return Err(AwsError::invalid(format!(
            "'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to {MEMORY_MAX_MB}"
        )));
    }
    Ok(())
}

pub fn timeout(seconds: i64) -> Result<(), AwsError> {
    at_least(seconds, TIMEOUT_MIN_S, "timeout")?;
    if seconds > TIMEOUT_MAX_S {
        return Err(AwsError::invalid(format!(
            "'Timeout' value failed to satisfy constraint: Member must have value less than or equal to {TIMEOUT_MAX_S}"
        )));
    }
    Ok(())
}

pub fn ephemeral_storage(mb: i64) -> Result<(), AwsError> {
    if (EPHEMERAL_MIN_MB..=EPHEMERAL_MAX_MB).contains(&mb) {
        return Ok(());
    }
    let constraint = if mb < EPHEMERAL_MIN_MB {
        "Member must have value greater than or equal to 512"
    } else {
        "Member must have value less than or equal to 10240"
    };
    Err(AwsError::constraint(
        &mb.to_string(),
        "ephemeralStorage.size",
        constraint,
    ))
}

pub fn description(text: &str) -> Result<(), AwsError> {
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(AwsError::constraint(
            text,
            "description",
            "Member must have length less than or equal to 256",
        ));
    }
    Ok(())
}

pub fn handler(handler: &str) -> Result<(), AwsError> {
    if handler.is_empty() || handler.len() > HANDLER_MAX || handler.chars().any(char::is_whitespace)
    {
        return Err(AwsError::constraint(
            handler,
            "handler",
            "Member must satisfy regular expression pattern: [^\\s]+",
        ));
    }
    Ok(())
}

pub const ROLE_PATTERN: &str = "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+";

/// Whether `role` matches the model's `RoleArn` pattern.
pub fn role_matches(role: &str) -> bool {
    role.strip_prefix("arn:")
        .and_then(|r| r.split_once(":iam::"))
        .and_then(|(partition, rest)| {
            (partition.starts_with("aws") || partition.is_empty()).then_some(rest)
        })
        .and_then(|rest| rest.split_once(":role"))
        .is_some_and(|(account, path)| {
            account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && path.len() > 1
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_/".contains(&b))
        })
}

pub fn role(role: &str) -> Result<(), AwsError> {
    let mut v = Violations::new();
    check_role(role, &mut v);
    v.into_result()
}

/// `Role`: the model's `RoleArn` (at most 10000 characters, the pattern).
pub fn check_role(role: &str, v: &mut Violations) {
    v.length(role, "role", 0, 10000);
    v.pattern(role, "role", role_matches(role), ROLE_PATTERN);
}

/// `Handler`: at most 128 characters of `[^\s]+`.
pub fn check_handler(handler: &str, v: &mut Violations) {
    v.length(handler, "handler", 0, HANDLER_MAX);
    let ok = !handler.is_empty() && !handler.chars().any(char::is_whitespace);
    v.pattern(handler, "handler", ok, "[^\\s]+");
}

/// `Description`: at most 256 characters.
pub fn check_description(text: &str, v: &mut Violations) {
    v.length(text, "description", 0, DESCRIPTION_MAX);
}

/// `Timeout` and `MemorySize` as the model bounds them (Lambda's own lower maximums are
/// [`timeout`] and [`memory_size`]).
pub fn check_timeout(seconds: i64, v: &mut Violations) {
    v.range(seconds, "timeout", Some(TIMEOUT_MIN_S), Some(5400));
}

pub fn check_memory_size(mb: i64, v: &mut Violations) {
    v.range(mb, "memorySize", Some(MEMORY_MIN_MB), Some(32768));
}

pub fn check_ephemeral_storage(mb: i64, v: &mut Violations) {
    v.range(
        mb,
        "ephemeralStorage.size",
        Some(EPHEMERAL_MIN_MB),
        Some(32768),
    );
}

/// `Architectures`: one of `[x86_64, arm64]`, as AWS words each violation.
pub fn check_architectures(arches: &[String], v: &mut Violations) {
    let shown = format!("[{}]", arches.join(", "));
    if arches.len() > 1 {
        v.value(
            &shown,
            "architectures",
            "Member must have length less than or equal to 1",
        );
    }
    if arches.is_empty() {
        v.value(
            &shown,
            "architectures",
            "Member must have length greater than or equal to 1",
        );
    }
    if arches.iter().any(|a| a != "x86_64" && a != "arm64") {
        v.value(
            &shown,
            "architectures",
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]",
        );
    }
}

/// `Environment.Variables`' names: `[a-zA-Z]([a-zA-Z0-9_])+`.
pub fn check_environment_names<'a>(keys: impl IntoIterator<Item = &'a str>, v: &mut Violations) {
    for key in keys {
        let mut chars = key.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && key.len() >= 2
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        v.pattern(
            key,
            "environment.variables",
            valid,
            "[a-zA-Z]([a-zA-Z0-9_])+",
        );
    }
}

/// `DeadLetterConfig.TargetArn`.
pub fn check_dead_letter_target(arn: &str, v: &mut Violations) {
    if let Err(e) = dead_letter_target(arn) {
        let _ = e;
        v.pattern(
            arn,
            "deadLetterConfig.targetArn",
            false,
            "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()",
        );
    }
}

/// `DeadLetterConfig.TargetArn`: botocore's `ResourceArn`, `(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()`
/// (empty clears it).
pub fn dead_letter_target(arn: &str) -> Result<(), AwsError> {
    let ok = arn.is_empty()
        || arn
            .strip_prefix("arn:")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(partition, rest)| {
                let partition_ok = partition.is_empty()
                    || partition
                        .strip_prefix("aws")
                        .is_some_and(|p| p.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-'));
                partition_ok.then_some(rest)
            })
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(service, rest)| {
                !service.is_empty()
                    && service
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
                    && !rest.contains('\n')
            });
    if ok {
        Ok(())
    } else {
        Err(AwsError::constraint(
            arn,
            "deadLetterConfig.targetArn",
            "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()",
        ))
    }
}

pub fn environment(vars: &BTreeMap<String, String>) -> Result<(), AwsError> {
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut v = Violations::new();
    check_environment_names(pairs.iter().map(|(k, _)| *k), &mut v);
    v.into_result()?;
    environment_limits(&pairs)
}

/// Lambda's rules on environment variables, given in the order the request sent them
/// (the size message quotes them so): no reserved names, at most 4 KB as JSON.
pub fn environment_limits(pairs: &[(&str, &str)]) -> Result<(), AwsError> {
    let reserved: Vec<&str> = pairs
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| {
            RESERVED_ENV.contains(k)
                || (RESERVED_ENV_PREFIXES.iter().any(|p| k.starts_with(p))
                    && !UNRESERVED_ENV.contains(k))
        })
        .collect();
    if !reserved.is_empty() {
        return Err(AwsError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    // Lambda measures the variables as the JSON object they were sent as.
    let measured = format!(
        "{{{}}}",
        pairs
            .iter()
            .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
            .collect::<Vec<_>>()
            .join(",")
    );
    if measured.len() > ENV_VARS_MAX_BYTES {
        return Err(AwsError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )));
    }
    Ok(())
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Checks the runtime is one Lambda accepts (whether this host has it installed is the
/// engine's to check). Lambda, not the request validator, checks it: an
/// `InvalidParameterValueException` in AWS's words.
pub fn runtime(runtime: &str) -> Result<(), AwsError> {
    if SUPPORTED_RUNTIMES.contains(&runtime) {
        return Ok(());
    }
    if DEPRECATED_RUNTIMES.contains(&runtime) {
        return Err(AwsError::invalid(format!(
            "The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
        )));
    }
    Err(AwsError::invalid(format!(
        "Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}] or be a valid ARN",
        SUPPORTED_RUNTIMES.join(", ")
    )))
}

pub fn architectures(arches: &[String]) -> Result<(), AwsError> {
    let mut v = Violations::new();
    check_architectures(arches, &mut v);
    v.into_result()?;
    host_runs(arches)
}

/// Whether this host runs the (well-formed) architecture asked for.
pub fn host_runs(arches: &[String]) -> Result<(), AwsError> {
    match arches {
        [a] if a != host_architecture() => Err(AwsError::invalid(format!(
            "Architecture {a} is not supported by this Hearth host, which runs {}",
            host_architecture()
        ))),
        _ => Ok(()),
    }
}

/// ListFunctions' `MasterRegion` pattern in the model, as AWS quotes it.
pub const MASTER_REGION_PATTERN: &str =
    r"ALL|(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}";

/// Whether `region` matches [`MASTER_REGION_PATTERN`] whole (as Java's `matches()`).
pub fn master_region_matches(region: &str) -> bool {
    static RE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(&format!("^(?:{MASTER_REGION_PATTERN})$"))
            .expect("a valid constant pattern")
    });
    RE.is_match(region)
}

/// The host's architecture in Lambda's vocabulary.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "arm64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn master_regions_follow_the_models_pattern() {
        for ok in [
            "ALL",
            "us-east-1",
            "eu-west-3",
            "us-gov-west-1",
            "us-isob-east-1",
            "eusc-de-east-1",
        ] {
            assert!(master_region_matches(ok), "{ok}");
        }
        for bad in [
            "",
            "all",
            "us-east",
            "us-east-12",
            "USA-east-1",
            "us-xyz-east-1",
            "u-east-1",
        ] {
            assert!(!master_region_matches(bad), "{bad}");
        }
    }

    fn code(r: Result<(), AwsError>) -> Option<ErrorCode> {
        r.err().map(|e| e.code)
    }

    #[test]
    fn memory_bounds() {
        assert_eq!(code(memory_size(128)), None);
        assert_eq!(code(memory_size(10240)), None);
        assert_eq!(code(memory_size(127)), Some(ErrorCode::Validation));
        assert_eq!(
            code(memory_size(10241)),
            Some(ErrorCode::InvalidParameterValue)
        );
    }

    #[test]
    fn timeout_bounds() {
        assert_eq!(code(timeout(1)), None);
        assert_eq!(code(timeout(900)), None);
        assert_eq!(code(timeout(0)), Some(ErrorCode::Validation));
        assert_eq!(code(timeout(901)), Some(ErrorCode::InvalidParameterValue));
    }

    #[test]
    fn ephemeral_bounds() {
        assert_eq!(code(ephemeral_storage(512)), None);
        assert_eq!(code(ephemeral_storage(10240)), None);
        assert_eq!(code(ephemeral_storage(511)), Some(ErrorCode::Validation));
        assert_eq!(code(ephemeral_storage(10241)), Some(ErrorCode::Validation));
    }

    #[test]
    fn reserved_and_oversized_environment() {
        let mut vars = BTreeMap::new();
        vars.insert("GREETING".to_string(), "hi".to_string());
        assert_eq!(code(environment(&vars)), None);
        // An internal extension's wrapper is the function's to name.
        let mut wrapped = vars.clone();
        wrapped.insert("AWS_LAMBDA_EXEC_WRAPPER".into(), "/opt/wrapper".into());
        assert_eq!(code(environment(&wrapped)), None);
        for k in [
            "AWS_REGION",
            "AWS_LAMBDA_FUNCTION_NAME",
            "LAMBDA_TASK_ROOT",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            let mut v = vars.clone();
            v.insert(k.to_string(), "x".to_string());
            let err = environment(&v).expect_err(k);
            assert_eq!(err.code, ErrorCode::InvalidParameterValue);
            assert!(err.message.contains(k), "{}", err.message);
        }
        let mut big = BTreeMap::new();
        big.insert("BIG".to_string(), "x".repeat(4096));
        assert_eq!(
            code(environment(&big)),
            Some(ErrorCode::InvalidParameterValue)
        );
        // `_HANDLER` breaks the model's name pattern before Lambda sees it is reserved.
        let mut handler = vars.clone();
        handler.insert("_HANDLER".to_string(), "x".to_string());
        assert_eq!(code(environment(&handler)), Some(ErrorCode::Validation));
        let mut bad = BTreeMap::new();
        bad.insert("1BAD".to_string(), "x".to_string());
        assert_eq!(code(environment(&bad)), Some(ErrorCode::Validation));
    }

    #[test]
    fn runtimes_in_lambdas_words() {
        assert_eq!(code(runtime("python3.11")), None);
        let e = runtime("PYTHON3.9").expect_err("not a runtime");
        assert_eq!(e.code, ErrorCode::InvalidParameterValue);
        assert!(e.message.starts_with("Value PYTHON3.9 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, python3.14, provided.al2023,"), "{}", e.message);
        assert!(
            e.message
                .ends_with(", java8.al2, ruby4.0] or be a valid ARN"),
            "{}",
            e.message
        );
        for old in ["provided", "go1.x", "python3.7", "nodejs12.x"] {
            assert_eq!(
                runtime(old).expect_err(old).message,
                format!("The runtime parameter of {old} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.")
            );
        }
    }

    #[test]
    fn environment_size_is_measured_in_request_order() {
        let big = "x".repeat(4096);
        let e =
            environment_limits(&[("SMALL_VAR", "ok"), ("LARGE_VAR", &big)]).expect_err("too large");
        assert!(
            e.message.ends_with(&format!(
                "String measured: {{\"SMALL_VAR\":\"ok\",\"LARGE_VAR\":\"{big}\"}}"
            )),
            "{}",
            e.message
        );
    }

    #[test]
    fn architectures_in_the_validators_words() {
        let mut v = Violations::new();
        check_architectures(&["x86_64".into(), "arm64".into()], &mut v);
        check_architectures(&["X86_64".into()], &mut v);
        assert_eq!(
            v.messages(),
            [
                "Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1",
                "Value '[X86_64]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]",
            ]
        );
    }

    #[test]
    fn dead_letter_target_pattern() {
        for ok in [
            "",
            "arn:aws:sqs:us-east-1:000000000000:dlq",
            "arn:aws:sns:us-east-1:000000000000:topic",
            "arn::sqs:x",
            "arn:aws-cn:sqs:cn-north-1:000000000000:q",
        ] {
            assert_eq!(code(dead_letter_target(ok)), None, "{ok}");
        }
        for bad in [
            "sqs",
            "arn:aws:SQS:x",
            "arn:aws:sqs",
            "arn:gcp:sqs:x",
            "arn:aws::x",
        ] {
            assert_eq!(
                code(dead_letter_target(bad)),
                Some(ErrorCode::Validation),
                "{bad}"
            );
        }
    }

    #[test]
    fn handler_and_role_patterns() {
        assert_eq!(code(handler("app.handler")), None);
        assert_eq!(code(handler("a b")), Some(ErrorCode::Validation));
        assert_eq!(code(handler("")), Some(ErrorCode::Validation));
        assert_eq!(
            code(role("arn:aws:iam::000000000000:role/lambda-role")),
            None
        );
        assert_eq!(code(role("not-a-role")), Some(ErrorCode::Validation));
    }
}
