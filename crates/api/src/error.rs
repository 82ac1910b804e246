//! The one error type that becomes an HTTP response, in Lambda's encoding, and the one
//! place where the engine's errors become Lambda's codes, statuses and messages.

use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hearth_engine::{Conflict, EngineError, NotFound, Size, Throttle};
use hearth_model::{AwsError, BodyKeys, ErrorCode, ThrottleReason};
use serde_json::{json, Map, Value};

#[derive(Debug)]
pub struct ApiError(pub AwsError);

impl From<AwsError> for ApiError {
    fn from(e: AwsError) -> Self {
        Self(e)
    }
}

/// Lambda's message when a change of `$LATEST` is not the next revision.
const REVISION_MISMATCH: &str = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id";

/// What a client is told of Hearth's own failures (the log has the rest).
const INTERNAL: &str = "An internal error occurred in Hearth; see the server log.";

/// What a client is told when a change could not be stored for lack of space.
const DISK_FULL: &str =
    "Hearth could not store this change: the file system of its data directory is full. \
     Free space there (for example delete old logs with `hearth logs NAME --delete`) and retry.";

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self(match e {
            EngineError::NotFound(n) => not_found(n),
            EngineError::Conflict(c) => conflict(c),
            EngineError::Throttled(t) => AwsError::throttled(match t {
                Throttle::ReservedConcurrency => {
                    ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded
                }
                Throttle::AccountConcurrency => ThrottleReason::ConcurrentInvocationLimitExceeded,
            }),
            EngineError::RuntimeNotInstalled { runtime, available } => AwsError::invalid(format!(
                "The runtime parameter of {runtime} is not supported by this Hearth host. Available runtimes: [{}]. Install a runtime with `hearth runtime install`.",
                available.join(", ")
            )),
            EngineError::Invalid(message) => AwsError::invalid(message),
            EngineError::InvalidWithoutType(message) => AwsError::invalid(message).untyped(),
            EngineError::MissingMember(field) => AwsError::null_member(field),
            EngineError::TooLarge {
                what: Size::Unzipped,
                limit,
            } => AwsError::invalid(format!("Unzipped size must be smaller than {limit} bytes")),
            EngineError::BadZip => AwsError::invalid(
                "Could not unzip uploaded file. Please check your file, then try to upload again.",
            ),
            EngineError::CodeUnusable(message) => AwsError::new(ErrorCode::InvalidZipFile, message),
            EngineError::AccessDenied(message) => {
                AwsError::new(ErrorCode::AccessDenied, message).untyped()
            }
            EngineError::RecursiveInvocation(message) => {
                AwsError::new(ErrorCode::RecursiveInvocation, message)
            }
            EngineError::DiskFull(cause) => {
                tracing::error!(error = %cause, "a change could not be stored: the disk is full");
                AwsError::service(DISK_FULL)
            }
            EngineError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                AwsError::service(INTERNAL)
            }
        })
    }
}

fn not_found(n: NotFound) -> AwsError {
    match n {
        NotFound::Function { arn } => AwsError::function_not_found(&arn),
        NotFound::Alias { arn } => AwsError::not_found(format!("Alias not found: {arn}")),
        NotFound::AliasTarget { arn } => {
            AwsError::not_found(format!("Cannot find alias arn: {arn}"))
        }
        NotFound::EventConfigTarget => AwsError::not_found("The function doesn't exist."),
        NotFound::EventConfig { arn } => AwsError::not_found(format!(
            "The function {arn} doesn't have an EventInvokeConfig"
        )),
        // AWS's message names no function.
        NotFound::ProvisionedConfig { .. } => AwsError::new(
            ErrorCode::ProvisionedConcurrencyConfigNotFound,
            "No Provisioned Concurrency Config found for this function",
        ),
        NotFound::LogGroup => AwsError::not_found("The specified log group does not exist."),
        NotFound::Resource => AwsError::not_found("The resource you requested does not exist."),
        NotFound::UrlFunction => AwsError::not_found("Function does not exist"),
        NotFound::PolicyOf { arn } => AwsError::not_found(format!("No policy found for: {arn}")),
        NotFound::NoPolicy => {
            AwsError::not_found("No policy is associated with the given resource.")
        }
        NotFound::LayerVersion { arn } => {
            AwsError::not_found(format!("Layer version {arn} does not exist."))
        }
        NotFound::Statement { sid } => {
            AwsError::not_found(format!("Statement {sid} is not found in resource policy."))
        }
    }
}

fn conflict(c: Conflict) -> AwsError {
    const NOT_NOW: &str = "The operation cannot be performed at this time.";
    match c {
        Conflict::FunctionExists { name } => AwsError::conflict(format!(
            "Function already exist: {}",
            hearth_model::arn::key_name(&name)
        )),
        Conflict::AliasExists { arn } => AwsError::conflict(format!("Alias already exists: {arn}")),
        // Two spaces after "message:", as AWS writes it.
        Conflict::FunctionUrlExists { arn } => AwsError::conflict(format!(
            "Failed to create function url config for [functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function"
        )),
        Conflict::NotActive { state } => AwsError::conflict(format!(
            "{NOT_NOW} The function is currently in the following state: {state:?}"
        )),
        Conflict::UpdateInProgress { arn } => AwsError::conflict(format!(
            "{NOT_NOW} An update is in progress for resource: {arn}"
        )),
        Conflict::VersionInUse { aliases } => AwsError::conflict(format!(
            "Unable to delete version because the following aliases reference it: [{}]",
            aliases.join(", ")
        )),
        Conflict::RevisionMismatch => AwsError::new(ErrorCode::PreconditionFailed, REVISION_MISMATCH),
        Conflict::StatementExists { sid } => AwsError::conflict(format!(
            "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
        )),
        Conflict::PolicyRevisionMismatch { alias: false } => {
            AwsError::new(ErrorCode::PreconditionFailed, REVISION_MISMATCH)
        }
        Conflict::PolicyRevisionMismatch { alias: true } => AwsError::new(
            ErrorCode::PreconditionFailed,
            "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id",
        ),
        // A 400, not a 412, on AWS (unlike a RevisionId that does not match).
        Conflict::CodeShaMismatch { given, current } => AwsError::invalid(format!(
            "CodeSHA256 ({given}) is different from current CodeSHA256 in $LATEST ({current}). Please try again with the CodeSHA256 in $LATEST."
        )),
        Conflict::AliasVersionProvisioned => AwsError::conflict(
            "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
        ),
        Conflict::VersionAliasProvisioned => {
            AwsError::conflict("Version is pointed by a Provisioned Concurrency alias")
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let mut body = Map::new();
        if e.code == ErrorCode::NotImplemented {
            // Hearth's own code, which no model names: also in the body, for clients
            // that read the code from there.
            body.insert("__type".into(), json!(e.code.name()));
        }
        match e.body {
            BodyKeys::Typed => {
                body.insert("Type".into(), json!(e.code.fault_type()));
                body.insert(e.code.message_key().into(), json!(e.message));
            }
            BodyKeys::Untyped => {
                body.insert(e.code.message_key().into(), json!(e.message));
            }
            BodyKeys::NullMessage => {
                body.insert(e.code.message_key().into(), Value::Null);
            }
        }
        if let Some(reason) = &e.reason {
            body.insert("Reason".into(), json!(reason));
        }
        let status =
            StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(Value::Object(body))).into_response();
        resp.headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(e.code.name()));
        if let Some(seconds) = e.retry_after {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        resp
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The router's fallback: an operation of the Lambda model that Hearth does not implement
/// is named in a typed error; any other request is an unknown operation.
pub(crate) async fn unknown_operation(method: Method, uri: Uri) -> Response {
    if let Some(operation) = crate::operations::find(&method, uri.path(), uri.query()) {
        return ApiError(AwsError::new(
            ErrorCode::NotImplemented,
            format!("Hearth does not implement {operation}"),
        ))
        .into_response();
    }
    let mut resp = (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"Type": "User", "message": "Unknown operation"})),
    )
        .into_response();
    resp.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("UnknownOperationException"),
    );
    resp
}

/// For request bodies that are not the JSON the operation expects.
pub(crate) fn bad_content(detail: impl std::fmt::Display) -> ApiError {
    ApiError(AwsError::new(
        ErrorCode::InvalidRequestContent,
        format!("Could not parse request body into json: {detail}"),
    ))
}

#[cfg(test)]
mod tests {
    use hearth_model::State;

    use super::*;

    /// Code name, HTTP status and message of what `e` becomes.
    fn mapped(e: impl Into<EngineError>) -> (&'static str, u16, String) {
        let ApiError(aws) = ApiError::from(e.into());
        (aws.code.name(), aws.code.status(), aws.message)
    }

    fn expect(e: impl Into<EngineError>, code: &'static str, status: u16, message: &str) {
        assert_eq!(mapped(e), (code, status, message.to_string()));
    }

    const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";

    #[test]
    fn not_found_in_lambda_words() {
        const NF: &str = "ResourceNotFoundException";
        let arn = || ARN.to_string();
        expect(
            NotFound::Function { arn: arn() },
            NF,
            404,
            &format!("Function not found: {ARN}"),
        );
        expect(
            NotFound::Alias {
                arn: format!("{ARN}:live"),
            },
            NF,
            404,
            &format!("Alias not found: {ARN}:live"),
        );
        expect(
            NotFound::AliasTarget {
                arn: format!("{ARN}:live"),
            },
            NF,
            404,
            &format!("Cannot find alias arn: {ARN}:live"),
        );
        expect(
            NotFound::EventConfigTarget,
            NF,
            404,
            "The function doesn't exist.",
        );
        expect(
            NotFound::EventConfig {
                arn: format!("{ARN}:$LATEST"),
            },
            NF,
            404,
            &format!("The function {ARN}:$LATEST doesn't have an EventInvokeConfig"),
        );
        expect(
            NotFound::ProvisionedConfig {
                arn: format!("{ARN}:1"),
            },
            "ProvisionedConcurrencyConfigNotFoundException",
            404,
            "No Provisioned Concurrency Config found for this function",
        );
        expect(
            NotFound::LogGroup,
            NF,
            404,
            "The specified log group does not exist.",
        );
    }

    #[test]
    fn conflicts_and_preconditions() {
        const RC: &str = "ResourceConflictException";
        expect(
            Conflict::FunctionExists { name: "f".into() },
            RC,
            409,
            "Function already exist: f",
        );
        expect(
            Conflict::AliasExists {
                arn: format!("{ARN}:live"),
            },
            RC,
            409,
            &format!("Alias already exists: {ARN}:live"),
        );
        expect(
            Conflict::NotActive {
                state: State::Pending,
            },
            RC,
            409,
            "The operation cannot be performed at this time. The function is currently in the following state: Pending",
        );
        expect(
            Conflict::NotActive {
                state: State::Failed,
            },
            RC,
            409,
            "The operation cannot be performed at this time. The function is currently in the following state: Failed",
        );
        expect(
            Conflict::UpdateInProgress { arn: ARN.into() },
            RC,
            409,
            &format!("The operation cannot be performed at this time. An update is in progress for resource: {ARN}"),
        );
        expect(
            Conflict::VersionInUse {
                aliases: vec!["a".into(), "b".into()],
            },
            RC,
            409,
            "Unable to delete version because the following aliases reference it: [a, b]",
        );
        expect(
            Conflict::RevisionMismatch,
            "PreconditionFailedException",
            412,
            REVISION_MISMATCH,
        );
        expect(
            Conflict::CodeShaMismatch {
                given: "x".into(),
                current: "y".into(),
            },
            "InvalidParameterValueException",
            400,
            "CodeSHA256 (x) is different from current CodeSHA256 in $LATEST (y). Please try again with the CodeSHA256 in $LATEST.",
        );
    }

    #[test]
    fn throttles_carry_lambdas_reason_and_retry_after() {
        for (t, reason) in [
            (
                Throttle::ReservedConcurrency,
                "ReservedFunctionConcurrentInvocationLimitExceeded",
            ),
            (
                Throttle::AccountConcurrency,
                "ConcurrentInvocationLimitExceeded",
            ),
        ] {
            let ApiError(aws) = ApiError::from(EngineError::Throttled(t));
            assert_eq!(aws.code.name(), "TooManyRequestsException");
            assert_eq!(aws.code.status(), 429);
            assert_eq!(aws.message, "Rate Exceeded.");
            assert_eq!(aws.reason.as_deref(), Some(reason));
            assert_eq!(aws.retry_after, Some(1));
        }
    }

    #[test]
    fn client_mistakes_keep_their_message() {
        const IPV: &str = "InvalidParameterValueException";
        expect(
            EngineError::Invalid("no such destination".into()),
            IPV,
            400,
            "no such destination",
        );
        expect(
            EngineError::RuntimeNotInstalled {
                runtime: "python3.12".into(),
                available: vec!["nodejs20.x".into(), "python3.11".into()],
            },
            IPV,
            400,
            "The runtime parameter of python3.12 is not supported by this Hearth host. Available runtimes: [nodejs20.x, python3.11]. Install a runtime with `hearth runtime install`.",
        );
        expect(
            EngineError::MissingMember("qualifier"),
            "ValidationException",
            400,
            "1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: Member must not be null",
        );
        expect(
            EngineError::TooLarge {
                what: Size::Unzipped,
                limit: 262144000,
            },
            IPV,
            400,
            "Unzipped size must be smaller than 262144000 bytes",
        );
        expect(
            EngineError::BadZip,
            IPV,
            400,
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        );
        expect(
            EngineError::CodeUnusable("Could not unzip the deployment package: x".into()),
            "InvalidZipFileException",
            502,
            "Could not unzip the deployment package: x",
        );
    }

    #[test]
    fn hearths_own_failures_say_little() {
        expect(
            EngineError::internal("database: malformed"),
            "ServiceException",
            500,
            INTERNAL,
        );
        let full = EngineError::DiskFull("database: database or disk is full".into());
        let (code, status, message) = mapped(full);
        assert_eq!((code, status), ("ServiceException", 500));
        assert_eq!(message, DISK_FULL);
        assert!(
            message.starts_with("Hearth could not store this change: the file system of its data directory is full. Free space there"),
            "{message}"
        );
    }
}
