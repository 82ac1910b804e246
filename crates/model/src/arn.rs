//! ARNs and the `{FunctionName}` path parameter, which may be a name, a partial ARN
//! (`123456789012:function:name`) or a full ARN, each optionally with `:qualifier`.

use crate::error::AwsError;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "000000000000";
pub const LATEST: &str = "$LATEST";

/// `arn:aws:lambda:us-east-1:000000000000:function:name[:qualifier]`.
pub fn function_arn(name: &str, qualifier: Option<&str>) -> String {
    match qualifier {
        Some(q) => format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:{q}"),
        None => format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"),
    }
}

/// A parsed function reference from a path or request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parses `name`, `name:qualifier`, `account:function:name[:qualifier]` or
    /// `arn:aws:lambda:region:account:function:name[:qualifier]`.
    pub fn parse(input: &str) -> Result<Self, AwsError> {
        let bad = || {
            AwsError::constraint(
                input,
                "functionName",
                "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
            )
        };
        if input.is_empty() || input.len() > 256 {
            return Err(bad());
        }
        let parts: Vec<&str> = input.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            [name] => (*name, None),
            [name, q] if !is_account(name) => (*name, Some(*q)),
            [account, "function", name] => {
                check_account(account, input)?;
                (*name, None)
            }
            [account, "function", name, q] => {
                check_account(account, input)?;
                (*name, Some(*q))
            }
            ["arn", partition, "lambda", region, account, "function", name, rest @ ..]
                if partition.starts_with("aws") && rest.len() <= 1 =>
            {
                if *region != REGION {
                    return Err(AwsError::invalid(format!(
                        "Region {region} in the ARN does not match this Hearth's region {REGION}"
                    )));
                }
                check_account(account, input)?;
                (*name, rest.first().copied())
            }
            _ => return Err(bad()),
        };
        if !valid_name(name) {
            return Err(bad());
        }
        if let Some(q) = qualifier {
            if !valid_qualifier(q) {
                return Err(bad());
            }
        }
        Ok(Self {
            name: name.to_string(),
            qualifier: qualifier.map(str::to_string),
        })
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_account(account: &str, input: &str) -> Result<(), AwsError> {
    if !is_account(account) {
        return Err(AwsError::constraint(
            input,
            "functionName",
            "Member must satisfy regular expression pattern",
        ));
    }
    // Hearth has one account; a different one cannot name any of its functions.
    if account != ACCOUNT {
        return Err(AwsError::function_not_found(input));
    }
    Ok(())
}

/// `[a-zA-Z0-9-_]+`, at most 64 characters for a bare name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= crate::limits::FUNCTION_NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `$LATEST` or `[a-zA-Z0-9-_]+` (a version number or an alias name).
pub fn valid_qualifier(q: &str) -> bool {
    q == LATEST
        || (!q.is_empty()
            && q.len() <= 128
            && q.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (String, Option<String>) {
        let r = FunctionRef::parse(s).expect(s);
        (r.name, r.qualifier)
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
    fn rejects_bad_names() {
        for bad in [
            "",
            "a b",
            "f:",
            "f:a:b:c:d",
            "arn:aws:lambda:us-east-1:000000000000:layer:x",
            "x/y",
        ] {
            let err = FunctionRef::parse(bad).expect_err(bad);
            assert_eq!(err.code, crate::ErrorCode::Validation, "{bad}");
        }
        let long = "a".repeat(65);
        assert!(FunctionRef::parse(&long).is_err());
    }

    #[test]
    fn other_account_is_not_found() {
        let err = FunctionRef::parse("111111111111:function:f").expect_err("other account");
        assert_eq!(err.code, crate::ErrorCode::ResourceNotFound);
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
            if let Err(e) = FunctionRef::parse(&s) {
                prop_assert!(e.code.status() < 500);
            }
        }

        /// A valid name and qualifier survive the trip through a full ARN.
        #[test]
        fn arn_round_trips(name in "[a-zA-Z0-9_-]{1,64}", q in proptest::option::of("[a-zA-Z0-9_-]{1,20}")) {
            let parsed = FunctionRef::parse(&function_arn(&name, q.as_deref())).expect("valid ARN");
            prop_assert_eq!(parsed.name, name);
            prop_assert_eq!(parsed.qualifier, q);
        }
    }
}
