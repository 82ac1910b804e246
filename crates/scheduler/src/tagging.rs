//! Tags of schedule groups (TagResource, UntagResource, ListTagsForResource), kept in
//! their records. Schedules have no tags: the model's `TagResourceArn` names groups only.

use serde_json::{json, Value};

use crate::arn::{group_arn, parse_group_arn};
use crate::records::GroupRecord;
use crate::requests::Tag;
use crate::service::Scheduler;
use crate::{checks, messages, SchedulerError};

/// The most tags of one request (the model's `TagList` and `TagKeyList`).
const MAX_TAGS: usize = 200;

/// The model's constraints on tags (`TagKey` 1..=128, `TagValue` 1..=256).
pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), SchedulerError> {
    if tags.len() > MAX_TAGS {
        return Err(SchedulerError::validation(messages::constraint(
            "[…]",
            "tags",
            "Member must have length less than or equal to 200",
        )));
    }
    for (i, t) in tags.iter().enumerate() {
        checks::length(&t.key, &format!("tags.{}.member.key", i + 1), 1, 128)?;
        checks::length(&t.value, &format!("tags.{}.member.value", i + 1), 1, 256)?;
    }
    Ok(())
}

fn check_arn(arn: &str) -> Result<(), SchedulerError> {
    checks::length(arn, "resourceArn", 1, 1011)?;
    checks::pattern(
        arn,
        "resourceArn",
        checks::GROUP_ARN_PATTERN,
        checks::is_group_arn,
    )
}

impl Scheduler {
    /// The group `arn` names, in the caller's `account` only.
    fn tagged_group(&self, account: &str, arn: &str) -> Result<GroupRecord, SchedulerError> {
        check_arn(arn)?;
        match parse_group_arn(arn) {
            Some((owner, name)) if owner == account && group_arn(owner, name) == arn => {
                self.find_group(account, name)
            }
            _ => Err(SchedulerError::not_found(messages::no_resource(arn))),
        }
    }

    /// Changes the tags of the group `arn` with `f`.
    fn edit_tags(
        &self,
        account: &str,
        arn: &str,
        f: impl FnOnce(&mut Vec<Tag>),
    ) -> Result<(), SchedulerError> {
        let mut group = self.tagged_group(account, arn)?;
        f(&mut group.tags);
        let written = self
            .store
            .events()
            .put_schedule_group(&group.arn, &serde_json::to_string(&group)?)?;
        if !written {
            return Err(SchedulerError::not_found(messages::no_group(&group.name)));
        }
        Ok(())
    }

    /// TagResource: adds the tags, replacing the values of keys the group has.
    pub fn tag_resource(
        &self,
        account: &str,
        arn: &str,
        tags: &[Tag],
    ) -> Result<(), SchedulerError> {
        check_arn(arn)?;
        check_tags(tags)?;
        self.edit_tags(account, arn, |have| {
            for t in tags {
                match have.iter_mut().find(|old| old.key == t.key) {
                    Some(old) => old.value = t.value.clone(),
                    None => have.push(t.clone()),
                }
            }
        })
    }

    /// UntagResource.
    pub fn untag_resource(
        &self,
        account: &str,
        arn: &str,
        keys: &[String],
    ) -> Result<(), SchedulerError> {
        check_arn(arn)?;
        for (i, k) in keys.iter().enumerate() {
            checks::length(k, &format!("tagKeys.{}.member", i + 1), 1, 128)?;
        }
        self.edit_tags(account, arn, |have| have.retain(|t| !keys.contains(&t.key)))
    }

    /// ListTagsForResource.
    pub fn list_tags_for_resource(
        &self,
        account: &str,
        arn: &str,
    ) -> Result<Value, SchedulerError> {
        let group = self.tagged_group(account, arn)?;
        Ok(json!({"Tags": group.tags}))
    }
}
