//! The logic of Hearth's EventBridge that needs no store and no network: the event envelope
//! AWS builds ([`Envelope`]), the checks of a PutEvents entry and request ([`validate_entry`],
//! [`check_request`]), and what a rule's target receives ([`TargetInput`], [`shape`]) with
//! the JSONPath subset EventBridge evaluates ([`JsonPath`]). Events are held as [`Json`],
//! which keeps object keys in the order the sender wrote them, as AWS delivers them.
//!
//! [`EventBridge`] is the control plane over the store's `EventsStore`: buses (the
//! `default` one of each account always there), rules, their targets, tags and
//! TestEventPattern; its AWS JSON 1.1 wire is in `hearth-api`. Nothing is delivered yet.
//!
//! Every AWS message is in the `messages` module, each with where it was read and those not
//! seen in an AWS answer marked UNSURE. Rule matching is `hearth-patterns`' job.

pub mod arn;
mod checks;
mod delivery;
mod entry;
mod envelope;
mod error;
mod input;
mod job;
mod json;
mod jsonpath;
mod messages;
mod put_events;
pub mod records;
pub mod requests;
mod routing;
mod rules;
mod service;
mod tagging;
mod targets;
mod template;
mod timer;

pub use delivery::{Deliveries, Outgoing, TargetError, Targets, PRINCIPAL, SCHEDULER_PRINCIPAL};
pub use entry::{
    check_request, entry_size, validate_entry, EntryError, PutEventsEntry, RequestError,
    ValidEntry, MAX_DETAIL_TYPE_CHARS, MAX_ENTRIES, MAX_REQUEST_SIZE, TIME_SIZE,
};
pub use envelope::{Envelope, EventTime, SCHEDULED_DETAIL_TYPE, SCHEDULED_SOURCE};
pub use error::EventsError;
pub use input::{
    shape, InputError, RuleContext, TargetInput, TargetInputFields, Transformer, TransformerFields,
    EVENT, EVENT_JSON, INGESTION_TIME, MAX_INPUT_CHARS, MAX_NAME_CHARS, MAX_PATHS, MAX_PATH_CHARS,
    MAX_TEMPLATE_CHARS, PREDEFINED, RULE_ARN, RULE_NAME,
};
pub use job::{Failure, Job, Sender};
pub use json::Json;
pub use jsonpath::{JsonPath, PathError};
pub use put_events::Caller;
pub use service::{Clock, EventBridge};
pub use targets::{TargetKind, MAX_TARGETS};
pub use timer::{
    next_slot, Fire, RuleFire, ScheduledRules, ScheduledTarget, Timed, Timer, Timetable,
};
