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
    format!(
        "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: {constraint}"
    )
}
