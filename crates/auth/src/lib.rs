//! Authentication for Hearth's AWS-compatible API (issue 14): SigV4 verification of
//! every request ([`Verifier`]), access keys in AWS's shapes ([`keys`]) and stateless
//! temporary session credentials ([`Sessions::issue_session`]). What a request is for
//! (its service, its protocol's error shapes) is the API layer's; this crate answers
//! who signed it, or why no one validly did ([`AuthError`]).

mod canonical;
pub mod error;
pub mod key_ring;
pub mod keys;
pub mod parse;
pub mod session;
mod signing_keys;
pub mod verify;

pub use error::{AuthError, Protocol};
pub use key_ring::{KeyError, KeyInfo, KeyRing, NewKey};
pub use session::{SessionCredentials, SessionGrant, Sessions};
pub use verify::{sign_in, Incoming, KeyLookup, LongTermKey, ServiceCheck, Verifier};

/// The region Hearth's server answers for (the credential scope's region must be it).
pub const REGION: &str = "us-east-1";
