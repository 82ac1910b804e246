//! What invokes each function, for `hearth ls`: its function URLs, event-source mappings,
//! EventBridge rules, Scheduler schedules and SNS subscriptions. Each service is listed
//! once for all functions (the URLs, which Lambda lists only per function, excepted) and
//! its targets matched to the functions by ARN, qualified ones (a version's, an alias's)
//! included. A service that answers an error (one this server does not run, or one the
//! caller may not read) adds nothing: it must not keep the functions from being listed.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;
use ureq::http::Method;

use super::http::{encode, Client};
use super::{eventbridge, scheduler, sns};

/// Pages of one Lambda listing followed at most.
const MAX_PAGES: usize = 1000;

/// What kind of source invokes a function; the order is the one `ls` shows them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Url,
    Sqs,
    /// An event-source mapping of another kind of source than a queue.
    Mapping,
    Rule,
    Schedule,
    Sns,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Url => "url",
            Kind::Sqs => "sqs",
            Kind::Mapping => "mapping",
            Kind::Rule => "rule",
            Kind::Schedule => "schedule",
            Kind::Sns => "sns",
        }
    }
}

/// One source that invokes a function.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trigger {
    #[serde(rename = "Type")]
    pub kind: Kind,
    /// The URL, queue ARN, `bus/rule`, `group/schedule` or topic ARN.
    pub source: String,
    /// Its state or setting worth a glance (a URL's AuthType, a mapping's or rule's or
    /// schedule's state).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The version or alias it invokes, when not the unqualified function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<String>,
}

impl Trigger {
    /// `url       https://... (NONE)`, `rule      default/nightly (ENABLED) for :prod`.
    pub fn line(&self) -> String {
        let mut out = format!("{:<8}  {}", self.kind.label(), self.source);
        if let Some(state) = &self.state {
            out.push_str(&format!(" ({state})"));
        }
        if let Some(qualifier) = &self.qualifier {
            out.push_str(&format!(" for :{qualifier}"));
        }
        out
    }
}

/// A Lambda function ARN split into its unqualified ARN and its qualifier, if any; `None`
/// for any other ARN.
pub fn function_of(arn: &str) -> Option<(String, Option<String>)> {
    let parts: Vec<&str> = arn.splitn(8, ':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" {
        return None;
    }
    let base = parts[..7].join(":");
    let qualifier = parts.get(7).map(|q| q.to_string());
    Some((base, qualifier))
}

/// The triggers found, by function name.
#[derive(Debug, Default)]
pub struct Found {
    /// Unqualified function ARN → function name.
    names: HashMap<String, String>,
    by_name: BTreeMap<String, Vec<Trigger>>,
}

impl Found {
    /// Matches targets against `functions` (ListFunctions' items).
    pub fn new(functions: &[Value]) -> Self {
        let names = functions
            .iter()
            .filter_map(|f| {
                let arn = f.get("FunctionArn").and_then(Value::as_str)?;
                let name = f.get("FunctionName").and_then(Value::as_str)?;
                Some((function_of(arn)?.0, name.to_string()))
            })
            .collect();
        Self {
            names,
            by_name: BTreeMap::new(),
        }
    }

    /// Adds a trigger whose target is `target_arn`, if that is one of the functions.
    pub fn add(&mut self, target_arn: &str, kind: Kind, source: String, state: Option<String>) {
        let Some((base, qualifier)) = function_of(target_arn) else {
            return;
        };
        let Some(name) = self.names.get(&base) else {
            return;
        };
        let qualifier = qualifier.filter(|q| q != "$LATEST");
        self.by_name.entry(name.clone()).or_default().push(Trigger {
            kind,
            source,
            state,
            qualifier,
        });
    }

    /// A function's triggers in a stable order (by kind, then source).
    pub fn of(&self, name: &str) -> Vec<Trigger> {
        let mut triggers = self.by_name.get(name).cloned().unwrap_or_default();
        triggers.sort();
        triggers.dedup();
        triggers
    }
}

/// Every trigger of `functions`, from every service that answers.
pub fn gather(client: &Client, functions: &[Value]) -> Found {
    let mut found = Found::new(functions);
    for function in functions {
        if let Some(name) = function.get("FunctionName").and_then(Value::as_str) {
            urls(client, name, &mut found);
        }
    }
    mappings(client, &mut found);
    rules(client, &mut found);
    schedules(client, &mut found);
    subscriptions(client, &mut found);
    found
}

fn text(item: &Value, key: &str) -> Option<String> {
    item.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Items under `key` of a Lambda listing, following `NextMarker`; what was read before an
/// error is kept.
fn lambda_pages(client: &Client, path: &str, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page_path = match &marker {
            Some(m) => format!("{path}?Marker={}", encode(m)),
            None => path.to_string(),
        };
        let Ok(page) = client.call(Method::GET, &page_path, None) else {
            break;
        };
        if let Some(found) = page.get(key).and_then(Value::as_array) {
            items.extend(found.iter().cloned());
        }
        match page.get("NextMarker").and_then(Value::as_str) {
            Some(next) if !next.is_empty() && marker.as_deref() != Some(next) => {
                marker = Some(next.to_string());
            }
            _ => break,
        }
    }
    items
}

/// ListFunctionUrlConfigs: the function's URL and its aliases' URLs.
fn urls(client: &Client, name: &str, found: &mut Found) {
    let path = format!("/2021-10-31/functions/{}/urls", encode(name));
    for config in lambda_pages(client, &path, "FunctionUrlConfigs") {
        if let (Some(arn), Some(url)) = (text(&config, "FunctionArn"), text(&config, "FunctionUrl"))
        {
            found.add(&arn, Kind::Url, url, text(&config, "AuthType"));
        }
    }
}

/// ListEventSourceMappings, all functions at once.
fn mappings(client: &Client, found: &mut Found) {
    let path = "/2015-03-31/event-source-mappings/";
    for mapping in lambda_pages(client, path, "EventSourceMappings") {
        if let (Some(arn), Some(source)) = (
            text(&mapping, "FunctionArn"),
            text(&mapping, "EventSourceArn"),
        ) {
            let kind = if source.starts_with("arn:aws:sqs:") {
                Kind::Sqs
            } else {
                Kind::Mapping
            };
            found.add(&arn, kind, source, text(&mapping, "State"));
        }
    }
}

fn rules(client: &Client, found: &mut Found) {
    let Ok(rules) = eventbridge::rules(client) else {
        return;
    };
    for rule in rules {
        for target in &rule.targets {
            let source = format!("{}/{}", rule.bus, rule.name);
            found.add(target, Kind::Rule, source, Some(rule.state.clone()));
        }
    }
}

/// ListSchedules of every group; a summary without its target (the model has it, a
/// server may leave it out) is read whole (GetSchedule).
fn schedules(client: &Client, found: &mut Found) {
    let Ok(schedules) = scheduler::list_all(client, None) else {
        return;
    };
    for schedule in schedules {
        let (Some(name), Some(group)) = (text(&schedule, "Name"), text(&schedule, "GroupName"))
        else {
            continue;
        };
        let target = match schedule.pointer("/Target/Arn").and_then(Value::as_str) {
            Some(arn) => Some(arn.to_string()),
            None => {
                let path = scheduler::schedule_in_group_path(&name, Some(&group));
                client
                    .call_to(scheduler::SERVICE, Method::GET, &path, None)
                    .ok()
                    .and_then(|got| {
                        got.pointer("/Target/Arn")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
            }
        };
        if let Some(target) = target {
            found.add(
                &target,
                Kind::Schedule,
                format!("{group}/{name}"),
                text(&schedule, "State"),
            );
        }
    }
}

fn subscriptions(client: &Client, found: &mut Found) {
    let Ok(subscriptions) = sns::subscriptions(client) else {
        return;
    };
    for s in subscriptions.into_iter().filter(|s| s.protocol == "lambda") {
        found.add(&s.endpoint, Kind::Sns, s.topic_arn, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const F: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";

    #[test]
    fn splits_function_arns() {
        assert_eq!(function_of(F), Some((F.to_string(), None)));
        assert_eq!(
            function_of(&format!("{F}:prod")),
            Some((F.to_string(), Some("prod".to_string())))
        );
        assert_eq!(function_of("arn:aws:sqs:us-east-1:000000000000:q"), None);
        assert_eq!(function_of("f"), None);
    }

    #[test]
    fn matches_targets_to_functions() {
        let functions = vec![
            json!({"FunctionName": "f", "FunctionArn": F}),
            json!({"FunctionName": "g", "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:g"}),
        ];
        let mut found = Found::new(&functions);
        found.add(
            &format!("{F}:prod"),
            Kind::Rule,
            "default/nightly".into(),
            Some("ENABLED".into()),
        );
        found.add(
            F,
            Kind::Sns,
            "arn:aws:sns:us-east-1:000000000000:t".into(),
            None,
        );
        found.add(F, Kind::Url, "http://u/".into(), Some("NONE".into()));
        found.add(
            &format!("{F}:$LATEST"),
            Kind::Sqs,
            "arn:aws:sqs:us-east-1:000000000000:q".into(),
            Some("Enabled".into()),
        );
        // Another function's, and one that is no function's.
        found.add(
            "arn:aws:lambda:us-east-1:000000000000:function:h",
            Kind::Sns,
            "t".into(),
            None,
        );
        found.add(
            "arn:aws:sqs:us-east-1:000000000000:q",
            Kind::Rule,
            "r".into(),
            None,
        );
        let lines: Vec<String> = found.of("f").iter().map(Trigger::line).collect();
        assert_eq!(
            lines,
            [
                "url       http://u/ (NONE)",
                "sqs       arn:aws:sqs:us-east-1:000000000000:q (Enabled)",
                "rule      default/nightly (ENABLED) for :prod",
                "sns       arn:aws:sns:us-east-1:000000000000:t",
            ]
        );
        assert_eq!(found.of("g"), Vec::new());
        assert_eq!(
            serde_json::to_value(&found.of("f")[2]).expect("JSON"),
            json!({"Type": "rule", "Source": "default/nightly", "State": "ENABLED", "Qualifier": "prod"})
        );
    }
}
