//! EventBridge Scheduler's control plane on Hearth: schedule groups (the `default` one of
//! each account always there), schedules and the groups' tags, as botocore's `scheduler`
//! model (2021-06-30) shapes them, over the store's `EventsStore`. Its REST-JSON wire is
//! in `hearth-api` (`scheduler.rs`).
//!
//! What the firing engine reads: [`records::ScheduleRecord`] (with its
//! [`timing`](records::ScheduleRecord::timing), [`window`](records::ScheduleRecord::window)
//! and target, AWS's defaults filled in), [`Scheduler::all_schedules`],
//! [`Scheduler::changed`] (notified after every write) and
//! [`Scheduler::delete_completed`]. Hearth's own [`Scheduler::schedule_fire_times`] tells
//! when a schedule fires next, by the same timing.
//!
//! Every AWS message is in the `messages` module, each with where it was read and those
//! not seen in an AWS answer marked UNSURE. Expressions are `hearth-schedule`'s.

pub mod arn;
mod checks;
mod error;
mod fire_times;
mod messages;
pub mod records;
pub mod requests;
mod schedules;
mod service;
mod tagging;
mod validate;

#[cfg(test)]
mod tests;

pub use error::{status_of, SchedulerError};
pub use service::{Clock, Scheduler};
pub use validate::{DEFAULT_EVENT_AGE_S, DEFAULT_RETRY_ATTEMPTS, MAX_INPUT_CHARS};
