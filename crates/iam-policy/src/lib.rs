//! IAM's policy language, as AWS documents it: documents in the JSON grammar
//! (`Version`, `Statement`, `Effect`, `Principal`, `Action`, `Resource`, `Condition`, their
//! `Not` forms), refused with IAM's `MalformedPolicyDocument` messages when malformed, and
//! evaluated against a request with AWS's policy evaluation logic (default deny, explicit
//! deny wins, identity and resource policies combined within and across accounts).
//!
//! The crate knows nothing of Hearth's services: the API layer declares which action and
//! resource a request needs, builds a [`RequestContext`], and asks [`evaluate`] (or, whether
//! a principal may assume a role, [`evaluate_trust`]).

mod condition;
mod context;
mod document;
mod evaluate;
mod limits;
mod pattern;
mod principal;
mod trust;
mod variables;

pub use condition::{Condition, Operator, SetQualifier};
pub use context::{PrincipalKind, RequestContext, RequestPrincipal};
pub use document::{
    parse, ActionPattern, Effect, Negatable, Policy, PolicyError, PolicyKind, Statement, Version,
};
pub use evaluate::{denial_message, evaluate, DecidedBy, Decision, Outcome, ResourcePolicy};
pub use limits::{size_without_whitespace, SizeLimit};
pub use principal::{PrincipalSpec, PrincipalType};
pub use trust::{
    evaluate_trust, evaluate_trust_action, TrustedRole, ASSUME_ROLE, SET_SOURCE_IDENTITY,
    TAG_SESSION,
};
