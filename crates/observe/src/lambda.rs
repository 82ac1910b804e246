//! The `AWS/Lambda` metrics of what the table counted, as AWS publishes them: per
//! account (no dimension), per function (`FunctionName`), per version or alias invoked
//! (`FunctionName`, `Resource` = `name:qualifier`), and for an alias per version it ran
//! (`ExecutedVersion`, `FunctionName`, `Resource`, which AWS gives alias invocations
//! only). The asynchronous-invocation metrics (`AsyncEventsReceived`, `AsyncEventAge`,
//! `AsyncEventsDropped`, `DeadLetterErrors`, `DestinationDeliveryFailures`) go under
//! `FunctionName`, and `FunctionName` and `Resource` for an event that named a
//! qualifier. UNSURE: whether AWS also aggregates those per account (no dimension);
//! its documentation does not say, so Hearth does not. `RecursiveInvocationsDropped`
//! (Count) goes under `FunctionName` only, as AWS documents it.

use hearth_metrics::{Recorder, Stats, Unit};
use hearth_model::arn::key_parts;

use crate::table::{Entry, Minute};

/// The namespace of the metrics Lambda publishes.
pub const NAMESPACE: &str = "AWS/Lambda";

/// Where published data points go: the CloudWatch service's recorder, or a test's.
pub trait MetricSink: Send + Sync {
    /// Records the aggregate `stats` of a metric in the minute of `ts_ms`.
    fn record(
        &self,
        account: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        unit: Unit,
        ts_ms: i64,
        stats: &Stats,
    );

    /// Records one sample of `count` events (a sum over the period).
    fn count(
        &self,
        account: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        ts_ms: i64,
        count: u64,
    ) {
        self.record(
            account,
            name,
            dimensions,
            Unit::COUNT,
            ts_ms,
            &Stats::of(count as f64),
        );
    }
}

impl MetricSink for Recorder {
    fn record(
        &self,
        account: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        unit: Unit,
        ts_ms: i64,
        stats: &Stats,
    ) {
        self.record_stats(account, NAMESPACE, name, dimensions, unit, 60, ts_ms, stats);
    }
}

/// Whether a qualifier names an alias (not a version number nor `$LATEST`).
fn is_alias(qualifier: &str) -> bool {
    qualifier != "$LATEST" && !qualifier.bytes().all(|b| b.is_ascii_digit())
}

/// Publishes every entry's minutes to `sink`.
pub(crate) fn publish(entries: &[Entry], sink: &dyn MetricSink) {
    for e in entries {
        let (account, name) = key_parts(&e.function);
        let resource = e.qualifier.as_ref().map(|q| format!("{name}:{q}"));
        let mut sets: Vec<Vec<(&str, &str)>> = vec![vec![], vec![("FunctionName", name)]];
        if let Some(r) = &resource {
            sets.push(vec![("FunctionName", name), ("Resource", r)]);
            let alias = e.qualifier.as_deref().is_some_and(is_alias);
            if alias && !e.version.is_empty() {
                sets.push(vec![
                    ("ExecutedVersion", &e.version),
                    ("FunctionName", name),
                    ("Resource", r),
                ]);
            }
        }
        for m in &e.minutes {
            // One distribution of the minute's durations, shared by every dimension set.
            let durations = (m.invocations > 0)
                .then(|| Stats::from_values(&m.durations, None))
                .flatten();
            let post_runtime = Stats::from_values(&m.post_runtime_extensions, None);
            for dims in &sets {
                let ts = m.start_ms;
                if let Some(durations) = &durations {
                    sink.count(account, "Invocations", dims, ts, m.invocations);
                    sink.count(account, "Errors", dims, ts, m.errors);
                    sink.record(account, "Duration", dims, Unit::MILLISECONDS, ts, durations);
                }
                if let Some(post) = &post_runtime {
                    let name = "PostRuntimeExtensionsDuration";
                    sink.record(account, name, dims, Unit::MILLISECONDS, ts, post);
                }
                if m.provisioned_invocations > 0 {
                    sink.count(
                        account,
                        "ProvisionedConcurrencyInvocations",
                        dims,
                        ts,
                        m.provisioned_invocations,
                    );
                }
                if m.provisioned_spillovers > 0 {
                    sink.count(
                        account,
                        "ProvisionedConcurrencySpilloverInvocations",
                        dims,
                        ts,
                        m.provisioned_spillovers,
                    );
                }
                if m.throttles > 0 {
                    sink.count(account, "Throttles", dims, ts, m.throttles);
                }
            }
            // The function's sets: not the account's, and no version ran an event.
            for dims in sets.iter().filter(|d| matches!(d.len(), 1 | 2)) {
                publish_async(account, dims, m, sink);
            }
            if m.recursive_dropped > 0 {
                let dims = [("FunctionName", name)];
                let n = m.recursive_dropped;
                sink.count(account, "RecursiveInvocationsDropped", &dims, m.start_ms, n);
            }
        }
    }
}

/// One minute's asynchronous-invocation metrics under `dims` (those that happened).
fn publish_async(account: &str, dims: &[(&str, &str)], m: &Minute, sink: &dyn MetricSink) {
    let ts = m.start_ms;
    let counts = [
        ("AsyncEventsReceived", m.async_received),
        ("AsyncEventsDropped", m.async_dropped),
        ("DeadLetterErrors", m.dead_letter_errors),
        ("DestinationDeliveryFailures", m.destination_failures),
    ];
    for (name, n) in counts {
        if n > 0 {
            sink.count(account, name, dims, ts, n);
        }
    }
    if let Some(ages) = Stats::from_values(&m.async_ages, None) {
        sink.record(
            account,
            "AsyncEventAge",
            dims,
            Unit::MILLISECONDS,
            ts,
            &ages,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_sink::Sink;

    /// What a test sink was given, as `(account, name, dims, unit, ts, (count, sum))`.
    type Recorded = (
        String,
        String,
        Vec<(String, String)>,
        &'static str,
        i64,
        (f64, f64),
    );

    fn recorded(sink: Sink) -> Vec<Recorded> {
        sink.rows()
            .into_iter()
            .map(|(a, n, d, u, ts, count, sum)| (a, n, d, u, ts, (count, sum)))
            .collect()
    }

    fn dims(d: &[(&str, &str)]) -> Vec<(String, String)> {
        d.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_alias_invocation_is_published_under_every_dimension_set() {
        let entry = Entry {
            function: "111122223333:f".into(),
            qualifier: Some("live".into()),
            version: "3".into(),
            minutes: vec![Minute {
                start_ms: 120_000,
                invocations: 2,
                errors: 1,
                provisioned_spillovers: 1,
                durations: vec![1.5, 2.5],
                ..Minute::default()
            }],
            meters: vec![],
        };
        let sink = Sink::default();
        publish(&[entry], &sink);
        let got = recorded(sink);
        let invocations: Vec<_> = got.iter().filter(|r| r.1 == "Invocations").collect();
        assert_eq!(
            invocations.iter().map(|r| r.2.clone()).collect::<Vec<_>>(),
            vec![
                dims(&[]),
                dims(&[("FunctionName", "f")]),
                dims(&[("FunctionName", "f"), ("Resource", "f:live")]),
                dims(&[
                    ("ExecutedVersion", "3"),
                    ("FunctionName", "f"),
                    ("Resource", "f:live")
                ]),
            ]
        );
        assert!(invocations
            .iter()
            .all(|r| r.0 == "111122223333" && r.4 == 120_000 && r.5 == (1.0, 2.0)));
        let duration = got
            .iter()
            .find(|r| r.1 == "Duration" && r.2 == dims(&[("FunctionName", "f")]))
            .expect("duration");
        assert_eq!((duration.3, duration.5), ("Milliseconds", (2.0, 4.0)));
        assert_eq!(got.iter().filter(|r| r.1 == "Errors").count(), 4);
        assert_eq!(got.iter().filter(|r| r.1 == "Throttles").count(), 0);
        let spilled: Vec<_> = got
            .iter()
            .filter(|r| r.1 == "ProvisionedConcurrencySpilloverInvocations")
            .map(|r| (r.2.clone(), r.3, r.5))
            .collect();
        assert_eq!(
            spilled,
            invocations
                .iter()
                .map(|r| (r.2.clone(), "Count", (1.0, 1.0)))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn post_runtime_extensions_duration_covers_only_invocations_extensions_took() {
        let entry = |post: Vec<f64>| Entry {
            function: "f".into(),
            qualifier: None,
            version: "$LATEST".into(),
            minutes: vec![Minute {
                start_ms: 60_000,
                invocations: 3,
                durations: vec![10.0, 250.0, 400.0],
                post_runtime_extensions: post,
                ..Minute::default()
            }],
            meters: vec![],
        };
        let sink = Sink::default();
        publish(&[entry(vec![200.0, 300.0])], &sink);
        let got = recorded(sink);
        let post: Vec<_> = got
            .iter()
            .filter(|r| r.1 == "PostRuntimeExtensionsDuration")
            .map(|r| (r.2.clone(), r.3, r.5))
            .collect();
        assert_eq!(
            post,
            vec![
                (dims(&[]), "Milliseconds", (2.0, 500.0)),
                (dims(&[("FunctionName", "f")]), "Milliseconds", (2.0, 500.0)),
            ]
        );
        let sink = Sink::default();
        publish(&[entry(vec![])], &sink);
        let got = recorded(sink);
        assert!(!got.iter().any(|r| r.1 == "PostRuntimeExtensionsDuration"));
    }

    #[test]
    fn an_unqualified_invocation_has_no_resource_and_versions_no_executed_version() {
        let minute = Minute {
            start_ms: 0,
            invocations: 1,
            durations: vec![1.0],
            ..Minute::default()
        };
        let sink = Sink::default();
        let entry = |qualifier: Option<&str>| Entry {
            function: "f".into(),
            qualifier: qualifier.map(str::to_string),
            version: "2".into(),
            minutes: vec![minute.clone()],
            meters: vec![],
        };
        publish(&[entry(None), entry(Some("2"))], &sink);
        let got = recorded(sink);
        let sets: Vec<_> = got
            .iter()
            .filter(|r| r.1 == "Invocations")
            .map(|r| (r.0.clone(), r.2.clone()))
            .collect();
        let default = hearth_model::arn::ACCOUNT.to_string();
        assert_eq!(
            sets,
            vec![
                (default.clone(), dims(&[])),
                (default.clone(), dims(&[("FunctionName", "f")])),
                (default.clone(), dims(&[])),
                (default.clone(), dims(&[("FunctionName", "f")])),
                (default, dims(&[("FunctionName", "f"), ("Resource", "f:2")])),
            ]
        );
    }

    #[test]
    fn recursive_drops_go_under_the_function_name_only() {
        let entry = Entry {
            function: "111122223333:f".into(),
            qualifier: None,
            version: String::new(),
            minutes: vec![Minute {
                start_ms: 60_000,
                recursive_dropped: 2,
                ..Minute::default()
            }],
            meters: vec![],
        };
        let sink = Sink::default();
        publish(&[entry], &sink);
        let got = recorded(sink);
        assert_eq!(
            got,
            vec![(
                "111122223333".to_string(),
                "RecursiveInvocationsDropped".to_string(),
                dims(&[("FunctionName", "f")]),
                "Count",
                60_000,
                (1.0, 2.0)
            )]
        );
    }

    #[test]
    fn async_metrics_go_under_the_function_and_its_resource_only() {
        let entry = Entry {
            function: "111122223333:f".into(),
            qualifier: Some("live".into()),
            version: String::new(),
            minutes: vec![Minute {
                start_ms: 60_000,
                async_received: 1,
                async_ages: vec![5.0, 70_000.0],
                async_dropped: 1,
                dead_letter_errors: 1,
                ..Minute::default()
            }],
            meters: vec![],
        };
        let sink = Sink::default();
        publish(&[entry], &sink);
        let mut got: Vec<_> = recorded(sink)
            .into_iter()
            .map(|r| (r.1, r.2, r.3, r.5))
            .collect();
        got.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let f = dims(&[("FunctionName", "f")]);
        let live = dims(&[("FunctionName", "f"), ("Resource", "f:live")]);
        let row = |name: &str, d: &Vec<(String, String)>, unit, stats| {
            (name.to_string(), d.clone(), unit, stats)
        };
        assert_eq!(
            got,
            vec![
                row("AsyncEventAge", &f, "Milliseconds", (2.0, 70_005.0)),
                row("AsyncEventAge", &live, "Milliseconds", (2.0, 70_005.0)),
                row("AsyncEventsDropped", &f, "Count", (1.0, 1.0)),
                row("AsyncEventsDropped", &live, "Count", (1.0, 1.0)),
                row("AsyncEventsReceived", &f, "Count", (1.0, 1.0)),
                row("AsyncEventsReceived", &live, "Count", (1.0, 1.0)),
                row("DeadLetterErrors", &f, "Count", (1.0, 1.0)),
                row("DeadLetterErrors", &live, "Count", (1.0, 1.0)),
            ]
        );
    }
}
