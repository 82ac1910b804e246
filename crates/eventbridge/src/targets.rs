//! Targets: PutTargets (each checked; a target Hearth cannot deliver to is reported in
//! `FailedEntries` while the others are kept), RemoveTargets and ListTargetsByRule. A
//! rule has at most five targets (AWS's quota).

use serde_json::{json, Value};

use crate::arn::BusRef;
use crate::input::{TargetInput, TargetInputFields, TransformerFields};
use crate::records::Rule;
use crate::requests::{Page, PutTargets, RemoveTargets, Target};
use crate::service::{with_token, EventBridge, Paging};
use crate::{checks, messages, EventsError};

/// The most targets of one rule (AWS's quota).
pub const MAX_TARGETS: usize = 5;

/// What a target's ARN names, of what Hearth delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Lambda,
    Sqs,
    Sns,
    EventBus,
}

impl TargetKind {
    /// The kind of `arn`: a Lambda function (or its version or alias), an SQS queue, an
    /// SNS topic or an event bus.
    pub fn of(arn: &str) -> Option<TargetKind> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() < 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
            return None;
        }
        let resource = &parts[5..];
        match (parts[2], resource) {
            ("lambda", ["function", name]) | ("lambda", ["function", name, _]) => {
                (!name.is_empty()).then_some(TargetKind::Lambda)
            }
            ("sqs", [name]) => (!name.is_empty()).then_some(TargetKind::Sqs),
            ("sns", [name]) => (!name.is_empty()).then_some(TargetKind::Sns),
            ("events", [r]) if r.starts_with("event-bus/") && r.len() > 10 => {
                Some(TargetKind::EventBus)
            }
            _ => None,
        }
    }
}

/// A target's checks that refuse the whole request (the model's constraints, the input
/// settings, the retry policy, the dead-letter queue).
fn check_target(position: usize, t: &Target) -> Result<(), EventsError> {
    let at = |f: &str| format!("targets.{position}.member.{f}");
    checks::name(&t.id, &at("id"))?;
    checks::length(&t.arn, &at("arn"), 1, 1600)?;
    let fields = TargetInputFields {
        input: t.input.as_deref(),
        input_path: t.input_path.as_deref(),
        input_transformer: t.input_transformer.as_ref().map(|x| TransformerFields {
            input_paths_map: &x.input_paths_map,
            input_template: &x.input_template,
        }),
    };
    TargetInput::from_fields(&t.id, position, &fields)
        .map_err(|e| EventsError::validation(e.to_string()))?;
    if let Some(retry) = &t.retry_policy {
        if let Some(n) = retry.maximum_retry_attempts {
            checks::range(n, &at("retryPolicy.maximumRetryAttempts"), 0, 185)?;
        }
        if let Some(n) = retry.maximum_event_age_in_seconds {
            checks::range(n, &at("retryPolicy.maximumEventAgeInSeconds"), 60, 86400)?;
        }
    }
    if let Some(dlq) = &t.dead_letter_arn {
        checks::length(dlq, &at("deadLetterConfig.arn"), 1, 1600)?;
        if TargetKind::of(dlq) != Some(TargetKind::Sqs) {
            return Err(EventsError::validation(messages::dead_letter_not_queue(
                &t.id,
            )));
        }
    }
    Ok(())
}

fn failed(entries: Vec<Value>) -> Value {
    json!({"FailedEntryCount": entries.len(), "FailedEntries": entries})
}

impl EventBridge {
    /// PutTargets: adds the targets to the rule, replacing those with the same `Id`.
    pub fn put_targets(&self, account: &str, req: PutTargets) -> Result<Value, EventsError> {
        checks::name(&req.rule, "rule")?;
        if req.targets.is_empty() || req.targets.len() > 100 {
            return Err(EventsError::validation(messages::constraint(
                &format!("[{} targets]", req.targets.len()),
                "targets",
                if req.targets.is_empty() {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 100"
                },
            )));
        }
        for (i, t) in req.targets.iter().enumerate() {
            check_target(i + 1, t)?;
        }
        let bus = BusRef::of(account, req.event_bus_name.as_deref());
        self.find_bus(&bus)?;
        let mut failures = Vec::new();
        let mut accepted = Vec::new();
        for t in req.targets {
            if TargetKind::of(&t.arn).is_some() {
                accepted.push(t.raw);
            } else {
                failures.push(json!({
                    "TargetId": t.id,
                    "ErrorCode": "ValidationException",
                    "ErrorMessage": messages::unsupported_target(&t.arn),
                }));
            }
        }
        self.edit_rule(&bus, &req.rule, |rule| {
            for target in accepted {
                let id = Rule::target_id(&target).to_string();
                match rule.targets.iter_mut().find(|t| Rule::target_id(t) == id) {
                    Some(old) => *old = target,
                    None => rule.targets.push(target),
                }
            }
            if rule.targets.len() > MAX_TARGETS {
                return Err(EventsError::client(
                    "LimitExceededException",
                    messages::TOO_MANY_TARGETS,
                ));
            }
            Ok(())
        })?;
        Ok(failed(failures))
    }

    /// RemoveTargets: the ids the rule has go; the others are reported failed.
    pub fn remove_targets(&self, account: &str, req: RemoveTargets) -> Result<Value, EventsError> {
        checks::name(&req.rule, "rule")?;
        for (i, id) in req.ids.iter().enumerate() {
            checks::name(id, &format!("ids.{}.member", i + 1))?;
        }
        let bus = BusRef::of(account, req.event_bus_name.as_deref());
        self.find_bus(&bus)?;
        let rule_name = req.rule.clone();
        let failures = self.edit_rule(&bus, &req.rule, |rule| {
            let mut failures = Vec::new();
            for id in &req.ids {
                let before = rule.targets.len();
                rule.targets.retain(|t| Rule::target_id(t) != id);
                if rule.targets.len() == before {
                    failures.push(json!({
                        "TargetId": id,
                        "ErrorCode": "ResourceNotFoundException",
                        "ErrorMessage": messages::no_target(id, &rule_name),
                    }));
                }
            }
            Ok(failures)
        })?;
        Ok(failed(failures))
    }

    /// ListTargetsByRule: the rule's targets as PutTargets stored them, in the order added.
    pub fn list_targets_by_rule(
        &self,
        account: &str,
        rule: &str,
        bus: Option<&str>,
        page: &Page,
    ) -> Result<Value, EventsError> {
        checks::name(rule, "rule")?;
        let paging = Paging::of(page)?;
        let bus = BusRef::of(account, bus);
        self.find_bus(&bus)?;
        let found = self.find_rule(&bus, rule)?;
        // The token is the index of the next target.
        let start = match &paging.after {
            None => 0,
            Some(t) => t
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= found.targets.len())
                .ok_or_else(|| EventsError::validation(messages::BAD_NEXT_TOKEN))?,
        };
        let end = (start + paging.limit).min(found.targets.len());
        let page_targets = &found.targets[start..end];
        let next = (end < found.targets.len()).then(|| end.to_string());
        Ok(with_token(json!({"Targets": page_targets}), next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::PutRule;
    use crate::service::tests::{code_and_message, service, ACCOUNT};

    fn targets(v: Value) -> Vec<Target> {
        serde_json::from_value(v).expect("targets")
    }

    #[test]
    fn target_kinds_are_told_by_their_arn() {
        let k = TargetKind::of;
        assert_eq!(
            k("arn:aws:lambda:us-east-1:123456789012:function:f"),
            Some(TargetKind::Lambda)
        );
        assert_eq!(
            k("arn:aws:lambda:us-east-1:123456789012:function:f:live"),
            Some(TargetKind::Lambda)
        );
        assert_eq!(
            k("arn:aws:sqs:us-east-1:123456789012:q"),
            Some(TargetKind::Sqs)
        );
        assert_eq!(
            k("arn:aws:sns:us-east-1:123456789012:t"),
            Some(TargetKind::Sns)
        );
        assert_eq!(
            k("arn:aws:events:us-east-1:123456789012:event-bus/b"),
            Some(TargetKind::EventBus)
        );
        assert_eq!(k("arn:aws:kinesis:us-east-1:123456789012:stream/s"), None);
        assert_eq!(k("not-an-arn"), None);
    }

    #[test]
    fn targets_are_put_replaced_limited_removed_and_block_deletion() {
        let (eb, _, _dir) = service();
        eb.put_rule(
            ACCOUNT,
            PutRule {
                name: "r".into(),
                event_pattern: Some(r#"{"source":["a"]}"#.into()),
                ..Default::default()
            },
        )
        .expect("rule");
        let put = |v: Value| {
            eb.put_targets(
                ACCOUNT,
                PutTargets {
                    rule: "r".into(),
                    event_bus_name: None,
                    targets: targets(v),
                },
            )
        };
        let answer = put(json!([
            {"Id": "a", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"},
            {"Id": "k", "Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/s"},
        ]))
        .expect("put");
        assert_eq!(answer["FailedEntryCount"], json!(1));
        assert_eq!(answer["FailedEntries"][0]["TargetId"], json!("k"));
        put(json!([{"Id": "a", "Arn": "arn:aws:sns:us-east-1:123456789012:t", "Input": "{}"}]))
            .expect("replace");
        let listed = eb
            .list_targets_by_rule(ACCOUNT, "r", None, &Page::default())
            .expect("list");
        assert_eq!(
            listed,
            json!({"Targets": [{"Id": "a", "Arn": "arn:aws:sns:us-east-1:123456789012:t", "Input": "{}"}]})
        );
        let six: Vec<Value> = (0..5)
            .map(|i| json!({"Id": format!("t{i}"), "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}))
            .collect();
        assert_eq!(
            code_and_message(put(json!(six)).expect_err("six")),
            (
                "LimitExceededException".into(),
                messages::TOO_MANY_TARGETS.into()
            )
        );
        assert_eq!(
            code_and_message(
                put(json!([{"Id": "a", "Arn": "arn:aws:sqs:us-east-1:123456789012:q",
                            "RetryPolicy": {"MaximumRetryAttempts": 186}}]))
                .expect_err("retry")
            )
            .1,
            "1 validation error detected: Value '186' at 'targets.1.member.retryPolicy.maximumRetryAttempts' \
             failed to satisfy constraint: Member must have value less than or equal to 185"
        );
        assert_eq!(
            code_and_message(
                eb.delete_rule(ACCOUNT, "r", None, false)
                    .expect_err("targets")
            ),
            (
                "ValidationException".into(),
                "Rule can't be deleted since it has targets.".into()
            )
        );
        let removed = eb
            .remove_targets(
                ACCOUNT,
                RemoveTargets {
                    rule: "r".into(),
                    ids: vec!["a".into(), "zz".into()],
                    ..Default::default()
                },
            )
            .expect("remove");
        assert_eq!(removed["FailedEntryCount"], json!(1));
        assert_eq!(removed["FailedEntries"][0]["TargetId"], json!("zz"));
        eb.delete_rule(ACCOUNT, "r", None, false)
            .expect("no targets left");
        eb.delete_rule(ACCOUNT, "r", None, false)
            .expect("missing is fine");
    }
}
