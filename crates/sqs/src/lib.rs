//! `hearth-sqs`: an SQS-compatible queue service behind a typed handle, [`Sqs`]. It knows
//! nothing of HTTP (the wire protocols are in `hearth-api`'s `sqs` module): each
//! operation takes the queue ([`QueueId`], parsed from a URL or ARN) and typed arguments,
//! and answers typed results or an [`SqsError`] that carries what both protocols need.
//!
//! State: queues, messages, deletion times and move tasks are in the store
//! ([`hearth_store::SqsStore`]), written by a group commit before an operation is
//! answered (`commit.rs`); what changes on every receive (visibility, receipts, FIFO
//! group locks) is in memory (`queue.rs`).
//!
//! Fleet: the in-memory state is one node's, so on a shared store one node serves SQS at
//! a time, the holder of the store lease `sqs` (`fleet.rs`). [`Sqs`] works the same
//! on every node (`handle.rs`): where it does not serve, each operation goes to
//! the holder as a typed call (`call.rs`) through the server's [`Relay`] (`relay.rs`),
//! and is answered as if local. Long polls wait at the holder, where every send arrives.

mod attributes;
mod batch;
mod call;
mod commit;
mod error;
mod fleet;
mod handle;
mod md5;
mod message;
mod messages;
mod meter;
mod move_task;
mod policy;
mod queue;
mod queues;
mod relay;
mod service;

pub use attributes::{MAX_MESSAGE_SIZE, MAX_VISIBILITY, MAX_WAIT};
pub use batch::{check_batch, EntryResult};
pub use error::{ErrorKind, SqsError};
pub use fleet::LEASE;
pub use handle::Sqs;
pub use md5::{md5_hex, md5_of_attributes};
pub use message::{
    MessageAttributeValue, OutgoingMessage, ReceiveRequest, ReceivedMessage, SendRequest,
    SentMessage,
};
pub use meter::{Activity, QueueActivity, QueueDepth, Sizes, ACTIVE_FOR_MS};
pub use move_task::{move_task_source, MoveTaskInfo};
pub use queue::Counts;
pub use relay::{Holder, Relay, RelayError};
pub use service::{Page, QueueId, REGION};
