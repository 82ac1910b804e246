//! CloudWatch's model: botocore's `cloudwatch/2010-08-01` trimmed to the operations Hearth
//! serves and the shapes they reach (`model.json`, written by `scripts/cloudwatch-model.py`,
//! which records the botocore version it was read from), loaded once. The codecs of
//! this module's siblings walk its shapes to turn every protocol into one JSON form.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The trimmed model, as the script writes it (its `botocore` version and `metadata` are
/// for readers and the tests, which check the constants of `mod.rs` against them).
#[derive(Debug, Deserialize)]
pub(crate) struct Model {
    pub operations: BTreeMap<String, Operation>,
    pub shapes: BTreeMap<String, Shape>,
}

/// An operation's input and output; every output's query-protocol wrapper is
/// `<Op>Result`, as `query::Protocol::answer` writes it (checked by the tests).
#[derive(Debug, Deserialize)]
pub(crate) struct Operation {
    pub input: Option<ShapeRef>,
    pub output: Option<ShapeRef>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShapeRef {
    pub shape: String,
}

/// One shape: only what the codecs need of it.
#[derive(Debug, Deserialize)]
pub(crate) struct Shape {
    #[serde(rename = "type")]
    pub kind: Kind,
    #[serde(default)]
    pub members: BTreeMap<String, ShapeRef>,
    /// A list's member.
    pub member: Option<ShapeRef>,
    /// A map's value (its keys are strings in every map CloudWatch has).
    pub value: Option<ShapeRef>,
    /// An error shape's query-protocol code and status.
    pub error: Option<ErrorTrait>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Double,
    Boolean,
    Timestamp,
    Blob,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorTrait {
    pub code: Option<String>,
}

pub(crate) const MODEL_JSON: &str = include_str!("model.json");

static MODEL: LazyLock<Model> =
    LazyLock::new(|| serde_json::from_str(MODEL_JSON).expect("model.json is the script's output"));

/// The model.
pub(crate) fn model() -> &'static Model {
    &MODEL
}

impl Model {
    /// The shape named `name`; the script keeps every shape a kept one names.
    pub fn shape(&self, name: &str) -> &Shape {
        self.shapes
            .get(name)
            .expect("model.json holds every shape its shapes name")
    }

    /// The error shape whose query-protocol code is `code` (`ResourceNotFound`), by name.
    pub fn error_shape(&self, code: &str) -> Option<&str> {
        self.shapes.iter().find_map(|(name, s)| {
            let own = s.error.as_ref()?.code.as_deref().unwrap_or(name);
            (own == code).then_some(name.as_str())
        })
    }
}

impl Shape {
    /// A list's member shape.
    pub fn member(&self) -> &Shape {
        model().shape(&self.member.as_ref().expect("a list has a member").shape)
    }

    /// A map's value shape.
    pub fn map_value(&self) -> &Shape {
        model().shape(&self.value.as_ref().expect("a map has a value").shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_loads_with_every_operation_and_shape_it_names() {
        let raw: serde_json::Value = serde_json::from_str(MODEL_JSON).expect("model.json");
        assert_eq!(raw["botocore"], "1.43.11");
        let meta = &raw["metadata"];
        assert_eq!(
            meta["targetPrefix"].as_str().map(|p| format!("{p}.")),
            Some(super::super::TARGET_PREFIX.to_string())
        );
        assert_eq!(meta["apiVersion"], super::super::VERSION);
        assert_eq!(meta["endpointPrefix"], super::super::SCOPE);
        assert_eq!(meta["xmlNamespace"], super::super::PROTOCOL.namespace);
        assert_eq!(meta["jsonVersion"], "1.0");
        for (name, op) in raw["operations"].as_object().expect("operations") {
            if let Some(wrapper) = op["output"].get("resultWrapper") {
                assert_eq!(*wrapper, format!("{name}Result"));
            }
        }
        for (name, s) in raw["shapes"].as_object().expect("shapes") {
            if s["type"] == "map" {
                assert_eq!(
                    raw["shapes"][s["key"]["shape"].as_str().expect("key")]["type"],
                    "string",
                    "{name}"
                );
            }
        }
        let m = model();
        assert_eq!(m.operations.len(), 15);
        for s in m.shapes.values() {
            for r in s.members.values() {
                m.shape(&r.shape);
            }
            for r in [&s.member, &s.value].into_iter().flatten() {
                m.shape(&r.shape);
            }
        }
        for op in m.operations.values() {
            if let Some(i) = &op.input {
                m.shape(&i.shape);
            }
            if let Some(o) = &op.output {
                m.shape(&o.shape);
            }
        }
        assert_eq!(m.error_shape("ResourceNotFound"), Some("ResourceNotFound"));
        assert_eq!(
            m.error_shape("InvalidParameterValue"),
            Some("InvalidParameterValueException")
        );
        assert_eq!(
            m.error_shape("ConflictException"),
            Some("ConflictException")
        );
        assert_eq!(m.error_shape("UnknownOperationException"), None);
    }
}
