//! Hearth's domain model: function configuration, validation and limits, ARNs and
//! qualifiers, error codes, and the AWS Lambda JSON shapes (botocore's
//! `lambda/2015-03-31` model is the authority on names and constraints).

pub mod alias;
pub mod arn;
pub mod concurrency;
pub mod error;
pub mod event_invoke;
pub mod function;
pub mod limits;
pub mod log_filter;
pub mod shapes;
/// Sample records for tests (the `testing` feature).
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod validate;

pub use arn::FunctionRef;
pub use error::{AwsError, ErrorCode, ThrottleReason};
pub use function::{FunctionConfig, LastUpdateStatus, State};
