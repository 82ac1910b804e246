//! Event-source mappings: what polls an SQS queue for a function and invokes it with
//! batches of messages (`docs/event-source-mappings.md`).
//!
//! The mappings' records are in the store (`MappingStore`); the control plane
//! (`crates/api/src/event_source_mappings.rs`) writes them and this crate follows them.

pub mod client;
pub mod endpoints;
pub mod event;
pub mod filter;
pub mod http;
pub mod local;
pub mod metrics;

pub use client::{QueueClient, QueueClients, QueueError};
pub use hearth_triggers::BoxFuture;
mod dwell;
mod poller;
mod source;

pub use endpoints::{Endpoints, Override};
pub use local::LocalQueues;
pub use metrics::{EventCount, MappingMetrics};
pub use poller::DEFAULT_POLLERS;
pub use source::MappingSource;
