//! Validation of function settings, with Lambda's error codes and wording.
//!
//! Violations of the botocore model's own constraints (patterns, `min`/`max`) are
//! `ValidationException`, as AWS's request validator reports them; Lambda's service
//! limits beyond the model (memory above 10240, timeout above 900, reserved variables,
//! unknown runtimes) are `InvalidParameterValueException`.

use std::collections::BTreeMap;

use crate::error::AwsError;
use crate::limits::*;

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

/// Every runtime identifier the Lambda model knows; a runtime must be one of these
/// before Hearth checks whether this host can run it.
pub const MODEL_RUNTIMES: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "java8.al2",
    "java11",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "dotnet8",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
    "provided.al2",
    "nodejs18.x",
    "python3.10",
    "java17",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "python3.11",
    "nodejs20.x",
    "provided.al2023",
    "python3.12",
    "java21",
    "python3.13",
    "nodejs22.x",
    "nodejs24.x",
    "python3.14",
    "java25",
    "dotnet10",
    "ruby4.0",
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

pub fn role(role: &str) -> Result<(), AwsError> {
    let ok = role
        .strip_prefix("arn:")
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
        });
    if ok {
        Ok(())
    } else {
        Err(AwsError::constraint(
            role,
            "role",
            "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        ))
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
    let reserved: Vec<&str> = vars
        .keys()
        .map(String::as_str)
        .filter(|k| {
            RESERVED_ENV.contains(k) || RESERVED_ENV_PREFIXES.iter().any(|p| k.starts_with(p))
        })
        .collect();
    if !reserved.is_empty() {
        return Err(AwsError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    for key in vars.keys() {
        let mut chars = key.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && key.len() >= 2
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(AwsError::constraint(
                key,
                "environment.variables",
                "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+",
            ));
        }
    }
    // Lambda measures the variables as the JSON object they are sent as.
    let measured = serde_json::to_string(vars).unwrap_or_default();
    if measured.len() > ENV_VARS_MAX_BYTES {
        return Err(AwsError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )));
    }
    Ok(())
}

/// Checks the runtime is one Lambda knows (whether this host has it installed is the
/// engine's to check).
pub fn runtime(runtime: &str) -> Result<(), AwsError> {
    if !MODEL_RUNTIMES.contains(&runtime) {
        return Err(AwsError::invalid(format!(
            "Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            MODEL_RUNTIMES.join(", ")
        )));
    }
    Ok(())
}

pub fn architectures(arches: &[String]) -> Result<(), AwsError> {
    match arches {
        [a] if a == std::env::consts::ARCH || (a == "arm64" && std::env::consts::ARCH == "aarch64") => Ok(()),
        [a] if a == "x86_64" || a == "arm64" => Err(AwsError::invalid(format!(
            "Architecture {a} is not supported by this Hearth host, which runs {}",
            host_architecture()
        ))),
        _ => Err(AwsError::constraint(
            &format!("{arches:?}"),
            "architectures",
            "Member must have length less than or equal to 1 and satisfy enum value set: [x86_64, arm64]",
        )),
    }
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
        for k in [
            "AWS_REGION",
            "AWS_LAMBDA_FUNCTION_NAME",
            "LAMBDA_TASK_ROOT",
            "_HANDLER",
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
        let mut bad = BTreeMap::new();
        bad.insert("1BAD".to_string(), "x".to_string());
        assert_eq!(code(environment(&bad)), Some(ErrorCode::Validation));
    }

    #[test]
    fn runtime_must_be_known() {
        assert_eq!(code(runtime("python3.11")), None);
        assert_eq!(
            code(runtime("cobol")),
            Some(ErrorCode::InvalidParameterValue)
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
