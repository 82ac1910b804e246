//! Tags (TagResource, UntagResource, ListTags and CreateFunction's `Tags`): the
//! resources that can carry them, named by ARN, and the limits Lambda checks. Only
//! functions exist in Hearth today; event source mappings and code signing configs
//! join [`TaggedResource`] when they do, and the store keys tags by the ARN already.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

#[cfg(test)]
use crate::arn::ACCOUNT;
use crate::arn::{function_arn, function_key, REGION};
use crate::error::AwsError;

/// A resource's tags, in key order (as Lambda lists them).
pub type Tags = BTreeMap<String, String>;

/// Tags one resource may carry.
pub const MAX_TAGS: usize = 50;
const KEY_MAX: usize = 128;
const VALUE_MAX: usize = 256;

/// botocore's `TaggableResource` pattern (newest model), quoted in the validation error.
const RESOURCE_PATTERN: &str = r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(capacity-provider|network-connector):[a-zA-Z0-9-_]{1,64})";
/// botocore's `TagKey` and `TagValue` pattern.
const TAG_PATTERN: &str = r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)";

static RESOURCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^(?:{RESOURCE_PATTERN})$"))
        .expect("botocore's TaggableResource pattern is a valid regex")
});
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^(?:{TAG_PATTERN})$")).expect("botocore's TagKey pattern is a valid regex")
});

/// What a tagging request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaggedResource {
    Function {
        name: String,
    },
    /// An event-source mapping of the account the request acts in (its tags are kept in
    /// its record).
    EventSourceMapping {
        account: String,
        uuid: String,
    },
    /// A kind of resource the model names that Hearth does not have (code signing
    /// configs, capacity providers...): it cannot exist.
    Unsupported {
        arn: String,
    },
}

impl TaggedResource {
    /// Parses the `{Resource}` of a tagging request made in `tenant` (the account the
    /// request acts in).
    pub fn parse(arn: &str, tenant: &str) -> Result<Self, AwsError> {
        if arn.is_empty() || arn.len() > 10_000 || !RESOURCE.is_match(arn) {
            return Err(AwsError::constraint(
                arn,
                "resource",
                &format!("Member must satisfy regular expression pattern: {RESOURCE_PATTERN}"),
            ));
        }
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        let (region, account, rest) = (parts[3], parts[4], parts[5..].join(":"));
        if let Some(uuid) = rest.strip_prefix("event-source-mapping:") {
            if region == REGION && account == tenant && !uuid.is_empty() {
                return Ok(Self::EventSourceMapping {
                    account: account.into(),
                    uuid: uuid.into(),
                });
            }
            return Ok(Self::Unsupported { arn: arn.into() });
        }
        let Some(function) = rest.strip_prefix("function:") else {
            return Ok(Self::Unsupported { arn: arn.into() });
        };
        if function.contains(':') {
            return Err(AwsError::invalid(
                "Tags on function aliases and versions are not supported. Please specify a function ARN.",
            ));
        }
        // Hearth has one region: a function elsewhere, or in an account the request
        // does not act in, does not exist for it.
        if region != REGION || account != tenant {
            return Err(AwsError::function_not_found(arn));
        }
        Ok(Self::Function {
            name: function_key(account, function),
        })
    }

    /// The key tags are stored under.
    pub fn arn(&self) -> String {
        match self {
            Self::Function { name } => function_arn(name, None),
            Self::EventSourceMapping { account, uuid } => {
                crate::event_source_mapping::mapping_arn(account, uuid)
            }
            Self::Unsupported { arn } => arn.clone(),
        }
    }
}

/// Checks tags being set: the count after merging (`total`), each key and value.
pub fn validate(tags: &Tags, total: usize) -> Result<(), AwsError> {
    for (k, v) in tags {
        let mut broken = Vec::new();
        if k.chars().count() > KEY_MAX {
            broken.push(format!(
                "Member must have length less than or equal to {KEY_MAX}"
            ));
        }
        if k.is_empty() {
            broken.push("Member must have length greater than or equal to 1".into());
        }
        if !TAG.is_match(k) {
            broken.push(format!(
                "Member must satisfy regular expression pattern: {TAG_PATTERN}"
            ));
        }
        if !broken.is_empty() {
            return Err(map_constraint(tags, "keys", &broken));
        }
        let mut broken = Vec::new();
        if v.chars().count() > VALUE_MAX {
            broken.push(format!(
                "Member must have length less than or equal to {VALUE_MAX}"
            ));
        }
        if !TAG.is_match(v) {
            broken.push(format!(
                "Member must satisfy regular expression pattern: {TAG_PATTERN}"
            ));
        }
        if !broken.is_empty() {
            return Err(map_constraint(tags, "values", &broken));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(AwsError::invalid(format!(
                "Tag keys starting with 'aws:' are reserved for AWS use: {k}"
            )));
        }
    }
    if total > MAX_TAGS {
        return Err(AwsError::invalid(
            "Number of tags exceeds resource tag limit.",
        ));
    }
    Ok(())
}

/// AWS's validator's wording for a map whose keys or values break their shape.
fn map_constraint(tags: &Tags, part: &str, broken: &[String]) -> AwsError {
    let shown: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    AwsError::constraint(
        &format!("{{{}}}", shown.join(", ")),
        "tags",
        &format!(
            "Map {part} must satisfy constraint: [{}]",
            broken.join(", ")
        ),
    )
}

/// TagResource's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TagResourceRequest {
    pub tags: Option<Tags>,
}

impl TagResourceRequest {
    /// The tags to set: present and not empty, as Lambda requires.
    pub fn validated(self) -> Result<Tags, AwsError> {
        let tags = self.tags.ok_or_else(|| AwsError::null_member("tags"))?;
        if tags.is_empty() {
            return Err(AwsError::invalid(
                "An error occurred and the request cannot be processed.",
            ));
        }
        validate(&tags, tags.len())?;
        Ok(tags)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsResponse {
    pub tags: Tags,
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";

    #[test]
    fn resources_parse_as_lambda_names_them() {
        assert_eq!(
            TaggedResource::parse(F, ACCOUNT).expect("ok"),
            TaggedResource::Function { name: "f".into() }
        );
        let e = TaggedResource::parse("arn:aws:something", ACCOUNT).expect_err("bad");
        assert_eq!(e.code, crate::ErrorCode::Validation);
        assert!(e.message.starts_with("1 validation error detected: Value 'arn:aws:something' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)"), "{}", e.message);
        for qualified in [
            format!("{F}:1"),
            format!("{F}:$LATEST"),
            format!("{F}:live"),
        ] {
            let e = TaggedResource::parse(&qualified, ACCOUNT).expect_err("qualified");
            assert_eq!(e.code, crate::ErrorCode::InvalidParameterValue);
        }
        let other = "arn:aws:lambda:eu-west-1:000000000000:function:f";
        assert_eq!(
            TaggedResource::parse(other, ACCOUNT)
                .expect_err("elsewhere")
                .message,
            format!("Function not found: {other}")
        );
        let esm = "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f";
        assert_eq!(
            TaggedResource::parse(esm, ACCOUNT).expect("a mapping"),
            TaggedResource::EventSourceMapping {
                account: ACCOUNT.into(),
                uuid: "0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f".into()
            }
        );
        assert_eq!(
            TaggedResource::parse(esm, ACCOUNT)
                .expect("a mapping")
                .arn(),
            esm
        );
        assert!(matches!(
            TaggedResource::parse(esm, "111111111111"),
            Ok(TaggedResource::Unsupported { .. })
        ));
    }

    #[test]
    fn limits_are_lambdas() {
        let many: Tags = (0..51).map(|i| (format!("{i}_key"), "v".into())).collect();
        assert_eq!(
            validate(&many, 51).expect_err("51").message,
            "Number of tags exceeds resource tag limit."
        );
        let fifty: Tags = many.into_iter().take(50).collect();
        validate(&fifty, 50).expect("50 is the limit");
        let long: Tags = [("k".repeat(129), "v".to_string())].into();
        assert_eq!(
            validate(&long, 1).expect_err("long").code,
            crate::ErrorCode::Validation
        );
        let reserved: Tags = [("aws:x".to_string(), "v".to_string())].into();
        assert_eq!(
            validate(&reserved, 1).expect_err("aws:").code,
            crate::ErrorCode::InvalidParameterValue
        );
        let empty = TagResourceRequest {
            tags: Some(Tags::new()),
        };
        assert_eq!(
            empty.validated().expect_err("empty").message,
            "An error occurred and the request cannot be processed."
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any resource either parses or is refused with a client error.
        #[test]
        fn never_panics(s in "\\PC{0,300}", name in "[a-zA-Z0-9_-]{1,64}", q in "\\PC{0,20}") {
            for input in [s.clone(), format!("{}:{q}", function_arn(&name, None))] {
                if let Err(e) = TaggedResource::parse(&input, ACCOUNT) {
                    prop_assert!(e.code.status() < 500);
                }
            }
        }

        /// A function's ARN names that function, and is the key its tags are kept under.
        #[test]
        fn function_arns_round_trip(name in "[a-zA-Z0-9_-]{1,64}") {
            let arn = function_arn(&name, None);
            let parsed = TaggedResource::parse(&arn, ACCOUNT).expect("valid");
            prop_assert_eq!(parsed.arn(), arn);
        }

        /// Tags are accepted or refused with a client error, never more than the limit.
        #[test]
        fn tag_checks_never_panic(tags in proptest::collection::btree_map("\\PC{0,140}", "\\PC{0,270}", 0..60)) {
            match validate(&tags, tags.len()) {
                Ok(()) => prop_assert!(tags.len() <= MAX_TAGS),
                Err(e) => prop_assert!(e.code.status() < 500),
            }
        }
    }
}
