//! Policy documents in IAM's JSON grammar and their parsing, with IAM's
//! `MalformedPolicyDocument` messages for what it refuses.

use serde_json::{Map, Value};

use crate::condition::{parse_block, Condition};
use crate::context::RequestContext;
use crate::pattern::{arn_matches, compile, matches, Tok};
use crate::principal::PrincipalSpec;
use crate::variables::resolve;

/// Why a document is refused. The message is IAM's `MalformedPolicyDocument` text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Malformed(String),
}

impl PolicyError {
    /// IAM's error code for every refusal here.
    pub fn code(&self) -> &'static str {
        "MalformedPolicyDocument"
    }

    pub(crate) fn syntax() -> Self {
        Self::Malformed("Syntax errors in policy.".into())
    }

    pub(crate) fn vendor() -> Self {
        Self::Malformed(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".into(),
        )
    }

    fn msg(s: &str) -> Self {
        Self::Malformed(s.into())
    }
}

/// Where a document is used, which decides the elements it must and must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user, key or role: no `Principal`; `Resource` required; Sids
    /// alphanumeric.
    Identity,
    /// On a resource (a function's policy): `Principal` and `Resource` required.
    Resource,
    /// A role's trust policy: `Principal` required, no `Resource`.
    Trust,
}

/// The grammar's version: only `2012-10-17` has policy variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2008_10_17,
    V2012_10_17,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// An element with its `Not` form (`Action`/`NotAction`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negatable<T> {
    /// `true` for the `Not...` form: the statement applies to everything but `items`.
    pub negated: bool,
    pub items: T,
}

/// One `Action` entry: `*` or `service:Name` with wildcards, matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionPattern {
    pub text: String,
    toks: Vec<Tok>,
}

impl ActionPattern {
    pub fn matches(&self, action: &str) -> bool {
        matches(&self.toks, action, true)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<Negatable<PrincipalSpec>>,
    pub action: Negatable<Vec<ActionPattern>>,
    /// `None` only in trust policies.
    pub resource: Option<Negatable<Vec<String>>>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: Version,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// A string or an array of strings (IAM accepts both wherever a list is allowed).
pub(crate) fn string_or_list(v: &Value) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|e| match e {
                Value::String(s) => Ok(s.clone()),
                _ => Err(PolicyError::syntax()),
            })
            .collect(),
        _ => Err(PolicyError::syntax()),
    }
}

/// Parses a document's text for `kind`.
pub fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|_| PolicyError::msg("This policy contains invalid Json"))?;
    Policy::from_value(&value, kind)
}

impl Policy {
    /// Parses a document already read as JSON.
    pub fn from_value(value: &Value, kind: PolicyKind) -> Result<Self, PolicyError> {
        let Value::Object(top) = value else {
            return Err(PolicyError::msg("This policy contains invalid Json"));
        };
        for key in top.keys() {
            if !["Version", "Id", "Statement"].contains(&key.as_str()) {
                return Err(PolicyError::syntax());
            }
        }
        let version = match top.get("Version") {
            None => Version::V2008_10_17,
            Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
            Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
            Some(_) => return Err(PolicyError::syntax()),
        };
        let id = match top.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(PolicyError::syntax()),
        };
        let statements: Vec<&Value> = match top.get("Statement") {
            Some(Value::Array(a)) if !a.is_empty() => a.iter().collect(),
            Some(o @ Value::Object(_)) => vec![o],
            _ => return Err(PolicyError::syntax()),
        };
        let statements = statements
            .into_iter()
            .map(|s| match s {
                Value::Object(m) => Statement::parse(m, kind),
                _ => Err(PolicyError::syntax()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut sids: Vec<&str> = statements.iter().filter_map(|s| s.sid.as_deref()).collect();
        sids.sort_unstable();
        if sids.windows(2).any(|w| w[0] == w[1]) {
            return Err(PolicyError::msg(
                "Statement IDs (SID) in a single policy must be unique.",
            ));
        }
        Ok(Self {
            version,
            id,
            statements,
        })
    }

    pub(crate) fn has_variables(&self) -> bool {
        self.version == Version::V2012_10_17
    }
}

fn negatable<'a>(
    m: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<(bool, &'a Value)>, PolicyError> {
    let not = format!("Not{name}");
    match (m.get(name), m.get(&not)) {
        (Some(_), Some(_)) => Err(PolicyError::syntax()),
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
    }
}

fn valid_action(a: &str) -> bool {
    if a == "*" {
        return true;
    }
    match a.split_once(':') {
        Some((vendor, name)) => {
            !vendor.is_empty()
                && !name.is_empty()
                && vendor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }
        None => false,
    }
}

fn valid_resource(r: &str) -> bool {
    r == "*" || (r.starts_with("arn:") && r.splitn(6, ':').count() == 6)
}

impl Statement {
    fn parse(m: &Map<String, Value>, kind: PolicyKind) -> Result<Self, PolicyError> {
        const FIELDS: &[&str] = &[
            "Sid",
            "Effect",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        ];
        if m.keys().any(|k| !FIELDS.contains(&k.as_str())) {
            return Err(PolicyError::syntax());
        }
        let sid = match m.get("Sid") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(PolicyError::syntax()),
        };
        if kind != PolicyKind::Resource {
            if let Some(s) = &sid {
                if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(PolicyError::msg(
                        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
                    ));
                }
            }
        }
        let effect = match m.get("Effect") {
            Some(Value::String(e)) if e == "Allow" => Effect::Allow,
            Some(Value::String(e)) if e == "Deny" => Effect::Deny,
            _ => return Err(PolicyError::syntax()),
        };
        // A trust policy with a resource is refused for that first, as IAM answers a
        // permissions policy pasted as a role's trust policy.
        if kind == PolicyKind::Trust
            && (m.contains_key("Resource") || m.contains_key("NotResource"))
        {
            return Err(PolicyError::msg("Has prohibited field Resource"));
        }
        let principal = match negatable(m, "Principal")? {
            Some(_) if kind == PolicyKind::Identity => {
                return Err(PolicyError::msg(
                    "Policy document should not specify a principal.",
                ))
            }
            Some((negated, v)) => Some(Negatable {
                negated,
                items: PrincipalSpec::parse(v)?,
            }),
            None if kind == PolicyKind::Identity => None,
            None => return Err(PolicyError::msg("Missing required field Principal")),
        };
        let Some((negated, actions)) = negatable(m, "Action")? else {
            return Err(PolicyError::msg("Policy statement must contain actions."));
        };
        let actions = string_or_list(actions)?;
        if actions.is_empty() {
            return Err(PolicyError::msg("Policy statement must contain actions."));
        }
        if !actions.iter().all(|a| valid_action(a)) {
            return Err(PolicyError::vendor());
        }
        let action = Negatable {
            negated,
            items: actions
                .into_iter()
                .map(|text| ActionPattern {
                    toks: compile(&text),
                    text,
                })
                .collect(),
        };
        let resource = match negatable(m, "Resource")? {
            Some(_) if kind == PolicyKind::Trust => {
                return Err(PolicyError::msg("Has prohibited field Resource"))
            }
            None if kind == PolicyKind::Trust => None,
            None => return Err(PolicyError::msg("Policy statement must contain resources.")),
            Some((negated, v)) => {
                let items = string_or_list(v)?;
                if items.is_empty() {
                    return Err(PolicyError::msg("Policy statement must contain resources."));
                }
                if let Some(bad) = items.iter().find(|r| !valid_resource(r)) {
                    return Err(PolicyError::Malformed(format!(
                        "Resource {bad} must be in ARN format or \"*\"."
                    )));
                }
                Some(Negatable { negated, items })
            }
        };
        let conditions = match m.get("Condition") {
            Some(c) => parse_block(c)?,
            None => Vec::new(),
        };
        Ok(Self {
            sid,
            effect,
            principal,
            action,
            resource,
            conditions,
        })
    }

    pub(crate) fn action_applies(&self, action: &str) -> bool {
        let any = self.action.items.iter().any(|p| p.matches(action));
        any != self.action.negated
    }

    pub(crate) fn resource_applies(
        &self,
        resource: &str,
        ctx: &RequestContext,
        vars: bool,
    ) -> bool {
        let Some(r) = &self.resource else {
            return true;
        };
        let any = r
            .items
            .iter()
            .any(|p| resolve(p, ctx, vars, true).is_some_and(|toks| arn_or_star(&toks, resource)));
        any != r.negated
    }

    pub(crate) fn conditions_hold(&self, ctx: &RequestContext, vars: bool) -> bool {
        self.conditions.iter().all(|c| c.holds(ctx, vars))
    }
}

/// `*` matches every resource, `*`-named ones included (`lambda:ListFunctions`); an ARN
/// pattern matches ARNs part by part, and a literal `*` resource only as `*`.
fn arn_or_star(toks: &[Tok], resource: &str) -> bool {
    if resource == "*" {
        return toks.iter().all(|t| *t == Tok::Star);
    }
    arn_matches(toks, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(doc: &str, kind: PolicyKind) -> String {
        parse(doc, kind).expect_err(doc).to_string()
    }

    #[test]
    fn parses_single_and_listed_statements() {
        let p = parse(
            r#"{"Version":"2012-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"lambda:*","Resource":"*"}}"#,
            PolicyKind::Identity,
        )
        .expect("parses");
        assert_eq!(p.statements.len(), 1);
        assert_eq!(p.id.as_deref(), Some("x"));
        let p = parse(
            r#"{"Statement":[{"Effect":"Deny","NotAction":["s3:*","lambda:Get*"],"NotResource":"arn:aws:s3:::b/*"}]}"#,
            PolicyKind::Identity,
        )
        .expect("parses");
        assert_eq!(p.version, Version::V2008_10_17);
        assert!(p.statements[0].action.negated);
    }

    #[test]
    fn refuses_like_iam() {
        use PolicyKind::*;
        assert_eq!(err("{", Identity), "This policy contains invalid Json");
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}"#,
                Identity
            ),
            "Policy statement must contain actions."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject"}}"#,
                Identity
            ),
            "Policy statement must contain resources."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}"#,
                Identity
            ),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
                Identity
            ),
            "Policy document should not specify a principal."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}}"#,
                Identity
            ),
            "Resource bucket must be in ARN format or \"*\"."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#,
                Identity
            ),
            "Statement IDs (SID) in a single policy must be unique."
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
                Trust
            ),
            "Missing required field Principal"
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}}"#,
                Trust
            ),
            "Has prohibited field Resource"
        );
        assert_eq!(
            err(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"lambda:*","Resource":"*"}}"#,
                Resource
            ),
            "Invalid principal in policy: \"AWS\":\"bob\""
        );
        for doc in [
            r#"{"Version":"2012-10-17","Statement":{"Effect":"allow","Action":"s3:*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":[]}"#,
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:x","Resource":"*"}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra":1}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":7,"Resource":"*"}}"#,
        ] {
            assert_eq!(err(doc, Identity), "Syntax errors in policy.", "{doc}");
        }
    }
}
