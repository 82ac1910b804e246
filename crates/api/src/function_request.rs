//! CreateFunction, UpdateFunctionCode and UpdateFunctionConfiguration's bodies checked
//! as AWS checks them and turned into the engine's changes: first every constraint of
//! the model (one `ValidationException` listing all, the path's name among them), then
//! Lambda's own rules and what Hearth does not support yet. What needs state (is the
//! runtime installed?) is the engine's to check, after these.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hearth_engine::{CodeChange, ConfigChange, NewFunction};
use hearth_model::arn::NameParts;
use hearth_model::limits::*;
use hearth_model::settings::{kms_key, Logging, LoggingChange};
use hearth_model::shapes::{
    CreateFunctionRequest, DeadLetterConfig, UpdateFunctionCodeRequest,
    UpdateFunctionConfigurationRequest,
};
use hearth_model::{validate, AwsError, ErrorCode, FunctionRef, NameShape, Violations};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// Rejects settings Hearth accepts in the model but cannot honour yet, by name.
fn unsupported(what: &str) -> AwsError {
    AwsError::invalid(format!("{what} is not supported by Hearth yet"))
}

/// `Environment.Variables` in the order the request sent them, which is the order
/// Lambda quotes them in when they are too large.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EnvOrder {
    #[serde(rename = "Environment", default)]
    environment: Option<OrderedVariables>,
}

#[derive(Debug, Default, Deserialize)]
struct OrderedVariables {
    #[serde(rename = "Variables", default, deserialize_with = "in_order")]
    variables: Vec<(String, String)>,
}

fn in_order<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    struct Pairs;
    impl<'de> Visitor<'de> for Pairs {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map of strings")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(pair) = map.next_entry::<String, String>()? {
                out.push(pair);
            }
            Ok(out)
        }
    }
    d.deserialize_any(Pairs)
}

impl EnvOrder {
    /// The body's variables in request order (empty when they cannot be read so).
    pub(crate) fn of(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// `vars` as the request ordered them; any the order misses come after, sorted.
    fn pairs<'a>(&'a self, vars: &'a BTreeMap<String, String>) -> Vec<(&'a str, &'a str)> {
        let sent: Vec<(&str, &str)> = self
            .environment
            .iter()
            .flat_map(|e| e.variables.iter())
            .filter(|(k, _)| vars.contains_key(k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let rest = vars
            .iter()
            .filter(|(k, _)| !sent.iter().any(|(s, _)| s == k))
            .map(|(k, v)| (k.as_str(), v.as_str()));
        sent.iter().copied().chain(rest).collect()
    }
}

/// `DeadLetterConfig.TargetArn`; an empty or absent one means none.
fn dead_letter_target(config: Option<DeadLetterConfig>) -> Option<String> {
    config.and_then(|d| d.target_arn).filter(|a| !a.is_empty())
}

/// `ZipFile`: base64 of at most the zipped-size limit. AWS's front end refuses a larger
/// one (413 `RequestEntityTooLargeException`) before Lambda reads it.
pub(crate) fn decode_zip(zip_b64: &str) -> Result<Vec<u8>, AwsError> {
    let bytes = BASE64.decode(zip_b64.trim()).map_err(|_| {
        AwsError::invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        )
    })?;
    if bytes.len() as u64 > ZIP_MAX_BYTES {
        return Err(AwsError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("Zipped size must be smaller than {ZIP_MAX_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// The settings CreateFunction and UpdateFunctionConfiguration share, checked against
/// the model in its member order.
fn check_settings(
    v: &mut Violations,
    role: Option<&str>,
    handler: Option<&str>,
    description: Option<&str>,
    timeout: Option<i64>,
    memory_size: Option<i64>,
) {
    if let Some(r) = role {
        validate::check_role(r, v);
    }
    if let Some(h) = handler {
        validate::check_handler(h, v);
    }
    if let Some(d) = description {
        validate::check_description(d, v);
    }
    if let Some(t) = timeout {
        validate::check_timeout(t, v);
    }
    if let Some(m) = memory_size {
        validate::check_memory_size(m, v);
    }
}

/// Lambda's limits beyond the model, once the model's constraints hold.
fn lambda_limits(
    timeout: Option<i64>,
    memory_size: Option<i64>,
    ephemeral_storage: Option<i64>,
    environment: Option<&[(&str, &str)]>,
) -> Result<(), AwsError> {
    if let Some(t) = timeout {
        validate::timeout(t)?;
    }
    if let Some(m) = memory_size {
        validate::memory_size(m)?;
    }
    if let Some(e) = ephemeral_storage {
        validate::ephemeral_storage(e)?;
    }
    if let Some(pairs) = environment {
        validate::environment_limits(pairs)?;
    }
    Ok(())
}

pub(crate) fn new_function(
    req: CreateFunctionRequest,
    order: &EnvOrder,
    tenant: &str,
) -> Result<NewFunction, AwsError> {
    let mut v = Violations::new();
    let parts = match req.function_name.as_deref() {
        Some(name) => FunctionRef::check(name, NameShape::FunctionName, "functionName", &mut v),
        None => {
            v.null("functionName");
            None
        }
    };
    if req.role.is_none() {
        v.null("role");
    }
    check_settings(
        &mut v,
        req.role.as_deref(),
        req.handler.as_deref(),
        req.description.as_deref(),
        req.timeout,
        req.memory_size,
    );
    if req.code.is_none() {
        v.null("code");
    }
    let dead_letter = req.dead_letter_config.and_then(|d| d.target_arn);
    if let Some(arn) = &dead_letter {
        validate::check_dead_letter_target(arn, &mut v);
    }
    let environment_set = req.environment.is_some();
    let environment = req
        .environment
        .and_then(|e| e.variables)
        .unwrap_or_default();
    validate::check_environment_names(environment.keys().map(String::as_str), &mut v);
    if let Some(a) = &req.architectures {
        validate::check_architectures(a, &mut v);
    }
    if let Some(e) = &req.ephemeral_storage {
        validate::check_ephemeral_storage(e.size, &mut v);
    }
    v.into_result()?;
    let (Some(parts), Some(role), Some(code)) = (parts, req.role, req.code) else {
        unreachable!("a missing member is a violation");
    };
    let name = created_name(parts, tenant)?;
    if let Some(runtime) = &req.runtime {
        validate::runtime(runtime)?;
    }
    if req.package_type.as_deref().is_some_and(|p| p != "Zip") || code.image_uri.is_some() {
        return Err(unsupported("PackageType Image (container images)"));
    }
    if code.s3_bucket.is_some() || code.s3_key.is_some() {
        return Err(unsupported("Code from S3 (use Code.ZipFile)"));
    }
    check_layers(req.layers.as_deref())?;
    refuse_file_systems(&req.file_system_configs)?;
    let (Some(runtime), Some(handler)) = (req.runtime, req.handler) else {
        return Err(AwsError::invalid(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
        ));
    };
    let timeout = req.timeout.unwrap_or(TIMEOUT_DEFAULT_S);
    let memory_size = req.memory_size.unwrap_or(MEMORY_DEFAULT_MB);
    let ephemeral_storage = req
        .ephemeral_storage
        .map(|e| e.size)
        .unwrap_or(EPHEMERAL_DEFAULT_MB);
    lambda_limits(
        Some(timeout),
        Some(memory_size),
        Some(ephemeral_storage),
        Some(&order.pairs(&environment)),
    )?;
    let (kms_key_arn, snap_start, vpc) = (req.kms_key_arn, req.snap_start, req.vpc_config);
    let kms_key_arn = kms_key(kms_key_arn.as_deref())?;
    if let Some(s) = &snap_start {
        s.check()?;
    }
    let logging = match req.logging_config {
        Some(l) => Logging::default()
            .merged(&l.change(&name)?)
            .map_err(AwsError::invalid)?,
        None => Logging::default(),
    };
    let tracing = req
        .tracing_config
        .map(|t| t.mode())
        .transpose()?
        .unwrap_or_default();
    let vpc = vpc.map(|v| v.vpc()).transpose()?;
    let architectures = req
        .architectures
        .unwrap_or_else(|| vec![validate::host_architecture().to_string()]);
    validate::host_runs(&architectures)?;
    let zip = code.zip_file.ok_or_else(|| {
        AwsError::invalid("Please provide a source for function code (Code.ZipFile).")
    })?;
    let tags = req.tags.unwrap_or_default();
    hearth_model::tags::validate(&tags, tags.len())?;
    Ok(NewFunction {
        name,
        runtime,
        handler,
        role,
        description: req.description.unwrap_or_default(),
        timeout,
        memory_size,
        ephemeral_storage,
        environment,
        environment_set,
        architectures,
        dead_letter_target_arn: dead_letter.filter(|a| !a.is_empty()),
        kms_key_arn,
        logging,
        tracing,
        vpc,
        tags,
        zip: decode_zip(&zip)?,
        layers: Vec::new(),
        publish: req.publish == Some(true),
    })
}

/// The name a new function gets: in this region and account, unqualified, and at most 64
/// characters (Lambda's rule, which it words as the validator would, with `Type`).
fn created_name(parts: NameParts, tenant: &str) -> Result<String, AwsError> {
    let r = parts.resolve(tenant)?;
    if r.qualifier.is_some() {
        return Err(AwsError::invalid(
            "A function name cannot have a qualifier when it is created",
        ));
    }
    if r.display_name().chars().count() > FUNCTION_NAME_MAX {
        let mut v = Violations::new();
        v.length(r.display_name(), "functionName", 1, FUNCTION_NAME_MAX);
        return Err(v
            .into_error_as(ErrorCode::InvalidParameterValue)
            .expect("one violation"));
    }
    Ok(r.name)
}

pub(crate) fn code_change(
    path: &str,
    tenant: &str,
    req: UpdateFunctionCodeRequest,
) -> Result<(FunctionRef, CodeChange), AwsError> {
    let mut v = Violations::new();
    let parts = FunctionRef::check(path, NameShape::FunctionName, "functionName", &mut v);
    if let Some(a) = &req.architectures {
        validate::check_architectures(a, &mut v);
    }
    v.into_result()?;
    let r = parts.expect("no violation").resolve(tenant)?;
    if req.image_uri.is_some() {
        return Err(unsupported("ImageUri (container images)"));
    }
    if req.s3_bucket.is_some() || req.s3_key.is_some() {
        return Err(unsupported("Code from S3 (use ZipFile)"));
    }
    if let Some(a) = &req.architectures {
        validate::host_runs(a)?;
    }
    let zip = req
        .zip_file
        .ok_or_else(|| AwsError::invalid("Please provide a source for function code (ZipFile)."))?;
    Ok((
        r,
        CodeChange {
            zip: decode_zip(&zip)?,
            architectures: req.architectures,
            revision_id: req.revision_id,
            dry_run: req.dry_run == Some(true),
            publish: req.publish == Some(true),
        },
    ))
}

/// `function` is the unqualified name the request's path gives.
pub(crate) fn config_change(
    path: &str,
    tenant: &str,
    req: UpdateFunctionConfigurationRequest,
    order: &EnvOrder,
) -> Result<(FunctionRef, ConfigChange), AwsError> {
    let mut v = Violations::new();
    let parts = FunctionRef::check(path, NameShape::FunctionName, "functionName", &mut v);
    check_settings(
        &mut v,
        req.role.as_deref(),
        req.handler.as_deref(),
        req.description.as_deref(),
        req.timeout,
        req.memory_size,
    );
    let environment: Option<BTreeMap<String, String>> =
        req.environment.map(|e| e.variables.unwrap_or_default());
    if let Some(vars) = &environment {
        validate::check_environment_names(vars.keys().map(String::as_str), &mut v);
    }
    let dead_letter = req
        .dead_letter_config
        .map(|d| d.target_arn.unwrap_or_default());
    if let Some(arn) = &dead_letter {
        validate::check_dead_letter_target(arn, &mut v);
    }
    if let Some(e) = &req.ephemeral_storage {
        validate::check_ephemeral_storage(e.size, &mut v);
    }
    v.into_result()?;
    let r = parts.expect("no violation").resolve(tenant)?;
    if let Some(runtime) = &req.runtime {
        validate::runtime(runtime)?;
    }
    check_layers(req.layers.as_deref())?;
    refuse_file_systems(&req.file_system_configs)?;
    lambda_limits(
        req.timeout,
        req.memory_size,
        req.ephemeral_storage.as_ref().map(|e| e.size),
        environment
            .as_ref()
            .map(|vars| order.pairs(vars))
            .as_deref(),
    )?;
    // Given (even empty, which goes back to the server key) or not.
    let kms_key_arn = req
        .kms_key_arn
        .as_deref()
        .map(|a| kms_key(Some(a)))
        .transpose()?;
    if let Some(s) = &req.snap_start {
        s.check()?;
    }
    let logging: Option<LoggingChange> =
        req.logging_config.map(|l| l.change(&r.name)).transpose()?;
    let tracing = req.tracing_config.map(|t| t.mode()).transpose()?;
    let vpc = req.vpc_config.map(|v| v.vpc()).transpose()?;
    Ok((
        r,
        ConfigChange {
            role: req.role,
            runtime: req.runtime,
            handler: req.handler,
            description: req.description,
            timeout: req.timeout,
            memory_size: req.memory_size,
            ephemeral_storage: req.ephemeral_storage.map(|e| e.size),
            environment,
            dead_letter_target_arn: dead_letter.map(|a| {
                dead_letter_target(Some(DeadLetterConfig {
                    target_arn: Some(a),
                }))
            }),
            kms_key_arn,
            logging,
            tracing,
            vpc,
            // Resolved by the handler (`crate::layers::resolve`).
            layers: None,
            revision_id: req.revision_id,
        },
    ))
}

/// `Layers`: version ARNs (botocore's `LayerVersionArn`). Whether they exist and may
/// be used is the engine's to say (`Engine::resolve_layers`).
fn check_layers(layers: Option<&[String]>) -> Result<(), AwsError> {
    let mut v = Violations::new();
    for (i, arn) in layers.unwrap_or_default().iter().enumerate() {
        let field = format!("layers.{}.member", i + 1);
        v.length(arn, &field, 1, 140);
        v.pattern(
            arn,
            &field,
            hearth_model::layer::parse_layer_version_arn(arn).is_some(),
            LAYER_VERSION_ARN_PATTERN,
        );
    }
    v.into_result()
}

/// botocore's pattern of `LayerVersionArn`.
const LAYER_VERSION_ARN_PATTERN: &str =
    r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+";

/// File systems, which Hearth does not have yet: refused, never dropped.
fn refuse_file_systems<F>(file_systems: &Option<Vec<F>>) -> Result<(), AwsError> {
    if file_systems.as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(unsupported("FileSystemConfigs"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::ErrorCode;

    fn create(body: serde_json::Value) -> Result<NewFunction, AwsError> {
        let order = EnvOrder::of(body.to_string().as_bytes());
        new_function(
            serde_json::from_value(body).expect("a CreateFunction body"),
            &order,
            hearth_model::arn::ACCOUNT,
        )
    }

    #[test]
    fn create_function_is_checked_before_the_engine_sees_it() {
        let zip = BASE64.encode(b"PK\x05\x06");
        let ok = create(serde_json::json!({
            "FunctionName": "f", "Role": "arn:aws:iam::000000000000:role/r",
            "Runtime": "python3.12", "Handler": "a.b", "Code": {"ZipFile": zip},
        }))
        .expect("a valid request");
        assert_eq!((ok.name.as_str(), ok.timeout), ("f", TIMEOUT_DEFAULT_S));
        assert_eq!(ok.zip, b"PK\x05\x06");
        let e = create(serde_json::json!({"Role": "r", "Handler": "a b"})).expect_err("no name");
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(
            e.message,
            format!(
                "4 validation errors detected: \
                 Value null at 'functionName' failed to satisfy constraint: Member must not be null; \
                 Value 'r' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: {}; \
                 Value 'a b' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+; \
                 Value null at 'code' failed to satisfy constraint: Member must not be null",
                validate::ROLE_PATTERN
            )
        );
        let e = create(serde_json::json!({
            "FunctionName": "f", "Role": "arn:aws:iam::000000000000:role/r",
            "Runtime": "python3.12", "Handler": "a.b", "Code": {"ZipFile": "not base64!"},
        }))
        .expect_err("bad base64");
        assert_eq!(e.code, ErrorCode::InvalidParameterValue);
        assert!(e.message.starts_with("Could not unzip uploaded file"));
    }

    #[test]
    fn a_dead_letter_config_without_target_removes_it() {
        let none = EnvOrder::default();
        let (_, c) = config_change(
            "f",
            hearth_model::arn::ACCOUNT,
            serde_json::from_value(serde_json::json!({"DeadLetterConfig": {}})).expect("a body"),
            &none,
        )
        .expect("valid");
        assert_eq!(c.dead_letter_target_arn, Some(None));
        let (_, c) = config_change("f", hearth_model::arn::ACCOUNT, Default::default(), &none)
            .expect("valid");
        assert_eq!(c.dead_letter_target_arn, None);
    }

    #[test]
    fn the_paths_name_and_the_bodys_members_are_listed_together() {
        let e = config_change(
            "bad name",
            hearth_model::arn::ACCOUNT,
            serde_json::from_value(serde_json::json!({"Timeout": 0, "MemorySize": 64}))
                .expect("a body"),
            &EnvOrder::default(),
        )
        .expect_err("three violations");
        assert!(
            e.message
                .starts_with("3 validation errors detected: Value 'bad name' at 'functionName'"),
            "{}",
            e.message
        );
        assert!(e.message.ends_with("Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1; Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"), "{}", e.message);
    }

    #[test]
    fn lambdas_own_rules_come_after_the_models() {
        let zip = BASE64.encode(b"PK\x05\x06");
        // A name over 64 characters: Lambda's InvalidParameterValue, in the validator's words.
        let long = "a".repeat(65);
        let e = create(serde_json::json!({
            "FunctionName": long, "Role": "arn:aws:iam::000000000000:role/r",
            "Runtime": "python3.12", "Handler": "a.b", "Code": {"ZipFile": zip},
        }))
        .expect_err("too long");
        assert_eq!(e.code, ErrorCode::InvalidParameterValue);
        assert_eq!(e.message, format!("1 validation error detected: Value '{long}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64"));
        let e = create(serde_json::json!({
            "FunctionName": "f", "Role": "arn:aws:iam::000000000000:role/r",
            "Runtime": "go1.x", "Handler": "a.b", "Code": {"ZipFile": zip},
            "Environment": {"Variables": {"Z_VAR": "1", "A_VAR": "x".repeat(4096)}},
        }))
        .expect_err("deprecated runtime");
        assert!(
            e.message
                .starts_with("The runtime parameter of go1.x is no longer supported"),
            "{}",
            e.message
        );
        // Sent Z first: quoted Z first (a JSON object built by serde_json would sort them).
        let raw = format!(
            r#"{{"FunctionName":"f","Role":"arn:aws:iam::000000000000:role/r","Runtime":"python3.12","Handler":"a.b","Code":{{"ZipFile":"{zip}"}},"Environment":{{"Variables":{{"Z_VAR":"1","A_VAR":"{}"}}}}}}"#,
            "x".repeat(4096)
        );
        let e = new_function(
            serde_json::from_str(&raw).expect("a CreateFunction body"),
            &EnvOrder::of(raw.as_bytes()),
            hearth_model::arn::ACCOUNT,
        )
        .expect_err("too large");
        assert!(
            e.message
                .contains("String measured: {\"Z_VAR\":\"1\",\"A_VAR\""),
            "{}",
            e.message
        );
    }
}
