//! Every AWS error code and message this crate produces, in one place, each with where it
//! was read. Messages marked UNSURE were not seen in an AWS response: they follow the form of
//! AWS's neighbouring messages and may differ from AWS's exact words.

// --- PutEvents, per entry (reported in `Entries[]`, the request itself succeeds) ---

/// Error code for a missing or invalid parameter of an entry (PutEventsResultEntry docs).
pub(crate) const INVALID_ARGUMENT: &str = "InvalidArgument";
/// Error code for a `Detail` that is not a JSON object (PutEventsResultEntry docs).
pub(crate) const MALFORMED_DETAIL: &str = "MalformedDetail";
/// Error code for a source in the `aws.` namespace (PutEventsResultEntry docs).
pub(crate) const NOT_AUTHORIZED_FOR_SOURCE: &str = "NotAuthorizedForSourceException";

/// Seen in AWS answers (and kept by moto and LocalStack) for a missing `Source`.
pub(crate) const SOURCE_REQUIRED: &str =
    "Parameter Source is not valid. Reason: Source is a required argument.";
/// As [`SOURCE_REQUIRED`], for `DetailType`.
pub(crate) const DETAIL_TYPE_REQUIRED: &str =
    "Parameter DetailType is not valid. Reason: DetailType is a required argument.";
/// As [`SOURCE_REQUIRED`], for `Detail`.
pub(crate) const DETAIL_REQUIRED: &str =
    "Parameter Detail is not valid. Reason: Detail is a required argument.";
/// Seen in AWS answers for a `Detail` that does not parse as a JSON object.
pub(crate) const DETAIL_MALFORMED: &str = "Detail is malformed.";
/// Seen in AWS answers (reported by users) for `Source: "aws.…"` from a caller.
pub(crate) const SOURCE_NOT_AUTHORIZED: &str = "Not authorized for the source.";
/// UNSURE: the model documents DetailType as "a maximum of 128 characters" but no message
/// for a longer one was found; this follows the `Parameter X is not valid` form.
pub(crate) const DETAIL_TYPE_TOO_LONG: &str =
    "Parameter DetailType is not valid. Reason: DetailType exceeds 128 characters.";
/// UNSURE: a `Time` outside years 0000-9999 cannot be written as RFC 3339; AWS's answer to
/// one was not found.
pub(crate) const TIME_OUT_OF_RANGE: &str =
    "Parameter Time is not valid. Reason: Time is out of range.";

// --- PutEvents, whole request (ValidationException) ---

/// Seen in AWS answers (and kept by LocalStack) when the entries add up to more than 256 KB.
pub(crate) const REQUEST_TOO_LARGE: &str =
    "Total size of the entries in the request is over the limit.";

// --- PutTargets (ValidationException) ---

/// Recorded from AWS (LocalStack's validated snapshot) for a target with more than one of
/// `Input`, `InputPath`, `InputTransformer`.
pub(crate) fn only_one_input(target_id: &str) -> String {
    format!("Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}.")
}

/// Recorded from AWS (LocalStack's validated snapshot) for a `<name>` in `InputTemplate`
/// that is neither in `InputPathsMap` nor predefined.
pub(crate) fn invalid_placeholder(target_id: &str, name: &str) -> String {
    format!("InputTemplate for target {target_id} contains invalid placeholder {name}.")
}

/// UNSURE: AWS refuses a JSON `InputTemplate` that is not valid JSON once its placeholders
/// are filled, with a message of this form followed by its parser's (Jackson's) complaint,
/// which cannot be reproduced; `reason` is serde_json's.
pub(crate) fn invalid_template(target_id: &str, reason: &str) -> String {
    format!("Invalid InputTemplate for target {target_id} : {reason}")
}

/// UNSURE: the model says `Input` is "Valid JSON text"; AWS's words for one that is not
/// were not found.
pub(crate) fn invalid_input(target_id: &str, reason: &str) -> String {
    format!("Invalid Input for target {target_id} : {reason}")
}

/// UNSURE: AWS's words for an `InputPath` outside the supported JSONPath subset were not
/// found (the user guide once said paths are not validated at all).
pub(crate) fn invalid_input_path(target_id: &str, reason: &str) -> String {
    format!("Invalid InputPath for target {target_id} : {reason}")
}

/// UNSURE: as [`invalid_input_path`], for a value of `InputPathsMap`.
pub(crate) fn invalid_paths_map_path(target_id: &str, name: &str, reason: &str) -> String {
    format!("Invalid InputPathsMap for target {target_id} : path of {name} : {reason}")
}

/// The service framework's message for a value that breaks a constraint of the model,
/// e.g. `Member must have length less than or equal to 8192`. The form is AWS's (seen on
/// every AWS JSON service); how a map or a long value is shown inside `Value '…'` is UNSURE.
pub(crate) fn constraint(value: &str, at: &str, constraint: &str) -> String {
    hearth_model::first_violation::message(value, at, constraint)
}

// --- The control plane (buses, rules, targets, tags) ---

/// Seen in AWS answers (and kept by moto and LocalStack): a rule missing on its bus.
pub(crate) fn no_rule(rule: &str, bus: &str) -> String {
    format!("Rule {rule} does not exist on EventBus {bus}.")
}

/// Seen in AWS answers (and kept by moto and LocalStack): a bus that does not exist.
pub(crate) fn no_bus(bus: &str) -> String {
    format!("Event bus {bus} does not exist.")
}

/// Seen in AWS answers (and kept by moto and LocalStack): CreateEventBus of a taken name.
pub(crate) fn bus_exists(bus: &str) -> String {
    format!("Event bus {bus} already exists.")
}

/// Seen in AWS answers (and kept by moto): DeleteEventBus of `default`.
pub(crate) const CANNOT_DELETE_DEFAULT: &str = "Cannot delete event bus default.";

/// Seen in AWS answers (and kept by moto): DeleteRule of a rule with targets, without Force.
pub(crate) const RULE_HAS_TARGETS: &str = "Rule can't be deleted since it has targets.";

/// Kept by moto as AWS's answer to a PutRule with neither a pattern nor a schedule;
/// UNSURE whether AWS words it exactly so.
pub(crate) const PATTERN_OR_SCHEDULE: &str =
    "Parameter(s) EventPattern or ScheduleExpression must be specified.";

/// Kept by moto as AWS's answer to a schedule on a bus other than `default`; UNSURE.
pub(crate) const SCHEDULE_ON_DEFAULT_ONLY: &str =
    "ScheduleExpression is supported only on the default event bus.";

/// Kept by moto as AWS's answer to a bus name with `/` without a partner event source;
/// UNSURE.
pub(crate) const BUS_NAME_SLASH: &str = "Event bus name must not contain '/'.";

/// UNSURE: Hearth has no partner event sources; this follows AWS's `does not exist` form.
pub(crate) fn no_event_source(source: &str) -> String {
    format!("Event source {source} does not exist.")
}

/// UNSURE: AWS's LimitExceededException text for a sixth target of a rule (the quota is
/// five per rule) was not found; LocalStack answers with this generic quota text.
pub(crate) const TOO_MANY_TARGETS: &str =
    "The requested resource exceeds the maximum number allowed.";

/// UNSURE: the `ErrorCode` and words of a `FailedEntries` entry for a target whose ARN
/// names a service Hearth does not deliver to.
pub(crate) fn unsupported_target(arn: &str) -> String {
    format!("Hearth delivers to Lambda functions, SQS queues, SNS topics and event buses only; {arn} is none of them.")
}

/// UNSURE: a `DeadLetterConfig.Arn` that is not an SQS queue; AWS's words were not found.
pub(crate) fn dead_letter_not_queue(target_id: &str) -> String {
    format!("Dead-letter queue of target {target_id} must be an SQS queue ARN.")
}

/// UNSURE: the `ErrorCode`/`ErrorMessage` of a RemoveTargets entry naming no target of
/// the rule.
pub(crate) fn no_target(target_id: &str, rule: &str) -> String {
    format!("Target {target_id} does not exist on rule {rule}.")
}

/// UNSURE: a tag operation's ARN that names neither a rule nor a bus.
pub(crate) fn no_resource(arn: &str) -> String {
    format!("Resource {arn} does not exist.")
}

/// Recorded from AWS (LocalStack's validated snapshot) for a TestEventPattern `Event`
/// that is not JSON or lacks a mandatory field.
pub(crate) const EVENT_NOT_VALID: &str = "Parameter Event is not valid.";

/// UNSURE: a NextToken Hearth did not hand out.
pub(crate) const BAD_NEXT_TOKEN: &str = "The NextToken provided is not valid.";

/// UNSURE: a PutEvents entry for a bus that does not exist. AWS reports it in the entry
/// (the other entries go through) with the not-found code and the message DescribeEventBus
/// gives for the bus; neither was seen in an AWS answer for PutEvents.
pub(crate) const NO_BUS_CODE: &str = "ResourceNotFoundException";
