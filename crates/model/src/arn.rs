//! ARNs and the `{FunctionName}` path parameter, which may be a name, a partial ARN
//! (`123456789012:function:name`) or a full ARN, each optionally with `:qualifier`.
//!
//! Inside Hearth a function is named by its *key*: its name in the default account
//! ([`ACCOUNT`]), `ACCOUNT:NAME` in any other ([`function_key`]). A name cannot hold a
//! colon, so a key is never ambiguous, the default account's records need no rewriting,
//! and every record keyed by function (versions, aliases, logs, settings, the async
//! queue) belongs to exactly one account. The wire shows a key's name and ARN
//! ([`key_name`], [`function_arn`]); a request's name becomes a key in the account it
//! acts in ([`NameParts::resolve`]).

use std::sync::LazyLock;

use crate::error::AwsError;
use crate::violations::Violations;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "000000000000";
pub const LATEST: &str = "$LATEST";

/// `arn:aws:lambda:us-east-1:ACCOUNT:function:NAME[:qualifier]` of the function whose
/// key is `key` (a bare name is the default account's).
pub fn function_arn(key: &str, qualifier: Option<&str>) -> String {
    let (account, name) = key_parts(key);
    match qualifier {
        Some(q) => format!("arn:aws:lambda:{REGION}:{account}:function:{name}:{q}"),
        None => format!("arn:aws:lambda:{REGION}:{account}:function:{name}"),
    }
}

/// The key of `account`'s function `name`: the bare name in the default account,
/// `ACCOUNT:NAME` in another.
pub fn function_key(account: &str, name: &str) -> String {
    if account == ACCOUNT {
        name.to_string()
    } else {
        format!("{account}:{name}")
    }
}

/// The account and the name of a function key.
pub fn key_parts(key: &str) -> (&str, &str) {
    match key.split_once(':') {
        Some((account, name)) => (account, name),
        None => (ACCOUNT, key),
    }
}

/// The name a function key shows on the wire (`FunctionName`).
pub fn key_name(key: &str) -> &str {
    key_parts(key).1
}

/// Whether `s` is an account id: 12 digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`) names, if it
/// names one (an S3 bucket's, or `*`, does not).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The account a function key belongs to.
pub fn key_account(key: &str) -> &str {
    key_parts(key).0
}

/// A parsed function reference from a path or request body. `name` is the function's
/// key (see the module's documentation): the name in the account the request acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

/// The Lambda model's shapes for a `FunctionName` member, which differ per operation in
/// length, pattern and whether a qualifier may follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameShape {
    /// `FunctionName`: CreateFunction, the alias, reserved- and provisioned-concurrency
    /// and update operations (at most 140 characters).
    FunctionName,
    /// `NamespacedFunctionName`: GetFunction, Invoke, DeleteFunction, versions, event
    /// invoke configs (at most 256; names may hold dots, `$LATEST.PUBLISHED`).
    Namespaced,
    /// `UnqualifiedFunctionName`: no qualifier (at most 140).
    Unqualified,
}

const FUNCTION_NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?";
const NAMESPACED_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?";
const UNQUALIFIED_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)";

/// The same patterns for Rust's `regex`, anchored as Java's `matches()` is, with named
/// groups for the parts (leftmost-first, as a backtracking engine picks them).
const PREFIX_RE: &str = r"^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?(?:(?P<region>(?:eusc-)?[a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d):)?(?:(?P<account>\d{12}):)?(?:function:)?";

fn regex_for(shape: NameShape) -> &'static regex::Regex {
    static FUNCTION_NAME: LazyLock<regex::Regex> = LazyLock::new(|| {
        compile(r"(?P<name>[a-zA-Z0-9\-_]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9\-_]+))?$")
    });
    static NAMESPACED: LazyLock<regex::Regex> = LazyLock::new(|| {
        compile(
            r"(?P<name>[a-zA-Z0-9\-_.]+)(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9\-_]+))?$",
        )
    });
    static UNQUALIFIED: LazyLock<regex::Regex> =
        LazyLock::new(|| compile(r"(?P<name>[a-zA-Z0-9\-_]+)$"));
    match shape {
        NameShape::FunctionName => &FUNCTION_NAME,
        NameShape::Namespaced => &NAMESPACED,
        NameShape::Unqualified => &UNQUALIFIED,
    }
}

fn compile(tail: &str) -> regex::Regex {
    regex::Regex::new(&format!("{PREFIX_RE}{tail}")).expect("a valid constant pattern")
}

impl NameShape {
    /// The model's `max` length.
    pub fn max(self) -> usize {
        match self {
            Self::FunctionName | Self::Unqualified => 140,
            Self::Namespaced => 256,
        }
    }

    /// The model's `pattern`, as AWS quotes it in a ValidationException.
    pub fn pattern(self) -> &'static str {
        match self {
            Self::FunctionName => FUNCTION_NAME_PATTERN,
            Self::Namespaced => NAMESPACED_PATTERN,
            Self::Unqualified => UNQUALIFIED_PATTERN,
        }
    }
}

/// A function name that matched its shape's pattern, before its region and account are
/// checked against this Hearth's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameParts {
    pub name: String,
    pub qualifier: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
}

impl NameParts {
    /// The function of `account` (the account the request acts in) this names, or AWS's
    /// answer for another region's (404) or another account's (403, with a `null`
    /// message, as AWS answers it).
    pub fn resolve(self, account: &str) -> Result<FunctionRef, AwsError> {
        if let Some(region) = self.region.as_deref().filter(|r| *r != REGION) {
            return Err(AwsError::not_found(format!(
                "Functions from '{region}' are not reachable in this region ('{REGION}')"
            )));
        }
        if self.account.as_deref().is_some_and(|a| a != account) {
            return Err(AwsError {
                body: crate::error::BodyKeys::NullMessage,
                ..AwsError::new(crate::ErrorCode::AccessDenied, "")
            });
        }
        Ok(FunctionRef {
            name: function_key(account, &self.name),
            qualifier: self.qualifier,
        })
    }
}

impl FunctionRef {
    /// Parses `name`, `name:qualifier`, `account:function:name[:qualifier]` or
    /// `arn:aws:lambda:region:account:function:name[:qualifier]` as the `Namespaced` shape
    /// (the one most operations take), a function of `account`.
    pub fn parse(input: &str, account: &str) -> Result<Self, AwsError> {
        Self::parse_as(input, NameShape::Namespaced, account)
    }

    /// Parses `input` as the model's `shape` of a function name at `functionName`, a
    /// function of `account`.
    pub fn parse_as(input: &str, shape: NameShape, account: &str) -> Result<Self, AwsError> {
        let mut v = Violations::new();
        let parts = Self::check(input, shape, "functionName", &mut v);
        v.into_result()?;
        parts
            .expect("no violation means the pattern matched")
            .resolve(account)
    }

    /// The function's name as the wire shows it.
    pub fn display_name(&self) -> &str {
        key_name(&self.name)
    }

    /// The account the function belongs to.
    pub fn account(&self) -> &str {
        key_account(&self.name)
    }

    /// Checks `input` against `shape`'s length and pattern, adding what it breaks to `v`;
    /// its parts when the pattern matched.
    pub fn check(
        input: &str,
        shape: NameShape,
        field: &str,
        v: &mut Violations,
    ) -> Option<NameParts> {
        v.length(input, field, 1, shape.max());
        // A bare name, what nearly every request sends, is what every shape's pattern
        // reads as its `name` and nothing else (each prefix part ends with a `:`): no
        // regex search for it, which cost a warm invoke some 11,000 instructions.
        if valid_bare_name(input) {
            return Some(NameParts {
                name: input.to_string(),
                qualifier: None,
                region: None,
                account: None,
            });
        }
        let caps = regex_for(shape).captures(input);
        v.pattern(input, field, caps.is_some(), shape.pattern());
        let caps = caps?;
        let part = |n: &str| caps.name(n).map(|m| m.as_str().to_string());
        Some(NameParts {
            name: part("name")?,
            qualifier: part("qualifier"),
            region: part("region"),
            account: part("account"),
        })
    }
}

/// `[a-zA-Z0-9-_]+` of any length (each caller bounds the length as its field does).
fn valid_bare_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `[a-zA-Z0-9-_]+`, at most 64 characters: the name a new function may have.
pub fn valid_name(name: &str) -> bool {
    name.len() <= crate::limits::FUNCTION_NAME_MAX && valid_bare_name(name)
}

/// `$LATEST` or `[a-zA-Z0-9-_]+` (a version number or an alias name).
pub fn valid_qualifier(q: &str) -> bool {
    q == LATEST || (q.len() <= 128 && valid_bare_name(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (String, Option<String>) {
        let r = FunctionRef::parse(s, ACCOUNT).expect(s);
        (r.name, r.qualifier)
    }

    #[test]
    fn the_account_an_arn_names() {
        assert_eq!(
            arn_account("arn:aws:lambda:us-east-1:111111111111:function:f"),
            Some("111111111111")
        );
        assert_eq!(arn_account("arn:aws:s3:::bucket"), None);
        assert_eq!(arn_account("*"), None);
    }

    #[test]
    fn a_bare_name_reads_as_the_patterns_read_it() {
        let long = "a".repeat(300);
        for shape in [
            NameShape::FunctionName,
            NameShape::Namespaced,
            NameShape::Unqualified,
        ] {
            for input in ["f", "my-fn_1", "A-9", "_", "-", long.as_str()] {
                let mut fast = Violations::new();
                let parts = FunctionRef::check(input, shape, "functionName", &mut fast);
                let caps = regex_for(shape).captures(input).expect(input);
                let part = |n: &str| caps.name(n).map(|m| m.as_str().to_string());
                assert_eq!(
                    parts,
                    Some(NameParts {
                        name: part("name").expect("a name"),
                        qualifier: part("qualifier"),
                        region: part("region"),
                        account: part("account"),
                    }),
                    "{input}"
                );
                let mut slow = Violations::new();
                slow.length(input, "functionName", 1, shape.max());
                assert_eq!(fast, slow, "{input}");
            }
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(ok("f"), ("f".into(), None));
        assert_eq!(ok("f:$LATEST"), ("f".into(), Some("$LATEST".into())));
        assert_eq!(ok("000000000000:function:f"), ("f".into(), None));
        assert_eq!(
            ok("000000000000:function:f:prod"),
            ("f".into(), Some("prod".into()))
        );
        assert_eq!(ok(&function_arn("my-fn_1", None)), ("my-fn_1".into(), None));
        assert_eq!(
            ok(&function_arn("f", Some("3"))),
            ("f".into(), Some("3".into()))
        );
    }

    #[test]
    fn rejects_bad_names_with_the_models_pattern() {
        for bad in [
            "",
            "a b",
            "f:",
            "f:a:b:c:d",
            "x/y",
            "invalid-account:function:my-function",
            "arn:aws:lambda:invalid-region:000000000000:function:f",
            "arn:aws:lambda::000000000000:function:f",
            "arn:aws:lambda:us-east-1::function:f",
            "arn:aws:lambda:us-east-1:000000000000:function:f:$LATES",
            "function:f:$LATEST:extra",
        ] {
            let err = FunctionRef::parse(bad, ACCOUNT).expect_err(bad);
            assert_eq!(err.code, crate::ErrorCode::Validation, "{bad}");
        }
        let e = FunctionRef::parse("my-function!", ACCOUNT).expect_err("a bang");
        assert_eq!(
            e.message,
            format!("1 validation error detected: Value 'my-function!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {NAMESPACED_PATTERN}")
        );
        // Too long and off-pattern: two errors, length first.
        let long = format!(
            "arn:aws:lambda:invalid-region:000000000000:function:f{}",
            "a".repeat(140)
        );
        let e = FunctionRef::parse_as(&long, NameShape::FunctionName, ACCOUNT).expect_err("two");
        assert_eq!(
            e.message,
            format!("2 validation errors detected: Value '{long}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 140; Value '{long}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}")
        );
    }

    #[test]
    fn names_and_qualifiers_each_shape_allows() {
        // Dots and $LATEST.PUBLISHED only in the namespaced shape.
        assert_eq!(
            ok("f.x:$LATEST.PUBLISHED"),
            ("f.x".into(), Some("$LATEST.PUBLISHED".into()))
        );
        assert!(FunctionRef::parse_as("f.x", NameShape::FunctionName, ACCOUNT).is_err());
        assert!(FunctionRef::parse_as("f:1", NameShape::Unqualified, ACCOUNT).is_err());
        // A name over 64 characters is well-formed here; it names no function.
        assert_eq!(ok(&"a".repeat(65)).0.len(), 65);
        // An ARN cut short names the function "function", as AWS reads it.
        assert_eq!(
            ok("arn:aws:lambda:us-east-1:000000000000:function"),
            ("function".into(), None)
        );
        assert_eq!(ok("us-east-1:000000000000:function:f"), ("f".into(), None));
    }

    #[test]
    fn keys_name_a_function_of_one_account() {
        assert_eq!(function_key(ACCOUNT, "f"), "f");
        assert_eq!(function_key("111122223333", "f"), "111122223333:f");
        assert_eq!(key_parts("f"), (ACCOUNT, "f"));
        assert_eq!(key_parts("111122223333:f"), ("111122223333", "f"));
        assert_eq!(
            function_arn("111122223333:f", Some("1")),
            "arn:aws:lambda:us-east-1:111122223333:function:f:1"
        );
        // The same reference in two accounts names two functions.
        let mine = FunctionRef::parse("f", "111122223333").expect("a name");
        assert_eq!(
            (mine.name.as_str(), mine.display_name()),
            ("111122223333:f", "f")
        );
        let arn = FunctionRef::parse(
            "arn:aws:lambda:us-east-1:111122223333:function:f:2",
            "111122223333",
        )
        .expect("its own ARN");
        assert_eq!(
            (arn.name.as_str(), arn.qualifier.as_deref()),
            ("111122223333:f", Some("2"))
        );
        let theirs = FunctionRef::parse(&function_arn("f", None), "111122223333")
            .expect_err("the default account's function, from another account");
        assert_eq!(theirs.code, crate::ErrorCode::AccessDenied);
    }

    #[test]
    fn other_regions_and_accounts_are_answered_as_aws_does() {
        let err = FunctionRef::parse(
            "arn:aws:lambda:ap-southeast-1:000000000000:function:f",
            ACCOUNT,
        )
        .expect_err("other region");
        assert_eq!(err.code, crate::ErrorCode::ResourceNotFound);
        assert_eq!(
            err.message,
            "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')"
        );
        let err =
            FunctionRef::parse("111111111111:function:f", ACCOUNT).expect_err("other account");
        assert_eq!(err.code, crate::ErrorCode::AccessDenied);
        assert_eq!(err.body, crate::error::BodyKeys::NullMessage);
        let eusc = FunctionRef::parse(
            "arn:aws:lambda:eusc-de-east-1:000000000000:function:f",
            ACCOUNT,
        )
        .expect_err("a sovereign region");
        assert_eq!(eusc.code, crate::ErrorCode::ResourceNotFound);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any input either parses or is rejected with a client error; nothing panics.
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            if let Err(e) = FunctionRef::parse(&s, ACCOUNT) {
                prop_assert!(e.code.status() < 500);
            }
        }

        /// A valid name and qualifier survive the trip through a full ARN.
        #[test]
        fn arn_round_trips(name in "[a-zA-Z0-9_-]{1,64}", q in proptest::option::of("[a-zA-Z0-9_-]{1,20}")) {
            let parsed = FunctionRef::parse(&function_arn(&name, q.as_deref()), ACCOUNT).expect("valid ARN");
            prop_assert_eq!(parsed.name, name);
            prop_assert_eq!(parsed.qualifier, q);
        }
    }
}
