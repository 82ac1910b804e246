//! What reaches the poller from outside — filter patterns from requests, function answers
//! read as batch item failures — never panics, whatever its bytes.

use hearth_mappings::event::{item_failures, BatchOutcome};
use hearth_mappings::filter;
use proptest::prelude::*;
use serde_json::json;

proptest! {
    #[test]
    fn any_pattern_is_checked_and_matched_without_panicking(text in ".{0,200}") {
        let checked = filter::check(&text);
        let record = json!({"body": {"kind": "a", "n": 1}, "attributes": {}});
        let kept = filter::keeps(std::slice::from_ref(&text), &record);
        // A pattern that does not check keeps nothing.
        prop_assert!(checked.is_ok() || !kept);
    }

    #[test]
    fn a_json_shaped_pattern_is_checked_without_panicking(
        key in "[a-z]{1,5}",
        value in prop_oneof![
            Just(json!(["x"])),
            Just(json!([{"prefix": "x"}])),
            Just(json!([{"exists": true}])),
            Just(json!([{"anything-but": ["x", 1]}])),
            Just(json!([{"numeric": [">", 1]}])),
            Just(json!({})),
            Just(json!(1)),
        ],
    ) {
        let pattern = json!({ "body": { key.clone(): value } }).to_string();
        let _ = filter::check(&pattern);
        let _ = filter::keeps(&[pattern], &json!({"body": {key: "x"}}));
    }

    #[test]
    fn any_answer_is_read_as_an_outcome(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let batch = vec!["a".to_string(), "b".to_string()];
        match item_failures(&bytes, &batch) {
            BatchOutcome::Partial(ids) => prop_assert!(ids.iter().all(|i| batch.contains(i))),
            BatchOutcome::Success | BatchOutcome::Failure => {}
        }
    }
}
