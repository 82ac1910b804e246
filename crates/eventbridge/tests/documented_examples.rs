//! The input transformer and input path examples of AWS's documentation, with their exact
//! outputs: the EventBridge user guide's "Amazon EventBridge input transformation" page
//! (examples table and "Common issues"), the API reference's `InputTransformer` examples,
//! and outputs recorded from AWS in LocalStack's validated snapshots
//! (`tests/aws/services/events/test_events_inputs.snapshot.json`).

use hearth_eventbridge::{
    shape, Envelope, EventTime, InputError, Json, RuleContext, TargetInput, TargetInputFields,
    TransformerFields,
};

/// The guide's example EC2 event, built as the envelope module builds events.
fn ec2_event() -> Json {
    Envelope {
        id: "7bf73129-1428-4cd3-a780-95db273d1602".into(),
        detail_type: "EC2 Instance State-change Notification".into(),
        source: "aws.ec2".into(),
        account: "123456789012".into(),
        time: EventTime::from_epoch_seconds(1_447_277_394).expect("2015-11-11T21:29:54Z"),
        region: "us-east-1".into(),
        resources: vec!["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111".into()],
        detail: Json::parse(r#"{"instance-id": "i-0123456789", "state": "RUNNING"}"#)
            .expect("detail"),
    }
    .to_json()
}

const EC2_EVENT_TEXT: &str = concat!(
    r#"{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","#,
    r#""detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","#,
    r#""account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","#,
    r#""resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"#,
    r#""detail":{"instance-id":"i-0123456789","state":"RUNNING"}}"#
);

fn ctx() -> RuleContext {
    RuleContext {
        rule_arn: "arn:aws:events:us-east-2:123456789012:rule/example".into(),
        rule_name: "example".into(),
        ingestion_time: "2015-11-11T21:29:55Z".into(),
    }
}

/// The guide's `InputPathsMap`.
fn guide_paths() -> Vec<(String, String)> {
    [
        ("timestamp", "$.time"),
        ("instance", "$.detail.instance-id"),
        ("state", "$.detail.state"),
        ("resource", "$.resources[0]"),
        ("detail", "$.detail"),
        ("detail-type", "$.detail-type"),
        ("missing", "$.detail.notinmessage"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn transform(template: &str) -> String {
    let paths = guide_paths();
    let fields = TargetInputFields {
        input_transformer: Some(TransformerFields {
            input_paths_map: &paths,
            input_template: template,
        }),
        ..Default::default()
    };
    let input = TargetInput::from_fields("t1", 1, &fields).expect(template);
    shape(&input, &ec2_event(), &ctx()).expect("shaped")
}

#[test]
fn the_example_event_is_built_in_aws_order() {
    assert_eq!(ec2_event().to_text(), EC2_EVENT_TEXT);
}

#[test]
fn user_guide_examples_table() {
    let cases = [
        // Simple string
        (
            r#""instance <instance> is in <state>""#,
            r#""instance i-0123456789 is in RUNNING""#.to_owned(),
        ),
        // String with escaped quotes
        (
            r#""instance \"<instance>\" is in <state>""#,
            r#""instance \"i-0123456789\" is in RUNNING""#.to_owned(),
        ),
        // Simple JSON
        (
            r#"{ "instance" : <instance>, "state": <state> }"#,
            r#"{ "instance" : "i-0123456789", "state": "RUNNING" }"#.to_owned(),
        ),
        // JSON with strings and variables
        (
            r#"{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>" }"#,
            r#"{"instance" : "i-0123456789", "state": "RUNNING", "instanceStatus": "instance \"i-0123456789\" is in RUNNING" }"#.to_owned(),
        ),
        // JSON with a mix of variables and static information
        (
            r#"{ "instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes" }"#,
            r#"{ "instance" : "i-0123456789", "state": [ 9, "RUNNING", true ], "Transformed" : "Yes" }"#.to_owned(),
        ),
        // Including reserved variables in JSON
        (
            r#"{ "instance" : <instance>, "state": <state>, "ruleArn" : <aws.events.rule-arn>, "ruleName" : <aws.events.rule-name>, "originalEvent" : <aws.events.event.json> }"#,
            format!(
                r#"{{ "instance" : "i-0123456789", "state": "RUNNING", "ruleArn" : "arn:aws:events:us-east-2:123456789012:rule/example", "ruleName" : "example", "originalEvent" : {EC2_EVENT_TEXT} }}"#
            ),
        ),
        // Including reserved variables in a string
        (
            r#""<aws.events.rule-name> triggered""#,
            r#""example triggered""#.to_owned(),
        ),
    ];
    for (template, want) in cases {
        assert_eq!(transform(template), want, "for {template}");
    }
}

#[test]
fn user_guide_common_issues() {
    let cases = [
        // An object referenced in a string loses its quotes.
        (
            r#""Detail is <detail>""#,
            r#""Detail is {instance-id:i-0123456789,state:RUNNING}""#,
        ),
        // To output the object, place it as a value.
        (
            r#"{"detail": <detail>}"#,
            r#"{"detail": {"instance-id":"i-0123456789","state":"RUNNING"}}"#,
        ),
        // Quotes are permitted around string variables, and added when absent.
        (r#"{"a": "<state>", "b": <state>}"#, r#"{"a": "RUNNING", "b": "RUNNING"}"#),
        // Each line of multi-line text in its own quotes.
        (
            "\"<state> state of <instance>\"\n\"Resource: <resource>\"",
            "\"RUNNING state of i-0123456789\"\n\"Resource: arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111\"",
        ),
    ];
    for (template, want) in cases {
        assert_eq!(transform(template), want, "for {template}");
    }
}

#[test]
fn api_reference_examples() {
    let cases = [
        (
            "<instance> is in state <state>",
            "i-0123456789 is in state RUNNING",
        ),
        (
            r#"<instance> is in state "<state>""#,
            r#"i-0123456789 is in state "RUNNING""#,
        ),
        (
            r#"{"myInstance": <instance>,"myStatus": "<instance> is in state \"<state>\""}"#,
            r#"{"myInstance": "i-0123456789","myStatus": "i-0123456789 is in state \"RUNNING\""}"#,
        ),
    ];
    for (template, want) in cases {
        assert_eq!(transform(template), want, "for {template}");
    }
}

#[test]
fn recorded_from_aws() {
    let cases = [
        (
            r#""Event of <detail-type> type, at time <timestamp>, info extracted from detail <state>""#,
            r#""Event of EC2 Instance State-change Notification type, at time 2015-11-11T21:29:54Z, info extracted from detail RUNNING""#.to_owned(),
        ),
        // A path that selects nothing: empty in a string ...
        (
            r#""Event of <detail-type> type, at time <timestamp>, info extracted from detail <missing>""#,
            r#""Event of EC2 Instance State-change Notification type, at time 2015-11-11T21:29:54Z, info extracted from detail ""#.to_owned(),
        ),
        // ... and an empty string unquoted in JSON.
        (
            r#"{"detailType": <detail-type>,  "time": <timestamp>, "command": <missing>}"#,
            r#"{"detailType": "EC2 Instance State-change Notification",  "time": "2015-11-11T21:29:54Z", "command": ""}"#.to_owned(),
        ),
        (
            r#""{[/Check with special starting characters for event of <detail-type> type""#,
            r#""{[/Check with special starting characters for event of EC2 Instance State-change Notification type""#.to_owned(),
        ),
        (
            r#""Message containing all pre defined variables <aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>""#,
            r#""Message containing all pre defined variables arn:aws:events:us-east-2:123456789012:rule/example example 2015-11-11T21:29:55Z""#.to_owned(),
        ),
        (
            r#"{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}"#,
            format!(
                concat!(
                    r#"{{"originalEvent": {{"id":"7bf73129-1428-4cd3-a780-95db273d1602","account":"123456789012","#,
                    r#""detailType":"EC2 Instance State-change Notification","time":"2015-11-11T21:29:54Z","#,
                    r#""source":"aws.ec2","region":"us-east-1","#,
                    r#""resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"version":"0"}}, "#,
                    r#""originalEventJson": {}}}"#
                ),
                EC2_EVENT_TEXT
            ),
        ),
    ];
    for (template, want) in cases {
        assert_eq!(transform(template), want, "for {template}");
    }
}

fn shaped(fields: TargetInputFields) -> Result<String, InputError> {
    let input = TargetInput::from_fields("t1", 1, &fields).expect("valid settings");
    shape(&input, &ec2_event(), &ctx())
}

#[test]
fn input_path_input_and_whole_event() {
    let path = |p| TargetInputFields {
        input_path: Some(p),
        ..Default::default()
    };
    let cases = [
        (
            "$.detail",
            r#"{"instance-id":"i-0123456789","state":"RUNNING"}"#,
        ),
        ("$.detail.state", r#""RUNNING""#),
        ("$['detail']['instance-id']", r#""i-0123456789""#),
        (
            "$.resources",
            r#"["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]"#,
        ),
        (
            "$.resources[*]",
            r#"["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]"#,
        ),
        ("$.detail.*", r#"["i-0123456789","RUNNING"]"#),
        ("$", EC2_EVENT_TEXT),
    ];
    for (p, want) in cases {
        assert_eq!(shaped(path(p)).as_deref(), Ok(want), "for {p}");
    }
    assert_eq!(
        shaped(path("$.detail.notinmessage")),
        Err(InputError::PathNotFound("$.detail.notinmessage".into()))
    );
    let constant = TargetInputFields {
        input: Some(r#"{ "fixed" : [1, 2] }"#),
        ..Default::default()
    };
    assert_eq!(shaped(constant).as_deref(), Ok(r#"{ "fixed" : [1, 2] }"#));
    assert_eq!(
        shaped(TargetInputFields::default()).as_deref(),
        Ok(EC2_EVENT_TEXT)
    );
}
