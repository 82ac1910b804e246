//! PutEvents: each entry checked (a refused entry is reported in its place in `Entries`
//! while the others go through), wrapped in the envelope AWS builds, matched against its
//! bus's rules and queued durably for each target of each matching rule before the answer
//! is given. Once the answer says `EventId`, the event is delivered at least once.

use serde_json::{json, Value};

use crate::arn::{BusRef, REGION};
use crate::entry::{check_request, validate_entry, PutEventsEntry, RequestError};
use crate::envelope::{Envelope, EventTime};
use crate::job::Job;
use crate::routing::Routing;
use crate::service::EventBridge;
use crate::{messages, EventsError};

/// Whose request it is: the caller's account and the trace header of the HTTP request
/// (`X-Amzn-Trace-Id`), which an entry's own `TraceHeader` overrides.
#[derive(Debug, Clone, Default)]
pub struct Caller<'a> {
    pub account: &'a str,
    pub trace_header: Option<&'a str>,
}

impl EventBridge {
    /// PutEvents: `{"FailedEntryCount": n, "Entries": [{"EventId"} | {"ErrorCode",
    /// "ErrorMessage"}]}`, one result per entry in the request's order.
    pub fn put_events(
        &self,
        caller: &Caller<'_>,
        entries: &[PutEventsEntry],
    ) -> Result<Value, EventsError> {
        check_request(entries).map_err(|RequestError::Validation(m)| EventsError::validation(m))?;
        let now = self.now();
        let received = EventTime::from_epoch_seconds(now.div_euclid(1000))
            .ok_or_else(|| EventsError::Internal("the clock is out of range".into()))?;
        let mut results = Vec::with_capacity(entries.len());
        let mut jobs: Vec<Job> = Vec::new();
        let mut failed = 0;
        // The buses looked up, and why each is refused (`None`: it exists).
        let mut buses: Vec<(String, Option<String>)> = Vec::new();
        for entry in entries {
            let valid = match validate_entry(entry) {
                Ok(v) => v,
                Err(e) => {
                    failed += 1;
                    results.push(json!({"ErrorCode": e.code, "ErrorMessage": e.message}));
                    continue;
                }
            };
            let bus = BusRef::of(caller.account, valid.event_bus_name.as_deref());
            // Each bus is looked up once a request (its entries usually share one).
            let arn = bus.arn();
            let found = match buses.iter().find(|(a, _)| *a == arn) {
                Some((_, found)) => found.clone(),
                None => {
                    let found = match self.find_bus(&bus) {
                        Ok(_) => None,
                        Err(EventsError::Client { message, .. }) => Some(message),
                        Err(e) => return Err(e),
                    };
                    buses.push((arn, found.clone()));
                    found
                }
            };
            if let Some(message) = found {
                failed += 1;
                results.push(json!({"ErrorCode": messages::NO_BUS_CODE, "ErrorMessage": message}));
                continue;
            }
            let id = uuid::Uuid::new_v4().to_string();
            let envelope = Envelope::custom(&valid, &id, caller.account, REGION, received);
            let json = envelope.to_json();
            let trace = valid.trace_header.as_deref().or(caller.trace_header);
            let event = Routing::new(&id, &json, trace, 0);
            jobs.extend(self.route(&bus.arn(), &event, now)?);
            results.push(json!({"EventId": id}));
        }
        self.queue(&jobs, now)?;
        Ok(json!({"FailedEntryCount": failed, "Entries": results}))
    }
}

impl EventBridge {
    /// Puts an event an AWS service sends on its own behalf (a Lambda destination record:
    /// source `lambda`) on the bus `bus_arn`, in the bus's account; returns its id. The
    /// sender was authorised by whoever calls this.
    pub fn put_service_event(
        &self,
        bus_arn: &str,
        source: &str,
        detail_type: &str,
        detail: &str,
        resources: Vec<String>,
    ) -> Result<String, EventsError> {
        let bus = BusRef::of("", Some(bus_arn));
        self.find_bus(&bus)?;
        let detail = crate::Json::parse(detail)
            .map_err(|_| EventsError::validation(messages::DETAIL_MALFORMED))?;
        let now = self.now();
        let time = EventTime::from_epoch_seconds(now.div_euclid(1000))
            .ok_or_else(|| EventsError::Internal("the clock is out of range".into()))?;
        let id = uuid::Uuid::new_v4().to_string();
        let envelope = Envelope {
            id: id.clone(),
            detail_type: detail_type.to_string(),
            source: source.to_string(),
            account: bus.account.clone(),
            time,
            region: REGION.to_string(),
            resources,
            detail,
        };
        let json = envelope.to_json();
        let event = Routing::new(&id, &json, None, 0);
        let jobs = self.route(&bus.arn(), &event, now)?;
        self.queue(&jobs, now)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::{PutRule, PutTargets};
    use crate::service::tests::{service, ACCOUNT};
    use crate::Job;

    fn entry(source: &str, detail: &str) -> PutEventsEntry {
        PutEventsEntry {
            source: Some(source.into()),
            detail_type: Some("Order Placed".into()),
            detail: Some(detail.into()),
            ..Default::default()
        }
    }

    fn caller() -> Caller<'static> {
        Caller {
            account: ACCOUNT,
            trace_header: None,
        }
    }

    fn rule(eb: &EventBridge, name: &str, pattern: &str, targets: Value) {
        eb.put_rule(
            ACCOUNT,
            PutRule {
                name: name.into(),
                event_pattern: Some(pattern.into()),
                ..Default::default()
            },
        )
        .expect("rule");
        let req: PutTargets =
            serde_json::from_value(json!({"Rule": name, "Targets": targets})).expect("targets");
        eb.put_targets(ACCOUNT, req).expect("put targets");
    }

    fn queued(eb: &EventBridge) -> Vec<Job> {
        let mut rows = eb
            .store
            .events()
            .claim_event_deliveries("test", i64::MAX / 2, 1000, 100)
            .expect("claim");
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows.iter()
            .map(|r| serde_json::from_str(&r.data).expect("job"))
            .collect()
    }

    #[test]
    fn a_matching_event_is_queued_for_each_target_with_its_input() {
        let (eb, _time, _dir) = service();
        rule(
            &eb,
            "orders",
            r#"{"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}"#,
            json!([
                {"Id": "a", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"},
                {"Id": "b", "Arn": "arn:aws:sqs:us-east-1:123456789012:q",
                 "InputPath": "$.detail", "RetryPolicy": {"MaximumRetryAttempts": 3}},
            ]),
        );
        rule(
            &eb,
            "other",
            r#"{"source":["elsewhere"]}"#,
            json!([
                {"Id": "c", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:g"}
            ]),
        );
        let answer = eb
            .put_events(
                &caller(),
                &[
                    entry("shop", r#"{"total": 150, "item": "x"}"#),
                    entry("shop", r#"{"total": 50}"#),
                ],
            )
            .expect("put");
        assert_eq!(answer["FailedEntryCount"], 0);
        let id = answer["Entries"][0]["EventId"]
            .as_str()
            .expect("id")
            .to_string();
        assert!(answer["Entries"][1]["EventId"].is_string());
        let jobs = queued(&eb);
        assert_eq!(
            jobs.len(),
            2,
            "only the first event matches, for two targets"
        );
        let by_target = |t: &str| jobs.iter().find(|j| j.target_id == t).expect("job");
        let a = by_target("a");
        assert_eq!(a.event_id, id);
        assert_eq!(a.payload, a.event);
        let event: Value = serde_json::from_str(&a.payload).expect("event");
        assert_eq!(event["source"], "shop");
        assert_eq!(event["detail-type"], "Order Placed");
        assert_eq!(event["account"], ACCOUNT);
        assert_eq!(event["id"], id.as_str());
        assert_eq!(event["detail"], json!({"total": 150, "item": "x"}));
        assert_eq!(a.max_retries, 185);
        assert_eq!(a.max_age_s, 86_400);
        let b = by_target("b");
        assert_eq!(b.payload, r#"{"total":150,"item":"x"}"#);
        assert_eq!(b.max_retries, 3);
        assert_eq!(
            b.origin,
            "arn:aws:events:us-east-1:123456789012:rule/orders"
        );
    }

    #[test]
    fn refused_entries_are_reported_in_place_and_the_others_go_through() {
        let (eb, _time, _dir) = service();
        rule(
            &eb,
            "all",
            r#"{"source":[{"prefix":""}]}"#,
            json!([
                {"Id": "a", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
            ]),
        );
        let mut on_missing_bus = entry("shop", "{}");
        on_missing_bus.event_bus_name = Some("nope".into());
        let answer = eb
            .put_events(
                &caller(),
                &[
                    entry("shop", "[1]"),
                    entry("aws.s3", "{}"),
                    on_missing_bus,
                    entry("shop", "{}"),
                ],
            )
            .expect("put");
        assert_eq!(answer["FailedEntryCount"], 3);
        assert_eq!(
            answer["Entries"][0],
            json!({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
        );
        assert_eq!(
            answer["Entries"][1],
            json!({"ErrorCode": "NotAuthorizedForSourceException",
                   "ErrorMessage": "Not authorized for the source."})
        );
        assert_eq!(
            answer["Entries"][2],
            json!({"ErrorCode": "ResourceNotFoundException",
                   "ErrorMessage": "Event bus nope does not exist."})
        );
        assert!(answer["Entries"][3]["EventId"].is_string());
        assert_eq!(queued(&eb).len(), 1);
    }

    #[test]
    fn a_disabled_rule_and_a_rule_written_since_are_seen_at_once() {
        let (eb, _time, _dir) = service();
        let put = || {
            eb.put_events(&caller(), &[entry("shop", "{}")])
                .expect("put");
            queued(&eb).len()
        };
        assert_eq!(put(), 0);
        rule(
            &eb,
            "r",
            r#"{"source":["shop"]}"#,
            json!([
                {"Id": "a", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
            ]),
        );
        assert_eq!(put(), 1);
        eb.set_rule_state(ACCOUNT, "r", None, false)
            .expect("disable");
        assert_eq!(put(), 0);
    }

    #[test]
    fn every_entry_for_a_missing_bus_is_refused_and_the_others_go_through() {
        let (eb, _time, _dir) = service();
        let mut missing = entry("shop", "{}");
        missing.event_bus_name = Some("nope".into());
        let answer = eb
            .put_events(&caller(), &[missing.clone(), entry("shop", "{}"), missing])
            .expect("put");
        assert_eq!(answer["FailedEntryCount"], 2);
        for i in [0, 2] {
            assert_eq!(
                answer["Entries"][i]["ErrorCode"],
                "ResourceNotFoundException"
            );
        }
        assert!(answer["Entries"][1]["EventId"].is_string());
    }

    #[test]
    fn a_request_of_eleven_entries_is_refused_whole() {
        let (eb, _time, _dir) = service();
        let entries = vec![entry("shop", "{}"); 11];
        let err = eb.put_events(&caller(), &entries).expect_err("too many");
        assert!(matches!(
            err,
            EventsError::Client {
                code: "ValidationException",
                ..
            }
        ));
    }
}
