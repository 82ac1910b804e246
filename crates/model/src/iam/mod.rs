//! IAM roles (issue 14, section 3): the role record the store keeps, the names, paths,
//! ids and ARNs IAM gives them, and the checks of IAM's request model
//! (`iam/2010-05-08`) on them. The wire (the query protocol and its XML) is the api's;
//! the policy documents' checks are in [`policy_document`], Hearth's copies of AWS
//! managed policies in [`managed`]. Whether a principal may assume a role is the policy
//! language crate's (`hearth_iam_policy::evaluate_trust`).

pub mod managed;
pub mod policy_document;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::violations::Violations;

/// IAM's default and bounds of a role's `MaxSessionDuration`, in seconds.
pub const MAX_SESSION_DEFAULT: u32 = 3600;
pub const MAX_SESSION_MIN: i64 = 3600;
pub const MAX_SESSION_MAX: i64 = 43200;
/// Tags one role may carry.
pub const MAX_TAGS: usize = 50;

/// botocore's `roleNameType` / `policyNameType` pattern (also `roleSessionNameType`'s
/// characters).
pub const NAME_PATTERN: &str = r"[\w+=,.@-]+";
/// botocore's `pathType`.
pub const PATH_PATTERN: &str = r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)";
/// botocore's `pathPrefixType`.
pub const PATH_PREFIX_PATTERN: &str = r"\u002F[\u0021-\u007F]*";
/// botocore's `tagKeyType` (and, with `*`, `tagValueType`).
const TAG_KEY_PATTERN: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+";
const TAG_VALUE_PATTERN: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*";
/// botocore's `roleDescriptionType`.
const DESCRIPTION_PATTERN: &str = r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*";

fn whole(pattern: &str) -> Regex {
    Regex::new(&format!("^(?:{pattern})$")).expect("botocore's IAM patterns are valid regexes")
}

static NAME: LazyLock<Regex> = LazyLock::new(|| whole(NAME_PATTERN));
static PATH: LazyLock<Regex> = LazyLock::new(|| whole(r"/|/[\x21-\x7E]+/"));
static PATH_PREFIX: LazyLock<Regex> = LazyLock::new(|| whole(r"/[\x21-\x7F]*"));
static TAG_KEY: LazyLock<Regex> = LazyLock::new(|| whole(TAG_KEY_PATTERN));
static TAG_VALUE: LazyLock<Regex> = LazyLock::new(|| whole(TAG_VALUE_PATTERN));
static DESCRIPTION: LazyLock<Regex> =
    LazyLock::new(|| whole(r"[\x09\x0A\x0D\x20-\x7E\u{A1}-\u{FF}]*"));

/// One tag of a role, in the order given (IAM keeps the order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A role as stored: its identity, trust policy, settings and the policies it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// The 12-digit account the role belongs to.
    pub account: String,
    pub name: String,
    /// `/` or `/a/b/`.
    pub path: String,
    /// `AROA` and 17 more characters.
    pub id: String,
    /// ISO 8601 in UTC, seconds: `2026-12-01T20:27:29Z`.
    pub create_date: String,
    /// The trust policy as the client sent it (IAM answers the same text, URL-encoded).
    pub assume_role_policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub max_session_duration: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The managed policy ARN set as the role's permissions boundary (stored and shown;
    /// not yet applied to what the role may do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Inline policies by name (ListRolePolicies lists them in this order).
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of the managed policies attached, in the order attached.
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

impl Role {
    /// `arn:aws:iam::ACCOUNT:role/PATH/NAME` (the path's slashes included).
    pub fn arn(&self) -> String {
        role_arn(&self.account, &self.path, &self.name)
    }
}

/// A role's ARN from its parts.
pub fn role_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role{path}{name}")
}

/// The account and name of a role ARN (`arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`),
/// or `None` when it is not one.
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (arn_, _partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if arn_ != "arn" || service != "iam" || !region.is_empty() {
        return None;
    }
    if !crate::arn::is_account_id(account) {
        return None;
    }
    let rest = resource.strip_prefix("role/")?;
    let name = rest.rsplit('/').next()?;
    (!name.is_empty()).then_some((account, name))
}

/// The key a role is found by: IAM's names are unique regardless of case.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// `RoleName` (or another `*NameType` of the same shape, `PolicyName` with `max` 128).
pub fn check_name(v: &mut Violations, value: &str, field: &str, max: usize) {
    v.length(value, field, 1, max);
    v.pattern(value, field, NAME.is_match(value), NAME_PATTERN);
}

/// `Path`.
pub fn check_path(v: &mut Violations, value: &str, field: &str) {
    v.length(value, field, 1, 512);
    v.pattern(value, field, PATH.is_match(value), PATH_PATTERN);
}

/// `PathPrefix`.
pub fn check_path_prefix(v: &mut Violations, value: &str, field: &str) {
    v.length(value, field, 1, 512);
    v.pattern(
        value,
        field,
        PATH_PREFIX.is_match(value),
        PATH_PREFIX_PATTERN,
    );
}

/// `Description`.
pub fn check_description(v: &mut Violations, value: &str, field: &str) {
    v.length(value, field, 0, 1000);
    v.pattern(
        value,
        field,
        DESCRIPTION.is_match(value),
        DESCRIPTION_PATTERN,
    );
}

/// One tag's key and value; `index` counts from 1, as the model's member names do.
pub fn check_tag(v: &mut Violations, tag: &Tag, index: usize) {
    let key = format!("tags.{index}.member.key");
    v.length(&tag.key, &key, 1, 128);
    v.pattern(&tag.key, &key, TAG_KEY.is_match(&tag.key), TAG_KEY_PATTERN);
    let value = format!("tags.{index}.member.value");
    v.length(&tag.value, &value, 0, 256);
    v.pattern(
        &tag.value,
        &value,
        TAG_VALUE.is_match(&tag.value),
        TAG_VALUE_PATTERN,
    );
}

/// Whether `value` is a policy document of IAM's character set and size
/// (`policyDocumentType`: 1 to 131072 characters of tab, newline, return and
/// U+0020..U+00FF).
pub fn check_document_chars(v: &mut Violations, value: &str, field: &str) {
    v.length(value, field, 1, 131_072);
    let ok = value
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'));
    v.pattern(value, field, ok, r"[\u0009\u000A\u000D\u0020-\u00FF]+");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_carry_the_path() {
        assert_eq!(
            role_arn("000000000000", "/", "r"),
            "arn:aws:iam::000000000000:role/r"
        );
        assert_eq!(
            role_arn("000000000000", "/a/b/", "r"),
            "arn:aws:iam::000000000000:role/a/b/r"
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::000000000000:role/a/b/r"),
            Some(("000000000000", "r"))
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::000000000000:role/r"),
            Some(("000000000000", "r"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::0000:role/r"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::000000000000:user/r"), None);
        assert_eq!(parse_role_arn("arn:aws:sts::000000000000:role/r"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::000000000000:role/"), None);
    }

    #[test]
    fn names_and_paths_follow_the_model() {
        let mut v = Violations::new();
        check_name(&mut v, "good_name+=,.@-", "roleName", 64);
        check_path(&mut v, "/", "path");
        check_path(&mut v, "/a/b/", "path");
        check_path_prefix(&mut v, "/a", "pathPrefix");
        assert!(v.is_empty(), "{v:?}");
        check_name(&mut v, "bad name", "roleName", 64);
        check_path(&mut v, "a/", "path");
        assert_eq!(
            v.messages(),
            [
                r"Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+",
                r"Value 'a/' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
            ]
        );
    }
}
