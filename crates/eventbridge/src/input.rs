//! What a rule's target receives: a target's input settings from PutTargets, checked as AWS
//! checks them ([`TargetInput::from_fields`]), and the payload they make of a matched event
//! ([`shape`]).
//!
//! A target has at most one of `Input` (JSON text sent as is), `InputPath` (the part of the
//! event a [`JsonPath`] selects) and `InputTransformer` (variables taken from the event by
//! `InputPathsMap`, filled into `InputTemplate`, see the `template` module); with none it
//! receives the whole event. Predefined variables need no path and cannot be defined:
//! `aws.events.rule-arn`, `aws.events.rule-name`, `aws.events.event.ingestion-time`,
//! `aws.events.event` (the event without `detail`, `detail-type` renamed `detailType`, keys
//! in the order recorded from AWS: id, account, detailType, time, source, region, resources,
//! version) and `aws.events.event.json` (the whole event). The map's key pattern
//! `[A-Za-z0-9_-]+` admits no dot, which is how AWS keeps keys from taking a predefined name
//! or starting with `AWS.`.
//!
//! Checks, in order: the model's constraints (lengths, map size, key pattern; the service
//! framework's `1 validation error detected: …`, only the first is reported), then only one
//! of the three, `Input` valid JSON, paths in the supported subset, a JSON template valid
//! JSON once filled, every placeholder defined.

use crate::json::Json;
use crate::jsonpath::JsonPath;
use crate::messages;
use crate::template::Template;
use thiserror::Error;

/// The longest `Input` (model: `TargetInput` max 8192).
pub const MAX_INPUT_CHARS: usize = 8192;
/// The longest `InputTemplate` (model: `TransformerInput` 1..8192).
pub const MAX_TEMPLATE_CHARS: usize = 8192;
/// The longest `InputPath` or `InputPathsMap` value (model: `TargetInputPath` max 256).
pub const MAX_PATH_CHARS: usize = 256;
/// The most variables an `InputPathsMap` may define (model: `TransformerPaths` max 100).
pub const MAX_PATHS: usize = 100;
/// The longest `InputPathsMap` key (model: `InputTransformerPathKey` 1..256).
pub const MAX_NAME_CHARS: usize = 256;

pub const RULE_ARN: &str = "aws.events.rule-arn";
pub const RULE_NAME: &str = "aws.events.rule-name";
pub const INGESTION_TIME: &str = "aws.events.event.ingestion-time";
pub const EVENT: &str = "aws.events.event";
pub const EVENT_JSON: &str = "aws.events.event.json";
/// The variables every template may use without defining them.
pub const PREDEFINED: [&str; 5] = [RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON];

/// A target's input settings as PutTargets carries them.
#[derive(Clone, Copy, Debug, Default)]
pub struct TargetInputFields<'a> {
    pub input: Option<&'a str>,
    pub input_path: Option<&'a str>,
    pub input_transformer: Option<TransformerFields<'a>>,
}

/// An `InputTransformer` as PutTargets carries it; the map in the request's order.
#[derive(Clone, Copy, Debug)]
pub struct TransformerFields<'a> {
    pub input_paths_map: &'a [(String, String)],
    pub input_template: &'a str,
}

/// A target's checked input settings.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetInput {
    /// No setting: the whole event.
    Event,
    /// `Input`: this text.
    Constant(String),
    /// `InputPath`: what the path selects.
    Path(JsonPath),
    /// `InputTransformer`.
    Transformer(Transformer),
}

/// A checked `InputTransformer`.
#[derive(Clone, Debug, PartialEq)]
pub struct Transformer {
    paths: Vec<(String, JsonPath)>,
    template: Template,
}

/// The rule a target belongs to and when the event arrived, for the predefined variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleContext {
    pub rule_arn: String,
    pub rule_name: String,
    /// What `<aws.events.event.ingestion-time>` becomes. The guide says "an ISO 8601
    /// timestamp"; whether AWS writes it with milliseconds is UNSURE, so the caller formats
    /// it (e.g. `EventTime::to_rfc3339`).
    pub ingestion_time: String,
}

/// Why input settings were refused (PutTargets' `ValidationException`), or why an event
/// could not be shaped.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum InputError {
    #[error("{0}")]
    Validation(String),
    /// The `InputPath` selects nothing in this event. AWS does not document what the target
    /// then receives; a missing definite path is an error in Jayway JsonPath, so the caller
    /// treats it as a failed delivery (UNSURE).
    #[error("InputPath {0} selects nothing in the event")]
    PathNotFound(String),
}

impl TargetInput {
    /// Checks the input settings of the target `target_id`, the `position`th (from 1) of the
    /// PutTargets request, as AWS does (order in the module documentation).
    pub fn from_fields(
        target_id: &str,
        position: usize,
        fields: &TargetInputFields,
    ) -> Result<TargetInput, InputError> {
        check_constraints(position, fields)?;
        let given = [
            fields.input.is_some(),
            fields.input_path.is_some(),
            fields.input_transformer.is_some(),
        ];
        if given.iter().filter(|&&g| g).count() > 1 {
            return Err(invalid(messages::only_one_input(target_id)));
        }
        if let Some(input) = fields.input {
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(input) {
                return Err(invalid(messages::invalid_input(target_id, &e.to_string())));
            }
            return Ok(TargetInput::Constant(input.to_owned()));
        }
        if let Some(path) = fields.input_path {
            return JsonPath::parse(path)
                .map(TargetInput::Path)
                .map_err(|e| invalid(messages::invalid_input_path(target_id, &e.to_string())));
        }
        match fields.input_transformer {
            Some(t) => Transformer::from_fields(target_id, &t).map(TargetInput::Transformer),
            None => Ok(TargetInput::Event),
        }
    }
}

impl Transformer {
    fn from_fields(target_id: &str, fields: &TransformerFields) -> Result<Transformer, InputError> {
        let mut paths = Vec::with_capacity(fields.input_paths_map.len());
        for (name, path) in fields.input_paths_map {
            let compiled = JsonPath::parse(path).map_err(|e| {
                invalid(messages::invalid_paths_map_path(
                    target_id,
                    name,
                    &e.to_string(),
                ))
            })?;
            paths.push((name.clone(), compiled));
        }
        let template = Template::parse(fields.input_template);
        if template.is_json() {
            let filled = template.with_stand_ins();
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&filled) {
                return Err(invalid(messages::invalid_template(
                    target_id,
                    &e.to_string(),
                )));
            }
        }
        for name in template.placeholders() {
            if !PREDEFINED.contains(&name) && !paths.iter().any(|(n, _)| n == name) {
                return Err(invalid(messages::invalid_placeholder(target_id, name)));
            }
        }
        Ok(Transformer { paths, template })
    }

    fn value_of(&self, name: &str, event: &Json, ctx: &RuleContext) -> Option<Json> {
        if let Some((_, path)) = self.paths.iter().find(|(n, _)| n == name) {
            return path.evaluate(event);
        }
        match name {
            RULE_ARN => Some(Json::String(ctx.rule_arn.clone())),
            RULE_NAME => Some(Json::String(ctx.rule_name.clone())),
            INGESTION_TIME => Some(Json::String(ctx.ingestion_time.clone())),
            EVENT => Some(event_without_detail(event)),
            EVENT_JSON => Some(event.clone()),
            _ => None,
        }
    }
}

/// `<aws.events.event>`: the event's metadata in the order and naming recorded from AWS.
fn event_without_detail(event: &Json) -> Json {
    const ORDER: [(&str, &str); 8] = [
        ("id", "id"),
        ("account", "account"),
        ("detail-type", "detailType"),
        ("time", "time"),
        ("source", "source"),
        ("region", "region"),
        ("resources", "resources"),
        ("version", "version"),
    ];
    Json::Object(
        ORDER
            .iter()
            .filter_map(|(from, to)| event.get(from).map(|v| ((*to).to_owned(), v.clone())))
            .collect(),
    )
}

/// The payload text `input` makes of `event` (the envelope, see `Envelope::to_json`) for a
/// target of the rule in `ctx`.
pub fn shape(input: &TargetInput, event: &Json, ctx: &RuleContext) -> Result<String, InputError> {
    match input {
        TargetInput::Event => Ok(event.to_text()),
        TargetInput::Constant(text) => Ok(text.clone()),
        TargetInput::Path(path) => path
            .evaluate(event)
            .map(|v| v.to_text())
            .ok_or_else(|| InputError::PathNotFound(path.as_str().to_owned())),
        TargetInput::Transformer(t) => Ok(t.template.render(|name| t.value_of(name, event, ctx))),
    }
}

fn invalid(message: String) -> InputError {
    InputError::Validation(message)
}

/// The model's constraints on the input fields, checked first as AWS's framework does.
fn check_constraints(position: usize, fields: &TargetInputFields) -> Result<(), InputError> {
    let at = |field: &str| format!("targets.{position}.member.{field}");
    let too_long = |max: usize| format!("Member must have length less than or equal to {max}");
    let fail = |value: &str, field: &str, constraint: &str| {
        Err(invalid(messages::constraint(value, &at(field), constraint)))
    };
    if let Some(input) = fields.input {
        if input.chars().count() > MAX_INPUT_CHARS {
            return fail(input, "input", &too_long(MAX_INPUT_CHARS));
        }
    }
    if let Some(path) = fields.input_path {
        if path.chars().count() > MAX_PATH_CHARS {
            return fail(path, "inputPath", &too_long(MAX_PATH_CHARS));
        }
    }
    let Some(t) = fields.input_transformer else {
        return Ok(());
    };
    let map = t.input_paths_map;
    // UNSURE: the framework shows a map as Java does, `{k=v, k2=v2}`.
    let shown = format!(
        "{{{}}}",
        map.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let map_field = "inputTransformer.inputPathsMap";
    if map.len() > MAX_PATHS {
        return fail(&shown, map_field, &too_long(MAX_PATHS));
    }
    for (name, path) in map {
        let length = name.chars().count();
        let broken: Vec<String> = [
            (length > MAX_NAME_CHARS).then(|| too_long(MAX_NAME_CHARS)),
            (length < 1).then(|| "Member must have length greater than or equal to 1".to_owned()),
            (length < 1
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .then(|| {
                r"Member must satisfy regular expression pattern: [A-Za-z0-9\_\-]+".to_owned()
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !broken.is_empty() {
            let constraint = format!("Map keys must satisfy constraint: [{}]", broken.join(", "));
            return fail(&shown, map_field, &constraint);
        }
        if path.chars().count() > MAX_PATH_CHARS {
            let constraint = format!(
                "Map value must satisfy constraint: [{}]",
                too_long(MAX_PATH_CHARS)
            );
            return fail(&shown, map_field, &constraint);
        }
    }
    let template = t.input_template;
    let template_field = "inputTransformer.inputTemplate";
    let length = template.chars().count();
    if length < 1 {
        return fail(
            template,
            template_field,
            "Member must have length greater than or equal to 1",
        );
    }
    if length > MAX_TEMPLATE_CHARS {
        return fail(template, template_field, &too_long(MAX_TEMPLATE_CHARS));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn check(fields: TargetInputFields) -> Result<TargetInput, String> {
        TargetInput::from_fields("t1", 2, &fields).map_err(|e| e.to_string())
    }

    fn transformer<'a>(map: &'a [(String, String)], template: &'a str) -> TargetInputFields<'a> {
        TargetInputFields {
            input_transformer: Some(TransformerFields {
                input_paths_map: map,
                input_template: template,
            }),
            ..Default::default()
        }
    }

    const ONLY_ONE: &str =
        "Only one of Input, InputPath, or InputTransformer must be provided for target t1.";

    #[test]
    fn at_most_one_setting() {
        let map = pairs(&[]);
        let t = Some(TransformerFields {
            input_paths_map: &map,
            input_template: "\"x\"",
        });
        let cases = [
            (Some("{}"), Some("$"), None),
            (Some("{}"), None, t),
            (None, Some("$"), t),
            (Some("{}"), Some("$"), t),
        ];
        for (input, input_path, input_transformer) in cases {
            let fields = TargetInputFields {
                input,
                input_path,
                input_transformer,
            };
            assert_eq!(check(fields), Err(ONLY_ONE.to_owned()));
        }
        assert_eq!(check(TargetInputFields::default()), Ok(TargetInput::Event));
    }

    #[test]
    fn input_must_be_json() {
        let input = |text| TargetInputFields {
            input: Some(text),
            ..Default::default()
        };
        assert_eq!(
            check(input(r#"{"a": 1}"#)),
            Ok(TargetInput::Constant(r#"{"a": 1}"#.into()))
        );
        assert_eq!(
            check(input(r#""text""#)),
            Ok(TargetInput::Constant(r#""text""#.into()))
        );
        assert_eq!(
            check(input("not json")),
            Err("Invalid Input for target t1 : expected ident at line 1 column 2".into())
        );
        assert_eq!(
            check(input("")),
            Err(
                "Invalid Input for target t1 : EOF while parsing a value at line 1 column 0".into()
            )
        );
    }

    #[test]
    fn input_path_in_the_subset() {
        let path = |text| TargetInputFields {
            input_path: Some(text),
            ..Default::default()
        };
        assert_eq!(
            check(path("$.detail")),
            Ok(TargetInput::Path(
                JsonPath::parse("$.detail").expect("valid")
            ))
        );
        assert_eq!(
            check(path("$..detail")),
            Err(
                "Invalid InputPath for target t1 : deep scan (..) is not supported at position 1"
                    .into()
            )
        );
        assert_eq!(
            check(path("detail")),
            Err("Invalid InputPath for target t1 : a path must start with $ at position 0".into())
        );
    }

    #[test]
    fn transformer_checks() {
        let map = pairs(&[
            ("instance", "$.detail.instance-id"),
            ("state", "$.detail.state"),
        ]);
        let cases: &[(&str, Result<(), &str>)] = &[
            ("<instance> is in state <state>", Ok(())),
            (r#""<instance> is in state \"<state>\"""#, Ok(())),
            (r#"{"i": <instance>, "s": "<state>", "r": <aws.events.rule-arn>}"#, Ok(())),
            (
                r#""<aws.events.rule-name> <aws.events.event.ingestion-time> <aws.events.event> <aws.events.event.json>""#,
                Ok(()),
            ),
            (r#"[<instance>, "<state>"]"#, Ok(())),
            // Not a placeholder, so not refused.
            ("a <b c> d", Ok(())),
            (
                r#""Event with not defined key <notdefinedkey>""#,
                Err("InputTemplate for target t1 contains invalid placeholder notdefinedkey."),
            ),
            (
                "<instance> <aws.events.rule>",
                Err("InputTemplate for target t1 contains invalid placeholder aws.events.rule."),
            ),
            (
                r#"{"i": <instance>"#,
                Err("Invalid InputTemplate for target t1 : EOF while parsing an object at line 1 column 16"),
            ),
            (
                r#"{<instance>: 1}"#,
                Err("Invalid InputTemplate for target t1 : key must be a string at line 1 column 2"),
            ),
            (
                r#"{"i": "<instance>" "s"}"#,
                Err("Invalid InputTemplate for target t1 : expected `,` or `}` at line 1 column 20"),
            ),
            // JSON validity is checked before placeholders.
            (
                r#"{"i": <undefined>"#,
                Err("Invalid InputTemplate for target t1 : EOF while parsing an object at line 1 column 17"),
            ),
        ];
        for (template, want) in cases {
            let got = check(transformer(&map, template)).map(|_| ());
            assert_eq!(got, want.map_err(str::to_owned), "for {template}");
        }
        let bad_path = pairs(&[("instance", "$.detail[?(@.x)]")]);
        assert_eq!(
            check(transformer(&bad_path, "<instance>")),
            Err("Invalid InputPathsMap for target t1 : path of instance : filters and expressions are not supported at position 9".into())
        );
    }

    #[test]
    fn model_constraints() {
        let at = "1 validation error detected: Value";
        let long_input = format!("\"{}\"", "x".repeat(MAX_INPUT_CHARS - 1));
        let cases: Vec<(TargetInputFields, String)> = vec![
            (
                TargetInputFields {
                    input: Some(&long_input),
                    input_path: Some("$"),
                    ..Default::default()
                },
                format!("{at} '{long_input}' at 'targets.2.member.input' failed to satisfy constraint: Member must have length less than or equal to 8192"),
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(check(fields), Err(want));
        }
        let ok_input = format!("\"{}\"", "x".repeat(MAX_INPUT_CHARS - 2));
        assert!(check(TargetInputFields {
            input: Some(&ok_input),
            ..Default::default()
        })
        .is_ok());

        let long_path = format!("$.{}", "a".repeat(255));
        assert_eq!(
            check(TargetInputFields { input_path: Some(&long_path), ..Default::default() }),
            Err(format!("{at} '{long_path}' at 'targets.2.member.inputPath' failed to satisfy constraint: Member must have length less than or equal to 256"))
        );
        let ok_path = format!("$.{}", "a".repeat(254));
        assert!(check(TargetInputFields {
            input_path: Some(&ok_path),
            ..Default::default()
        })
        .is_ok());

        let map_at =
            "at 'targets.2.member.inputTransformer.inputPathsMap' failed to satisfy constraint:";
        let pattern = r"Member must satisfy regular expression pattern: [A-Za-z0-9\_\-]+";
        let key_cases = [
            ("aws.events.rule-arn", format!("{at} '{{aws.events.rule-arn=$}}' {map_at} Map keys must satisfy constraint: [{pattern}]")),
            ("AWS.x", format!("{at} '{{AWS.x=$}}' {map_at} Map keys must satisfy constraint: [{pattern}]")),
            ("a b", format!("{at} '{{a b=$}}' {map_at} Map keys must satisfy constraint: [{pattern}]")),
            ("", format!("{at} '{{=$}}' {map_at} Map keys must satisfy constraint: [Member must have length greater than or equal to 1, {pattern}]")),
        ];
        for (key, want) in key_cases {
            let map = pairs(&[(key, "$")]);
            assert_eq!(check(transformer(&map, "\"x\"")), Err(want), "for {key:?}");
        }
        let long_key = "k".repeat(257);
        let map = pairs(&[(&long_key, "$")]);
        assert_eq!(
            check(transformer(&map, "\"x\"")),
            Err(format!("{at} '{{{long_key}=$}}' {map_at} Map keys must satisfy constraint: [Member must have length less than or equal to 256]"))
        );
        let map = pairs(&[(&"k".repeat(256), "$"), ("Ok_-9", "$")]);
        assert!(check(transformer(&map, "\"x\"")).is_ok());

        let map = pairs(&[("a", &long_path)]);
        assert_eq!(
            check(transformer(&map, "\"x\"")),
            Err(format!("{at} '{{a={long_path}}}' {map_at} Map value must satisfy constraint: [Member must have length less than or equal to 256]"))
        );

        let hundred: Vec<(String, String)> = (0..100)
            .map(|i| (format!("v{i}"), "$".to_owned()))
            .collect();
        assert!(check(transformer(&hundred, "\"x\"")).is_ok());
        let mut too_many = hundred.clone();
        too_many.push(("v100".into(), "$".into()));
        let err = check(transformer(&too_many, "\"x\"")).expect_err("101 paths");
        assert!(err.starts_with(&format!("{at} '{{v0=$, v1=$, ")), "{err}");
        assert!(
            err.ends_with(&format!(
                "v100=$}}' {map_at} Member must have length less than or equal to 100"
            )),
            "{err}"
        );

        let template_at =
            "at 'targets.2.member.inputTransformer.inputTemplate' failed to satisfy constraint:";
        let none = pairs(&[]);
        assert_eq!(
            check(transformer(&none, "")),
            Err(format!(
                "{at} '' {template_at} Member must have length greater than or equal to 1"
            ))
        );
        let long_template = format!("\"{}\"", "é".repeat(MAX_TEMPLATE_CHARS - 1));
        assert_eq!(
            check(transformer(&none, &long_template)),
            Err(format!("{at} '{long_template}' {template_at} Member must have length less than or equal to 8192"))
        );
        let ok_template = format!("\"{}\"", "é".repeat(MAX_TEMPLATE_CHARS - 2));
        assert!(check(transformer(&none, &ok_template)).is_ok());
    }

    #[test]
    fn predefined_variables_and_ingestion_time() {
        let none = pairs(&[]);
        let input = check(transformer(
            &none,
            r#"{"arn": <aws.events.rule-arn>, "at": "<aws.events.event.ingestion-time>", "e": <aws.events.event>}"#,
        ))
        .expect("valid");
        let event =
            Json::parse(r#"{"version":"0","detail-type":"T","detail":{"a":1}}"#).expect("event");
        let ctx = RuleContext {
            rule_arn: "arn:aws:events:eu-west-1:123456789012:rule/bus/r".into(),
            rule_name: "r".into(),
            ingestion_time: "2026-12-03T10:00:00Z".into(),
        };
        assert_eq!(
            shape(&input, &event, &ctx).as_deref(),
            Ok(
                r#"{"arn": "arn:aws:events:eu-west-1:123456789012:rule/bus/r", "at": "2026-12-03T10:00:00Z", "e": {"detailType":"T","version":"0"}}"#
            )
        );
    }
}
