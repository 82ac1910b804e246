//! Every AWS message this crate answers, in one place, each with where it was read.
//! Messages marked UNSURE were not seen in an AWS answer: they follow the form of AWS's
//! neighbouring messages and may differ from AWS's exact words.

/// The service framework's message for a value that breaks a constraint of the model
/// (`Member must have length less than or equal to 64`). The form is AWS's, seen on every
/// AWS service; how Scheduler's framework names a nested member is UNSURE.
pub(crate) fn constraint(value: &str, at: &str, constraint: &str) -> String {
    hearth_model::first_violation::message(value, at, constraint)
}

/// The framework's message for a required member that is absent.
pub(crate) fn required(at: &str) -> String {
    format!(
        "1 validation error detected: Value null at '{at}' failed to satisfy constraint: Member must not be null"
    )
}

/// Kept by moto as AWS's answer to a schedule missing from its group; UNSURE whether AWS
/// names the group too.
pub(crate) fn no_schedule(name: &str) -> String {
    format!("Schedule {name} does not exist.")
}

/// Kept by moto as AWS's answer to CreateSchedule of a taken name; UNSURE.
pub(crate) fn schedule_exists(name: &str) -> String {
    format!("Schedule {name} already exists.")
}

/// UNSURE: a schedule group that does not exist (moto answers `ScheduleGroup not found`;
/// this follows the schedules' `does not exist` form).
pub(crate) fn no_group(name: &str) -> String {
    format!("Schedule group {name} does not exist.")
}

/// UNSURE: CreateScheduleGroup of a taken name.
pub(crate) fn group_exists(name: &str) -> String {
    format!("Schedule group {name} already exists.")
}

/// UNSURE: DeleteScheduleGroup of `default`, which AWS documents cannot be deleted.
pub(crate) const CANNOT_DELETE_DEFAULT: &str = "Cannot delete the default schedule group.";

/// Reported by users and kept by moto (PR 8172) as AWS's answer to a recurring schedule
/// whose StartDate is more than five minutes in the past.
pub(crate) const START_DATE_PAST: &str =
    "The StartDate you specify cannot be earlier than 5 minutes ago.";

/// Reported by users and kept by LocalStack as AWS's answer to an expression that is not
/// `at(...)`, `rate(...)` or `cron(...)` as Scheduler reads them.
pub(crate) fn invalid_expression(expression: &str) -> String {
    format!("Invalid Schedule Expression {expression}.")
}

/// UNSURE: a parameter block of a target Hearth does not run (ECS, Kinesis, SageMaker).
pub(crate) fn unsupported_parameters(block: &str) -> String {
    format!("Hearth does not run {block} targets; remove Target.{block}.")
}

/// UNSURE: a target ARN Hearth does not deliver to (AWS takes any service's ARN and the
/// universal `arn:aws:scheduler:::aws-sdk:…` targets).
pub(crate) fn unsupported_target(arn: &str) -> String {
    format!(
        "Hearth delivers schedules to Lambda functions, SQS queues, SNS topics and event buses only; {arn} is none of them."
    )
}

/// UNSURE: `SqsParameters` given for a target that is not a queue, or
/// `EventBridgeParameters` for one that is not a bus (AWS refuses both; its words were not
/// found).
pub(crate) fn parameters_for_other_target(block: &str, kind: &str) -> String {
    format!("Target.{block} can only be used with {kind} targets.")
}

/// UNSURE: a tag operation naming a resource other than a schedule group.
pub(crate) fn no_resource(arn: &str) -> String {
    format!("Resource {arn} does not exist.")
}

/// UNSURE: a NextToken Hearth did not hand out.
pub(crate) const BAD_NEXT_TOKEN: &str = "The NextToken provided is not valid.";

/// UNSURE: a timestamp member that is neither epoch seconds nor ISO 8601 text.
pub(crate) fn bad_timestamp(at: &str) -> String {
    format!("Invalid timestamp for {at}.")
}
