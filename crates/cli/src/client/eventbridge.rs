//! The EventBridge API as the client speaks it (AWS JSON 1.1, `X-Amz-Target:
//! AWSEvents.<Operation>`, signed for `events`): PutEvents' request and answer, and the
//! rules that send to a target (ListEventBuses, ListRules, ListTargetsByRule, all pages).

use serde_json::{json, Map, Value};

use super::http::{ApiError, Client};

/// The credential scope's service of the EventBridge API.
pub const SERVICE: &str = "events";

/// Pages of one listing followed at most (a server that kept answering new tokens would
/// otherwise keep `hearth ls` waiting forever).
const MAX_PAGES: usize = 1000;

/// One EventBridge operation.
pub fn call(client: &Client, operation: &str, body: &Value) -> anyhow::Result<Value> {
    client.call_json11(SERVICE, &format!("AWSEvents.{operation}"), body)
}

/// One PutEvents entry, as `hearth events put` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub source: &'a str,
    pub detail_type: &'a str,
    pub detail: &'a str,
    pub bus: Option<&'a str>,
    pub resources: &'a [String],
}

/// PutEvents' body for one entry (the bus and resources only when given: AWS's defaults
/// are the `default` bus and no resources).
pub fn put_events_request(entry: &Entry<'_>) -> Value {
    let mut e = Map::new();
    e.insert("Source".into(), json!(entry.source));
    e.insert("DetailType".into(), json!(entry.detail_type));
    e.insert("Detail".into(), json!(entry.detail));
    if let Some(bus) = entry.bus {
        e.insert("EventBusName".into(), json!(bus));
    }
    if !entry.resources.is_empty() {
        e.insert("Resources".into(), json!(entry.resources));
    }
    json!({ "Entries": [Value::Object(e)] })
}

/// The one entry's outcome of a PutEvents answer: its `EventId`, or its `ErrorCode` and
/// `ErrorMessage` as an [`ApiError`].
pub fn put_events_outcome(answer: &Value) -> Result<String, ApiError> {
    let entry = answer
        .get("Entries")
        .and_then(Value::as_array)
        .and_then(|entries| entries.first())
        .unwrap_or(&Value::Null);
    let text = |key: &str| entry.get(key).and_then(Value::as_str);
    if let Some(id) = text("EventId") {
        return Ok(id.to_string());
    }
    Err(ApiError {
        code: text("ErrorCode").unwrap_or("PutEventsFailed").to_string(),
        message: text("ErrorMessage")
            .unwrap_or("the entry was not accepted and no reason was given")
            .to_string(),
    })
}

/// A rule and the target ARNs it sends to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub bus: String,
    pub name: String,
    pub state: String,
    pub targets: Vec<String>,
}

/// Every rule of every bus with its targets' ARNs: one pass for all functions, which
/// also finds targets that are qualified ARNs (a version's or an alias's).
pub fn rules(client: &Client) -> anyhow::Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for bus in all_pages(client, "ListEventBuses", json!({}), "EventBuses")? {
        let bus = text(&bus, "Name");
        for rule in all_pages(client, "ListRules", json!({"EventBusName": bus}), "Rules")? {
            let name = text(&rule, "Name");
            let targets = all_pages(
                client,
                "ListTargetsByRule",
                json!({"Rule": name, "EventBusName": bus}),
                "Targets",
            )?;
            rules.push(Rule {
                bus: bus.clone(),
                state: text(&rule, "State"),
                targets: targets.iter().map(|t| text(t, "Arn")).collect(),
                name,
            });
        }
    }
    Ok(rules)
}

fn text(item: &Value, key: &str) -> String {
    item.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Every item under `key` of a listing, following `NextToken`.
fn all_pages(
    client: &Client,
    operation: &str,
    request: Value,
    key: &str,
) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut body = request.clone();
        if let Some(token) = &next {
            body["NextToken"] = json!(token);
        }
        let page = call(client, operation, &body)?;
        if let Some(found) = page.get(key).and_then(Value::as_array) {
            items.extend(found.iter().cloned());
        }
        match page.get("NextToken").and_then(Value::as_str) {
            Some(token) if !token.is_empty() && next.as_deref() != Some(token) => {
                next = Some(token.to_string());
            }
            _ => break,
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_with_only_what_was_given() {
        let entry = Entry {
            source: "orders",
            detail_type: "Order Placed",
            detail: r#"{"id": 7}"#,
            bus: None,
            resources: &[],
        };
        assert_eq!(
            put_events_request(&entry),
            json!({"Entries": [{
                "Source": "orders", "DetailType": "Order Placed", "Detail": "{\"id\": 7}"
            }]})
        );
        let resources = ["arn:aws:s3:::a".to_string(), "arn:aws:s3:::b".to_string()];
        let entry = Entry {
            bus: Some("shop"),
            resources: &resources,
            ..entry
        };
        assert_eq!(
            put_events_request(&entry),
            json!({"Entries": [{
                "Source": "orders", "DetailType": "Order Placed", "Detail": "{\"id\": 7}",
                "EventBusName": "shop", "Resources": ["arn:aws:s3:::a", "arn:aws:s3:::b"]
            }]})
        );
    }

    #[test]
    fn an_entry_is_an_event_id_or_its_error() {
        let accepted = json!({"FailedEntryCount": 0, "Entries": [{"EventId": "11710aed"}]});
        assert_eq!(put_events_outcome(&accepted).expect("accepted"), "11710aed");
        let refused = json!({"FailedEntryCount": 1, "Entries": [{
            "ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."
        }]});
        assert_eq!(
            put_events_outcome(&refused)
                .expect_err("refused")
                .to_string(),
            "MalformedDetail: Detail is malformed."
        );
        assert_eq!(
            put_events_outcome(&json!({}))
                .expect_err("no entry")
                .to_string(),
            "PutEventsFailed: the entry was not accepted and no reason was given"
        );
    }
}
