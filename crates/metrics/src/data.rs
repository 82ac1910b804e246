//! The data operations of CloudWatch.

use serde_json::Value;

use crate::{CloudWatch, CloudWatchError};

/// The operations this module answers.
pub(crate) const OPERATIONS: &[&str] = &[];

/// Runs one of [`OPERATIONS`].
pub(crate) async fn call(
    _cw: &CloudWatch,
    _account: &str,
    op: &str,
    _input: Value,
) -> Result<Value, CloudWatchError> {
    Err(CloudWatchError::unknown_operation(op))
}
