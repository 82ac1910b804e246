//! SNS's query-protocol shapes: reading maps, tags and message attributes from a form
//! (botocore's `Attributes.entry.N.key`, `MessageAttributes.entry.N.Name` /
//! `.Value.DataType`, `Tags.member.N.Key`), and writing the answers' XML members.

use std::collections::{BTreeMap, HashMap};

use hearth_sns::{MessageAttribute, SubscriptionSummary, Tag};

use crate::query::{QueryError, QueryRequest, Xml};

/// A `key`/`value` map parameter (`Attributes`).
pub(crate) fn attributes(req: &QueryRequest, name: &str) -> BTreeMap<String, String> {
    req.entries(name)
        .into_iter()
        .filter_map(|e| {
            Some((
                e.get("key")?.to_string(),
                e.get("value").copied().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// `Tags.member.N.Key` / `.Value`.
pub(crate) fn tags(req: &QueryRequest) -> Vec<Tag> {
    req.structs("Tags")
        .into_iter()
        .filter_map(|t| {
            Some(Tag {
                key: t.get("Key")?.to_string(),
                value: t.get("Value").copied().unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// Message attributes from fields named `{prefix}entry.N.Name`, `...Value.DataType`,
/// `...Value.StringValue`, `...Value.BinaryValue`, read with `get`.
pub(crate) fn message_attributes<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    prefix: &str,
) -> Result<BTreeMap<String, MessageAttribute>, QueryError> {
    let mut out = BTreeMap::new();
    for i in 1.. {
        let field = |f: &str| get(&format!("{prefix}entry.{i}.{f}"));
        let Some(name) = field("Name") else {
            break;
        };
        let data_type = field("Value.DataType").unwrap_or("").to_string();
        out.insert(
            name.to_string(),
            MessageAttribute {
                data_type,
                string_value: field("Value.StringValue").map(str::to_string),
                binary_value: field("Value.BinaryValue").map(str::to_string),
            },
        );
    }
    Ok(out)
}

/// A batch entry's fields (`PublishBatchRequestEntries.member.N.*`) as a lookup.
pub(crate) fn lookup<'a>(
    entry: &'a HashMap<&'a str, &'a str>,
) -> impl Fn(&str) -> Option<&'a str> + Copy + 'a {
    move |k: &str| entry.get(k).copied()
}

/// `<Attributes><entry><key>..</key><value>..</value></entry>...</Attributes>`.
pub(crate) fn write_attributes(x: &mut Xml, attrs: &BTreeMap<String, String>) {
    x.element("Attributes", |x| {
        for (k, v) in attrs {
            x.element("entry", |x| {
                x.leaf("key", k).leaf("value", v);
            });
        }
    });
}

/// `<Subscriptions><member>...</member></Subscriptions>` and the next token.
pub(crate) fn write_subscriptions(x: &mut Xml, subs: &[SubscriptionSummary], next: Option<&str>) {
    x.element("Subscriptions", |x| {
        for s in subs {
            x.element("member", |x| {
                x.leaf("SubscriptionArn", &s.subscription_arn)
                    .leaf("Owner", &s.owner)
                    .leaf("Protocol", &s.protocol)
                    .leaf("Endpoint", &s.endpoint)
                    .leaf("TopicArn", &s.topic_arn);
            });
        }
    });
    x.leaf_opt("NextToken", next);
}
