//! Hearth's state: function metadata (with versions, aliases and concurrency settings),
//! logs, the async invocation queue, and code as content-addressed zip blobs, each
//! unpacked once per hash and shared by every environment that runs it, and collected
//! when nothing uses it any more.
//!
//! Callers hold a [`Store`], whose parts are the traits of [`traits`] (metadata with its
//! change notifications, code, logs, the queue, and what the group-commit [`Writer`]
//! applies). The embedded implementation is [`SqliteStore`]: SQLite (WAL) in the data
//! directory, its schema versioned by `migrations.rs`.

mod access_keys;
mod audit;
mod blobs;
mod chunk;
mod code_gc;
mod concurrency;
mod console;
mod db;
mod deliveries;
mod error;
mod event_config;
mod events;
pub mod fleet;
mod handle;
mod http_apis;
mod kms;
mod layer_trees;
mod layers;
mod logs;
mod mappings;
mod metrics;
mod migrations;
mod notify;
mod pg;
pub mod private;
mod queue;
mod resources;
mod retention;
mod roles;
mod schemas;
pub mod seal;
mod sealed_env;
mod sns;
mod space;
mod sqlite;
mod sqs;
mod tokens;
pub mod traits;
mod versions;
mod writer;
mod writer_queue;

pub use access_keys::StoredKey;
pub use blobs::{inspect_zip, ZipInfo};
pub use chunk::LogChunk;
pub use code_gc::CodePin;
pub use deliveries::Delivery;
pub use error::{StoreError, WriteError};
pub use events::EventDelivery;
pub use fleet::{FleetStore, Lease, NodeRecord, Standing};
pub use handle::Store;
pub use kms::KmsKeyInfo;
pub use layer_trees::composition_key;
pub use logs::{LogBatch, LogEvent, LogGroupInfo, LogQuery, LogScan, LogStreamInfo, LINES_PER_ROW};
pub use metrics::{MeterRow, MetricPoint, MetricSeries};
pub use notify::{MetadataChange, Notifier, Subscriber, Subscription};
pub use pg::{migrate_url as migrate_postgres, PgStore};
pub use queue::{Progress, QueueOp, QueuedEvent, SEQ_BLOCK};
pub use retention::RETENTION_DAYS;
pub use sns::SnsDelivery;
pub use sqlite::SqliteStore;
pub use sqs::{SqsMessageRow, SqsMoveTaskRow, SqsOp, SqsQueueRow};
pub use tokens::TokenLease;
pub use traits::{
    AuditStore, ChangeStore, CodeStore, ConsoleStore, Edited, EventsStore, HttpApiStore, KeyStore,
    KmsStore, LayerStore, LogStore, MappingStore, MetadataStore, MetricStore, QueueStore,
    ResourceStore, RoleStore, SchemaRow, SchemaStore, SnsStore, SqsStore,
};
pub use versions::Publish;
pub use writer::{Ack, Change, CommitHook, Committed, Durability, Writer, LOG_BACKLOG};
