//! Rules: PutRule (create or replace), DescribeRule, ListRules, Enable/DisableRule,
//! DeleteRule (refused while targets remain, unless forced), ListRuleNamesByTarget and
//! TestEventPattern. A pattern is checked by `hearth-patterns`' EventBridge dialect, a
//! schedule by `hearth-schedule`'s rule dialect.

use hearth_patterns::{Dialect as PatternDialect, Pattern};
use hearth_schedule::{Dialect as ScheduleDialect, Expression};
use hearth_store::StoreError;
use serde_json::{json, Value};

use crate::arn::{BusRef, DEFAULT_BUS};
use crate::records::Rule;
use crate::requests::{Page, PutRule};
use crate::service::{with_token, EventBridge, Paging};
use crate::{checks, messages, EventsError};

/// The states a rule may be put in (the model's `RuleState`).
const STATES: [&str; 3] = [
    "ENABLED",
    "DISABLED",
    "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
];

/// The fields TestEventPattern's `Event` must have (the API reference's list).
const EVENT_FIELDS: [&str; 7] = [
    "id",
    "account",
    "source",
    "time",
    "region",
    "resources",
    "detail-type",
];

/// A pattern checked as EventBridge checks it.
pub(crate) fn parse_pattern(text: &str) -> Result<Pattern, EventsError> {
    Pattern::parse(text, PatternDialect::EventBridge)
        .map_err(|e| EventsError::client(e.error_code(), e.message()))
}

impl EventBridge {
    /// The rule `name` on the bus `bus` names, or AWS's not-found answer.
    pub(crate) fn find_rule(&self, bus: &BusRef, name: &str) -> Result<Rule, EventsError> {
        match self.store.events().get_event_rule(&bus.rule_arn(name))? {
            Some(data) => Ok(serde_json::from_str(&data)?),
            None => Err(EventsError::not_found(messages::no_rule(name, &bus.name))),
        }
    }

    /// Changes the rule `name` atomically with `f`; AWS's not-found answer if it is gone.
    pub(crate) fn edit_rule<T>(
        &self,
        bus: &BusRef,
        name: &str,
        f: impl FnOnce(&mut Rule) -> Result<T, EventsError>,
    ) -> Result<T, EventsError> {
        let mut out = None;
        let edited = self
            .store
            .events()
            .update_event_rule(&bus.rule_arn(name), |data| {
                let mut rule: Rule = serde_json::from_str(data)?;
                out = Some(f(&mut rule)?);
                *data = serde_json::to_string(&rule)?;
                Ok::<(), EventsError>(())
            })?;
        self.rules_changed();
        match edited {
            None => Err(EventsError::not_found(messages::no_rule(name, &bus.name))),
            Some(Err(e)) => Err(e),
            Some(Ok(_)) => out.ok_or_else(|| EventsError::Internal("edit without result".into())),
        }
    }

    /// PutRule: creates the rule, or replaces its settings (its targets and tags stay).
    pub fn put_rule(&self, account: &str, req: PutRule) -> Result<Value, EventsError> {
        checks::name(&req.name, "name")?;
        checks::length_opt(
            req.schedule_expression.as_deref(),
            "scheduleExpression",
            0,
            256,
        )?;
        checks::length_opt(req.event_pattern.as_deref(), "eventPattern", 0, 4096)?;
        if let Some(state) = &req.state {
            checks::one_of(state, "state", &STATES)?;
        }
        checks::length_opt(req.description.as_deref(), "description", 0, 512)?;
        checks::length_opt(req.role_arn.as_deref(), "roleArn", 1, 1600)?;
        checks::length_opt(req.event_bus_name.as_deref(), "eventBusName", 1, 1600)?;
        crate::tagging::check_tags(&req.tags)?;
        if req.event_pattern.is_none() && req.schedule_expression.is_none() {
            return Err(EventsError::validation(messages::PATTERN_OR_SCHEDULE));
        }
        let bus = BusRef::of(account, req.event_bus_name.as_deref());
        let found = self.find_bus(&bus)?;
        if let Some(pattern) = &req.event_pattern {
            parse_pattern(pattern)?;
        }
        if let Some(schedule) = &req.schedule_expression {
            if bus.name != DEFAULT_BUS {
                return Err(EventsError::validation(messages::SCHEDULE_ON_DEFAULT_ONLY));
            }
            Expression::parse(schedule, ScheduleDialect::Rule)
                .map_err(|e| EventsError::validation(e.aws_message(ScheduleDialect::Rule)))?;
        }
        let arn = bus.rule_arn(&req.name);
        let state = req.state.clone().unwrap_or_else(|| "ENABLED".to_string());
        let now = self.now();
        let replace = |rule: &mut Rule| {
            if rule.schedule_expression != req.schedule_expression {
                rule.scheduled_ms = now;
            }
            rule.event_pattern = req.event_pattern.clone();
            rule.schedule_expression = req.schedule_expression.clone();
            rule.state = state.clone();
            rule.description = req.description.clone();
            rule.role_arn = req.role_arn.clone();
        };
        let record = Rule {
            name: req.name.clone(),
            arn: arn.clone(),
            event_bus_name: found.name.clone(),
            event_bus_arn: found.arn.clone(),
            event_pattern: req.event_pattern.clone(),
            schedule_expression: req.schedule_expression.clone(),
            state: state.clone(),
            description: req.description.clone(),
            role_arn: req.role_arn.clone(),
            created_by: account.to_string(),
            tags: req.tags.clone(),
            targets: Vec::new(),
            scheduled_ms: now,
        };
        if self.store.events().get_event_rule(&arn)?.is_none() {
            match self.store.events().insert_event_rule(
                account,
                &found.arn,
                &arn,
                &serde_json::to_string(&record)?,
            ) {
                Ok(true) => {
                    self.rules_changed();
                    return Ok(json!({"RuleArn": arn}));
                }
                Ok(false) => return Err(EventsError::not_found(messages::no_bus(&bus.name))),
                // Made meanwhile by another request: replace it as an update would.
                Err(StoreError::Exists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.edit_rule(&bus, &req.name, |rule| {
            replace(rule);
            Ok(())
        })?;
        Ok(json!({"RuleArn": arn}))
    }

    /// DescribeRule.
    pub fn describe_rule(
        &self,
        account: &str,
        name: &str,
        bus: Option<&str>,
    ) -> Result<Value, EventsError> {
        checks::name(name, "name")?;
        let bus = BusRef::of(account, bus);
        self.find_bus(&bus)?;
        Ok(self.find_rule(&bus, name)?.describe())
    }

    /// ListRules: the bus's rules in name order.
    pub fn list_rules(
        &self,
        account: &str,
        bus: Option<&str>,
        page: &Page,
    ) -> Result<Value, EventsError> {
        let paging = Paging::of(page)?;
        let bus = BusRef::of(account, bus);
        let found = self.find_bus(&bus)?;
        let rows = self.store.events().list_event_rules(
            &found.arn,
            page.name_prefix.as_deref(),
            paging.after.as_deref(),
            paging.limit + 1,
        )?;
        let rules = rows
            .iter()
            .map(|r| serde_json::from_str::<Rule>(r))
            .collect::<Result<Vec<_>, _>>()?;
        let (rules, next) = paging.cut(rules, |r| r.name.clone());
        let listed: Vec<Value> = rules.iter().map(Rule::listed).collect();
        Ok(with_token(json!({"Rules": listed}), next))
    }

    /// EnableRule (`enabled`) or DisableRule.
    pub fn set_rule_state(
        &self,
        account: &str,
        name: &str,
        bus: Option<&str>,
        enabled: bool,
    ) -> Result<(), EventsError> {
        checks::name(name, "name")?;
        let bus = BusRef::of(account, bus);
        self.find_bus(&bus)?;
        let now = self.now();
        self.edit_rule(&bus, name, |rule| {
            // A rule enabled again counts its schedule from now: the slots it missed
            // while disabled are not fired late.
            if enabled && rule.state == "DISABLED" {
                rule.scheduled_ms = now;
            }
            rule.state = if enabled { "ENABLED" } else { "DISABLED" }.to_string();
            Ok(())
        })
    }

    /// DeleteRule: refused while the rule has targets unless `force`; a missing rule is
    /// no error (as AWS).
    pub fn delete_rule(
        &self,
        account: &str,
        name: &str,
        bus: Option<&str>,
        force: bool,
    ) -> Result<(), EventsError> {
        checks::name(name, "name")?;
        let bus = BusRef::of(account, bus);
        let arn = bus.rule_arn(name);
        let Some(data) = self.store.events().get_event_rule(&arn)? else {
            return Ok(());
        };
        let rule: Rule = serde_json::from_str(&data)?;
        if !rule.targets.is_empty() && !force {
            return Err(EventsError::validation(messages::RULE_HAS_TARGETS));
        }
        self.store.events().delete_event_rule(&arn)?;
        self.rules_changed();
        Ok(())
    }

    /// ListRuleNamesByTarget: the names of the bus's rules with a target of `target_arn`.
    pub fn list_rule_names_by_target(
        &self,
        account: &str,
        target_arn: &str,
        bus: Option<&str>,
        page: &Page,
    ) -> Result<Value, EventsError> {
        checks::length(target_arn, "targetArn", 1, 1600)?;
        let paging = Paging::of(page)?;
        let bus = BusRef::of(account, bus);
        let found = self.find_bus(&bus)?;
        let mut names = Vec::new();
        let mut after = paging.after.clone();
        // Read the bus's rules a page at a time until one more than a page matched.
        loop {
            let rows = self.store.events().list_event_rules(
                &found.arn,
                None,
                after.as_deref(),
                crate::service::PAGE_MAX as usize,
            )?;
            let Some(last) = rows.last() else { break };
            after = Some(serde_json::from_str::<Rule>(last)?.name);
            for row in &rows {
                let rule: Rule = serde_json::from_str(row)?;
                let targets_it = rule
                    .targets
                    .iter()
                    .any(|t| t.get("Arn").and_then(Value::as_str) == Some(target_arn));
                if targets_it {
                    names.push(rule.name);
                }
            }
            if names.len() > paging.limit || rows.len() < crate::service::PAGE_MAX as usize {
                break;
            }
        }
        let (names, next) = paging.cut(names, String::clone);
        Ok(with_token(json!({"RuleNames": names}), next))
    }

    /// TestEventPattern: whether `event` matches `pattern`.
    pub fn test_event_pattern(&self, pattern: &str, event: &str) -> Result<Value, EventsError> {
        checks::length(pattern, "eventPattern", 0, 4096)?;
        let compiled = parse_pattern(pattern)?;
        let doc: Value = serde_json::from_str(event)
            .map_err(|_| EventsError::validation(messages::EVENT_NOT_VALID))?;
        let complete = doc
            .as_object()
            .is_some_and(|o| EVENT_FIELDS.iter().all(|f| o.contains_key(*f)));
        if !complete {
            return Err(EventsError::validation(messages::EVENT_NOT_VALID));
        }
        Ok(json!({"Result": compiled.matches(&doc)}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::CreateEventBus;
    use crate::service::tests::{code_and_message, service, ACCOUNT};

    fn put(
        eb: &EventBridge,
        name: &str,
        pattern: Option<&str>,
        bus: Option<&str>,
    ) -> Result<Value, EventsError> {
        eb.put_rule(
            ACCOUNT,
            PutRule {
                name: name.into(),
                event_pattern: pattern.map(str::to_string),
                event_bus_name: bus.map(str::to_string),
                ..Default::default()
            },
        )
    }

    #[test]
    fn a_rule_is_put_described_replaced_and_listed() {
        let (eb, _, _dir) = service();
        let arn = put(&eb, "r1", Some(r#"{"source":["a"]}"#), None).expect("put");
        assert_eq!(
            arn,
            json!({"RuleArn": "arn:aws:events:us-east-1:123456789012:rule/r1"})
        );
        eb.put_rule(
            ACCOUNT,
            PutRule {
                name: "r1".into(),
                schedule_expression: Some("rate(5 minutes)".into()),
                state: Some("DISABLED".into()),
                description: Some("d".into()),
                ..Default::default()
            },
        )
        .expect("replace");
        assert_eq!(
            eb.describe_rule(ACCOUNT, "r1", None).expect("describe"),
            json!({"Name": "r1", "Arn": "arn:aws:events:us-east-1:123456789012:rule/r1",
                   "ScheduleExpression": "rate(5 minutes)", "State": "DISABLED",
                   "Description": "d", "EventBusName": "default", "CreatedBy": ACCOUNT})
        );
        eb.set_rule_state(ACCOUNT, "r1", None, true)
            .expect("enable");
        put(&eb, "r2", Some(r#"{"source":["a"]}"#), None).expect("put");
        let listed = eb
            .list_rules(
                ACCOUNT,
                None,
                &Page {
                    limit: Some(1),
                    ..Default::default()
                },
            )
            .expect("list");
        assert_eq!(listed["Rules"][0]["State"], json!("ENABLED"));
        assert_eq!(listed["NextToken"], json!("r1"));
    }

    #[test]
    fn puts_are_refused_as_aws_refuses_them() {
        let (eb, _, _dir) = service();
        assert_eq!(
            code_and_message(put(&eb, "r", None, None).expect_err("neither")),
            (
                "ValidationException".into(),
                messages::PATTERN_OR_SCHEDULE.into()
            )
        );
        let (code, message) =
            code_and_message(put(&eb, "r", Some(r#"{"source":"a"}"#), None).expect_err("bad"));
        assert_eq!(code, "InvalidEventPatternException");
        assert!(
            message.starts_with("Event pattern is not valid. Reason: "),
            "{message}"
        );
        assert_eq!(
            code_and_message(
                put(&eb, "r", Some(r#"{"source":["a"]}"#), Some("nope")).expect_err("no bus")
            ),
            (
                "ResourceNotFoundException".into(),
                "Event bus nope does not exist.".into()
            )
        );
        let bad_schedule = eb.put_rule(
            ACCOUNT,
            PutRule {
                name: "r".into(),
                schedule_expression: Some("rate(0 minutes)".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            code_and_message(bad_schedule.expect_err("bad schedule")),
            (
                "ValidationException".into(),
                "Parameter ScheduleExpression is not valid.".into()
            )
        );
        eb.create_event_bus(
            ACCOUNT,
            CreateEventBus {
                name: "b".into(),
                ..Default::default()
            },
        )
        .expect("bus");
        let on_bus = eb.put_rule(
            ACCOUNT,
            PutRule {
                name: "r".into(),
                schedule_expression: Some("rate(5 minutes)".into()),
                event_bus_name: Some("b".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            code_and_message(on_bus.expect_err("not default")),
            (
                "ValidationException".into(),
                messages::SCHEDULE_ON_DEFAULT_ONLY.into()
            )
        );
        assert_eq!(
            put(&eb, "r", Some(r#"{"source":["a"]}"#), Some("b")).expect("on b"),
            json!({"RuleArn": "arn:aws:events:us-east-1:123456789012:rule/b/r"})
        );
        assert_eq!(
            code_and_message(
                eb.describe_rule(ACCOUNT, "r", None)
                    .expect_err("not on default")
            ),
            (
                "ResourceNotFoundException".into(),
                "Rule r does not exist on EventBus default.".into()
            )
        );
    }

    #[test]
    fn test_event_pattern_needs_the_envelope_fields() {
        let (eb, _, _dir) = service();
        let event = json!({"id": "1", "account": ACCOUNT, "source": "a", "time": "2020-01-01T00:00:00Z",
                           "region": "us-east-1", "resources": [], "detail-type": "t", "detail": {}})
        .to_string();
        assert_eq!(
            eb.test_event_pattern(r#"{"source":["a"]}"#, &event)
                .expect("test"),
            json!({"Result": true})
        );
        assert_eq!(
            eb.test_event_pattern(r#"{"source":["b"]}"#, &event)
                .expect("test"),
            json!({"Result": false})
        );
        assert_eq!(
            code_and_message(
                eb.test_event_pattern(r#"{"source":["a"]}"#, r#"{"source":"a"}"#)
                    .expect_err("fields")
            ),
            (
                "ValidationException".into(),
                "Parameter Event is not valid.".into()
            )
        );
    }
}
