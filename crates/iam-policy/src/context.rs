//! The request context: who asks (the principal), and the condition keys AWS would put
//! beside the action and resource (`aws:SourceIp`, `aws:CurrentTime`, `aws:SourceArn`, ...).
//! Keys are case-insensitive, as IAM's are; each holds one value or several.

use std::collections::BTreeMap;

/// What kind of principal is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An account's root: everything on its own account's resources.
    Root,
    /// An IAM user (a Hearth key): what its identity policies allow.
    User { name: String },
    /// A role's session: what the role's policies allow. `role_arn` is the role
    /// (`arn:aws:iam::ACCOUNT:role/NAME`), which resource policies name.
    AssumedRole { role_arn: String },
    /// An AWS service acting on a resource (`lambda.amazonaws.com`, `sns.amazonaws.com`,
    /// ...): only resource policies grant it anything.
    Service { name: String },
    /// An unauthenticated caller (a request to a function URL with `AuthType` `NONE`):
    /// named only by a `*` principal, granted only by resource policies.
    Anonymous,
}

/// The principal of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPrincipal {
    /// The principal's 12-digit account (for a service, the account it acts for, if any).
    pub account: Option<String>,
    /// Its ARN as the denial message prints it (a service's name for services).
    pub arn: String,
    pub kind: PrincipalKind,
}

impl RequestPrincipal {
    pub fn root(account: &str) -> Self {
        Self {
            account: Some(account.into()),
            arn: format!("arn:aws:iam::{account}:root"),
            kind: PrincipalKind::Root,
        }
    }

    pub fn user(account: &str, name: &str) -> Self {
        Self {
            account: Some(account.into()),
            arn: format!("arn:aws:iam::{account}:user/{name}"),
            kind: PrincipalKind::User { name: name.into() },
        }
    }

    /// A session of role `role` (its name, or a path and name) in `account`.
    pub fn assumed_role(account: &str, role: &str, session: &str) -> Self {
        let name = role.rsplit('/').next().unwrap_or(role);
        Self {
            account: Some(account.into()),
            arn: format!("arn:aws:sts::{account}:assumed-role/{name}/{session}"),
            kind: PrincipalKind::AssumedRole {
                role_arn: format!("arn:aws:iam::{account}:role/{role}"),
            },
        }
    }

    /// The unauthenticated caller; its ARN as denial messages print it.
    pub fn anonymous() -> Self {
        Self {
            account: None,
            arn: "anonymous".into(),
            kind: PrincipalKind::Anonymous,
        }
    }

    pub fn service(name: &str) -> Self {
        Self {
            account: None,
            arn: name.into(),
            kind: PrincipalKind::Service { name: name.into() },
        }
    }
}

/// A request's principal and its condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub principal: RequestPrincipal,
    /// Keys lower-cased; values as the request carries them.
    keys: BTreeMap<String, Vec<String>>,
}

impl RequestContext {
    /// A context with the principal's own keys (`aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:PrincipalType`, `aws:username`, `aws:PrincipalServiceName`).
    pub fn new(principal: RequestPrincipal) -> Self {
        let mut ctx = Self {
            principal: principal.clone(),
            keys: BTreeMap::new(),
        };
        if let Some(account) = &principal.account {
            ctx.set("aws:PrincipalAccount", account);
        }
        match &principal.kind {
            PrincipalKind::Root => {
                ctx.set("aws:PrincipalArn", &principal.arn);
                ctx.set("aws:PrincipalType", "Account");
            }
            PrincipalKind::User { name } => {
                ctx.set("aws:PrincipalArn", &principal.arn);
                ctx.set("aws:PrincipalType", "User");
                ctx.set("aws:username", name);
            }
            PrincipalKind::AssumedRole { role_arn } => {
                // aws:PrincipalArn is the role's ARN for a role session, as AWS documents.
                ctx.set("aws:PrincipalArn", role_arn);
                ctx.set("aws:PrincipalType", "AssumedRole");
            }
            PrincipalKind::Service { name } => {
                ctx.set("aws:PrincipalServiceName", name);
                ctx.set("aws:PrincipalType", "Service");
            }
            PrincipalKind::Anonymous => {
                ctx.set("aws:PrincipalType", "Anonymous");
            }
        }
        ctx
    }

    /// Sets a single-valued key.
    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.keys
            .insert(key.to_ascii_lowercase(), vec![value.to_string()]);
        self
    }

    /// Sets a multivalued key (`aws:TagKeys`, ...).
    pub fn set_many(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.keys.insert(key.to_ascii_lowercase(), values);
        self
    }

    /// Builder form of [`set`](Self::set).
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.set(key, value);
        self
    }

    /// A key's values, `None` when the request does not carry it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.keys.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }

    /// Sets `aws:CurrentTime` (ISO 8601) and `aws:EpochTime` from seconds since the epoch.
    pub fn at_time(mut self, epoch_seconds: i64) -> Self {
        if let Some(t) = chrono::DateTime::from_timestamp(epoch_seconds, 0) {
            self.set(
                "aws:CurrentTime",
                &t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            );
        }
        self.set("aws:EpochTime", &epoch_seconds.to_string());
        self
    }
}
