//! Asynchronous invocation settings (`MetadataStore`'s event invoke configs).

use hearth_model::arn::LATEST;
use hearth_model::event_invoke::{Destination, DestinationConfig, EventInvokeConfig};
use hearth_store::Edited;

use crate::backend::Fixture;
use crate::records::{alias, publish, sample};

each_backend!(
    configs_round_trip_per_qualifier,
    a_config_needs_its_function_version_or_alias,
    configs_go_with_their_version_alias_or_function,
);

fn config(function: &str, qualifier: &str, retries: i64) -> EventInvokeConfig {
    EventInvokeConfig {
        function: function.into(),
        qualifier: qualifier.into(),
        maximum_retry_attempts: Some(retries),
        maximum_event_age_in_seconds: None,
        destination_config: DestinationConfig {
            on_success: Destination::default(),
            on_failure: Destination {
                destination: Some("arn:aws:lambda:us-east-1:000000000000:function:g".into()),
            },
        },
        last_modified: 1.5,
    }
}

fn configs_round_trip_per_qualifier(s: Fixture) {
    let m = s.metadata();
    m.insert_function(&sample("f")).expect("insert");
    publish(&s, "f");
    m.insert_alias(&alias("f", "live")).expect("alias");

    let latest = config("f", LATEST, 0);
    assert!(m.put_event_invoke_config(&latest).expect("put"));
    assert!(m
        .put_event_invoke_config(&config("f", "1", 1))
        .expect("put"));
    assert!(m
        .put_event_invoke_config(&config("f", "live", 2))
        .expect("put"));
    assert_eq!(
        m.get_event_invoke_config("f", LATEST).expect("get"),
        Some(latest)
    );
    // Put replaces.
    assert!(m
        .put_event_invoke_config(&config("f", LATEST, 2))
        .expect("put"));
    let s = s.reopen();
    let m = s.metadata();
    let listed: Vec<_> = m
        .list_event_invoke_configs("f")
        .expect("list")
        .into_iter()
        .map(|c| (c.qualifier, c.maximum_retry_attempts))
        .collect();
    assert_eq!(
        listed,
        [
            (LATEST.to_string(), Some(2)),
            ("1".to_string(), Some(1)),
            ("live".to_string(), Some(2))
        ]
    );

    assert_eq!(
        m.edit_event_invoke_config("f", "1", Box::new(|_| false))
            .expect("edit"),
        Edited::Declined
    );
    let updated = m
        .update_event_invoke_config("f", "1", |c| {
            c.maximum_event_age_in_seconds = Some(60);
            Ok::<_, ()>(())
        })
        .expect("db")
        .expect("exists")
        .expect("updated");
    assert_eq!(
        (
            updated.maximum_retry_attempts,
            updated.maximum_event_age_in_seconds
        ),
        (Some(1), Some(60))
    );
    assert_eq!(
        m.get_event_invoke_config("f", "1").expect("get"),
        Some(updated)
    );
    assert!(m
        .update_event_invoke_config("f", "2", |_| Ok::<_, ()>(()))
        .expect("db")
        .is_none());

    assert!(m.delete_event_invoke_config("f", "live").expect("delete"));
    assert!(!m.delete_event_invoke_config("f", "live").expect("delete"));
    assert!(m
        .get_event_invoke_config("f", "live")
        .expect("get")
        .is_none());
}

fn a_config_needs_its_function_version_or_alias(s: Fixture) {
    let m = s.metadata();
    assert!(!m
        .put_event_invoke_config(&config("f", LATEST, 0))
        .expect("put"));
    m.insert_function(&sample("f")).expect("insert");
    assert!(m
        .put_event_invoke_config(&config("f", LATEST, 0))
        .expect("put"));
    for missing in ["1", "live", "01x"] {
        assert!(
            !m.put_event_invoke_config(&config("f", missing, 0))
                .expect("put"),
            "{missing}"
        );
    }
    assert_eq!(m.list_event_invoke_configs("f").expect("list").len(), 1);
}

fn configs_go_with_their_version_alias_or_function(s: Fixture) {
    let m = s.metadata();
    for name in ["f", "g"] {
        m.insert_function(&sample(name)).expect("insert");
        publish(&s, name);
        m.insert_alias(&alias(name, "live")).expect("alias");
        for q in [LATEST, "1", "live"] {
            assert!(m.put_event_invoke_config(&config(name, q, 0)).expect("put"));
        }
    }
    assert!(m.delete_version("f", 1).expect("delete version"));
    assert!(m.get_event_invoke_config("f", "1").expect("get").is_none());
    assert!(m.delete_alias("f", "live").expect("delete alias"));
    assert!(m
        .get_event_invoke_config("f", "live")
        .expect("get")
        .is_none());
    assert!(m
        .get_event_invoke_config("f", LATEST)
        .expect("get")
        .is_some());

    assert!(m.delete_function("f").expect("delete function"));
    assert!(m.list_event_invoke_configs("f").expect("list").is_empty());
    // Another function's configurations stay.
    assert_eq!(m.list_event_invoke_configs("g").expect("list").len(), 3);
}
