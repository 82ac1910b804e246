//! CreateFunction, UpdateFunctionCode and UpdateFunctionConfiguration's bodies checked
//! as AWS checks them (required members, model constraints, what Hearth does not
//! support yet) and turned into the engine's changes. What needs state (is the
//! runtime installed?) is the engine's to check.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hearth_engine::{CodeChange, ConfigChange, NewFunction};
use hearth_model::limits::*;
use hearth_model::settings::{kms_key, Logging, LoggingChange};
use hearth_model::shapes::{
    CreateFunctionRequest, DeadLetterConfig, UpdateFunctionCodeRequest,
    UpdateFunctionConfigurationRequest,
};
use hearth_model::{validate, AwsError, FunctionRef};

/// Rejects settings Hearth accepts in the model but cannot honour yet, by name.
fn unsupported(what: &str) -> AwsError {
    AwsError::invalid(format!("{what} is not supported by Hearth yet"))
}

/// `DeadLetterConfig.TargetArn`, validated; an empty or absent one means none.
fn dead_letter_target(config: Option<DeadLetterConfig>) -> Result<Option<String>, AwsError> {
    let arn = config.and_then(|d| d.target_arn).unwrap_or_default();
    validate::dead_letter_target(&arn)?;
    Ok(Some(arn).filter(|a| !a.is_empty()))
}

/// `ZipFile`: base64 of at most the zipped-size limit.
fn decode_zip(zip_b64: &str) -> Result<Vec<u8>, AwsError> {
    let bytes = BASE64.decode(zip_b64.trim()).map_err(|_| {
        AwsError::invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        )
    })?;
    if bytes.len() as u64 > ZIP_MAX_BYTES {
        return Err(AwsError::invalid(format!(
            "Zipped size must be smaller than {ZIP_MAX_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

pub(crate) fn new_function(req: CreateFunctionRequest) -> Result<NewFunction, AwsError> {
    let name_ref = req
        .function_name
        .as_deref()
        .ok_or_else(|| AwsError::null_member("functionName"))?;
    let role = req.role.ok_or_else(|| AwsError::null_member("role"))?;
    let code = req.code.ok_or_else(|| AwsError::null_member("code"))?;
    let fref = FunctionRef::parse(name_ref)?;
    if fref.qualifier.is_some() {
        return Err(AwsError::invalid(
            "A function name cannot have a qualifier when it is created",
        ));
    }
    validate::function_name(&fref.name)?;
    validate::role(&role)?;
    if req.package_type.as_deref().is_some_and(|p| p != "Zip") || code.image_uri.is_some() {
        return Err(unsupported("PackageType Image (container images)"));
    }
    if code.s3_bucket.is_some() || code.s3_key.is_some() {
        return Err(unsupported("Code from S3 (use Code.ZipFile)"));
    }
    refuse_layers_and_file_systems(&req.layers, &req.file_system_configs)?;
    let (Some(runtime), Some(handler)) = (req.runtime, req.handler) else {
        return Err(AwsError::invalid(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
        ));
    };
    validate::runtime(&runtime)?;
    validate::handler(&handler)?;
    let description = req.description.unwrap_or_default();
    validate::description(&description)?;
    let timeout = req.timeout.unwrap_or(TIMEOUT_DEFAULT_S);
    validate::timeout(timeout)?;
    let memory_size = req.memory_size.unwrap_or(MEMORY_DEFAULT_MB);
    validate::memory_size(memory_size)?;
    let ephemeral_storage = req
        .ephemeral_storage
        .map(|e| e.size)
        .unwrap_or(EPHEMERAL_DEFAULT_MB);
    validate::ephemeral_storage(ephemeral_storage)?;
    let environment_set = req.environment.is_some();
    let environment = req
        .environment
        .and_then(|e| e.variables)
        .unwrap_or_default();
    validate::environment(&environment)?;
    kms_key(req.kms_key_arn.as_deref())?;
    if let Some(s) = &req.snap_start {
        s.check()?;
    }
    let logging = match req.logging_config {
        Some(l) => Logging::default()
            .merged(&l.change(&fref.name)?)
            .map_err(AwsError::invalid)?,
        None => Logging::default(),
    };
    let tracing = req
        .tracing_config
        .map(|t| t.mode())
        .transpose()?
        .unwrap_or_default();
    let vpc = req.vpc_config.map(|v| v.vpc()).transpose()?;
    let architectures = req
        .architectures
        .unwrap_or_else(|| vec![validate::host_architecture().to_string()]);
    validate::architectures(&architectures)?;
    let dead_letter_target_arn = dead_letter_target(req.dead_letter_config)?;
    let zip = code.zip_file.ok_or_else(|| {
        AwsError::invalid("Please provide a source for function code (Code.ZipFile).")
    })?;
    Ok(NewFunction {
        name: fref.name,
        runtime,
        handler,
        role,
        description,
        timeout,
        memory_size,
        ephemeral_storage,
        environment,
        environment_set,
        architectures,
        dead_letter_target_arn,
        logging,
        tracing,
        vpc,
        tags: req.tags.unwrap_or_default(),
        zip: decode_zip(&zip)?,
        publish: req.publish == Some(true),
    })
}

pub(crate) fn code_change(req: UpdateFunctionCodeRequest) -> Result<CodeChange, AwsError> {
    if req.image_uri.is_some() {
        return Err(unsupported("ImageUri (container images)"));
    }
    if req.s3_bucket.is_some() || req.s3_key.is_some() {
        return Err(unsupported("Code from S3 (use ZipFile)"));
    }
    if let Some(a) = &req.architectures {
        validate::architectures(a)?;
    }
    let zip = req
        .zip_file
        .ok_or_else(|| AwsError::invalid("Please provide a source for function code (ZipFile)."))?;
    Ok(CodeChange {
        zip: decode_zip(&zip)?,
        architectures: req.architectures,
        revision_id: req.revision_id,
        dry_run: req.dry_run == Some(true),
        publish: req.publish == Some(true),
    })
}

/// `function` is the unqualified name the request's path gives.
pub(crate) fn config_change(
    req: UpdateFunctionConfigurationRequest,
    function: &str,
) -> Result<ConfigChange, AwsError> {
    refuse_layers_and_file_systems(&req.layers, &req.file_system_configs)?;
    if let Some(role) = &req.role {
        validate::role(role)?;
    }
    if let Some(runtime) = &req.runtime {
        validate::runtime(runtime)?;
    }
    if let Some(h) = &req.handler {
        validate::handler(h)?;
    }
    if let Some(d) = &req.description {
        validate::description(d)?;
    }
    if let Some(t) = req.timeout {
        validate::timeout(t)?;
    }
    if let Some(m) = req.memory_size {
        validate::memory_size(m)?;
    }
    if let Some(e) = &req.ephemeral_storage {
        validate::ephemeral_storage(e.size)?;
    }
    let environment: Option<BTreeMap<String, String>> =
        req.environment.map(|e| e.variables.unwrap_or_default());
    if let Some(vars) = &environment {
        validate::environment(vars)?;
    }
    let dead_letter_target_arn = req
        .dead_letter_config
        .map(|d| dead_letter_target(Some(d)))
        .transpose()?;
    kms_key(req.kms_key_arn.as_deref())?;
    if let Some(s) = &req.snap_start {
        s.check()?;
    }
    let logging: Option<LoggingChange> =
        req.logging_config.map(|l| l.change(function)).transpose()?;
    let tracing = req.tracing_config.map(|t| t.mode()).transpose()?;
    let vpc = req.vpc_config.map(|v| v.vpc()).transpose()?;
    Ok(ConfigChange {
        role: req.role,
        runtime: req.runtime,
        handler: req.handler,
        description: req.description,
        timeout: req.timeout,
        memory_size: req.memory_size,
        ephemeral_storage: req.ephemeral_storage.map(|e| e.size),
        environment,
        dead_letter_target_arn,
        logging,
        tracing,
        vpc,
        revision_id: req.revision_id,
    })
}

/// Layers and file systems, which Hearth does not have yet: refused, never dropped.
fn refuse_layers_and_file_systems<L, F>(
    layers: &Option<Vec<L>>,
    file_systems: &Option<Vec<F>>,
) -> Result<(), AwsError> {
    if layers.as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(unsupported("Layers"));
    }
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
        new_function(serde_json::from_value(body).expect("a CreateFunction body"))
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
        let e = create(serde_json::json!({"Role": "r", "Code": {}})).expect_err("no name");
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(
            e.message
                .contains("'functionName' failed to satisfy constraint: Member must not be null"),
            "{}",
            e.message
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
        let c = config_change(
            serde_json::from_value(serde_json::json!({"DeadLetterConfig": {}})).expect("a body"),
            "f",
        )
        .expect("valid");
        assert_eq!(c.dead_letter_target_arn, Some(None));
        let c = config_change(Default::default(), "f").expect("valid");
        assert_eq!(c.dead_letter_target_arn, None);
    }
}
