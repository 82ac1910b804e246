//! Event-source mappings (`MappingStore`): one per function and queue, listed by
//! account, function and queue in UUID order, edited atomically, kept across a restart.

use hearth_model::event_source_mapping::{EventSourceMapping, MappingState};
use hearth_store::{Edited, StoreError};

use crate::backend::Fixture;

const A: &str = "000000000000";
const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:q";

/// The shared sample with every optional member set, so that each one's round trip is
/// seen.
fn mapping(uuid: &str, function: &str, source: &str) -> EventSourceMapping {
    let mut m = hearth_model::testing::mapping(uuid, function, source);
    m.filters = Some(vec![r#"{"body": {"k": ["v"]}}"#.into()]);
    m.function_response_types = vec!["ReportBatchItemFailures".into()];
    m.maximum_concurrency = Some(2);
    m.metrics = Some(vec!["EventCount".into()]);
    m
}

each_backend!(one_mapping_per_function_and_queue_survives_a_restart);

fn one_mapping_per_function_and_queue_survives_a_restart(s: Fixture) {
    let maps = s.mappings();
    maps.insert_mapping(&mapping("u1", "f", QUEUE))
        .expect("insert");
    assert!(matches!(
        maps.insert_mapping(&mapping("u2", "f", QUEUE)),
        Err(StoreError::Exists(ref u)) if u == "u1"
    ));
    maps.insert_mapping(&mapping("u3", "g", QUEUE))
        .expect("another function");
    maps.insert_mapping(&mapping("u4", "f", "arn:aws:sqs:us-east-1:000000000000:r"))
        .expect("another queue");
    let uuids = |v: Vec<EventSourceMapping>| v.into_iter().map(|m| m.uuid).collect::<Vec<_>>();
    let f_arn = hearth_model::arn::function_arn("f", None);
    assert_eq!(
        uuids(
            maps.list_mappings(A, Some(&f_arn), None, None, 10)
                .expect("list")
        ),
        ["u1", "u4"]
    );
    assert_eq!(
        uuids(
            maps.list_mappings(A, None, Some(QUEUE), None, 10)
                .expect("list")
        ),
        ["u1", "u3"]
    );
    assert_eq!(
        uuids(
            maps.list_mappings(A, None, None, Some("u1"), 1)
                .expect("list")
        ),
        ["u3"]
    );
    assert!(maps
        .list_mappings("111111111111", None, None, None, 10)
        .expect("list")
        .is_empty());
    let edited = maps
        .edit_mapping(
            "u1",
            Box::new(|m| {
                m.state = MappingState::Enabled;
                m.batch_size = 5;
                true
            }),
        )
        .expect("edit");
    assert!(matches!(edited, Edited::Done(ref m) if m.batch_size == 5));
    assert_eq!(
        maps.edit_mapping("nope", Box::new(|_| true)).expect("edit"),
        Edited::Missing
    );
    assert_eq!(
        maps.edit_mapping("u1", Box::new(|_| false)).expect("edit"),
        Edited::Declined
    );
    let s = s.reopen();
    let maps = s.mappings();
    let u1 = maps.get_mapping("u1").expect("get").expect("kept");
    assert_eq!(u1.state, MappingState::Enabled);
    assert_eq!(u1, {
        let mut m = mapping("u1", "f", QUEUE);
        m.state = MappingState::Enabled;
        m.batch_size = 5;
        m
    });
    assert!(maps.delete_mapping("u1").expect("delete"));
    assert!(!maps.delete_mapping("u1").expect("delete"));
    assert_eq!(uuids(maps.all_mappings().expect("all")), ["u3", "u4"]);
}
