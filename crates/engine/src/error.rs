//! The engine's errors, in its own terms (functions, versions, aliases, concurrency,
//! code): no HTTP status or AWS error code here. `crates/api` maps each variant to
//! Lambda's code, status and message in one place (`api/src/error.rs`).

use std::error::Error as StdError;

use hearth_model::State;
use hearth_store::{StoreError, WriteError};

/// A boxed cause of an internal failure, kept for the log.
pub type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// What the request names does not exist.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The request collides with what exists or is going on.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// Every environment the invocation may use is busy.
    #[error("throttled: {0:?}")]
    Throttled(Throttle),
    /// The runtime (one Lambda knows) is not installed on this host.
    #[error("the runtime {runtime} is not installed")]
    RuntimeNotInstalled {
        runtime: String,
        /// The runtimes that are.
        available: Vec<String>,
    },
    /// Another semantic check that needs the engine's state failed (a destination
    /// that does not exist, a reservation above what the account has...); the
    /// message is for the client.
    #[error("{0}")]
    Invalid(String),
    /// As `Invalid`, for the refusals AWS answers without `Type` in the body (a
    /// concurrency beyond what the account has, `$LATEST` with routing weights).
    #[error("{0}")]
    InvalidWithoutType(String),
    /// A member the operation requires is absent; checked only once the function is
    /// known to exist, as Lambda does.
    #[error("the member {0} is required")]
    MissingMember(&'static str),
    /// A deployment package larger than the engine can take.
    #[error("{what} size exceeds {limit} bytes")]
    TooLarge { what: Size, limit: u64 },
    /// A deployment package that cannot be read as a zip when it is stored.
    #[error("the deployment package is not a zip file")]
    BadZip,
    /// The function's stored code cannot be unpacked for an invocation; the message
    /// says which file and what is wrong.
    #[error("{0}")]
    CodeUnusable(String),
    /// Lambda's recursive loop detection stopped the invocation (the function's
    /// recursion config is `Terminate`); the message names the function.
    #[error("{0}")]
    RecursiveInvocation(String),
    /// A resource of another account that its policy does not let the caller use
    /// (a layer version): AWS's access-denied text.
    #[error("{0}")]
    AccessDenied(String),
    /// A change could not be stored: the data directory's file system is full.
    #[error("the disk is full: {0}")]
    DiskFull(#[source] Cause),
    /// Hearth's own failure: the client is told little, the log gets the cause.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

/// What was not found, with what the client named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotFound {
    /// A function, or a version of it (`arn` is qualified then).
    #[error("function not found: {arn}")]
    Function { arn: String },
    #[error("alias not found: {arn}")]
    Alias { arn: String },
    /// An alias named as the target of an operation (GetAlias, provisioned concurrency),
    /// which AWS words differently from UpdateAlias's.
    #[error("cannot find alias {arn}")]
    AliasTarget { arn: String },
    /// The function, or the version or alias, an event invoke config operation names.
    #[error("the function of an event invoke config does not exist")]
    EventConfigTarget,
    #[error("no event invoke config for {arn}")]
    EventConfig { arn: String },
    #[error("no provisioned concurrency config for {arn}")]
    ProvisionedConfig { arn: String },
    /// A function's log group (`/aws/lambda/<name>`).
    #[error("the log group does not exist")]
    LogGroup,
    /// A resource of a kind Hearth does not have, or a policy that does not exist
    /// (GetPolicy says no more, whichever is missing).
    #[error("the resource does not exist")]
    Resource,
    /// A function URL operation's function, or the alias it names, does not exist.
    #[error("the function of a function URL does not exist")]
    UrlFunction,
    /// RemovePermission on a function that does not exist.
    #[error("no policy found for {arn}")]
    PolicyOf { arn: String },
    /// RemovePermission where the function, version or alias has no policy.
    #[error("no policy is associated with the resource")]
    NoPolicy,
    /// RemovePermission of a statement the policy does not have.
    /// A layer version of the caller's account that does not exist.
    #[error("layer version {arn} does not exist")]
    LayerVersion { arn: String },
    #[error("statement {sid} is not in the policy")]
    Statement { sid: String },
}

/// A request that collides with the state of what it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("function already exists: {name}")]
    FunctionExists { name: String },
    #[error("alias already exists: {arn}")]
    AliasExists { arn: String },
    /// The function (at that qualifier) has a URL already.
    #[error("a function URL exists for {arn}")]
    FunctionUrlExists { arn: String },
    /// The function is not `Active` (still being created, or failed).
    #[error("the function is {state:?}")]
    NotActive { state: State },
    /// Another update of the function is in progress.
    #[error("an update is in progress for {arn}")]
    UpdateInProgress { arn: String },
    /// A version that aliases route to cannot be deleted.
    #[error("the version is used by the aliases {aliases:?}")]
    VersionInUse { aliases: Vec<String> },
    /// The `RevisionId` given is not the current one.
    #[error("the revision id does not match")]
    RevisionMismatch,
    /// AddPermission's statement id is taken in that policy.
    #[error("statement {sid} already exists")]
    StatementExists { sid: String },
    /// The `RevisionId` given to AddPermission or RemovePermission is not the
    /// policy's (or, before it has one, its function's, version's or alias's).
    #[error("the policy revision id does not match")]
    PolicyRevisionMismatch {
        /// The policy is an alias's.
        alias: bool,
    },
    /// PublishVersion's `CodeSha256` is not `$LATEST`'s.
    #[error("code sha256 {given} is not $LATEST's {current}")]
    CodeShaMismatch { given: String, current: String },
    /// Provisioned concurrency on an alias whose version has its own.
    #[error("the alias's version has provisioned concurrency")]
    AliasVersionProvisioned,
    /// Provisioned concurrency on a version an alias with its own routes to.
    #[error("an alias with provisioned concurrency routes to the version")]
    VersionAliasProvisioned,
}

/// Why an invocation was throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// The function's reserved concurrency is all in use (or is 0).
    ReservedConcurrency,
    /// The account's unreserved concurrency is all in use.
    AccountConcurrency,
}

/// Which size of a deployment package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Unzipped,
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unzipped => "unzipped",
        })
    }
}

impl EngineError {
    /// Hearth's own failure (a full disk arrives typed, through the `From` impls).
    pub fn internal(e: impl Into<Cause>) -> Self {
        Self::Internal(e.into())
    }

    /// Whether the invocation may be tried again later without counting as an attempt.
    pub fn is_throttle(&self) -> bool {
        matches!(self, Self::Throttled(_))
    }

    pub(crate) fn function_not_found(arn: String) -> Self {
        NotFound::Function { arn }.into()
    }
}

/// Store failures that reach a caller: the ones a client caused keep their meaning,
/// the rest are internal (or a full disk).
impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadZip(_) => Self::BadZip,
            StoreError::TooLarge { limit, .. } => Self::TooLarge {
                what: Size::Unzipped,
                limit,
            },
            full @ StoreError::DiskFull(_) => Self::DiskFull(Box::new(full)),
            other => Self::internal(other),
        }
    }
}

/// A group commit the store writer could not make.
impl From<WriteError> for EngineError {
    fn from(e: WriteError) -> Self {
        if e.is_disk_full() {
            Self::DiskFull(Box::new(e))
        } else {
            Self::internal(e)
        }
    }
}

impl From<tokio::task::JoinError> for EngineError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_apart_from_other_failures() {
        let full = StoreError::from(std::io::Error::from_raw_os_error(28));
        assert!(matches!(EngineError::from(full), EngineError::DiskFull(_)));
        let write = WriteError::from(StoreError::DiskFull("database or disk is full".into()));
        assert!(matches!(EngineError::from(write), EngineError::DiskFull(_)));
        assert!(matches!(
            EngineError::from(WriteError::Stopped),
            EngineError::Internal(_)
        ));
        let other = StoreError::Io(std::io::Error::other("permission denied"));
        assert!(matches!(EngineError::from(other), EngineError::Internal(_)));
    }

    #[test]
    fn client_mistakes_in_a_package_keep_their_meaning() {
        assert!(matches!(
            EngineError::from(StoreError::BadZip("x".into())),
            EngineError::BadZip
        ));
        assert!(matches!(
            EngineError::from(StoreError::TooLarge { size: 9, limit: 5 }),
            EngineError::TooLarge {
                what: Size::Unzipped,
                limit: 5
            }
        ));
    }
}
