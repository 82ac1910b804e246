//! Properties of the parsers that take text from callers (Detail, Input, InputPath,
//! InputTemplate): they never panic, and the order-keeping JSON agrees with serde_json.

use hearth_eventbridge::{
    shape, Json, JsonPath, RuleContext, TargetInput, TargetInputFields, TransformerFields,
};
use proptest::prelude::*;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e15f64..1e15).prop_map(Value::from),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\"\\\\-]{0,4}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn json_agrees_with_serde_json(value in json_value()) {
        let text = serde_json::to_string(&value).expect("serializable");
        prop_assert_eq!(Json::from(&value).to_text(), text.clone());
        // Compared with serde_json's own reading: without `float_roundtrip` neither reads
        // every float back bit for bit.
        let theirs: Value = serde_json::from_str(&text).expect("serde_json's own output");
        let parsed = Json::parse(&text).expect("serde_json's own output parses");
        prop_assert_eq!(parsed.to_value(), theirs.clone());
        prop_assert_eq!(parsed.to_text(), serde_json::to_string(&theirs).expect("serializable"));
    }

    #[test]
    fn json_parse_never_panics(text in "\\PC{0,40}") {
        let ours = Json::parse(&text).map(|j| j.to_value()).ok();
        let theirs = serde_json::from_str::<Value>(&text).ok();
        prop_assert_eq!(ours, theirs);
    }

    #[test]
    fn paths_never_panic(text in "[$.\\[\\]'\"*a-z0-9?:,\\-\\\\ ]{0,16}", value in json_value()) {
        if let Ok(path) = JsonPath::parse(&text) {
            let _ = path.evaluate(&Json::from(&value));
        }
    }

    #[test]
    fn templates_never_panic(template in "[<>\"\\\\{}\\[\\] a-z.:,]{1,40}", value in json_value()) {
        let map = vec![("a".to_owned(), "$.a".to_owned()), ("b".to_owned(), "$.b[0]".to_owned())];
        let fields = TargetInputFields {
            input_transformer: Some(TransformerFields { input_paths_map: &map, input_template: &template }),
            ..Default::default()
        };
        if let Ok(input) = TargetInput::from_fields("t", 1, &fields) {
            let ctx = RuleContext {
                rule_arn: "arn".into(),
                rule_name: "r".into(),
                ingestion_time: "t".into(),
            };
            let event = Json::from(&value);
            prop_assert!(shape(&input, &event, &ctx).is_ok());
        }
    }
}

proptest! {
    /// A rule's or bus's ARN reads back as what made it, and any text given as an ARN
    /// (a tag operation's `ResourceARN`, an `EventBusName`) parses without panicking.
    #[test]
    fn arns_read_back_as_made(
        account in "[0-9]{12}",
        bus in "[.\\-_A-Za-z0-9]{1,20}",
        rule in "[.\\-_A-Za-z0-9]{1,20}",
        text in ".{0,80}",
    ) {
        use hearth_eventbridge::arn;
        let made = arn::rule_arn(&account, &bus, &rule);
        prop_assert_eq!(arn::parse_rule_arn(&made), Some((account.as_str(), bus.as_str(), rule.as_str())));
        let bus_arn = arn::bus_arn(&account, &bus);
        prop_assert_eq!(arn::parse_bus_arn(&bus_arn), Some((account.as_str(), bus.as_str())));
        let _ = arn::parse_rule_arn(&text);
        let _ = arn::parse_bus_arn(&text);
        let _ = hearth_eventbridge::TargetKind::of(&text);
    }

    /// Any JSON body read as a PutTargets request either parses or is refused, never
    /// panics.
    #[test]
    fn put_targets_bodies_parse_or_are_refused(body in json_value()) {
        let _ = serde_json::from_value::<hearth_eventbridge::requests::PutTargets>(body);
    }
}
