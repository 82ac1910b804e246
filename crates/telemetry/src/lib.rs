//! Lambda's Telemetry API (2022-07-01) and Logs API (2020-08-15) for one execution
//! environment: subscriptions, the records Lambda sends, and their buffered delivery to
//! extensions.
//!
//! The Runtime API server (the wiring) routes `PUT /2022-07-01/telemetry` and
//! `PUT /2020-08-15/logs` to [`Hub::subscribe`] with the caller resolved from its
//! `Lambda-Extension-Identifier`; the engine calls [`Hub::publish`] with each [`Event`] (and
//! the function's and extensions' log lines), [`Hub::close_subscriptions`] when Init ends and
//! [`Hub::shutdown`] when the environment ends. See `docs/telemetry.md`.

/// The header that names the calling extension on a subscribe request (its value is the
/// identifier the Extensions API's register call answered with).
pub const EXTENSION_IDENTIFIER_HEADER: &str = "Lambda-Extension-Identifier";

pub mod bounds;
pub mod buffer;
pub mod destination;
pub mod event;
pub mod hub;
pub mod subscriber;
pub mod subscription;
pub mod transport;

#[cfg(test)]
mod test_support;

pub use destination::{Destination, EnvironmentAddress, Protocol, Resolver};
pub use event::{Event, LogLine, Record};
pub use hub::{Caller, Hub};
pub use subscriber::{Clock, Subscriber, SystemClock};
pub use subscription::{
    parse_subscription, Api, Buffering, EventType, SchemaVersion, SubscribeError, Subscription,
    OK_BODY,
};
