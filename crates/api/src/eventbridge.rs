//! EventBridge's control plane on Hearth's one endpoint (AWS JSON 1.1, `X-Amz-Target:
//! AWSEvents.<Operation>`, credential scope `events`): each operation of [`OPERATIONS`] is
//! authorised as its IAM action on its rule or bus (`*` for the listings and
//! TestEventPattern), its body read into the model's request shape, run by the typed
//! service (`hearth-eventbridge`) and answered in `application/x-amz-json-1.1`; errors
//! are `{"__type": "<Code>", "message": "..."}` with the model's codes. An operation not
//! in the table is answered `UnknownOperationException` before anything else. PutEvents is authorised as
//! `events:PutEvents` on each bus its entries name.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hearth_eventbridge::arn::BusRef;
use hearth_eventbridge::requests::{self, Page, Tag};
use hearth_eventbridge::{Caller, EventBridge, EventsError, PutEventsEntry};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authorize::{Access, Refused};
use crate::AppState;

pub(crate) const TARGET_PREFIX: &str = "AWSEvents.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// A request is at most this long: a PutTargets of 100 targets with 8 KiB inputs.
const BODY_MAX: usize = 1 << 20;

/// What an operation's IAM resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `*` (the listings, TestEventPattern).
    Any,
    /// The bus of `Name` (`default` when absent).
    BusByName,
    /// The rule of `Name` on `EventBusName`.
    RuleByName,
    /// The rule of `Rule` on `EventBusName`.
    RuleByRule,
    /// The ARN in `ResourceARN`.
    ArnInBody,
    /// Each bus the `Entries` name (PutEvents).
    EntryBuses,
}

/// Every operation Hearth's EventBridge serves, the IAM action that authorises it (the
/// operation's name under `events:`) and its resource, as "Actions, resources, and
/// condition keys for Amazon EventBridge" lists them.
pub(crate) const OPERATIONS: &[(&str, &str, Resource)] = &[
    (
        "CreateEventBus",
        "events:CreateEventBus",
        Resource::BusByName,
    ),
    (
        "DeleteEventBus",
        "events:DeleteEventBus",
        Resource::BusByName,
    ),
    ("DeleteRule", "events:DeleteRule", Resource::RuleByName),
    (
        "DescribeEventBus",
        "events:DescribeEventBus",
        Resource::BusByName,
    ),
    ("DescribeRule", "events:DescribeRule", Resource::RuleByName),
    ("DisableRule", "events:DisableRule", Resource::RuleByName),
    ("EnableRule", "events:EnableRule", Resource::RuleByName),
    ("ListEventBuses", "events:ListEventBuses", Resource::Any),
    (
        "ListRuleNamesByTarget",
        "events:ListRuleNamesByTarget",
        Resource::Any,
    ),
    ("ListRules", "events:ListRules", Resource::Any),
    (
        "ListTagsForResource",
        "events:ListTagsForResource",
        Resource::ArnInBody,
    ),
    (
        "ListTargetsByRule",
        "events:ListTargetsByRule",
        Resource::RuleByRule,
    ),
    ("PutEvents", "events:PutEvents", Resource::EntryBuses),
    ("PutRule", "events:PutRule", Resource::RuleByName),
    ("PutTargets", "events:PutTargets", Resource::RuleByRule),
    (
        "RemoveTargets",
        "events:RemoveTargets",
        Resource::RuleByRule,
    ),
    ("TagResource", "events:TagResource", Resource::ArnInBody),
    ("TestEventPattern", "events:TestEventPattern", Resource::Any),
    ("UntagResource", "events:UntagResource", Resource::ArnInBody),
];

/// An error in the JSON 1.1 encoding.
struct EventsWireError {
    status: StatusCode,
    code: String,
    message: String,
}

fn client(code: &str, message: impl Into<String>) -> EventsWireError {
    EventsWireError {
        status: StatusCode::BAD_REQUEST,
        code: code.to_string(),
        message: message.into(),
    }
}

impl IntoResponse for EventsWireError {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.code, "message": self.message}).to_string();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            h.insert("x-amzn-errortype", v);
        }
        resp
    }
}

impl From<EventsError> for EventsWireError {
    fn from(e: EventsError) -> Self {
        match e {
            EventsError::Client { code, message } => client(code, message),
            other => {
                tracing::error!(error = %other, "EventBridge failed");
                EventsWireError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "InternalException".into(),
                    message: "Internal error".into(),
                }
            }
        }
    }
}

/// A body read into a request shape (`crate::shape`).
fn parse<T: DeserializeOwned>(body: &Value) -> Result<T, EventsWireError> {
    crate::shape::read(body).map_err(|(code, message)| client(code, message))
}

fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// The resources an operation is authorised on: one, except for PutEvents (each bus its
/// entries name, once).
fn resources_of(resource: Resource, body: &Value, account: &str) -> Vec<String> {
    if resource != Resource::EntryBuses {
        return vec![resource_of(resource, body, account)];
    }
    let mut buses: Vec<String> = Vec::new();
    for entry in body
        .get("Entries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let arn = BusRef::of(account, text(entry, "EventBusName")).arn();
        if !buses.contains(&arn) {
            buses.push(arn);
        }
    }
    if buses.is_empty() {
        buses.push(BusRef::of(account, None).arn());
    }
    buses
}

/// The resource an operation is authorised on.
fn resource_of(resource: Resource, body: &Value, account: &str) -> String {
    let bus = || BusRef::of(account, text(body, "EventBusName"));
    let rule = |key: &str| text(body, key).map(|n| bus().rule_arn(n));
    match resource {
        Resource::Any | Resource::EntryBuses => None,
        Resource::BusByName => Some(BusRef::of(account, text(body, "Name")).arn()),
        Resource::RuleByName => rule("Name"),
        Resource::RuleByRule => rule("Rule"),
        Resource::ArnInBody => text(body, "ResourceARN").map(str::to_string),
    }
    .unwrap_or_else(|| "*".to_string())
}

/// Answers one request; `trace_header` is its `X-Amzn-Trace-Id`, which PutEvents passes
/// on to the targets.
pub(crate) async fn dispatch(
    s: &AppState,
    access: &Access,
    target: &str,
    trace_header: Option<&str>,
    body: Body,
) -> Response {
    crate::cloudwatch_logs::json_answer(handle(s, access, target, trace_header, body).await)
}

async fn handle(
    s: &AppState,
    access: &Access,
    target: &str,
    trace_header: Option<&str>,
    body: Body,
) -> Result<Value, EventsWireError> {
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    let found = OPERATIONS.iter().find(|(op, _, _)| *op == operation);
    let (Some(eb), Some((_, action, resource))) = (s.options.events.as_ref(), found) else {
        return Err(client(
            "UnknownOperationException",
            format!("Hearth does not implement EventBridge's {operation}"),
        ));
    };
    let bytes = crate::body::read(body, BODY_MAX, operation)
        .await
        .map_err(|e| client("SerializationException", e.0.message))?;
    let body: Value = serde_json::from_slice(if bytes.is_empty() { b"{}" } else { &bytes })
        .map_err(|e| client("SerializationException", e.to_string()))?;
    if !body.is_object() {
        return Err(client(
            "SerializationException",
            "the request body is not a JSON object",
        ));
    }
    let account = access.caller.account.as_str();
    for arn in resources_of(*resource, &body, account) {
        let owner = hearth_model::arn::arn_account(&arn).unwrap_or(account);
        access
            .check_in(s, action, &arn, owner)
            .map_err(|refused| match refused {
                Refused::Denied(m) => client("AccessDeniedException", m),
                Refused::Failed(m) => EventsWireError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "InternalException".into(),
                    message: m,
                },
            })?;
    }
    if operation == "PutEvents" {
        let r: PutEvents = parse(&body)?;
        let caller = Caller {
            account,
            trace_header,
        };
        return Ok(eb.put_events(&caller, &r.entries)?);
    }
    run(eb, account, operation, &body)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutEvents {
    entries: Vec<PutEventsEntry>,
}

/// The members several requests share.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Named {
    name: String,
    event_bus_name: Option<String>,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OptionalName {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OnBus {
    event_bus_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuleTargets {
    rule: String,
    event_bus_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ByTarget {
    target_arn: String,
    event_bus_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResource {
    #[serde(rename = "ResourceARN")]
    resource_arn: String,
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagResource {
    #[serde(rename = "ResourceARN")]
    resource_arn: String,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
struct ForResource {
    #[serde(rename = "ResourceARN")]
    resource_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TestPattern {
    event_pattern: String,
    event: String,
}

fn run(eb: &EventBridge, account: &str, op: &str, body: &Value) -> Result<Value, EventsWireError> {
    let empty = || Ok(json!({}));
    match op {
        "CreateEventBus" => Ok(eb.create_event_bus(account, parse(body)?)?),
        "DescribeEventBus" => {
            let r: OptionalName = parse(body)?;
            Ok(eb.describe_event_bus(account, r.name.as_deref())?)
        }
        "ListEventBuses" => Ok(eb.list_event_buses(account, &parse::<Page>(body)?)?),
        "DeleteEventBus" => {
            let r: Named = parse(body)?;
            eb.delete_event_bus(account, &r.name)?;
            empty()
        }
        "PutRule" => Ok(eb.put_rule(account, parse::<requests::PutRule>(body)?)?),
        "DescribeRule" => {
            let r: Named = parse(body)?;
            Ok(eb.describe_rule(account, &r.name, r.event_bus_name.as_deref())?)
        }
        "ListRules" => {
            let bus: OnBus = parse(body)?;
            Ok(eb.list_rules(account, bus.event_bus_name.as_deref(), &parse(body)?)?)
        }
        "EnableRule" | "DisableRule" => {
            let r: Named = parse(body)?;
            eb.set_rule_state(
                account,
                &r.name,
                r.event_bus_name.as_deref(),
                op == "EnableRule",
            )?;
            empty()
        }
        "DeleteRule" => {
            let r: Named = parse(body)?;
            eb.delete_rule(account, &r.name, r.event_bus_name.as_deref(), r.force)?;
            empty()
        }
        "ListRuleNamesByTarget" => {
            let r: ByTarget = parse(body)?;
            Ok(eb.list_rule_names_by_target(
                account,
                &r.target_arn,
                r.event_bus_name.as_deref(),
                &parse(body)?,
            )?)
        }
        "PutTargets" => Ok(eb.put_targets(account, parse(body)?)?),
        "RemoveTargets" => Ok(eb.remove_targets(account, parse(body)?)?),
        "ListTargetsByRule" => {
            let r: RuleTargets = parse(body)?;
            Ok(eb.list_targets_by_rule(
                account,
                &r.rule,
                r.event_bus_name.as_deref(),
                &parse(body)?,
            )?)
        }
        "TagResource" => {
            let r: TagResource = parse(body)?;
            eb.tag_resource(&r.resource_arn, &r.tags)?;
            empty()
        }
        "UntagResource" => {
            let r: UntagResource = parse(body)?;
            eb.untag_resource(&r.resource_arn, &r.tag_keys)?;
            empty()
        }
        "ListTagsForResource" => {
            let r: ForResource = parse(body)?;
            Ok(eb.list_tags_for_resource(&r.resource_arn)?)
        }
        "TestEventPattern" => {
            let r: TestPattern = parse(body)?;
            Ok(eb.test_event_pattern(&r.event_pattern, &r.event)?)
        }
        other => Err(client(
            "UnknownOperationException",
            format!("Hearth does not implement EventBridge's {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_authorised_on_their_rule_or_bus() {
        let acct = "123456789012";
        let body = json!({"Name": "r", "Rule": "t", "EventBusName": "b"});
        assert_eq!(
            resource_of(Resource::RuleByName, &body, acct),
            "arn:aws:events:us-east-1:123456789012:rule/b/r"
        );
        assert_eq!(
            resource_of(Resource::RuleByRule, &json!({"Rule": "t"}), acct),
            "arn:aws:events:us-east-1:123456789012:rule/t"
        );
        assert_eq!(
            resource_of(Resource::BusByName, &json!({}), acct),
            "arn:aws:events:us-east-1:123456789012:event-bus/default"
        );
        assert_eq!(resource_of(Resource::Any, &body, acct), "*");
        for (op, action, _) in OPERATIONS {
            assert_eq!(*action, format!("events:{op}"));
        }
        let entries = json!({"Entries": [{}, {"EventBusName": "b"}, {"EventBusName": "default"},
            {"EventBusName": "arn:aws:events:us-east-1:210987654321:event-bus/x"}]});
        assert_eq!(
            resources_of(Resource::EntryBuses, &entries, acct),
            [
                "arn:aws:events:us-east-1:123456789012:event-bus/default",
                "arn:aws:events:us-east-1:123456789012:event-bus/b",
                "arn:aws:events:us-east-1:210987654321:event-bus/x",
            ]
        );
    }

    #[test]
    fn a_missing_member_is_named_as_the_framework_names_it() {
        let e = parse::<Named>(&json!({})).err().expect("refused");
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
        );
        let e = parse::<Named>(&json!({"Name": 3})).err().expect("refused");
        assert_eq!(e.code, "SerializationException");
    }
}
