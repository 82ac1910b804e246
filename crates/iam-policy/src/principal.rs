//! `Principal` / `NotPrincipal` of resource-based and trust policies: `"*"`, or a map of
//! principal types (`AWS`, `Service`, `Federated`, `CanonicalUser`) to one name or a list.

use serde_json::Value;

use crate::context::{PrincipalKind, RequestPrincipal};
use crate::document::PolicyError;

/// The principal types IAM knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

/// A statement's `Principal` (or `NotPrincipal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    /// `"*"`: everyone.
    Any,
    /// `{"AWS": [...], "Service": [...]}`.
    Typed(Vec<(PrincipalType, Vec<String>)>),
}

/// How a statement's principal names the request's principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalMatch {
    No,
    /// The principal itself (its ARN, its role, a service, `*`): a resource policy's
    /// Allow is enough on its own within the account.
    Direct,
    /// Its account (`123456789012` / `arn:aws:iam::123456789012:root`): the account
    /// delegates to its own identity policies, which must also allow.
    Account,
}

fn invalid(kind: &str, value: &str) -> PolicyError {
    PolicyError::Malformed(format!(
        "Invalid principal in policy: \"{kind}\":\"{value}\""
    ))
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl PrincipalSpec {
    pub(crate) fn parse(v: &Value) -> Result<Self, PolicyError> {
        match v {
            Value::String(s) if s == "*" => Ok(Self::Any),
            Value::Object(map) if !map.is_empty() => {
                let mut out = Vec::new();
                for (k, v) in map {
                    let ty = match k.as_str() {
                        "AWS" => PrincipalType::Aws,
                        "Service" => PrincipalType::Service,
                        "Federated" => PrincipalType::Federated,
                        "CanonicalUser" => PrincipalType::CanonicalUser,
                        _ => return Err(PolicyError::syntax()),
                    };
                    let names = crate::document::string_or_list(v)?;
                    if names.is_empty() {
                        return Err(PolicyError::syntax());
                    }
                    for n in &names {
                        if ty == PrincipalType::Aws && !valid_aws(n) {
                            return Err(invalid(k, n));
                        }
                        if ty == PrincipalType::Service && n.is_empty() {
                            return Err(invalid(k, n));
                        }
                    }
                    out.push((ty, names));
                }
                Ok(Self::Typed(out))
            }
            _ => Err(PolicyError::syntax()),
        }
    }

    pub(crate) fn matches(&self, p: &RequestPrincipal) -> PrincipalMatch {
        let entries = match self {
            Self::Any => return PrincipalMatch::Direct,
            Self::Typed(e) => e,
        };
        let mut best = PrincipalMatch::No;
        for (ty, names) in entries {
            for n in names {
                let m = match ty {
                    PrincipalType::Aws => match_aws(n, p),
                    PrincipalType::Service => match &p.kind {
                        PrincipalKind::Service { name } if name.eq_ignore_ascii_case(n) => {
                            PrincipalMatch::Direct
                        }
                        _ => PrincipalMatch::No,
                    },
                    // Hearth has no federated or S3 canonical-user principals.
                    PrincipalType::Federated | PrincipalType::CanonicalUser => PrincipalMatch::No,
                };
                if m == PrincipalMatch::Direct {
                    return m;
                }
                if m == PrincipalMatch::Account {
                    best = m;
                }
            }
        }
        best
    }
}

/// `*`, a 12-digit account, or an IAM/STS ARN.
fn valid_aws(n: &str) -> bool {
    n == "*"
        || is_account(n)
        || ((n.starts_with("arn:aws:iam::") || n.starts_with("arn:aws:sts::"))
            && n.splitn(6, ':').count() == 6)
}

fn match_aws(n: &str, p: &RequestPrincipal) -> PrincipalMatch {
    if matches!(p.kind, PrincipalKind::Service { .. }) {
        return PrincipalMatch::No;
    }
    if n == "*" {
        return PrincipalMatch::Direct;
    }
    // Nothing but `*` names a caller that did not say who it is.
    if p.kind == PrincipalKind::Anonymous {
        return PrincipalMatch::No;
    }
    let account = if is_account(n) {
        Some(n)
    } else {
        n.strip_prefix("arn:aws:iam::")
            .and_then(|r| r.strip_suffix(":root"))
    };
    if let Some(account) = account {
        if p.account.as_deref() != Some(account) {
            return PrincipalMatch::No;
        }
        return if p.kind == PrincipalKind::Root {
            PrincipalMatch::Direct
        } else {
            PrincipalMatch::Account
        };
    }
    let direct =
        n == p.arn || matches!(&p.kind, PrincipalKind::AssumedRole { role_arn } if role_arn == n);
    if direct {
        PrincipalMatch::Direct
    } else {
        PrincipalMatch::No
    }
}
