//! Event sources and the one way they run functions.
//!
//! Everything that makes a function run — the control plane's Invoke, the asynchronous
//! queue's dispatcher, and later function URLs, queue and stream mappings, schedules,
//! rules and storage notifications — is an event source. A source is handed an
//! [`Invoker`] and nothing else of the engine: through it, it invokes a function and
//! waits for the answer ([`Invoker::invoke`]: resolution, admission, the environment,
//! logs, all in the engine's one invoke path) or hands an event to the durable
//! asynchronous queue ([`Invoker::enqueue`]).
//!
//! A source that runs on its own (polls, listens, keeps time) implements
//! [`EventSource`]; the server builds the sources it runs and starts them under one
//! [`Host`], which stops them in the reverse order at shutdown. The queue behind
//! `enqueue` is a trait here, [`EventQueue`], implemented by `hearth-events`, so that this
//! crate sits below the queue and its dispatcher (itself a source) rather than beside
//! them. `docs/event-sources.md` says how to add a source.

mod host;
mod invoker;
mod outbound;
mod queue;
mod source;
#[cfg(test)]
mod test_support;

pub use host::{Host, StartError};
pub use invoker::{EnqueueRequest, Invoker};
pub use outbound::{MessageAttribute, MessageSink, OutboundMessage, SendError};
pub use queue::{EventQueue, InvocableEvent, QueueStats};
pub use source::{
    BoxFuture, EventSource, RunningSource, SourceContext, SourceError, SpawnedSource,
};

/// What an invocation answers and how it fails, in the engine's terms.
pub use hearth_engine::{
    EngineError, InvokeRequest, InvokeResponse, StreamEnd, StreamError, StreamEvent, StreamedInvoke,
};

/// What a queue tells the engine of an event it ran (for its trace's `Dwell Time`).
pub use hearth_engine::observe::Queued;
