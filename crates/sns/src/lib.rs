//! Hearth's SNS-compatible service: topics (standard and FIFO), subscriptions of protocols
//! `lambda`, `sqs`, `http` and `https`, Publish and PublishBatch, and the delivery of every
//! accepted message at least once, in AWS's envelopes, signed as AWS signs them.
//!
//! [`Sns`] is the typed service the API layer calls (its query-protocol wire is in
//! `hearth-api`); [`Deliveries`] is the event source that delivers what Publish queued,
//! through the `Invoker` (Lambda), HTTP, or a [`QueueSink`] (SQS). State lives behind the
//! store's `SnsStore`.

pub mod arn;
mod delivery;
pub mod envelope;
mod error;
pub mod filter;
pub mod message;
mod permission;
pub mod retry;
mod service;
pub mod sign;
mod sink;
pub mod subscription;
pub mod tags;
pub mod topic;

pub use delivery::Deliveries;
pub use error::SnsError;
pub use message::{MessageAttribute, PublishInput};
pub use service::{BatchEntry, BatchFailure, Job, Published, Sns, SnsConfig, SubscriptionSummary};
pub use sink::{NoQueues, QueueMessage, QueueSink, SinkError};
pub use tags::Tag;

/// A boxed future, for the traits here that are used as trait objects.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
