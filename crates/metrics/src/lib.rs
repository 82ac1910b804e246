//! Hearth's CloudWatch: metric series kept at one-minute resolution (and rolled up beyond
//! the retention of that), the statistics and metric math AWS's GetMetricStatistics and
//! GetMetricData answer, custom metrics (PutMetricData and the Embedded Metric Format in
//! functions' logs), and metric alarms with their evaluation and actions.
//!
//! [`CloudWatch`] is the service: it takes an operation's input in its AWS JSON 1.0 form
//! (what the wire codecs of `hearth-api` decode every protocol into) and answers its output
//! in the same form, or a [`CloudWatchError`]. State is behind the store's `MetricStore`;
//! what is recorded goes through the in-memory [`Recorder`] first.

mod alarm_checks;
mod alarm_data;
pub mod alarm_eval;
pub mod alarm_evaluator;
mod alarm_history;
pub mod alarm_model;
pub mod alarm_notify;
mod alarm_put;
mod alarm_state;
mod alarm_time;
mod alarms;
#[cfg(test)]
mod alarms_tests;
mod data;
pub mod emf;
mod error;
pub mod expr;
pub mod get_data;
mod get_statistics;
mod list;
#[cfg(test)]
mod mem_store;
mod params;
pub mod point;
#[cfg(test)]
mod proptests;
mod put;
mod query;
pub mod recorder;
pub mod rollup;
pub mod series;
mod service;
pub mod statistic;
pub mod stats;
#[cfg(test)]
mod tests;

pub use alarm_eval::Datapoint;
pub use alarm_evaluator::{AlarmActions, AlarmData, BoxFuture, EvaluationReport, MetricQuery};
pub use emf::EmfError;
pub use error::CloudWatchError;
pub use get_data::QueryResult;
pub use query::MetricRef;
pub use recorder::Recorder;
pub use rollup::{Retention, RollupReport};
pub use series::Unit;
pub use service::{Clock, CloudWatch};
pub use stats::Stats;
