//! Hearth's domain model: function configuration, validation and limits, ARNs and
//! qualifiers, error codes, and the AWS Lambda JSON shapes (botocore's
//! `lambda/2015-03-31` model is the authority on names and constraints).

pub mod alias;
pub mod arn;
pub mod audit;
pub mod caller;
pub mod concurrency;
pub mod egress;
pub mod error;
pub mod event_invoke;
pub mod event_source_mapping;
pub mod fast_map;
pub mod first_violation;
pub mod function;
pub mod function_settings;
pub mod function_url;
pub mod iam;
pub mod layer;
pub mod limits;
pub mod log_filter;
pub mod policy;
pub mod settings;
pub mod shapes;
pub mod tags;
/// Sample records for tests (the `testing` feature).
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod validate;
pub mod violations;

pub use arn::{FunctionRef, NameShape};
pub use error::{AwsError, BodyKeys, ErrorCode, ThrottleReason};
pub use fast_map::FastMap;
pub use function::{FunctionConfig, LastUpdateStatus, State};
pub use violations::Violations;
