//! The account a request acts in: its caller's own, or the account whose function it
//! names when a resource policy let the caller in (the authorization layer decides and
//! inserts it). Handlers read it to turn the names a request gives into function keys of
//! that account (`hearth_model::arn::function_key`), so two accounts never see each
//! other's functions.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hearth_model::arn::ACCOUNT;
use hearth_model::caller::Caller;

/// The account a request acts in (12 digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tenant(pub String);

impl Tenant {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The tenant of a request the authorization layer did not see (in-process routers
    /// without it): its caller's account, the default account's without one.
    fn of(parts: &Parts) -> Self {
        if let Some(t) = parts.extensions.get::<Tenant>() {
            return t.clone();
        }
        Self(
            parts
                .extensions
                .get::<Caller>()
                .map(|c| c.account.clone())
                .unwrap_or_else(|| ACCOUNT.to_string()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(parts))
    }
}
