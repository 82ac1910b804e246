//! The query protocol's side of SQS: a form (`Attribute.1.Name=...`,
//! `SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue=...`) read into
//! the JSON shape `ops.rs` takes, and a JSON-shaped result written as the XML the query
//! protocol answers (flattened lists and maps, as botocore's query model says).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::query::Xml;

/// A form parameter's path split at dots, as a tree.
#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &[&str], value: &str) {
        match path.split_first() {
            None => self.value = Some(value.to_string()),
            Some((first, rest)) => self
                .children
                .entry((*first).to_string())
                .or_default()
                .insert(rest, value),
        }
    }

    /// The children numbered 1, 2, ... in order.
    fn indexed(&self) -> Vec<&Node> {
        let mut v: Vec<(u32, &Node)> = self
            .children
            .iter()
            .filter_map(|(k, n)| k.parse().ok().map(|i| (i, n)))
            .collect();
        v.sort_by_key(|(i, _)| *i);
        v.into_iter().map(|(_, n)| n).collect()
    }
}

/// Flattened maps: the form's name, the JSON member, the key's and value's names.
fn map_of(name: &str, action: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match name {
        "Attribute" => ("Attributes", "Name", "Value"),
        "Tag" if action == "CreateQueue" => ("tags", "Key", "Value"),
        "Tag" => ("Tags", "Key", "Value"),
        "MessageAttribute" => ("MessageAttributes", "Name", "Value"),
        "MessageSystemAttribute" => ("MessageSystemAttributes", "Name", "Value"),
        _ => return None,
    })
}

/// Flattened lists: the form's member name and the JSON member.
fn list_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "AttributeName" => "AttributeNames",
        "MessageAttributeName" => "MessageAttributeNames",
        "MessageSystemAttributeName" => "MessageSystemAttributeNames",
        "TagKey" => "TagKeys",
        "AWSAccountId" => "AWSAccountIds",
        "ActionName" => "Actions",
        "SendMessageBatchRequestEntry"
        | "DeleteMessageBatchRequestEntry"
        | "ChangeMessageVisibilityBatchRequestEntry" => "Entries",
        _ => return None,
    })
}

fn convert(node: &Node, action: &str) -> Value {
    if node.children.is_empty() {
        return Value::String(node.value.clone().unwrap_or_default());
    }
    let mut out = Map::new();
    for (k, child) in &node.children {
        if let Some((member, key, value)) = map_of(k, action) {
            let mut m = Map::new();
            for entry in child.indexed() {
                let name = entry
                    .children
                    .get(key)
                    .and_then(|n| n.value.clone())
                    .unwrap_or_default();
                let v = entry
                    .children
                    .get(value)
                    .map_or(Value::Null, |n| convert(n, action));
                m.insert(name, v);
            }
            out.insert(member.to_string(), Value::Object(m));
        } else if let Some(member) = list_of(k) {
            let items: Vec<Value> = child
                .indexed()
                .into_iter()
                .map(|n| convert(n, action))
                .collect();
            out.insert(member.to_string(), Value::Array(items));
        } else {
            out.insert(k.clone(), convert(child, action));
        }
    }
    Value::Object(out)
}

/// A query-protocol form's parameters (without `Action` and `Version`) in the JSON shape.
pub(crate) fn to_json(params: &HashMap<String, String>, action: &str) -> Value {
    let mut root = Node::default();
    for (k, v) in params {
        let path: Vec<&str> = k.split('.').collect();
        root.insert(&path, v);
    }
    if root.children.is_empty() {
        return Value::Object(Map::new());
    }
    convert(&root, action)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Writes a JSON-shaped result's members as the query protocol's XML.
fn write(x: &mut Xml, obj: &Map<String, Value>, action: &str) {
    for (k, v) in obj {
        match (k.as_str(), v) {
            ("Attributes", Value::Object(m)) => {
                for (name, value) in m {
                    x.element("Attribute", |x| {
                        x.leaf("Name", name).leaf("Value", &scalar(value));
                    });
                }
            }
            ("Tags", Value::Object(m)) => {
                for (key, value) in m {
                    x.element("Tag", |x| {
                        x.leaf("Key", key).leaf("Value", &scalar(value));
                    });
                }
            }
            ("MessageAttributes", Value::Object(m)) => {
                for (name, value) in m {
                    x.element("MessageAttribute", |x| {
                        x.leaf("Name", name);
                        x.element("Value", |x| {
                            if let Value::Object(o) = value {
                                write(x, o, action);
                            }
                        });
                    });
                }
            }
            (_, Value::Array(items)) => {
                let tag = match k.as_str() {
                    "QueueUrls" | "queueUrls" => "QueueUrl".to_string(),
                    "Messages" => "Message".to_string(),
                    "Successful" => format!("{action}ResultEntry"),
                    "Failed" => "BatchResultErrorEntry".to_string(),
                    "Results" => "ListMessageMoveTasksResultEntry".to_string(),
                    other => other.to_string(),
                };
                for item in items {
                    match item {
                        Value::Object(o) => {
                            x.element(&tag, |x| write(x, o, action));
                        }
                        other => {
                            x.leaf(&tag, &scalar(other));
                        }
                    }
                }
            }
            (_, Value::Object(o)) => {
                x.element(k, |x| write(x, o, action));
            }
            (_, other) => {
                x.leaf(k, &scalar(other));
            }
        }
    }
}

/// The `<{Action}Result>` members of a result; `None` when the operation has none.
pub(crate) fn to_xml(result: &Value, action: &str) -> Option<Xml> {
    let obj = result.as_object()?;
    let has_output = !matches!(
        action,
        "DeleteQueue"
            | "SetQueueAttributes"
            | "PurgeQueue"
            | "TagQueue"
            | "UntagQueue"
            | "AddPermission"
            | "RemovePermission"
            | "DeleteMessage"
            | "ChangeMessageVisibility"
    );
    if !has_output {
        return None;
    }
    let mut x = Xml::default();
    write(&mut x, obj, action);
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms_read_as_the_json_shape() {
        let params: HashMap<String, String> = [
            ("QueueUrl", "http://h/1/q"),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "5"),
            ("AttributeName.2", "B"),
            ("AttributeName.1", "A"),
            ("SendMessageBatchRequestEntry.1.Id", "x"),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                "n",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                "String",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue",
                "v",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            to_json(&params, "X"),
            json!({
                "QueueUrl": "http://h/1/q",
                "Attributes": {"VisibilityTimeout": "5"},
                "AttributeNames": ["A", "B"],
                "Entries": [{"Id": "x", "MessageAttributes": {"n": {"DataType": "String", "StringValue": "v"}}}],
            })
        );
    }

    #[test]
    fn results_write_as_flattened_xml() {
        let xml = to_xml(
            &json!({"QueueUrls": ["a", "b"], "Attributes": {"K": "V"}}),
            "ListQueues",
        )
        .expect("xml")
        .into_string();
        assert_eq!(
            xml,
            "<Attribute><Name>K</Name><Value>V</Value></Attribute><QueueUrl>a</QueueUrl><QueueUrl>b</QueueUrl>"
        );
        assert!(to_xml(&json!({}), "DeleteQueue").is_none());
    }
}
