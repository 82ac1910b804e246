//! The schedules' operations end to end over a real store: answers compared whole,
//! AWS's defaults, validation messages, paging, idempotency, and what the firing engine
//! reads.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::requests::{CreateScheduleGroup, ListSchedules, ScheduleInput, Tag};
use crate::service::tests::{code_and_message, service, ACCOUNT, T0};
use crate::Scheduler;

const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:f";
const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:q";
const BUS: &str = "arn:aws:events:us-east-1:123456789012:event-bus/default";
const ROLE: &str = "arn:aws:iam::123456789012:role/scheduler";
const SCHEDULES: &str = "arn:aws:scheduler:us-east-1:123456789012:schedule";

/// A request read from its JSON body, as the wire reads it.
fn input(body: Value) -> ScheduleInput {
    serde_json::from_value(body).expect("request shape")
}

fn minimal(expression: &str) -> Value {
    json!({"ScheduleExpression": expression,
           "FlexibleTimeWindow": {"Mode": "OFF"},
           "Target": {"Arn": FUNCTION, "RoleArn": ROLE}})
}

fn refused(s: &Scheduler, body: Value) -> (String, String) {
    code_and_message(
        s.create_schedule(ACCOUNT, "s", input(body))
            .expect_err("refused"),
    )
}

fn validation(message: &str) -> (String, String) {
    ("ValidationException".into(), message.into())
}

#[test]
fn a_minimal_schedule_is_answered_with_every_default_aws_fills_in() {
    let (s, _, _dir) = service();
    let made = s
        .create_schedule(ACCOUNT, "nightly", input(minimal("rate(5 minutes)")))
        .expect("create");
    assert_eq!(
        made,
        json!({"ScheduleArn": format!("{SCHEDULES}/default/nightly")})
    );
    assert_eq!(
        s.get_schedule(ACCOUNT, "nightly", None).expect("get"),
        json!({
            "ActionAfterCompletion": "NONE",
            "Arn": format!("{SCHEDULES}/default/nightly"),
            "CreationDate": 1_700_000_000.0,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "GroupName": "default",
            "LastModificationDate": 1_700_000_000.0,
            "Name": "nightly",
            "ScheduleExpression": "rate(5 minutes)",
            "ScheduleExpressionTimezone": "UTC",
            "State": "ENABLED",
            "Target": {"Arn": FUNCTION, "RoleArn": ROLE,
                       "RetryPolicy": {"MaximumEventAgeInSeconds": 86400,
                                       "MaximumRetryAttempts": 185}},
        })
    );
}

#[test]
fn every_member_is_kept_and_answered() {
    let (s, _, _dir) = service();
    s.create_schedule_group(ACCOUNT, "ops", CreateScheduleGroup::default())
        .expect("group");
    let body = json!({
        "GroupName": "ops",
        "Description": "to the queue",
        "ScheduleExpression": "cron(0 10 ? * MON-FRI *)",
        "ScheduleExpressionTimezone": "Europe/Berlin",
        "StartDate": 1_700_000_060,
        "EndDate": "2030-01-01T00:00:00Z",
        "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        "State": "DISABLED",
        "ActionAfterCompletion": "DELETE",
        "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k-1",
        "ClientToken": "t-1",
        "Target": {"Arn": QUEUE, "RoleArn": ROLE, "Input": "{\"a\":1}",
                   "RetryPolicy": {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 0},
                   "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"},
                   "SqsParameters": {"MessageGroupId": "g"}},
    });
    s.create_schedule(ACCOUNT, "weekday", input(body))
        .expect("create");
    assert_eq!(
        s.get_schedule(ACCOUNT, "weekday", Some("ops"))
            .expect("get"),
        json!({
            "ActionAfterCompletion": "DELETE",
            "Arn": format!("{SCHEDULES}/ops/weekday"),
            "CreationDate": 1_700_000_000.0,
            "Description": "to the queue",
            "EndDate": 1_893_456_000.0,
            "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            "GroupName": "ops",
            "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k-1",
            "LastModificationDate": 1_700_000_000.0,
            "Name": "weekday",
            "ScheduleExpression": "cron(0 10 ? * MON-FRI *)",
            "ScheduleExpressionTimezone": "Europe/Berlin",
            "StartDate": 1_700_000_060.0,
            "State": "DISABLED",
            "Target": {"Arn": QUEUE, "RoleArn": ROLE, "Input": "{\"a\":1}",
                       "RetryPolicy": {"MaximumEventAgeInSeconds": 60,
                                       "MaximumRetryAttempts": 0},
                       "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"},
                       "SqsParameters": {"MessageGroupId": "g"}},
        })
    );
    let record = s
        .all_schedules()
        .expect("all")
        .into_iter()
        .next()
        .expect("one");
    assert!(!record.enabled());
    assert!(record.delete_after_completion());
    assert_eq!(
        record.window(),
        hearth_schedule::FlexibleTimeWindow::Flexible {
            maximum_window_minutes: 15
        }
    );
    let timing = record.timing().expect("timing");
    let after: chrono::DateTime<chrono::Utc> = "2024-05-01T07:30:00Z".parse().expect("time");
    assert_eq!(
        timing.next_after(after).map(|t| t.to_rfc3339()),
        Some("2024-05-01T08:00:00+00:00".to_string())
    );
}

#[test]
fn the_models_constraints_are_refused_with_the_frameworks_words() {
    let (s, _, _dir) = service();
    let mut no_target = minimal("rate(1 hour)");
    no_target.as_object_mut().expect("object").remove("Target");
    assert_eq!(
        refused(&s, no_target),
        validation(
            "1 validation error detected: Value null at 'target' failed to satisfy constraint: \
             Member must not be null"
        )
    );
    let mut window = minimal("rate(1 hour)");
    window["FlexibleTimeWindow"] = json!({"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1441});
    assert_eq!(
        refused(&s, window),
        validation(
            "1 validation error detected: Value '1441' at 'flexibleTimeWindow.maximumWindowInMinutes' \
             failed to satisfy constraint: Member must have value less than or equal to 1440"
        )
    );
    let mut retry = minimal("rate(1 hour)");
    retry["Target"]["RetryPolicy"] = json!({"MaximumRetryAttempts": 186});
    assert_eq!(
        refused(&s, retry),
        validation(
            "1 validation error detected: Value '186' at 'target.retryPolicy.maximumRetryAttempts' \
             failed to satisfy constraint: Member must have value less than or equal to 185"
        )
    );
    let mut age = minimal("rate(1 hour)");
    age["Target"]["RetryPolicy"] = json!({"MaximumEventAgeInSeconds": 59});
    assert_eq!(
        refused(&s, age).1,
        "1 validation error detected: Value '59' at 'target.retryPolicy.maximumEventAgeInSeconds' \
         failed to satisfy constraint: Member must have value greater than or equal to 60"
    );
    let mut state = minimal("rate(1 hour)");
    state["State"] = json!("PAUSED");
    assert_eq!(
        refused(&s, state).1,
        "1 validation error detected: Value 'PAUSED' at 'state' failed to satisfy constraint: \
         Member must satisfy enum value set: [ENABLED, DISABLED]"
    );
    let mut role = minimal("rate(1 hour)");
    role["Target"]["RoleArn"] = json!("arn:aws:iam::123456789012:user/u");
    assert_eq!(
        refused(&s, role).1,
        "1 validation error detected: Value 'arn:aws:iam::123456789012:user/u' at 'target.roleArn' \
         failed to satisfy constraint: Member must satisfy regular expression pattern: \
         ^arn:aws(-[a-z]+)?:iam::\\d{12}:role\\/[\\w+=,.@\\/-]+$"
    );
    let mut input_long = minimal("rate(1 hour)");
    input_long["Target"]["Input"] = json!("x".repeat(8193));
    assert_eq!(
        refused(&s, input_long).1,
        format!(
            "1 validation error detected: Value '{}' at 'target.input' failed to satisfy \
             constraint: Member must have length less than or equal to 8192",
            "x".repeat(8193)
        )
    );
    assert_eq!(
        code_and_message(
            s.create_schedule(ACCOUNT, "bad name", input(minimal("rate(1 hour)")))
                .expect_err("name")
        )
        .1,
        "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$"
    );
}

#[test]
fn expressions_time_zones_dates_and_windows_are_checked() {
    let (s, _, _dir) = service();
    for bad in [
        "rate(5 minute)",
        "cron(0 10 * * * *)",
        "every(5 minutes)",
        "at(2030-13-01T00:00:00)",
    ] {
        assert_eq!(
            refused(&s, minimal(bad)),
            validation(&format!("Invalid Schedule Expression {bad}.")),
            "{bad}"
        );
    }
    let mut zone = minimal("rate(1 hour)");
    zone["ScheduleExpressionTimezone"] = json!("Mars/Olympus");
    assert_eq!(
        refused(&s, zone),
        validation("Invalid timezone: Mars/Olympus.")
    );
    let mut ends_first = minimal("rate(1 hour)");
    ends_first["StartDate"] = json!(1_800_000_000);
    ends_first["EndDate"] = json!(1_799_999_999);
    assert_eq!(
        refused(&s, ends_first),
        validation("The EndDate must be after the StartDate.")
    );
    let mut no_window = minimal("rate(1 hour)");
    no_window["FlexibleTimeWindow"] = json!({"Mode": "FLEXIBLE"});
    assert_eq!(
        refused(&s, no_window),
        validation(
            "Invalid FlexibleTimeWindow: MaximumWindowInMinutes must be between 1 and 1440 when \
             Mode is FLEXIBLE."
        )
    );
    // A recurring schedule may start at most five minutes ago; a one-time one ignores it.
    let five_ago = (T0 - 5 * 60 * 1000) / 1000;
    let mut late = minimal("rate(1 hour)");
    late["StartDate"] = json!(five_ago - 1);
    assert_eq!(
        refused(&s, late),
        validation("The StartDate you specify cannot be earlier than 5 minutes ago.")
    );
    let mut just_in_time = minimal("rate(1 hour)");
    just_in_time["StartDate"] = json!(five_ago);
    s.create_schedule(ACCOUNT, "recent", input(just_in_time))
        .expect("five minutes ago is allowed");
    let mut once = minimal("at(2030-01-01T00:00:00)");
    once["StartDate"] = json!(five_ago - 3600);
    s.create_schedule(ACCOUNT, "once", input(once))
        .expect("one-time schedules ignore StartDate");
}

#[test]
fn targets_hearth_does_not_run_are_refused_by_name() {
    let (s, _, _dir) = service();
    let mut ecs = minimal("rate(1 hour)");
    ecs["Target"]["EcsParameters"] =
        json!({"TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/t"});
    assert_eq!(
        refused(&s, ecs),
        validation("Hearth does not run EcsParameters targets; remove Target.EcsParameters.")
    );
    let mut kinesis = minimal("rate(1 hour)");
    kinesis["Target"]["KinesisParameters"] = json!({"PartitionKey": "k"});
    assert_eq!(
        refused(&s, kinesis).1,
        "Hearth does not run KinesisParameters targets; remove Target.KinesisParameters."
    );
    let mut step = minimal("rate(1 hour)");
    step["Target"]["Arn"] = json!("arn:aws:states:us-east-1:123456789012:stateMachine:m");
    assert_eq!(
        refused(&s, step).1,
        "Hearth delivers schedules to Lambda functions, SQS queues, SNS topics and event buses \
         only; arn:aws:states:us-east-1:123456789012:stateMachine:m is none of them."
    );
    let mut group_id = minimal("rate(1 hour)");
    group_id["Target"]["SqsParameters"] = json!({"MessageGroupId": "g"});
    assert_eq!(
        refused(&s, group_id).1,
        "Target.SqsParameters can only be used with SQS queue targets."
    );
    let mut dlq = minimal("rate(1 hour)");
    dlq["Target"]["DeadLetterConfig"] = json!({"Arn": "arn:aws:sns:us-east-1:123456789012:t"});
    assert_eq!(
        refused(&s, dlq).1,
        "1 validation error detected: Value 'arn:aws:sns:us-east-1:123456789012:t' at \
         'target.deadLetterConfig.arn' failed to satisfy constraint: Member must satisfy regular \
         expression pattern: ^arn:aws(-[a-z]+)?:sqs:[a-z0-9\\-]+:\\d{12}:[a-zA-Z0-9\\-_]+$"
    );
    let mut bus = minimal("rate(1 hour)");
    bus["Target"] = json!({"Arn": BUS, "RoleArn": ROLE,
                           "EventBridgeParameters": {"DetailType": "tick", "Source": "my.app"}});
    s.create_schedule(ACCOUNT, "to-bus", input(bus))
        .expect("bus target");
    assert_eq!(
        s.get_schedule(ACCOUNT, "to-bus", None).expect("get")["Target"]["EventBridgeParameters"],
        json!({"DetailType": "tick", "Source": "my.app"})
    );
    let record = &s.all_schedules().expect("all")[0];
    assert_eq!(record.target.eventbridge_source.as_deref(), Some("my.app"));
    assert_eq!(
        record.target.eventbridge_detail_type.as_deref(),
        Some("tick")
    );
}

#[test]
fn names_conflict_missing_ones_are_not_found_and_tokens_make_retries_safe() {
    let (s, time, _dir) = service();
    let mut body = minimal("rate(1 hour)");
    body["ClientToken"] = json!("first");
    s.create_schedule(ACCOUNT, "s", input(body.clone()))
        .expect("create");
    assert_eq!(
        s.create_schedule(ACCOUNT, "s", input(body.clone()))
            .expect("a retry answers as the first call"),
        json!({"ScheduleArn": format!("{SCHEDULES}/default/s")})
    );
    body["ClientToken"] = json!("second");
    assert_eq!(
        code_and_message(
            s.create_schedule(ACCOUNT, "s", input(body))
                .expect_err("taken")
        ),
        (
            "ConflictException".into(),
            "Schedule s already exists.".into()
        )
    );
    assert_eq!(
        code_and_message(s.get_schedule(ACCOUNT, "nope", None).expect_err("missing")),
        (
            "ResourceNotFoundException".into(),
            "Schedule nope does not exist.".into()
        )
    );
    assert_eq!(
        code_and_message(
            s.get_schedule(ACCOUNT, "s", Some("nogroup"))
                .expect_err("missing")
        ),
        (
            "ResourceNotFoundException".into(),
            "Schedule group nogroup does not exist.".into()
        )
    );
    let mut elsewhere = minimal("rate(1 hour)");
    elsewhere["GroupName"] = json!("nogroup");
    assert_eq!(
        refused(&s, elsewhere),
        (
            "ResourceNotFoundException".into(),
            "Schedule group nogroup does not exist.".into()
        )
    );
    // UpdateSchedule replaces every member; the creation date stays.
    time.fetch_add(60_000, Ordering::SeqCst);
    let mut update = minimal("rate(2 hours)");
    update["Description"] = json!("d");
    update["ClientToken"] = json!("u-1");
    s.update_schedule(ACCOUNT, "s", input(update))
        .expect("update");
    let got = s.get_schedule(ACCOUNT, "s", None).expect("get");
    assert_eq!(got["ScheduleExpression"], json!("rate(2 hours)"));
    assert_eq!(got["Description"], json!("d"));
    assert_eq!(got["CreationDate"], json!(1_700_000_000.0));
    assert_eq!(got["LastModificationDate"], json!(1_700_000_060.0));
    let replaced = s
        .update_schedule(ACCOUNT, "s", input(minimal("rate(3 hours)")))
        .expect("update");
    assert_eq!(
        replaced,
        json!({"ScheduleArn": format!("{SCHEDULES}/default/s")})
    );
    assert_eq!(
        s.get_schedule(ACCOUNT, "s", None)
            .expect("get")
            .get("Description"),
        None
    );
    assert_eq!(
        code_and_message(
            s.update_schedule(ACCOUNT, "other", input(minimal("rate(1 hour)")))
                .expect_err("missing")
        ),
        (
            "ResourceNotFoundException".into(),
            "Schedule other does not exist.".into()
        )
    );
    s.delete_schedule(ACCOUNT, "s", None, Some("d-1"))
        .expect("delete");
    s.delete_schedule(ACCOUNT, "s", None, Some("d-1"))
        .expect("a retried delete succeeds");
    assert_eq!(
        code_and_message(
            s.delete_schedule(ACCOUNT, "s", None, None)
                .expect_err("gone")
        ),
        (
            "ResourceNotFoundException".into(),
            "Schedule s does not exist.".into()
        )
    );
}

fn names(page: &Value) -> Vec<String> {
    page["Schedules"]
        .as_array()
        .expect("schedules")
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["GroupName"].as_str().expect("group"),
                s["Name"].as_str().expect("name")
            )
        })
        .collect()
}

#[test]
fn listings_page_filter_by_group_prefix_and_state_and_groups_take_their_schedules() {
    let (s, _, _dir) = service();
    s.create_schedule_group(ACCOUNT, "ops", CreateScheduleGroup::default())
        .expect("group");
    for (group, name, state) in [
        ("default", "a1", "ENABLED"),
        ("default", "a2", "DISABLED"),
        ("default", "b1", "ENABLED"),
        ("ops", "a3", "ENABLED"),
        ("ops", "a4", "DISABLED"),
    ] {
        let mut body = minimal("rate(1 hour)");
        body["GroupName"] = json!(group);
        body["State"] = json!(state);
        s.create_schedule(ACCOUNT, name, input(body))
            .expect("create");
    }
    let list = |req: ListSchedules| s.list_schedules(ACCOUNT, &req).expect("list");
    let first = list(ListSchedules {
        max_results: Some(2),
        ..Default::default()
    });
    assert_eq!(names(&first), ["default/a1", "default/a2"]);
    assert_eq!(first["NextToken"], json!("default/a2"));
    assert_eq!(
        first["Schedules"][0],
        json!({"Arn": format!("{SCHEDULES}/default/a1"), "CreationDate": 1_700_000_000.0,
               "GroupName": "default", "LastModificationDate": 1_700_000_000.0,
               "Name": "a1", "State": "ENABLED", "Target": {"Arn": FUNCTION}})
    );
    let second = list(ListSchedules {
        max_results: Some(2),
        next_token: Some("default/a2".into()),
        ..Default::default()
    });
    assert_eq!(names(&second), ["default/b1", "ops/a3"]);
    let enabled_a = list(ListSchedules {
        name_prefix: Some("a".into()),
        state: Some("ENABLED".into()),
        ..Default::default()
    });
    assert_eq!(names(&enabled_a), ["default/a1", "ops/a3"]);
    assert_eq!(enabled_a.get("NextToken"), None);
    let ops = list(ListSchedules {
        group_name: Some("ops".into()),
        ..Default::default()
    });
    assert_eq!(names(&ops), ["ops/a3", "ops/a4"]);
    assert_eq!(
        code_and_message(
            s.list_schedules(
                ACCOUNT,
                &ListSchedules {
                    next_token: Some("garbage".into()),
                    ..Default::default()
                }
            )
            .expect_err("token")
        ),
        validation("The NextToken provided is not valid.")
    );
    s.delete_schedule_group(ACCOUNT, "ops", None)
        .expect("delete group");
    assert_eq!(
        names(&list(ListSchedules::default())),
        ["default/a1", "default/a2", "default/b1"]
    );
    assert_eq!(
        code_and_message(
            s.list_schedules(
                ACCOUNT,
                &ListSchedules {
                    group_name: Some("ops".into()),
                    ..Default::default()
                }
            )
            .expect_err("gone")
        ),
        (
            "ResourceNotFoundException".into(),
            "Schedule group ops does not exist.".into()
        )
    );
}

#[test]
fn groups_are_tagged_and_schedules_are_not() {
    let (s, _, _dir) = service();
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    s.create_schedule_group(
        ACCOUNT,
        "ops",
        CreateScheduleGroup {
            client_token: None,
            tags: vec![tag("a", "1")],
        },
    )
    .expect("group");
    let arn = "arn:aws:scheduler:us-east-1:123456789012:schedule-group/ops";
    s.tag_resource(ACCOUNT, arn, &[tag("a", "2"), tag("b", "3")])
        .expect("tag");
    s.untag_resource(ACCOUNT, arn, &["b".into()])
        .expect("untag");
    assert_eq!(
        s.list_tags_for_resource(ACCOUNT, arn).expect("list"),
        json!({"Tags": [{"Key": "a", "Value": "2"}]})
    );
    assert_eq!(
        s.list_tags_for_resource(
            ACCOUNT,
            "arn:aws:scheduler:us-east-1:123456789012:schedule-group/default"
        )
        .expect("default"),
        json!({"Tags": []})
    );
    let schedule = format!("{SCHEDULES}/default/s");
    assert_eq!(
        code_and_message(
            s.list_tags_for_resource(ACCOUNT, &schedule)
                .expect_err("schedule")
        ),
        validation(&format!(
            "1 validation error detected: Value '{schedule}' at 'resourceArn' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: \
             ^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\\-]+:\\d{{12}}:schedule-group\\/[0-9a-zA-Z-_.]+$"
        ))
    );
    assert_eq!(
        code_and_message(
            s.tag_resource(
                ACCOUNT,
                "arn:aws:scheduler:us-east-1:123456789012:schedule-group/nope",
                &[tag("a", "1")]
            )
            .expect_err("missing")
        ),
        (
            "ResourceNotFoundException".into(),
            "Schedule group nope does not exist.".into()
        )
    );
    assert_eq!(
        code_and_message(
            s.tag_resource(ACCOUNT, arn, &[tag("a", "")])
                .expect_err("empty")
        )
        .1,
        "1 validation error detected: Value '' at 'tags.1.member.value' failed to satisfy \
         constraint: Member must have length greater than or equal to 1"
    );
}

#[tokio::test]
async fn every_write_is_told_and_completed_schedules_are_deleted() {
    let (s, _, _dir) = service();
    let changed = s.changed();
    s.create_schedule(ACCOUNT, "once", input(minimal("at(2030-01-01T00:00:00)")))
        .expect("create");
    // The change made before anyone waited is not lost.
    tokio::time::timeout(std::time::Duration::from_secs(5), changed.notified())
        .await
        .expect("told of the create");
    let arn = format!("{SCHEDULES}/default/once");
    assert!(s.delete_completed(&arn).expect("delete"));
    tokio::time::timeout(std::time::Duration::from_secs(5), changed.notified())
        .await
        .expect("told of the delete");
    assert!(!s.delete_completed(&arn).expect("already gone"));
    assert!(s.all_schedules().expect("all").is_empty());
}
