//! The AWS error vocabulary shared by every layer: a code (which fixes the HTTP status
//! and the `x-amzn-ErrorType` header) and a message that reaches the client unchanged.

use std::fmt;

/// An error code from the Lambda API (plus `ValidationException`, which AWS's request
/// framework returns for model-constraint violations before Lambda sees the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    ResourceNotFound,
    InvalidParameterValue,
    Validation,
    ResourceConflict,
    /// The resource is in a state that does not allow the operation (an event-source
    /// mapping being deleted).
    ResourceInUse,
    TooManyRequests,
    PreconditionFailed,
    RequestTooLarge,
    /// A request body over the API's size limit (AWS's front end, not Lambda, answers it).
    RequestEntityTooLarge,
    InvalidRequestContent,
    UnsupportedMediaType,
    ProvisionedConcurrencyConfigNotFound,
    /// Lambda could not unzip the deployment package (502, a fault).
    InvalidZipFile,
    /// The request may not be made at all (a foreign `Host` or `Origin`).
    AccessDenied,
    /// Recursive loop detection stopped the invocation (400, botocore's model).
    RecursiveInvocation,
    Service,
    /// An operation of the Lambda model that Hearth does not implement (Hearth's own code).
    NotImplemented,
}

impl ErrorCode {
    /// The name sent in `x-amzn-ErrorType`, which botocore turns into the exception class.
    pub fn name(self) -> &'static str {
        match self {
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::InvalidParameterValue => "InvalidParameterValueException",
            Self::Validation => "ValidationException",
            Self::ResourceConflict => "ResourceConflictException",
            Self::ResourceInUse => "ResourceInUseException",
            Self::TooManyRequests => "TooManyRequestsException",
            Self::PreconditionFailed => "PreconditionFailedException",
            Self::RequestTooLarge => "RequestTooLargeException",
            Self::RequestEntityTooLarge => "RequestEntityTooLargeException",
            Self::InvalidRequestContent => "InvalidRequestContentException",
            Self::UnsupportedMediaType => "UnsupportedMediaTypeException",
            Self::ProvisionedConcurrencyConfigNotFound => {
                "ProvisionedConcurrencyConfigNotFoundException"
            }
            Self::InvalidZipFile => "InvalidZipFileException",
            Self::AccessDenied => "AccessDeniedException",
            Self::RecursiveInvocation => "RecursiveInvocationException",
            Self::Service => "ServiceException",
            Self::NotImplemented => "NotImplementedException",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::ResourceNotFound | Self::ProvisionedConcurrencyConfigNotFound => 404,
            // NotImplemented is a 4xx so that no SDK retries it (botocore and the other AWS
            // SDKs retry 429 and 5xx), and not a 404, which some clients read as "the
            // resource is absent" and would take for an empty answer.
            Self::InvalidParameterValue
            | Self::Validation
            | Self::InvalidRequestContent
            | Self::ResourceInUse
            | Self::RecursiveInvocation
            | Self::NotImplemented => 400,
            Self::ResourceConflict => 409,
            Self::TooManyRequests => 429,
            Self::PreconditionFailed => 412,
            Self::RequestTooLarge | Self::RequestEntityTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::InvalidZipFile => 502,
            Self::AccessDenied => 403,
            Self::Service => 500,
        }
    }

    /// The body key botocore's model names for this error's message (it varies).
    pub fn message_key(self) -> &'static str {
        match self {
            Self::ResourceNotFound
            | Self::InvalidZipFile
            | Self::AccessDenied
            | Self::Service
            | Self::RecursiveInvocation => "Message",
            _ => "message",
        }
    }

    /// The body keys AWS sends for this code unless a message says otherwise: Lambda's own
    /// errors carry `Type`; the request validator's and the front end's (ValidationException,
    /// RequestEntityTooLargeException) only the message.
    pub fn default_body(self) -> BodyKeys {
        match self {
            Self::Validation | Self::RequestEntityTooLarge => BodyKeys::Untyped,
            _ => BodyKeys::Typed,
        }
    }

    /// Lambda reports client mistakes as `"Type":"User"` and its own faults as `"Service"`.
    pub fn fault_type(self) -> &'static str {
        match self {
            Self::Service | Self::InvalidZipFile => "Service",
            _ => "User",
        }
    }
}

/// Which keys an error's JSON body has, as AWS's recorded answers show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKeys {
    /// `Type` and the message (most of Lambda's errors).
    Typed,
    /// The message alone (the request validator's errors and some of Lambda's).
    Untyped,
    /// The message key with `null` and nothing else (a function ARN of another account).
    NullMessage,
}

/// An error a client sees: code plus message (and, for throttles, a reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub code: ErrorCode,
    pub message: String,
    pub body: BodyKeys,
    pub reason: Option<String>,
    /// Seconds a throttled client should wait (`Retry-After`).
    pub retry_after: Option<u32>,
}

impl AwsError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            body: code.default_body(),
            reason: None,
            retry_after: None,
        }
    }

    /// The same error with a body of `Type`-less keys.
    pub fn untyped(self) -> Self {
        Self {
            body: BodyKeys::Untyped,
            ..self
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceConflict, message)
    }

    pub fn service(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Service, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFound, message)
    }

    /// `ValidationException` in the wording of AWS's request validator, for one violation.
    pub fn constraint(value: &str, field: &str, constraint: &str) -> Self {
        let mut v = crate::violations::Violations::new();
        v.value(value, field, constraint);
        v.into_error().expect("one violation")
    }

    /// A required member that is absent.
    pub fn null_member(field: &str) -> Self {
        let mut v = crate::violations::Violations::new();
        v.null(field);
        v.into_error().expect("one violation")
    }

    /// A throttle: 429 with Lambda's `Reason` and a `Retry-After` of one second.
    pub fn throttled(reason: ThrottleReason) -> Self {
        Self {
            reason: Some(reason.as_str().to_string()),
            retry_after: Some(1),
            ..Self::new(ErrorCode::TooManyRequests, "Rate Exceeded.")
        }
    }

    /// The message Lambda uses for an unknown function.
    pub fn function_not_found(arn: &str) -> Self {
        Self::not_found(format!("Function not found: {arn}"))
    }
}

/// Why an invocation was throttled (botocore's `ThrottleReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleReason {
    /// The account's unreserved concurrency is all in use.
    ConcurrentInvocationLimitExceeded,
    /// The function's reserved concurrency is all in use (or is 0).
    ReservedFunctionConcurrentInvocationLimitExceeded,
}

impl ThrottleReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConcurrentInvocationLimitExceeded => "ConcurrentInvocationLimitExceeded",
            Self::ReservedFunctionConcurrentInvocationLimitExceeded => {
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            }
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
    }
}

impl std::error::Error for AwsError {}
