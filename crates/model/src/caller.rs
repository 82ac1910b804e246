//! Who made a request: the principal that signed it (issue 14), as the API layer hands it
//! to authorization, audit and the handlers that answer with it (`GetCallerIdentity`).
//!
//! With `--auth off` every request is the default account's root, as if signed by its
//! administrator key.

use std::ops::Deref;
use std::sync::Arc;

use crate::arn::ACCOUNT;

/// The authenticated principal of one request, inserted as a request extension by the
/// authentication layer: its [`Identity`], shared. A request's caller is read by the
/// audit trail, authorization, tenancy and the handlers, each taking its own copy, and
/// a long-term key's is the same for every request it signs: a copy is a count, not
/// five strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(Arc<Identity>);

impl Deref for Caller {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl From<Identity> for Caller {
    fn from(identity: Identity) -> Self {
        Self(Arc::new(identity))
    }
}

/// Who a [`Caller`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The 12-digit account the principal belongs to.
    pub account: String,
    /// The principal's ARN as IAM prints it: `arn:aws:iam::ACCOUNT:root`,
    /// `arn:aws:iam::ACCOUNT:user/NAME`, or `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// IAM's unique id: the account for root, `AIDA...` for a user,
    /// `AROA...:SESSION` for an assumed role.
    pub user_id: String,
    /// The access key the request was signed with; `None` with `--auth off`.
    pub access_key_id: Option<String>,
    /// What kind of principal this is.
    pub kind: CallerKind,
}

/// The kinds of principal Hearth authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    /// The account's root (the administrator key; every request with `--auth off`).
    Root,
    /// A long-term key made by `hearth keys create`, named like an IAM user.
    User { name: String },
    /// Temporary credentials of a role (`AssumeRole`, a function's execution role).
    AssumedRole {
        role_arn: String,
        session_name: String,
    },
}

impl Caller {
    /// The default account's root: who every request is with authentication off.
    pub fn default_root() -> Self {
        Self::root(ACCOUNT)
    }

    /// An account's root.
    pub fn root(account: &str) -> Self {
        Identity::root(account).into()
    }
}

impl Identity {
    /// An account's root.
    pub fn root(account: &str) -> Self {
        Self {
            account: account.to_string(),
            arn: format!("arn:aws:iam::{account}:root"),
            user_id: account.to_string(),
            access_key_id: None,
            kind: CallerKind::Root,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_root_is_the_default_accounts() {
        let c = Caller::default_root();
        assert_eq!(c.arn, format!("arn:aws:iam::{ACCOUNT}:root"));
        assert_eq!(c.user_id, ACCOUNT);
        assert_eq!(c.kind, CallerKind::Root);
    }
}
