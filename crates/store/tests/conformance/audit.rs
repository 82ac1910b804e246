//! The audit trail (`AuditStore`, appended through `ChangeStore`).

use hearth_model::audit::{AuditAttribute, AuditEvent, AuditPage, AuditQuery, AuditRetention};
use hearth_store::{Change, Durability};

use crate::backend::Fixture;

each_backend!(
    events_read_back_whole_with_their_parameters,
    pages_newest_first_with_filters,
    kept_within_days_and_a_row_cap,
    an_account_reads_its_principals_events_and_those_on_its_resources,
    events_appended_through_one_node_are_looked_up_through_another,
);

const DAY_MS: i64 = 86_400_000;

fn event(n: i64, name: &str, user: &str) -> AuditEvent {
    AuditEvent {
        event_id: format!("id-{n}"),
        time_ms: n * 1000,
        account: "000000000000".into(),
        principal_arn: format!("arn:aws:iam::000000000000:user/{user}"),
        principal_id: "AIDA".into(),
        principal_type: "IAMUser".into(),
        user_name: user.into(),
        access_key_id: Some("AKIA".into()),
        event_source: "lambda.amazonaws.com".into(),
        event_name: name.into(),
        action: Some(format!("lambda:{name}")),
        resource_arn: Some("arn:aws:lambda:us-east-1:000000000000:function:f".into()),
        resource_account: None,
        resource_type: Some("AWS::Lambda::Function".into()),
        source_ip: "127.0.0.1".into(),
        user_agent: None,
        request_id: format!("req-{n}"),
        region: "us-east-1".into(),
        secure: false,
        status: 200,
        error_code: None,
        request_parameters: Some(serde_json::json!({"functionName": "f", "n": n})),
    }
}

fn record(s: &Fixture, events: &[AuditEvent]) {
    let changes: Vec<_> = events
        .iter()
        .map(|e| Change::Audit(Box::new(e.clone())))
        .collect();
    s.changes()
        .apply_changes(&changes, Durability::Committed)
        .expect("append");
}

fn ids(page: &AuditPage) -> Vec<String> {
    page.events.iter().map(|e| e.event_id.clone()).collect()
}

fn all(s: &Fixture) -> AuditPage {
    s.audit()
        .lookup_audit(&AuditQuery {
            limit: 50,
            ..Default::default()
        })
        .expect("lookup")
}

fn events_read_back_whole_with_their_parameters(s: Fixture) {
    let written = vec![
        event(2, "UpdateFunctionCode", "a"),
        event(1, "CreateFunction", "a"),
    ];
    record(&s, &[written[1].clone(), written[0].clone()]);
    let s = s.reopen();
    assert_eq!(all(&s).events, written);
}

fn pages_newest_first_with_filters(s: Fixture) {
    let events: Vec<_> = (1..=5)
        .map(|n| {
            event(
                n,
                if n % 2 == 0 {
                    "DeleteFunction"
                } else {
                    "CreateFunction"
                },
                if n < 3 { "a" } else { "b" },
            )
        })
        .collect();
    record(&s, &events);
    let mut q = AuditQuery {
        limit: 2,
        ..Default::default()
    };
    let first = s.audit().lookup_audit(&q).expect("lookup");
    assert_eq!(ids(&first), ["id-5", "id-4"]);
    q.before = first.next;
    let second = s.audit().lookup_audit(&q).expect("lookup");
    assert_eq!(ids(&second), ["id-3", "id-2"]);
    q.before = second.next;
    let last = s.audit().lookup_audit(&q).expect("lookup");
    assert_eq!((ids(&last), last.next), (vec!["id-1".to_string()], None));

    let by = |q: AuditQuery| {
        ids(&s
            .audit()
            .lookup_audit(&AuditQuery { limit: 50, ..q })
            .expect("lookup"))
    };
    assert_eq!(
        by(AuditQuery {
            attribute: Some((AuditAttribute::EventName, "DeleteFunction".into())),
            ..Default::default()
        }),
        ["id-4", "id-2"]
    );
    assert_eq!(
        by(AuditQuery {
            principal: Some("a".into()),
            ..Default::default()
        }),
        ["id-2", "id-1"]
    );
    assert_eq!(
        by(AuditQuery {
            action: Some("lambda:CreateFunction".into()),
            start_ms: Some(2000),
            end_ms: Some(4000),
            ..Default::default()
        }),
        ["id-3"]
    );
    assert_eq!(
        by(AuditQuery {
            attribute: Some((AuditAttribute::ReadOnly, "true".into())),
            ..Default::default()
        }),
        Vec::<String>::new()
    );
}

fn kept_within_days_and_a_row_cap(s: Fixture) {
    let events: Vec<_> = (1..=5).map(|n| event(n, "CreateFunction", "a")).collect();
    record(&s, &events);
    // Nothing is a day old yet: the cap removes the oldest two.
    let keep = AuditRetention {
        days: 1,
        max_events: 3,
    };
    assert_eq!(s.audit().expire_audit(5000, keep).expect("expire"), 2);
    assert_eq!(ids(&all(&s)), ["id-5", "id-4", "id-3"]);
    // A day after 3.5 s: event 3 is older than a day.
    assert_eq!(
        s.audit().expire_audit(DAY_MS + 3500, keep).expect("expire"),
        1
    );
    assert_eq!(ids(&all(&s)), ["id-5", "id-4"]);
}

fn an_account_reads_its_principals_events_and_those_on_its_resources(s: Fixture) {
    // B's user calling A's function.
    let mut theirs = event(2, "InvokeFunction", "b");
    theirs.account = "111111111111".into();
    theirs.resource_account = Some("000000000000".into());
    let mut own_b = event(3, "CreateFunction", "b");
    own_b.account = "111111111111".into();
    own_b.resource_arn = Some("arn:aws:lambda:us-east-1:111111111111:function:g".into());
    record(&s, &[event(1, "CreateFunction", "a"), theirs, own_b]);
    let of = |account: &str| {
        ids(&s
            .audit()
            .lookup_audit(&AuditQuery {
                limit: 50,
                account: Some(account.into()),
                ..Default::default()
            })
            .expect("lookup"))
    };
    assert_eq!(of("000000000000"), ["id-2", "id-1"]);
    assert_eq!(of("111111111111"), ["id-3", "id-2"]);
    assert_eq!(of("222222222222"), Vec::<String>::new());
}

/// Two nodes on one store: each looks up the events the other appended, newest first,
/// and pages through them.
fn events_appended_through_one_node_are_looked_up_through_another(s: Fixture) {
    let other = s.another();
    record(&s, &[event(1, "CreateFunction", "a")]);
    other
        .changes()
        .apply_changes(
            &[Change::Audit(Box::new(event(2, "DeleteFunction", "b")))],
            Durability::Synced,
        )
        .expect("append through the other node");
    let page = other
        .audit()
        .lookup_audit(&AuditQuery {
            limit: 1,
            ..Default::default()
        })
        .expect("lookup");
    assert_eq!(ids(&page), ["id-2"]);
    let rest = s
        .audit()
        .lookup_audit(&AuditQuery {
            limit: 1,
            before: page.next,
            ..Default::default()
        })
        .expect("lookup");
    assert_eq!((ids(&rest), rest.next), (vec!["id-1".to_string()], None));
    assert_eq!(
        all(&s).events,
        [
            event(2, "DeleteFunction", "b"),
            event(1, "CreateFunction", "a")
        ]
    );
    let keep = AuditRetention {
        days: 1,
        max_events: 1,
    };
    assert_eq!(other.audit().expire_audit(2000, keep).expect("expire"), 1);
    assert_eq!(ids(&all(&s)), ["id-2"]);
}
