//! The data operations of CloudWatch: PutMetricData ([`crate::put`]),
//! GetMetricStatistics ([`crate::get_statistics`]), GetMetricData
//! ([`crate::get_data`]) and ListMetrics ([`crate::list`]).
//!
//! # Query API for alarms
//!
//! Alarms (and other crates) read metrics through two public methods of [`CloudWatch`]; both flush the recorder
//! first, so that an evaluation sees everything recorded on this node:
//!
//! - [`CloudWatch::metric_datapoints`]`(account, &MetricRef { namespace, name,
//!   dimensions }, period_s, &Statistic, unit, from_ms, to_ms)` answers
//!   `Vec<(period_start_ms, value)>` in time order: periods counted from `from_ms`
//!   rounded as AWS rounds a request's start, periods without data absent. Parse the
//!   alarm's `Statistic` with [`crate::statistic::Statistic::plain`] and its
//!   `ExtendedStatistic` with [`crate::statistic::Statistic::parse`]; `dimensions` must
//!   be sorted by name ([`crate::series::sorted_dimensions`]).
//! - [`CloudWatch::evaluate_queries`]`(account, &metrics, from_ms, to_ms)` evaluates an
//!   alarm's `Metrics` (a `MetricDataQueries` list in its AWS JSON form) as GetMetricData
//!   does and answers one `QueryResult { id, label, return_data, points }` per query,
//!   points in ascending time; the alarm's value is the one with `return_data`.

use serde_json::Value;

use crate::{get_data, get_statistics, list, put, CloudWatch, CloudWatchError};

/// The operations this module answers.
pub(crate) const OPERATIONS: &[&str] = &[
    "PutMetricData",
    "GetMetricStatistics",
    "GetMetricData",
    "ListMetrics",
];

/// Runs one of [`OPERATIONS`].
pub(crate) async fn call(
    cw: &CloudWatch,
    account: &str,
    op: &str,
    input: Value,
) -> Result<Value, CloudWatchError> {
    match op {
        "PutMetricData" => put::put_metric_data(cw, account, &input),
        "GetMetricStatistics" => get_statistics::get_metric_statistics(cw, account, &input),
        "GetMetricData" => get_data::get_metric_data(cw, account, &input),
        "ListMetrics" => list::list_metrics(cw, account, &input),
        _ => Err(CloudWatchError::unknown_operation(op)),
    }
}
