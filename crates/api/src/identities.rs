//! Where a caller's identity policies come from (the [`Authorizer`] the server uses): an
//! IAM user's key carries its own policy (`hearth keys create --policy`); a role's
//! session (AssumeRole, a function's execution role) has the role's inline policies and
//! the documents of the managed policies attached to it. Roots have none: they need none
//! on their own account.

use hearth_auth::KeyRing;
use hearth_engine::Engine;
use hearth_iam_policy::{parse, Policy, PolicyKind};
use hearth_model::caller::{Caller, CallerKind};

use crate::authorize::Authorizer;

/// The identity policies of keys (from the key ring) and of roles (from the engine).
pub struct Identities {
    keys: Option<KeyRing>,
    engine: Engine,
}

impl Identities {
    pub fn new(keys: Option<KeyRing>, engine: Engine) -> Self {
        Self { keys, engine }
    }
}

/// A stored document parses: it was checked when it was stored. If one does not any more
/// (a grammar change), the request fails rather than being decided without it.
fn parse_stored(doc: &str, owner: &str) -> Result<Policy, String> {
    parse(doc, PolicyKind::Identity)
        .map_err(|e| format!("the identity policy of {owner} does not parse: {e}"))
}

impl Authorizer for Identities {
    fn identity_policies(&self, caller: &Caller) -> Result<Vec<Policy>, String> {
        match &caller.kind {
            CallerKind::Root => Ok(Vec::new()),
            CallerKind::User { .. } => {
                let doc = caller
                    .access_key_id
                    .as_deref()
                    .zip(self.keys.as_ref())
                    .and_then(|(id, keys)| keys.policy(id));
                doc.map(|d| parse_stored(&d, &caller.arn))
                    .into_iter()
                    .collect()
            }
            CallerKind::AssumedRole { role_arn, .. } => self
                .engine
                .role_policies(role_arn)
                .map_err(|e| e.to_string()),
        }
    }
}
