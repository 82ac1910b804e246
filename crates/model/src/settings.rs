//! The function settings beyond code and sizing that CreateFunction and
//! UpdateFunctionConfiguration carry as small structures: `LoggingConfig`,
//! `TracingConfig`, `VpcConfig`, `SnapStart` and `KMSKeyArn`. Each is either stored and
//! returned as Lambda returns it, or refused by name: never dropped.
//!
//! - `LoggingConfig` is stored as given and acted on: the format and levels reach the
//!   runtime (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`) and shape the platform lines.
//!   A `LogGroup` other than the function's own `/aws/lambda/<function>` is refused: Hearth
//!   keeps each function's logs in its own group.
//! - `TracingConfig` is stored and returned (`Active` or `PassThrough`); there is no X-Ray
//!   in Hearth, so `Active` records nothing more.
//! - `VpcConfig` with no subnets and no security groups (what removing a VPC sends) is
//!   stored and returned as Lambda returns it; subnets or security groups are refused.
//! - `SnapStart` `ApplyOn: None` is accepted; `PublishedVersions` is refused.
//! - `KMSKeyArn`: empty (Lambda's own key) is accepted; a customer key is refused.

use serde::{Deserialize, Serialize};

use crate::error::AwsError;
use crate::function::log_group_of;

/// `LogFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LogFormat {
    #[default]
    Text,
    #[serde(rename = "JSON")]
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Json => "JSON",
        }
    }
}

/// `ApplicationLogLevel`'s values, most detailed first.
pub const APPLICATION_LOG_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
/// `SystemLogLevel`'s values, most detailed first.
pub const SYSTEM_LOG_LEVELS: [&str; 3] = ["DEBUG", "INFO", "WARN"];
/// The level Lambda gives a JSON-format function that names none.
const DEFAULT_LEVEL: &str = "INFO";

/// A function's stored `LoggingConfig`. The log group is always the function's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logging {
    pub format: LogFormat,
    /// Only with `JSON` (then `INFO` unless given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_level: Option<String>,
    /// Only with `JSON` (then `INFO` unless given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_level: Option<String>,
}

/// The `LoggingConfig` of a request: each member optional, an update changes only
/// those given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LoggingConfigRequest {
    pub log_format: Option<String>,
    pub application_log_level: Option<String>,
    pub system_log_level: Option<String>,
    pub log_group: Option<String>,
}

fn enum_member(value: &str, field: &str, allowed: &[&str]) -> Result<(), AwsError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(AwsError::constraint(
        value,
        field,
        &format!(
            "Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ),
    ))
}

/// A validated `LoggingConfig` of a request, to apply to the function's current one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoggingChange {
    pub format: Option<LogFormat>,
    pub application_level: Option<String>,
    pub system_level: Option<String>,
}

/// Lambda's answer to log levels on a `Text` function.
pub const LEVELS_NEED_JSON: &str = "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or change the LogFormat to \"Json\" and try again.";

impl LoggingConfigRequest {
    /// Checks each member on its own (enums, the log group); `function` names the only
    /// log group Hearth accepts.
    pub fn change(self, function: &str) -> Result<LoggingChange, AwsError> {
        if let Some(f) = &self.log_format {
            enum_member(f, "loggingConfig.logFormat", &["JSON", "Text"])?;
        }
        if let Some(l) = &self.application_log_level {
            enum_member(
                l,
                "loggingConfig.applicationLogLevel",
                &APPLICATION_LOG_LEVELS,
            )?;
        }
        if let Some(l) = &self.system_log_level {
            enum_member(l, "loggingConfig.systemLogLevel", &SYSTEM_LOG_LEVELS)?;
        }
        if let Some(group) = &self.log_group {
            let valid = (1..=512).contains(&group.len())
                && group
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b));
            if !valid {
                return Err(AwsError::constraint(
                    group,
                    "loggingConfig.logGroup",
                    "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
                ));
            }
            if *group != log_group_of(function) {
                return Err(AwsError::invalid(format!(
                    "LoggingConfig.LogGroup {group} is not supported by Hearth: a function's logs go to its own log group, {}",
                    log_group_of(function)
                )));
            }
        }
        Ok(LoggingChange {
            format: self.log_format.map(|f| {
                if f == "JSON" {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                }
            }),
            application_level: self.application_log_level,
            system_level: self.system_log_level,
        })
    }
}

impl Logging {
    /// This configuration with `change` applied, as Lambda applies it: members not
    /// given keep their value, levels go with the `JSON` format only (`INFO` unless
    /// given) and are dropped when the format becomes `Text`. The error is
    /// [`LEVELS_NEED_JSON`].
    pub fn merged(&self, change: &LoggingChange) -> Result<Logging, &'static str> {
        let format = change.format.unwrap_or(self.format);
        if format == LogFormat::Text {
            if change.application_level.is_some() || change.system_level.is_some() {
                return Err(LEVELS_NEED_JSON);
            }
            return Ok(Logging::default());
        }
        let level = |given: &Option<String>, now: &Option<String>| {
            given
                .clone()
                .or_else(|| now.clone())
                .unwrap_or_else(|| DEFAULT_LEVEL.to_string())
        };
        Ok(Logging {
            format,
            application_level: Some(level(&change.application_level, &self.application_level)),
            system_level: Some(level(&change.system_level, &self.system_level)),
        })
    }

    /// Whether a platform line of `level` (`DEBUG`, `INFO` or `WARN`) is written:
    /// always in `Text`, at or above `SystemLogLevel` in `JSON`.
    pub fn writes_system(&self, level: &str) -> bool {
        let rank = |l: &str| SYSTEM_LOG_LEVELS.iter().position(|x| *x == l);
        match (self.format, self.system_level.as_deref()) {
            (LogFormat::Json, Some(min)) => rank(level) >= rank(min),
            _ => true,
        }
    }
}

/// `TracingConfig.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TracingMode {
    #[default]
    PassThrough,
    Active,
}

impl TracingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PassThrough => "PassThrough",
            Self::Active => "Active",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TracingConfigRequest {
    pub mode: Option<String>,
}

impl TracingConfigRequest {
    /// The mode asked for; an empty `TracingConfig` means `PassThrough`.
    pub fn mode(&self) -> Result<TracingMode, AwsError> {
        match self.mode.as_deref() {
            None | Some("PassThrough") => Ok(TracingMode::PassThrough),
            Some("Active") => Ok(TracingMode::Active),
            Some(other) => Err(AwsError::constraint(
                other,
                "tracingConfig.mode",
                "Member must satisfy enum value set: [Active, PassThrough]",
            )),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VpcConfigRequest {
    pub subnet_ids: Option<Vec<String>>,
    pub security_group_ids: Option<Vec<String>>,
    pub ipv6_allowed_for_dual_stack: Option<bool>,
}

/// A stored `VpcConfig`: Hearth has no VPCs, so only the empty one, as Lambda keeps it
/// once a VPC was removed or an empty one given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub ipv6_allowed_for_dual_stack: bool,
}

impl VpcConfigRequest {
    pub fn vpc(&self) -> Result<Vpc, AwsError> {
        let listed = |l: &Option<Vec<String>>| l.as_ref().is_some_and(|l| !l.is_empty());
        if listed(&self.subnet_ids) || listed(&self.security_group_ids) {
            return Err(AwsError::invalid(
                "VpcConfig with subnets or security groups is not supported by Hearth: functions reach the host's network, there are no VPCs",
            ));
        }
        Ok(Vpc {
            ipv6_allowed_for_dual_stack: self.ipv6_allowed_for_dual_stack.unwrap_or(false),
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SnapStartRequest {
    pub apply_on: Option<String>,
}

impl SnapStartRequest {
    /// Accepts `None`; `PublishedVersions` asks for snapshots Hearth does not take.
    pub fn check(&self) -> Result<(), AwsError> {
        match self.apply_on.as_deref() {
            None | Some("None") => Ok(()),
            Some("PublishedVersions") => Err(AwsError::invalid(
                "SnapStart ApplyOn PublishedVersions is not supported by Hearth: environments start from the code, not from snapshots",
            )),
            Some(other) => Err(AwsError::constraint(
                other,
                "snapStart.applyOn",
                "Member must satisfy enum value set: [PublishedVersions, None]",
            )),
        }
    }
}

/// `KMSKeyArn`: empty (or absent) means the service's own key (Hearth's server key);
/// otherwise an ARN (the model's pattern), which the API checks names a Hearth key
/// (`hearth kms create`) before the variables are sealed under it.
pub fn kms_key(arn: Option<&str>) -> Result<Option<String>, AwsError> {
    match arn {
        None | Some("") => Ok(None),
        Some(a) if a.starts_with("arn:") && a.len() <= 10_000 => Ok(Some(a.to_string())),
        Some(a) => Err(AwsError::constraint(
            a,
            "kMSKeyArn",
            "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()",
        )),
    }
}

/// Lambda's answer to a `KMSKeyArn` that names no key.
pub fn kms_key_not_found(arn: &str) -> AwsError {
    AwsError::invalid(format!(
        "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. Please check your KMS key settings. KMS Exception: NotFoundExceptionKMS Message: Key '{arn}' does not exist"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn change(format: Option<&str>, app: Option<&str>, sys: Option<&str>) -> LoggingChange {
        LoggingConfigRequest {
            log_format: format.map(Into::into),
            application_log_level: app.map(Into::into),
            system_log_level: sys.map(Into::into),
            log_group: None,
        }
        .change("f")
        .expect("valid members")
    }

    #[test]
    fn json_takes_info_levels_unless_given_and_text_drops_them() {
        let json = Logging::default()
            .merged(&change(Some("JSON"), None, None))
            .expect("valid");
        assert_eq!(json.application_level.as_deref(), Some("INFO"));
        assert_eq!(json.system_level.as_deref(), Some("INFO"));
        let debug = json
            .merged(&change(None, Some("DEBUG"), None))
            .expect("valid");
        assert_eq!(
            (debug.format, debug.application_level.as_deref()),
            (LogFormat::Json, Some("DEBUG"))
        );
        assert_eq!(debug.system_level.as_deref(), Some("INFO"));
        let text = debug
            .merged(&change(Some("Text"), None, None))
            .expect("valid");
        assert_eq!(text, Logging::default());
    }

    #[test]
    fn levels_need_json_and_an_enum_value() {
        let e = Logging::default()
            .merged(&change(None, Some("INFO"), None))
            .expect_err("text with a level");
        assert_eq!(e, LEVELS_NEED_JSON);
        let e = LoggingConfigRequest {
            system_log_level: Some("TRACE".into()),
            ..Default::default()
        }
        .change("f")
        .expect_err("TRACE is no system level");
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(e
            .message
            .ends_with("Member must satisfy enum value set: [DEBUG, INFO, WARN]"));
    }

    #[test]
    fn only_the_functions_own_log_group() {
        let own = LoggingConfigRequest {
            log_group: Some("/aws/lambda/f".into()),
            ..Default::default()
        };
        assert!(own.change("f").is_ok());
        let other = LoggingConfigRequest {
            log_group: Some("cool_lambda".into()),
            ..Default::default()
        };
        let e = other.change("f").expect_err("another group");
        assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    }

    #[test]
    fn system_level_filters_platform_lines_in_json_only() {
        let warn = Logging {
            format: LogFormat::Json,
            application_level: Some("INFO".into()),
            system_level: Some("WARN".into()),
        };
        assert!(!warn.writes_system("INFO"));
        assert!(warn.writes_system("WARN"));
        assert!(Logging::default().writes_system("DEBUG"));
    }

    #[test]
    fn vpc_snapstart_and_kms_are_refused_unless_empty() {
        let empty = VpcConfigRequest {
            subnet_ids: Some(vec![]),
            security_group_ids: Some(vec![]),
            ipv6_allowed_for_dual_stack: None,
        };
        assert_eq!(empty.vpc().expect("empty"), Vpc::default());
        let subnet = VpcConfigRequest {
            subnet_ids: Some(vec!["subnet-1".into()]),
            ..Default::default()
        };
        assert!(subnet.vpc().is_err());
        assert!(SnapStartRequest {
            apply_on: Some("None".into())
        }
        .check()
        .is_ok());
        assert!(SnapStartRequest {
            apply_on: Some("PublishedVersions".into())
        }
        .check()
        .is_err());
        assert_eq!(kms_key(Some("")).expect("empty"), None);
        let arn = "arn:aws:kms:us-east-1:000000000000:key/k";
        assert_eq!(kms_key(Some(arn)).expect("an ARN"), Some(arn.to_string()));
        assert!(kms_key(Some("key/k")).is_err());
    }
}
