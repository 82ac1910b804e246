//! Hearth's CloudWatch: metric series kept at one-minute resolution (and rolled up beyond
//! the retention of that), the statistics and metric math AWS's GetMetricStatistics and
//! GetMetricData answer, custom metrics (PutMetricData and the Embedded Metric Format in
//! functions' logs), and metric alarms with their evaluation and actions.
//!
//! [`CloudWatch`] is the service: it takes an operation's input in its AWS JSON 1.0 form
//! (what the wire codecs of `hearth-api` decode every protocol into) and answers its output
//! in the same form, or a [`CloudWatchError`]. State is behind the store's `MetricStore`.

mod alarms;
mod data;
mod error;
mod service;

pub use error::CloudWatchError;
pub use service::{Clock, CloudWatch};
