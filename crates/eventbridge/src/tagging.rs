//! Tags of rules and buses (TagResource, UntagResource, ListTagsForResource), kept in
//! their records.

use serde_json::{json, Value};

use crate::arn::{parse_bus_arn, parse_rule_arn, BusRef};
use crate::records::Bus;
use crate::requests::Tag;
use crate::service::EventBridge;
use crate::{checks, messages, EventsError};

/// The model's constraints on tags (`TagKey` 1..128, `TagValue` 0..256).
pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), EventsError> {
    for (i, t) in tags.iter().enumerate() {
        checks::length(&t.key, &format!("tags.{}.member.key", i + 1), 1, 128)?;
        checks::length(&t.value, &format!("tags.{}.member.value", i + 1), 0, 256)?;
    }
    Ok(())
}

fn merge(into: &mut Vec<Tag>, tags: &[Tag]) {
    for t in tags {
        match into.iter_mut().find(|old| old.key == t.key) {
            Some(old) => old.value = t.value.clone(),
            None => into.push(t.clone()),
        }
    }
}

impl EventBridge {
    /// Changes the tags of the rule or bus `arn` with `f`, answering them.
    fn edit_tags(&self, arn: &str, f: impl FnOnce(&mut Vec<Tag>)) -> Result<Vec<Tag>, EventsError> {
        checks::length(arn, "resourceARN", 1, 1600)?;
        if let Some((account, bus, name)) = parse_rule_arn(arn) {
            let bus = BusRef::of(account, Some(bus));
            return self.edit_rule(&bus, name, |rule| {
                f(&mut rule.tags);
                Ok(rule.tags.clone())
            });
        }
        if let Some((account, name)) = parse_bus_arn(arn) {
            let mut bus = self.find_bus(&BusRef::of(account, Some(name)))?;
            f(&mut bus.tags);
            let written = self
                .store
                .events()
                .put_event_bus(&bus.arn, &serde_json::to_string(&bus)?)?;
            if !written {
                return Err(EventsError::not_found(messages::no_bus(name)));
            }
            return Ok(bus.tags);
        }
        Err(EventsError::not_found(messages::no_resource(arn)))
    }

    /// TagResource: adds the tags, replacing the values of keys it has.
    pub fn tag_resource(&self, arn: &str, tags: &[Tag]) -> Result<(), EventsError> {
        check_tags(tags)?;
        self.edit_tags(arn, |have| merge(have, tags))?;
        Ok(())
    }

    /// UntagResource.
    pub fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), EventsError> {
        self.edit_tags(arn, |have| have.retain(|t| !keys.contains(&t.key)))?;
        Ok(())
    }

    /// ListTagsForResource.
    pub fn list_tags_for_resource(&self, arn: &str) -> Result<Value, EventsError> {
        checks::length(arn, "resourceARN", 1, 1600)?;
        let tags = if let Some((account, bus, name)) = parse_rule_arn(arn) {
            self.find_rule(&BusRef::of(account, Some(bus)), name)?.tags
        } else if let Some((account, name)) = parse_bus_arn(arn) {
            let bus: Bus = self.find_bus(&BusRef::of(account, Some(name)))?;
            bus.tags
        } else {
            return Err(EventsError::not_found(messages::no_resource(arn)));
        };
        Ok(json!({"Tags": tags}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::PutRule;
    use crate::service::tests::{code_and_message, service, ACCOUNT};

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn rules_and_buses_are_tagged_and_untagged() {
        let (eb, _, _dir) = service();
        eb.put_rule(
            ACCOUNT,
            PutRule {
                name: "r".into(),
                event_pattern: Some(r#"{"source":["a"]}"#.into()),
                tags: vec![tag("a", "1")],
                ..Default::default()
            },
        )
        .expect("rule");
        let rule = "arn:aws:events:us-east-1:123456789012:rule/r";
        eb.tag_resource(rule, &[tag("a", "2"), tag("b", "3")])
            .expect("tag");
        eb.untag_resource(rule, &["b".into()]).expect("untag");
        assert_eq!(
            eb.list_tags_for_resource(rule).expect("list"),
            json!({"Tags": [{"Key": "a", "Value": "2"}]})
        );
        let bus = "arn:aws:events:us-east-1:123456789012:event-bus/default";
        eb.tag_resource(bus, &[tag("x", "y")]).expect("tag bus");
        assert_eq!(
            eb.list_tags_for_resource(bus).expect("list"),
            json!({"Tags": [{"Key": "x", "Value": "y"}]})
        );
        assert_eq!(
            code_and_message(
                eb.list_tags_for_resource("arn:aws:events:us-east-1:123456789012:rule/nope")
                    .expect_err("missing")
            ),
            (
                "ResourceNotFoundException".into(),
                "Rule nope does not exist on EventBus default.".into()
            )
        );
    }
}
