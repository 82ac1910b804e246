//! Routing: which of a bus's rules an event matches and the deliveries that makes. The
//! rules of a bus are read from the store once and kept compiled ([`RuleIndex`]: patterns
//! parsed, targets' input settings checked) until a rule is written through this server,
//! or for a second at most, so that a rule another node of a fleet changed is seen soon
//! after. Matching is `hearth-patterns`' EventBridge dialect on the event envelope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth_patterns::Pattern;
use hearth_store::Delivery;
use serde_json::Value;

use crate::envelope::EventTime;
use crate::input::{shape, RuleContext, TargetInput, TargetInputFields, TransformerFields};
use crate::job::{Failure, Job, Sender, DEFAULT_MAX_AGE_S, DEFAULT_RETRIES};
use crate::records::Rule;
use crate::requests::Target;
use crate::service::EventBridge;
use crate::{EventsError, Json};

/// How long a bus's compiled rules are trusted without a write seen here.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// Rules read from the store at once.
const PAGE: usize = 100;

/// A rule ready to match and deliver.
#[derive(Debug, Clone)]
pub(crate) struct Routed {
    pub arn: String,
    pub name: String,
    pub pattern: Option<Pattern>,
    pub enabled: bool,
    pub targets: Vec<RoutedTarget>,
}

/// A rule's target, its settings read.
#[derive(Debug, Clone)]
pub(crate) struct RoutedTarget {
    pub id: String,
    pub arn: String,
    pub input: TargetInput,
    pub max_retries: u32,
    pub max_age_s: i64,
    pub dead_letter: Option<String>,
    pub group_id: Option<String>,
}

impl RoutedTarget {
    /// The target PutTargets stored (`raw`); `None` if it no longer reads (it was checked
    /// when it was put).
    pub fn of(raw: &Value) -> Option<RoutedTarget> {
        let t: Target = serde_json::from_value(raw.clone()).ok()?;
        let fields = TargetInputFields {
            input: t.input.as_deref(),
            input_path: t.input_path.as_deref(),
            input_transformer: t.input_transformer.as_ref().map(|x| TransformerFields {
                input_paths_map: &x.input_paths_map,
                input_template: &x.input_template,
            }),
        };
        let input = TargetInput::from_fields(&t.id, 1, &fields).ok()?;
        let retry = t.retry_policy.as_ref();
        let group_id = raw
            .pointer("/SqsParameters/MessageGroupId")
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(RoutedTarget {
            id: t.id,
            arn: t.arn,
            input,
            max_retries: retry
                .and_then(|r| r.maximum_retry_attempts)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(DEFAULT_RETRIES),
            max_age_s: retry
                .and_then(|r| r.maximum_event_age_in_seconds)
                .unwrap_or(DEFAULT_MAX_AGE_S),
            dead_letter: t.dead_letter_arn,
            group_id,
        })
    }
}

impl Routed {
    /// The stored rule, compiled; a pattern that no longer parses matches nothing.
    pub fn of(rule: &Rule) -> Routed {
        Routed {
            arn: rule.arn.clone(),
            name: rule.name.clone(),
            pattern: rule
                .event_pattern
                .as_deref()
                .and_then(|p| crate::rules::parse_pattern(p).ok()),
            enabled: rule.state != "DISABLED",
            targets: rule.targets.iter().filter_map(RoutedTarget::of).collect(),
        }
    }

    /// The deliveries of `event` (`doc` is the same as a JSON value, for the patterns)
    /// to this rule's targets when the rule matches it.
    pub fn matches(&self, doc: &Value) -> bool {
        self.enabled && self.pattern.as_ref().is_some_and(|p| p.matches(doc))
    }

    /// One delivery per target of `event`, matched by this rule, as it arrived at
    /// `now_ms`. A target whose input cannot be made of the event (an `InputPath` that
    /// selects nothing) fails at once: to its dead-letter queue, if it has one.
    pub fn deliveries(&self, event: &Routing<'_>, now_ms: i64) -> Vec<Job> {
        let ctx = RuleContext {
            rule_arn: self.arn.clone(),
            rule_name: self.name.clone(),
            ingestion_time: EventTime::from_epoch_seconds(now_ms.div_euclid(1000))
                .map(EventTime::to_rfc3339)
                .unwrap_or_default(),
        };
        let mut jobs = Vec::with_capacity(self.targets.len());
        for t in &self.targets {
            let job = |payload: String| Job {
                origin: self.arn.clone(),
                target_id: t.id.clone(),
                target_arn: t.arn.clone(),
                payload,
                event: event.text.clone(),
                event_id: event.id.to_string(),
                created_ms: now_ms,
                max_retries: t.max_retries,
                max_age_s: t.max_age_s,
                dead_letter: t.dead_letter.clone(),
                group_id: t.group_id.clone(),
                trace_header: event.trace_header.map(str::to_string),
                sender: Sender::Rule,
                hops: event.hops,
                failure: None,
            };
            match shape(&t.input, event.json, &ctx) {
                Ok(payload) => jobs.push(job(payload)),
                Err(e) => {
                    tracing::warn!(rule = %self.arn, target = %t.id, error = %e, "an event's input for a target cannot be made");
                    let failure = Failure {
                        code: "INVALID_PARAMETER".into(),
                        message: e.to_string(),
                        exhausted: None,
                        retry_attempts: 0,
                        target_arn: String::new(),
                    };
                    if let Some(dl) = job(String::new()).dead_letter(failure) {
                        jobs.push(dl);
                    }
                }
            }
        }
        jobs
    }
}

/// An event being routed: its envelope, the same as text and as a JSON value.
pub(crate) struct Routing<'a> {
    pub id: &'a str,
    pub json: &'a Json,
    pub text: String,
    pub doc: Value,
    pub trace_header: Option<&'a str>,
    pub hops: u32,
}

impl<'a> Routing<'a> {
    pub fn new(id: &'a str, json: &'a Json, trace_header: Option<&'a str>, hops: u32) -> Self {
        Routing {
            id,
            json,
            text: json.to_text(),
            doc: json.to_value(),
            trace_header,
            hops,
        }
    }
}

/// Each bus's rules, compiled, with when they were read.
#[derive(Default)]
pub(crate) struct RuleIndex {
    buses: Mutex<HashMap<String, Loaded>>,
}

/// A bus's rules and when they were read.
type Loaded = (Instant, Arc<Vec<Routed>>);

impl RuleIndex {
    /// Forgets every bus's rules (a rule was written).
    pub fn forget(&self) {
        self.buses.lock().expect("rule index lock").clear();
    }
}

/// A job as the store queues it, due at once.
pub(crate) fn row(job: &Job, now_ms: i64) -> Result<Delivery, EventsError> {
    Ok(Delivery {
        id: job.row_id(),
        due_ms: now_ms,
        attempts: 0,
        data: serde_json::to_string(job)?,
    })
}

impl EventBridge {
    /// The rules of the bus `bus_arn`, compiled (from the index while fresh).
    pub(crate) fn rules_of(&self, bus_arn: &str) -> Result<Arc<Vec<Routed>>, EventsError> {
        let index = &self.shared.rules;
        if let Some((at, rules)) = index.buses.lock().expect("rule index lock").get(bus_arn) {
            if at.elapsed() < FRESH_FOR {
                return Ok(rules.clone());
            }
        }
        let mut rules = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows =
                self.store
                    .events()
                    .list_event_rules(bus_arn, None, after.as_deref(), PAGE)?;
            for data in &rows {
                let rule: Rule = serde_json::from_str(data)?;
                after = Some(rule.name.clone());
                rules.push(Routed::of(&rule));
            }
            if rows.len() < PAGE {
                break;
            }
        }
        let rules = Arc::new(rules);
        index
            .buses
            .lock()
            .expect("rule index lock")
            .insert(bus_arn.to_string(), (Instant::now(), rules.clone()));
        Ok(rules)
    }

    /// The deliveries `event` makes on the bus `bus_arn`: one per target of each enabled
    /// rule whose pattern it matches.
    pub(crate) fn route(
        &self,
        bus_arn: &str,
        event: &Routing<'_>,
        now_ms: i64,
    ) -> Result<Vec<Job>, EventsError> {
        let rules = self.rules_of(bus_arn)?;
        Ok(rules
            .iter()
            .filter(|r| r.matches(&event.doc))
            .flat_map(|r| r.deliveries(event, now_ms))
            .collect())
    }

    /// Queues `jobs` durably and wakes the delivery source.
    pub(crate) fn queue(&self, jobs: &[Job], now_ms: i64) -> Result<(), EventsError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let rows = jobs
            .iter()
            .map(|j| row(j, now_ms))
            .collect::<Result<Vec<_>, _>>()?;
        self.store.events().add_event_deliveries(&rows)?;
        self.shared.wake.notify_one();
        Ok(())
    }
}
