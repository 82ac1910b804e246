//! Topics' tags: TagResource's, UntagResource's and CreateTopic's rules (at most 50 per
//! topic, keys 1–128 characters, values up to 256).

use serde::{Deserialize, Serialize};

use crate::SnsError;

/// One tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The most tags a topic has.
pub const MAX_TAGS: usize = 50;

/// Checks the tags given to TagResource or CreateTopic.
pub fn check(tags: &[Tag]) -> Result<(), SnsError> {
    for (i, t) in tags.iter().enumerate() {
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(SnsError::invalid("Duplicated keys are not allowed."));
        }
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(SnsError::invalid("TagKey"));
        }
        if t.value.chars().count() > 256 {
            return Err(SnsError::invalid("TagValue"));
        }
    }
    Ok(())
}

/// `tags` with `new` merged in (a key given again takes its new value), or
/// `TagLimitExceeded` past [`MAX_TAGS`].
pub fn merge(tags: &mut Vec<Tag>, new: &[Tag]) -> Result<(), SnsError> {
    for t in new {
        match tags.iter_mut().find(|o| o.key == t.key) {
            Some(o) => o.value = t.value.clone(),
            None => tags.push(t.clone()),
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(SnsError::tag_limit());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn tags_merge_and_are_limited() {
        let mut tags = vec![tag("a", "1")];
        merge(&mut tags, &[tag("a", "2"), tag("b", "3")]).expect("merge");
        assert_eq!(tags, [tag("a", "2"), tag("b", "3")]);
        let many: Vec<Tag> = (0..49).map(|i| tag(&format!("k{i}"), "")).collect();
        assert!(merge(&mut tags, &many).is_err());
        assert!(check(&[tag("", "x")]).is_err());
    }
}
