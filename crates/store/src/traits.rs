//! What a store is, whatever holds it: metadata, code blobs, logs, the async queue, and
//! the changes the group-commit writer applies. The engine and the async queue use only
//! these traits (through [`crate::Store`]); the embedded SQLite store
//! ([`crate::SqliteStore`]) implements all of them, and a networked database can too.
//!
//! A read-modify-write takes its closure as a boxed `FnOnce` that answers whether to
//! write, so the traits stay object-safe; the generic forms callers use, which carry the
//! closure's own error back, are on `dyn MetadataStore` below.

use std::collections::HashSet;
use std::path::PathBuf;

use bytes::Bytes;
use hearth_model::alias::Alias;
use hearth_model::concurrency::ProvisionedConfig;
use hearth_model::event_invoke::EventInvokeConfig;
use hearth_model::event_source_mapping::EventSourceMapping;
use hearth_model::function::CodeRef;
use hearth_model::function_settings::FunctionSettings;
use hearth_model::function_url::FunctionUrl;
use hearth_model::iam::Role;
use hearth_model::policy::Policy;
use hearth_model::tags::Tags;
use hearth_model::FunctionConfig;

use crate::{
    Change, CodePin, Durability, LogEvent, LogGroupInfo, LogQuery, LogScan, LogStreamInfo, Publish,
    QueuedEvent, StoreError, StoredKey, Subscriber, Subscription,
};

/// The outcome of a read-modify-write of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Edited<T> {
    /// There is no such record.
    Missing,
    /// The closure declined; nothing was written.
    Declined,
    /// Done: the record as it now stands (written, or as it was when the decision
    /// was to keep it, as a publish that finds nothing new).
    Done(T),
}

/// A closure deciding an edit: changes the record and answers whether to write it.
pub type Edit<'a, T> = Box<dyn FnOnce(&mut T) -> bool + 'a>;

/// A publish's decision (see [`MetadataStore::publish_with`]); `None` declines.
pub type Decide<'a> =
    Box<dyn FnOnce(&FunctionConfig, Option<FunctionConfig>, u64) -> Option<Publish> + 'a>;

/// Functions and their states, versions, aliases, reserved and provisioned concurrency,
/// asynchronous invocation settings and log retention. Every committed change to a
/// function, its versions, aliases or asynchronous invocation settings is told to the
/// subscribers after its commit.
pub trait MetadataStore: Send + Sync {
    /// Tells `subscriber` every committed change from now on, until the subscription is
    /// dropped.
    fn subscribe(&self, subscriber: Subscriber) -> Subscription;

    /// Inserts a new function; `Exists` if the name is taken. Its `tags` become the
    /// tags of its ARN ([`ResourceStore`]); the stored record keeps none.
    fn insert_function(&self, f: &FunctionConfig) -> Result<(), StoreError>;
    fn get_function(&self, name: &str) -> Result<Option<FunctionConfig>, StoreError>;
    /// Reads, changes and writes one function atomically.
    fn edit_function(
        &self,
        name: &str,
        edit: Edit<'_, FunctionConfig>,
    ) -> Result<Edited<FunctionConfig>, StoreError>;
    /// Functions of `account` (every account's with `None`) in key order, starting after
    /// the key `marker` (`hearth_model::arn::function_key`).
    fn list_functions(
        &self,
        account: Option<&str>,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionConfig>, StoreError>;
    /// Every function of every account, for start-up recovery.
    fn all_functions(&self) -> Result<Vec<FunctionConfig>, StoreError> {
        self.list_functions(None, None, usize::MAX >> 1)
    }
    /// Deletes a function with its versions, aliases, counters, concurrency,
    /// asynchronous invocation settings, tags, policies and settings; false if there
    /// was none.
    fn delete_function(&self, name: &str) -> Result<bool, StoreError>;

    /// Publishes a version atomically: `decide` gets `$LATEST`, the newest version (if
    /// any) and the number a new version would get. A version number is never reused.
    fn publish_with(
        &self,
        name: &str,
        decide: Decide<'_>,
    ) -> Result<Edited<FunctionConfig>, StoreError>;
    fn get_version(&self, name: &str, version: u64) -> Result<Option<FunctionConfig>, StoreError>;
    /// A function's published versions, oldest first.
    fn list_versions(&self, name: &str) -> Result<Vec<FunctionConfig>, StoreError>;
    /// Rewrites a stored version (its state, when the code it shares with `$LATEST`
    /// settles).
    fn put_version(&self, f: &FunctionConfig) -> Result<(), StoreError>;
    /// Deletes a version with its asynchronous invocation settings.
    fn delete_version(&self, name: &str, version: u64) -> Result<bool, StoreError>;

    /// Inserts a new alias; `Exists` if the name is taken.
    fn insert_alias(&self, a: &Alias) -> Result<(), StoreError>;
    fn get_alias(&self, function: &str, name: &str) -> Result<Option<Alias>, StoreError>;
    /// A function's aliases in name order.
    fn list_aliases(&self, function: &str) -> Result<Vec<Alias>, StoreError>;
    fn edit_alias(
        &self,
        function: &str,
        name: &str,
        edit: Edit<'_, Alias>,
    ) -> Result<Edited<Alias>, StoreError>;
    /// Deletes an alias with its asynchronous invocation settings.
    fn delete_alias(&self, function: &str, name: &str) -> Result<bool, StoreError>;

    /// Sets (or with `None` removes) a function's reserved concurrency.
    fn set_reserved(&self, function: &str, reserved: Option<i64>) -> Result<(), StoreError>;
    fn get_reserved(&self, function: &str) -> Result<Option<i64>, StoreError>;
    /// Every function with reserved concurrency.
    fn all_reserved(&self) -> Result<Vec<(String, i64)>, StoreError>;
    fn put_provisioned(&self, c: &ProvisionedConfig) -> Result<(), StoreError>;
    fn get_provisioned(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConfig>, StoreError>;
    /// Provisioned-concurrency requests of one function, or of all with `None`.
    fn list_provisioned(
        &self,
        function: Option<&str>,
    ) -> Result<Vec<ProvisionedConfig>, StoreError>;
    fn delete_provisioned(&self, function: &str, qualifier: &str) -> Result<bool, StoreError>;

    /// Stores (replacing) a configuration; false, and nothing stored, if its function,
    /// version or alias does not exist.
    fn put_event_invoke_config(&self, c: &EventInvokeConfig) -> Result<bool, StoreError>;
    fn edit_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, EventInvokeConfig>,
    ) -> Result<Edited<EventInvokeConfig>, StoreError>;
    fn get_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, StoreError>;
    /// A function's configurations in qualifier order.
    fn list_event_invoke_configs(
        &self,
        function: &str,
    ) -> Result<Vec<EventInvokeConfig>, StoreError>;
    fn delete_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError>;

    /// Sets how many days a function's logs are kept.
    fn put_retention(&self, function: &str, days: u32) -> Result<(), StoreError>;
    /// Removes a function's own retention; false if it had none.
    fn delete_retention(&self, function: &str) -> Result<bool, StoreError>;
    /// A function's own retention in days, if it has one.
    fn retention(&self, function: &str) -> Result<Option<u32>, StoreError>;
}

/// Runs an [`Edit`]-taking method with a closure that may refuse with its own error, in
/// the shape callers use: `None` if there is no record, `Some(Err)` if `f` refused.
fn edited<T, E>(
    run: impl FnOnce(Edit<'_, T>) -> Result<Edited<T>, StoreError>,
    f: impl FnOnce(&mut T) -> Result<(), E>,
) -> Result<Option<Result<T, E>>, StoreError> {
    let mut refused = None;
    let outcome = run(Box::new(|record| match f(record) {
        Ok(()) => true,
        Err(e) => {
            refused = Some(e);
            false
        }
    }))?;
    Ok(answer(outcome, refused))
}

/// An edit's outcome with the closure's own error, if it refused.
fn answer<T, E>(outcome: Edited<T>, refused: Option<E>) -> Option<Result<T, E>> {
    match (outcome, refused) {
        (Edited::Missing, _) => None,
        (Edited::Done(t), None) => Some(Ok(t)),
        (_, Some(e)) => Some(Err(e)),
        // The closures here decline only with an error; a backend that declines without
        // calling one found nothing to edit.
        (Edited::Declined, None) => None,
    }
}

impl<'s> dyn MetadataStore + 's {
    /// Reads, changes and writes one function atomically. `f` returns `Err` to abort;
    /// `Ok(None)` means the function does not exist.
    pub fn update_function<E>(
        &self,
        name: &str,
        f: impl FnOnce(&mut FunctionConfig) -> Result<(), E>,
    ) -> Result<Option<Result<FunctionConfig, E>>, StoreError> {
        edited(|edit| self.edit_function(name, edit), f)
    }

    /// Reads, changes and writes one alias atomically, as [`Self::update_function`].
    pub fn update_alias<E>(
        &self,
        function: &str,
        name: &str,
        f: impl FnOnce(&mut Alias) -> Result<(), E>,
    ) -> Result<Option<Result<Alias, E>>, StoreError> {
        edited(|edit| self.edit_alias(function, name, edit), f)
    }

    /// Reads, changes and writes one configuration atomically, as
    /// [`Self::update_function`].
    pub fn update_event_invoke_config<E>(
        &self,
        function: &str,
        qualifier: &str,
        f: impl FnOnce(&mut EventInvokeConfig) -> Result<(), E>,
    ) -> Result<Option<Result<EventInvokeConfig, E>>, StoreError> {
        edited(
            |edit| self.edit_event_invoke_config(function, qualifier, edit),
            f,
        )
    }

    /// Publishes a version atomically (see [`MetadataStore::publish_with`]); `decide`
    /// returns `Err` to abort, and `Ok(None)` means the function does not exist.
    pub fn publish_version<E>(
        &self,
        name: &str,
        decide: impl FnOnce(&FunctionConfig, Option<FunctionConfig>, u64) -> Result<Publish, E>,
    ) -> Result<Option<Result<FunctionConfig, E>>, StoreError> {
        let mut refused = None;
        let outcome = self.publish_with(
            name,
            Box::new(|latest, newest, next| match decide(latest, newest, next) {
                Ok(p) => Some(p),
                Err(e) => {
                    refused = Some(e);
                    None
                }
            }),
        )?;
        Ok(answer(outcome, refused))
    }
}

/// What Lambda keeps beside a function's records and that invocations do not read:
/// tags (keyed by resource ARN, so resources other than functions can have them),
/// resource-based policies (per function and qualifier) and per-function settings
/// (runtime management, recursion). Deleting a function removes all of them;
/// deleting a version or an alias removes its policy and settings. Changes are not
/// told to the metadata subscribers: the registry does not cache them.
pub trait ResourceStore: Send + Sync {
    /// A resource's tags (empty if none).
    fn tags(&self, resource: &str) -> Result<Tags, StoreError>;
    /// Reads, changes and writes a resource's tags atomically; `owner` is the function
    /// the resource belongs to (its deletion removes them), `Missing` if it does not
    /// exist. Empty tags are removed.
    fn edit_tags(
        &self,
        resource: &str,
        owner: &str,
        edit: Edit<'_, Tags>,
    ) -> Result<Edited<Tags>, StoreError>;

    /// The policy of `qualifier` (`$LATEST`, a version or an alias) of `function`.
    fn policy(&self, function: &str, qualifier: &str) -> Result<Option<Policy>, StoreError>;
    /// Reads, changes and writes a policy atomically (`None`: there is none; an edit
    /// leaving `None` or no statements removes it); `Missing` if the function, version
    /// or alias does not exist.
    fn edit_policy(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, Option<Policy>>,
    ) -> Result<Edited<Option<Policy>>, StoreError>;

    /// The settings of `qualifier` of `function` (defaults if none were set).
    fn function_settings(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<FunctionSettings, StoreError>;
    /// Reads, changes and writes settings atomically; `Missing` if the function or
    /// version does not exist.
    fn edit_function_settings(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, FunctionSettings>,
    ) -> Result<Edited<FunctionSettings>, StoreError>;

    /// The function URL of `qualifier` (`$LATEST` or an alias) of `function`.
    fn function_url(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<FunctionUrl>, StoreError>;
    /// Reads, changes and writes a function URL atomically (`None`: there is none; an
    /// edit leaving `None` removes it); `Missing` if the function or alias does not exist.
    fn edit_function_url(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, Option<FunctionUrl>>,
    ) -> Result<Edited<Option<FunctionUrl>>, StoreError>;
    /// The function URLs of `function`, in qualifier order.
    fn function_urls(&self, function: &str) -> Result<Vec<FunctionUrl>, StoreError>;
    /// The function URL whose id is `url_id` (the data plane's lookup).
    fn function_url_by_id(&self, url_id: &str) -> Result<Option<FunctionUrl>, StoreError>;
}

impl<'s> dyn ResourceStore + 's {
    /// Reads, changes and writes tags atomically, as [`MetadataStore::update_function`]
    /// (on `dyn MetadataStore`).
    pub fn update_tags<E>(
        &self,
        resource: &str,
        owner: &str,
        f: impl FnOnce(&mut Tags) -> Result<(), E>,
    ) -> Result<Option<Result<Tags, E>>, StoreError> {
        edited(|edit| self.edit_tags(resource, owner, edit), f)
    }

    /// Reads, changes and writes a policy atomically.
    pub fn update_policy<E>(
        &self,
        function: &str,
        qualifier: &str,
        f: impl FnOnce(&mut Option<Policy>) -> Result<(), E>,
    ) -> Result<Option<Result<Option<Policy>, E>>, StoreError> {
        edited(|edit| self.edit_policy(function, qualifier, edit), f)
    }

    /// Reads, changes and writes a function URL atomically.
    pub fn update_function_url<E>(
        &self,
        function: &str,
        qualifier: &str,
        f: impl FnOnce(&mut Option<FunctionUrl>) -> Result<(), E>,
    ) -> Result<Option<Result<Option<FunctionUrl>, E>>, StoreError> {
        edited(|edit| self.edit_function_url(function, qualifier, edit), f)
    }

    /// Reads, changes and writes settings atomically.
    pub fn update_function_settings<E>(
        &self,
        function: &str,
        qualifier: &str,
        f: impl FnOnce(&mut FunctionSettings) -> Result<(), E>,
    ) -> Result<Option<Result<FunctionSettings, E>>, StoreError> {
        edited(
            |edit| self.edit_function_settings(function, qualifier, edit),
            f,
        )
    }
}

/// Code as content-addressed zip blobs, pinned while in use, each unpacked once into a
/// directory that every environment running it shares read-only.
pub trait CodeStore: Send + Sync {
    /// Checks and stores a zip; returns its identity and a pin that keeps it from being
    /// collected until the caller has written the row that names it.
    fn put_zip(&self, bytes: &[u8]) -> Result<(CodeRef, CodePin), StoreError>;
    /// Where the zip of a hash is (or would be) on this machine.
    fn zip_path(&self, sha256_hex: &str) -> PathBuf;
    /// The unpacked code directory of pinned code, extracting it on first use.
    fn unpacked(&self, pin: &CodePin) -> Result<PathBuf, StoreError>;
    /// Pins stored code for use; `None` if it is not stored.
    fn pin_stored(&self, sha256_hex: &str) -> Option<CodePin>;
    /// The `/opt` composed from pinned layers in this order (a later layer's files win),
    /// built once per order of layers and shared read-only, with a pin that keeps it
    /// while an environment uses it.
    fn composed(&self, layers: &[CodePin]) -> Result<(CodePin, PathBuf), StoreError>;
    /// Asks for a sweep of unused code: call after a row stopped naming some code.
    fn collect_code(&self);
    /// Lambda's `TotalCodeSize`: the zip size of every function's `$LATEST` plus that
    /// of every published version.
    fn total_code_size(&self) -> Result<u64, StoreError>;
    /// Code hashes that functions and versions name.
    fn referenced_code(&self) -> Result<HashSet<String>, StoreError>;
}

/// Invocation logs: lines are written through the writer ([`ChangeStore`]); this reads
/// them, expires them and deletes log groups.
pub trait LogStore: Send + Sync {
    /// A function's log events in id order, oldest first (newest first if the query
    /// asks).
    fn query_logs(&self, function: &str, q: &LogQuery) -> Result<Vec<LogEvent>, StoreError>;
    /// [`Self::query_logs`], also saying where a scan bounded by `scan_bytes` stopped.
    fn scan_logs(&self, function: &str, q: &LogQuery) -> Result<LogScan, StoreError>;
    /// A function's log streams, in name order.
    fn log_streams(&self, function: &str) -> Result<Vec<LogStreamInfo>, StoreError>;
    /// Every log group with lines or a retention, in function-name order.
    fn log_groups(&self) -> Result<Vec<LogGroupInfo>, StoreError>;
    /// Whether anything is logged under `function`.
    fn has_logs(&self, function: &str) -> Result<bool, StoreError>;
    /// Deletes a function's logs and its retention; false if there was neither.
    fn delete_log_group(&self, function: &str) -> Result<bool, StoreError>;
    /// Deletes lines older than their function's retention (its own, else
    /// `default_days`) at `now_ms`; returns how many stored units (rows) went.
    fn expire_logs(&self, now_ms: i64, default_days: u32) -> Result<usize, StoreError>;
    /// Gives space freed by deletions back to the file system, where the store can.
    fn release_space(&self);
}

/// The asynchronous invocation queue's durable rows (written through the writer; see
/// `crate::queue` for owners and claims).
pub trait QueueStore: Send + Sync {
    /// Every queued event in sequence order, without payloads, whoever holds it.
    fn queued_events(&self) -> Result<Vec<QueuedEvent>, StoreError>;
    /// A queued event's payload; `None` once the event is done.
    fn queued_payload(&self, seq: i64) -> Result<Option<Bytes>, StoreError>;
    /// Sequence numbers for new events that no other node uses: a block of
    /// [`crate::queue::SEQ_BLOCK`] on a shared store, the rest of the range on the
    /// embedded one.
    fn queue_seqs(&self) -> Result<std::ops::Range<i64>, StoreError>;
    /// The events `node` holds, in sequence order. On a shared store the rows are
    /// locked on the way, so an event another node is claiming at that moment is not
    /// answered once that claim is committed.
    fn own_events(&self, node: &str) -> Result<Vec<QueuedEvent>, StoreError>;
    /// Gives `node` up to `limit` events that no one holds or whose holder is gone (no
    /// heartbeat within its own timeout, on the store's clock), in sequence order. Nodes
    /// claiming at once get distinct events.
    fn claim_events(&self, node: &str, limit: usize) -> Result<Vec<QueuedEvent>, StoreError>;
    /// Lets go of those of `seqs` that `node` holds, for any node to claim (a drain);
    /// answers how many.
    fn release_events(&self, node: &str, seqs: &[i64]) -> Result<usize, StoreError>;
}

/// The audit trail (appended through the writer, [`crate::Change::Audit`]).
pub trait AuditStore: Send + Sync {
    /// A page of events, newest first.
    fn lookup_audit(
        &self,
        query: &hearth_model::audit::AuditQuery,
    ) -> Result<hearth_model::audit::AuditPage, StoreError>;
    /// Deletes events beyond the retention; returns how many went.
    fn expire_audit(
        &self,
        now_ms: i64,
        keep: hearth_model::audit::AuditRetention,
    ) -> Result<usize, StoreError>;
}

/// Hearth's KMS keys (`KMSKeyArn`).
pub trait KmsStore: Send + Sync {
    /// Makes a key of `account` with a new random data key.
    fn create_kms_key(
        &self,
        account: &str,
        description: &str,
    ) -> Result<crate::KmsKeyInfo, StoreError>;
    fn list_kms_keys(&self) -> Result<Vec<crate::KmsKeyInfo>, StoreError>;
    /// Whether `arn` names a key.
    fn kms_key_exists(&self, arn: &str) -> bool;
}

/// What the group-commit writer ([`crate::Writer`]) needs of a store.
pub trait ChangeStore: Send + Sync {
    /// Applies changes in order, atomically; with [`Durability::Synced`] the commit
    /// reaches the disk before this returns.
    fn apply_changes(&self, changes: &[Change], durability: Durability) -> Result<(), StoreError>;
    /// Whether `bytes` of log lines may be written without taking the room that
    /// metadata and the queue need.
    fn room_for_logs(&self, bytes: u64) -> bool;
    /// After a [`StoreError::DiskFull`]: frees what the store keeps in reserve for what
    /// must still be written; false if there is nothing left to free.
    fn release_reserve(&self) -> bool;
}

/// IAM roles, each with its trust policy, inline policies and attached managed policy
/// ARNs in one record, keyed by account and name regardless of case (IAM's names are
/// unique that way). Every lookup and listing is within one account.
pub trait RoleStore: Send + Sync {
    /// Inserts a new role; `Exists` if the account has one of that name (any case).
    fn insert_role(&self, role: &Role) -> Result<(), StoreError>;
    fn get_role(&self, account: &str, name: &str) -> Result<Option<Role>, StoreError>;
    /// Reads, changes and writes one role atomically.
    fn edit_role(
        &self,
        account: &str,
        name: &str,
        edit: Edit<'_, Role>,
    ) -> Result<Edited<Role>, StoreError>;
    /// Deletes a role if `decide` agrees, atomically: `Done` with the role deleted,
    /// `Declined` if `decide` refused, `Missing` if there is none.
    fn delete_role(
        &self,
        account: &str,
        name: &str,
        decide: Box<dyn FnOnce(&Role) -> bool + '_>,
    ) -> Result<Edited<Role>, StoreError>;
    /// The account's roles whose path starts with `path_prefix`, in name order (case
    /// folded), after the role named `after` (case folded), at most `limit`.
    fn list_roles(
        &self,
        account: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Role>, StoreError>;
}

/// Access keys: long-term credentials of accounts' roots and IAM users (issue 14).
pub trait KeyStore: Send + Sync {
    /// Adds a key; `Exists` if its id, or its user's name in its account, is taken.
    fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    /// Every key, by account and user.
    fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Replaces a key by a new one atomically (rotation); false if it does not exist.
    fn replace_key(&self, old_access_key_id: &str, new: &StoredKey) -> Result<bool, StoreError>;
    /// Removes a key; false if it did not exist.
    fn delete_key(&self, access_key_id: &str) -> Result<bool, StoreError>;
}

/// Console sessions signed out before they expired (the web console's sessions are sealed
/// cookies, valid on every node until their expiry; a sign-out is kept here until then).
///
/// A cookie carries all a node needs to accept it, so signing out cannot take anything
/// back from the client: the store remembers the session's id instead, where every node
/// of a fleet looks, and forgets it once the cookie would be refused for its age anyway.
/// Whether a record has lapsed is judged on the store's clock (the database's, on
/// PostgreSQL), as leases and tokens are.
pub trait ConsoleStore: Send + Sync {
    /// Records that session `id` is signed out; kept until `until_ms` (ms since the epoch,
    /// the session's own expiry). Idempotent. Also removes records whose time has passed.
    fn end_console_session(&self, id: &str, until_ms: i64) -> Result<(), StoreError>;
    /// Whether session `id` was signed out (and its record has not lapsed).
    fn console_session_ended(&self, id: &str) -> Result<bool, StoreError>;
}

/// One schema of a registry as a listing shows it: its name, how many versions it has,
/// and its latest version's number and record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRow {
    pub name: String,
    pub versions: i64,
    pub version: i64,
    pub data: String,
}

/// EventBridge Schemas (`schemas`): each account's registries as JSON records keyed by
/// (account, name), and their schemas' versions as JSON records keyed by (account,
/// registry, schema, version), versions numbered from 1. The records' shapes are the API
/// layer's; the store only keeps them. Deleting a registry deletes its schemas; deleting
/// a schema deletes all its versions.
pub trait SchemaStore: Send + Sync {
    /// Inserts a registry of `account`; `Exists` if it has one of that name.
    fn insert_schema_registry(
        &self,
        account: &str,
        name: &str,
        data: &str,
    ) -> Result<(), StoreError>;
    /// A registry's record.
    fn get_schema_registry(&self, account: &str, name: &str) -> Result<Option<String>, StoreError>;
    /// `account`'s registries whose names start with `prefix`, in name order, after the
    /// name `after`, at most `limit`: (name, record).
    fn list_schema_registries(
        &self,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Deletes a registry and its schemas; false if there was none.
    fn delete_schema_registry(&self, account: &str, name: &str) -> Result<bool, StoreError>;
    /// Adds version `version` of a schema of a registry; `Exists` if the schema has that
    /// version already (another writer's); false (nothing stored) if the registry is gone.
    fn insert_schema_version(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
        version: i64,
        data: &str,
    ) -> Result<bool, StoreError>;
    /// A schema's version `version`, or its latest with `None`: (version, record).
    fn get_schema_version(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
        version: Option<i64>,
    ) -> Result<Option<(i64, String)>, StoreError>;
    /// A registry's schemas whose names start with `prefix`, in name order, after the
    /// name `after`, at most `limit`.
    fn list_schemas(
        &self,
        account: &str,
        registry: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SchemaRow>, StoreError>;
    /// A schema's versions in order: (version, record).
    fn list_schema_versions(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
    ) -> Result<Vec<(i64, String)>, StoreError>;
    /// Deletes a schema with all its versions; false if there was none.
    fn delete_schema(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
    ) -> Result<bool, StoreError>;
    /// Deletes one version of a schema; false if it had none of that number.
    fn delete_schema_version(
        &self,
        account: &str,
        registry: &str,
        schema: &str,
        version: i64,
    ) -> Result<bool, StoreError>;
}

/// API Gateway HTTP APIs (`apigatewayv2`): each API one JSON record keyed by its id, and
/// its integrations, routes, stages and deployments as JSON child records keyed by
/// (API, kind, id). The records' shapes are the API layer's; the store only keeps them.
/// Deleting an API deletes its children.
pub trait HttpApiStore: Send + Sync {
    /// Inserts an API of `account`; `Exists` if the id is taken.
    fn insert_http_api(&self, account: &str, id: &str, data: &str) -> Result<(), StoreError>;
    /// An API's account and record.
    fn get_http_api(&self, id: &str) -> Result<Option<(String, String)>, StoreError>;
    /// The records of `account`'s APIs in id order, after the id `after`, at most `limit`.
    fn list_http_apis(
        &self,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Replaces an API's record; false if there is no such API.
    fn put_http_api(&self, id: &str, data: &str) -> Result<bool, StoreError>;
    /// Deletes an API and its children; false if there was none.
    fn delete_http_api(&self, id: &str) -> Result<bool, StoreError>;
    /// Inserts a child record (`kind`: integration, route, stage, deployment); `Exists` if
    /// the API has one of that kind and id; false (nothing stored) if the API is gone.
    fn insert_http_api_child(
        &self,
        api: &str,
        kind: &str,
        id: &str,
        data: &str,
    ) -> Result<bool, StoreError>;
    /// Replaces a child record; false if there is none.
    fn put_http_api_child(
        &self,
        api: &str,
        kind: &str,
        id: &str,
        data: &str,
    ) -> Result<bool, StoreError>;
    fn get_http_api_child(
        &self,
        api: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// An API's children of `kind` in id order.
    fn list_http_api_children(&self, api: &str, kind: &str) -> Result<Vec<String>, StoreError>;
    /// Deletes a child record; false if there was none.
    fn delete_http_api_child(&self, api: &str, kind: &str, id: &str) -> Result<bool, StoreError>;
}

/// SQS queues and messages (`hearth-sqs`): what survives a restart of the service.
pub trait SqsStore: Send + Sync {
    /// Applies the changes in order in one transaction.
    fn sqs_apply(&self, ops: &[crate::SqsOp]) -> Result<(), StoreError>;
    /// Every queue of every account.
    fn sqs_queues(&self) -> Result<Vec<crate::SqsQueueRow>, StoreError>;
    /// A queue's messages in `seq` order.
    fn sqs_messages(&self, queue: &str) -> Result<Vec<crate::SqsMessageRow>, StoreError>;
    /// The highest message `seq` stored (0 when none), so new numbers follow it.
    fn sqs_max_seq(&self) -> Result<i64, StoreError>;
    /// When the queue `arn` was last deleted (`SqsOp::QueueDeleted`), if that is recorded.
    fn sqs_deleted_at(&self, arn: &str) -> Result<Option<i64>, StoreError>;
    /// Every message move task, by source queue and then oldest first.
    fn sqs_move_tasks(&self) -> Result<Vec<crate::SqsMoveTaskRow>, StoreError>;
}

/// SNS (issue 16): topics and subscriptions as JSON records keyed by ARN (their shapes are
/// `hearth-sns`'s; the store only keeps them), the durable queue of pending deliveries,
/// and the service's own settings. Deleting a topic deletes its subscriptions.
pub trait SnsStore: Send + Sync {
    /// Inserts a topic of `account`; `Exists` if the ARN is taken.
    fn insert_sns_topic(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError>;
    fn get_sns_topic(&self, arn: &str) -> Result<Option<String>, StoreError>;
    /// Replaces a topic's record; false if there is no such topic.
    fn put_sns_topic(&self, arn: &str, data: &str) -> Result<bool, StoreError>;
    /// Deletes a topic and its subscriptions; false if there was none.
    fn delete_sns_topic(&self, arn: &str) -> Result<bool, StoreError>;
    /// The records of `account`'s topics in ARN order, after the ARN `after`, at most `limit`.
    fn list_sns_topics(
        &self,
        account: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Inserts a subscription owned by `account` to `topic`; `Exists` if the ARN is taken;
    /// false (nothing stored) if the topic is gone.
    fn insert_sns_subscription(
        &self,
        account: &str,
        topic: &str,
        arn: &str,
        data: &str,
    ) -> Result<bool, StoreError>;
    fn get_sns_subscription(&self, arn: &str) -> Result<Option<String>, StoreError>;
    /// Replaces a subscription's record; false if there is none.
    fn put_sns_subscription(&self, arn: &str, data: &str) -> Result<bool, StoreError>;
    /// Deletes a subscription; false if there was none.
    fn delete_sns_subscription(&self, arn: &str) -> Result<bool, StoreError>;
    /// Subscriptions (of `account`, to `topic`, where given) in ARN order, after `after`,
    /// at most `limit`.
    fn list_sns_subscriptions(
        &self,
        account: Option<&str>,
        topic: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Adds pending deliveries, all or none (one publish's fan-out); an id already queued
    /// is kept as it is.
    fn add_sns_deliveries(&self, deliveries: &[crate::SnsDelivery]) -> Result<(), StoreError>;
    /// Gives `node` up to `limit` deliveries due at `now_ms` that no one holds (or whose
    /// hold ended), held for `hold_ms`, soonest due first (then by id). Nodes claiming at
    /// once get distinct rows.
    fn claim_sns_deliveries(
        &self,
        node: &str,
        now_ms: i64,
        hold_ms: i64,
        limit: usize,
    ) -> Result<Vec<crate::SnsDelivery>, StoreError>;
    /// The due time of the first queued delivery (by id, held or not) whose id is at
    /// least `from` and less than `before`, if any: with FIFO rows named by their
    /// group's prefix then their sequence number, the delivery ahead of `before` in its
    /// group, which must be done before it is delivered.
    fn sns_delivery_ahead(&self, from: &str, before: &str) -> Result<Option<i64>, StoreError>;
    /// Frees the rows `holder` held (a node that started again): they may be claimed at
    /// once rather than when their hold ends. How many there were.
    fn release_sns_deliveries(&self, holder: &str) -> Result<usize, StoreError>;
    /// A delivery is done (delivered, or given up): its row goes.
    fn finish_sns_delivery(&self, id: &str) -> Result<(), StoreError>;
    /// A delivery failed: it is due again at `due_ms`, held by no one, after `attempts`.
    fn retry_sns_delivery(&self, id: &str, due_ms: i64, attempts: u32) -> Result<(), StoreError>;
    /// FIFO deduplication: the message id and sequence number already published to
    /// `topic` with deduplication id `id` less than `window_ms` before `now_ms`, if any;
    /// else `message_id` and `seq` are recorded for it and `None` answered. Entries older
    /// than the window go.
    fn sns_dedup(
        &self,
        topic: &str,
        id: &str,
        message_id: &str,
        seq: &str,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Option<(String, String)>, StoreError>;
    /// The setting `name`; with `init`, set to it first if it has none (the first node to
    /// set it decides it for the fleet).
    fn sns_setting(&self, name: &str, init: Option<&str>) -> Result<Option<String>, StoreError>;
}

/// Event-source mappings (`hearth_model::event_source_mapping`), keyed by UUID, at most
/// one per (function ARN, source ARN): Lambda's `ResourceConflictException` is the
/// store's to decide, so that two nodes creating the same mapping at once cannot both
/// succeed.
pub trait MappingStore: Send + Sync {
    /// Inserts a new mapping; `Exists` with the UUID of the mapping that already joins
    /// the same function ARN and source ARN.
    fn insert_mapping(&self, m: &EventSourceMapping) -> Result<(), StoreError>;
    fn get_mapping(&self, uuid: &str) -> Result<Option<EventSourceMapping>, StoreError>;
    /// `account`'s mappings in UUID order after `after`, at most `limit`, only those of
    /// `function_arn` and of `source_arn` when given.
    fn list_mappings(
        &self,
        account: &str,
        function_arn: Option<&str>,
        source_arn: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<EventSourceMapping>, StoreError>;
    /// Every mapping of every account (what the pollers follow).
    fn all_mappings(&self) -> Result<Vec<EventSourceMapping>, StoreError>;
    /// Reads, changes and writes one mapping atomically.
    fn edit_mapping(
        &self,
        uuid: &str,
        edit: Edit<'_, EventSourceMapping>,
    ) -> Result<Edited<EventSourceMapping>, StoreError>;
    /// Deletes a mapping; false if there was none.
    fn delete_mapping(&self, uuid: &str) -> Result<bool, StoreError>;
}

/// EventBridge and EventBridge Scheduler (issue 17): event buses, rules (their targets
/// inside), schedule groups and schedules as JSON records keyed by ARN (their shapes are
/// the services'; the store keys, lists and guards them), each schedule's fire progress,
/// and the durable queue of pending target deliveries.
///
/// A record's name, by which listings are ordered and filtered, is taken from its ARN:
/// for a bus or a schedule group what follows the first `/` (`event-bus/<name>`, where a
/// partner bus's name has `/`s of its own; `schedule-group/<name>`), for a rule or a
/// schedule what follows the last `/` (`rule/[<bus>/]<name>`,
/// `schedule/<group>/<name>`; their names have none). Names compare bytewise.
///
/// Deleting a bus deletes its rules, deleting a group its schedules, and deleting a rule
/// or a schedule its fire progress.
pub trait EventsStore: Send + Sync {
    /// Inserts an event bus of `account`; `Exists` if the ARN is taken.
    fn insert_event_bus(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError>;
    /// A bus's record.
    fn get_event_bus(&self, arn: &str) -> Result<Option<String>, StoreError>;
    /// Replaces a bus's record; false if there is no such bus.
    fn put_event_bus(&self, arn: &str, data: &str) -> Result<bool, StoreError>;
    /// Deletes a bus with its rules and their fire progress; false if there was none.
    fn delete_event_bus(&self, arn: &str) -> Result<bool, StoreError>;
    /// The records of `account`'s buses whose name starts with `prefix` (any, with
    /// `None`), in name order, after the name `after`, at most `limit`.
    fn list_event_buses(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Inserts a rule of `account` on the bus `bus_arn`; `Exists` if the ARN is taken;
    /// false (nothing stored) if the bus is gone.
    fn insert_event_rule(
        &self,
        account: &str,
        bus_arn: &str,
        arn: &str,
        data: &str,
    ) -> Result<bool, StoreError>;
    /// A rule's record (its targets with it).
    fn get_event_rule(&self, arn: &str) -> Result<Option<String>, StoreError>;
    /// Reads, changes and writes one rule's record atomically (PutRule on an existing
    /// rule, PutTargets, RemoveTargets, Enable/DisableRule): two nodes editing one rule
    /// at once each see the other's change.
    fn edit_event_rule(
        &self,
        arn: &str,
        edit: Edit<'_, String>,
    ) -> Result<Edited<String>, StoreError>;
    /// Deletes a rule with its fire progress; false if there was none.
    fn delete_event_rule(&self, arn: &str) -> Result<bool, StoreError>;
    /// The records of the rules on `bus_arn` whose name starts with `name_prefix` (any,
    /// with `None`), in name order, after the name `after`, at most `limit`.
    fn list_event_rules(
        &self,
        bus_arn: &str,
        name_prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Every rule of every bus in ARN order (what the matcher and the scheduler load at
    /// start and then follow).
    fn all_event_rules(&self) -> Result<Vec<String>, StoreError>;

    /// Inserts a schedule group of `account`; `Exists` if the ARN is taken.
    fn insert_schedule_group(&self, account: &str, arn: &str, data: &str)
        -> Result<(), StoreError>;
    /// A schedule group's record.
    fn get_schedule_group(&self, arn: &str) -> Result<Option<String>, StoreError>;
    /// Replaces a schedule group's record; false if there is no such group.
    fn put_schedule_group(&self, arn: &str, data: &str) -> Result<bool, StoreError>;
    /// Deletes a schedule group with its schedules and their fire progress; false if
    /// there was none.
    fn delete_schedule_group(&self, arn: &str) -> Result<bool, StoreError>;
    /// The records of `account`'s schedule groups whose name starts with `prefix` (any,
    /// with `None`), in name order, after the name `after`, at most `limit`.
    fn list_schedule_groups(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Inserts a schedule of `account` in the group `group_arn`; `Exists` if the ARN is
    /// taken; false (nothing stored) if the group is gone.
    fn insert_schedule(
        &self,
        account: &str,
        group_arn: &str,
        arn: &str,
        data: &str,
    ) -> Result<bool, StoreError>;
    /// A schedule's record.
    fn get_schedule(&self, arn: &str) -> Result<Option<String>, StoreError>;
    /// Reads, changes and writes one schedule's record atomically (UpdateSchedule).
    fn edit_schedule(
        &self,
        arn: &str,
        edit: Edit<'_, String>,
    ) -> Result<Edited<String>, StoreError>;
    /// Deletes a schedule with its fire progress; false if there was none.
    fn delete_schedule(&self, arn: &str) -> Result<bool, StoreError>;
    /// The records of `account`'s schedules (in the group `group_arn` only, where
    /// given) whose name starts with `name_prefix` (any, with `None`), in (group ARN,
    /// name) order, after the schedule `after` names by its (group ARN, name), at most
    /// `limit`.
    fn list_schedules(
        &self,
        account: &str,
        group_arn: Option<&str>,
        name_prefix: Option<&str>,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Every schedule of every group in ARN order (what the scheduler loads at start and
    /// then follows).
    fn all_schedules(&self) -> Result<Vec<String>, StoreError>;

    /// Claims the slot `slot_ms` (the time it is due) of the rule or schedule `arn`, so
    /// that each slot fires once across restarts and the nodes of a fleet: records it as
    /// the last fired slot and answers true only if it is later than the one recorded
    /// and the rule or schedule still exists (a node that has not yet heard of a deletion
    /// fires nothing more). Nodes claiming one slot at once: exactly one gets true.
    fn claim_schedule_slot(&self, arn: &str, slot_ms: i64) -> Result<bool, StoreError>;
    /// [`EventsStore::claim_schedule_slot`] and, only if the claim succeeds, queues
    /// `deliveries` (as [`EventsStore::add_event_deliveries`]) in the same transaction: a
    /// slot is never claimed without its deliveries, nor delivered twice.
    fn fire_schedule_slot(
        &self,
        arn: &str,
        slot_ms: i64,
        deliveries: &[crate::EventDelivery],
    ) -> Result<bool, StoreError>;
    /// The last slot claimed for the rule or schedule `arn`, if any.
    fn last_schedule_slot(&self, arn: &str) -> Result<Option<i64>, StoreError>;

    /// Adds pending deliveries, all or none (one event's targets); an id already queued
    /// is kept as it is.
    fn add_event_deliveries(&self, deliveries: &[crate::EventDelivery]) -> Result<(), StoreError>;
    /// Gives `node` up to `limit` deliveries due at `now_ms` that no one holds (or whose
    /// hold ended), held for `hold_ms`, soonest due first (then by id). Nodes claiming at
    /// once get distinct rows.
    fn claim_event_deliveries(
        &self,
        node: &str,
        now_ms: i64,
        hold_ms: i64,
        limit: usize,
    ) -> Result<Vec<crate::EventDelivery>, StoreError>;
    /// Frees the rows `holder` held, as [`SnsStore::release_sns_deliveries`].
    fn release_event_deliveries(&self, holder: &str) -> Result<usize, StoreError>;
    /// A delivery is done (delivered, or given up): its row goes.
    fn finish_event_delivery(&self, id: &str) -> Result<(), StoreError>;
    /// A delivery failed: it is due again at `due_ms`, held by no one, after `attempts`.
    fn retry_event_delivery(&self, id: &str, due_ms: i64, attempts: u32) -> Result<(), StoreError>;
}

impl<'s> dyn EventsStore + 's {
    /// Reads, changes and writes one rule's record atomically: `f` returns `Err` to
    /// abort, and `Ok(None)` means the rule does not exist.
    pub fn update_event_rule<E>(
        &self,
        arn: &str,
        f: impl FnOnce(&mut String) -> Result<(), E>,
    ) -> Result<Option<Result<String, E>>, StoreError> {
        edited(|edit| self.edit_event_rule(arn, edit), f)
    }

    /// Reads, changes and writes one schedule's record atomically, as
    /// [`Self::update_event_rule`].
    pub fn update_schedule<E>(
        &self,
        arn: &str,
        f: impl FnOnce(&mut String) -> Result<(), E>,
    ) -> Result<Option<Result<String, E>>, StoreError> {
        edited(|edit| self.edit_schedule(arn, edit), f)
    }
}

/// CloudWatch metrics (series and their points), metric alarms with their history, and
/// metering (see `metrics.rs`). Alarms are JSON records keyed by ARN (their shape is the
/// service's; the store keys, lists and guards them).
pub trait MetricStore: Send + Sync {
    /// Adds `points`, creating their `series` or moving their `last_ms` forward: all or
    /// none. Every point's series is in `series`.
    fn add_metric_points(
        &self,
        series: &[crate::MetricSeries],
        points: &[crate::MetricPoint],
    ) -> Result<(), StoreError>;
    /// A series by id.
    fn get_metric_series(&self, id: &str) -> Result<Option<crate::MetricSeries>, StoreError>;
    /// `account`'s series (of `namespace` and `name`, where given) whose `last_ms` is at
    /// least `active_since_ms`, in id order, after the id `after`, at most `limit`.
    fn list_metric_series(
        &self,
        account: &str,
        namespace: Option<&str>,
        name: Option<&str>,
        active_since_ms: i64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<crate::MetricSeries>, StoreError>;
    /// The points of `series` with `from_ms <= start_ms < to_ms`, by start (then
    /// resolution; rows of one period in the order written).
    fn metric_points(
        &self,
        series: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<crate::MetricPoint>, StoreError>;
    /// Replaces, atomically, every point of `series` with `from_ms <= start_ms < to_ms`
    /// by `points` (their merge, or a rollup to a longer period).
    fn replace_metric_points(
        &self,
        series: &str,
        from_ms: i64,
        to_ms: i64,
        points: &[crate::MetricPoint],
    ) -> Result<(), StoreError>;
    /// Up to `limit` ids of series with a point before `before_ms` at a resolution
    /// shorter than `resolution_s`, in id order after `after` (what a rollup pass walks).
    fn metric_series_to_roll_up(
        &self,
        before_ms: i64,
        resolution_s: u32,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Deletes every point that starts before `before_ms`, then every series left with
    /// no point whose `last_ms` is before it; answers how many points went.
    fn delete_metric_points_before(&self, before_ms: i64) -> Result<usize, StoreError>;

    /// Inserts or replaces the alarm `arn` of `account` (its name is what follows
    /// `alarm:` in the ARN).
    fn put_metric_alarm(&self, account: &str, arn: &str, data: &str) -> Result<(), StoreError>;
    /// An alarm's record.
    fn get_metric_alarm(&self, arn: &str) -> Result<Option<String>, StoreError>;
    /// Reads, changes and writes one alarm's record atomically (state changes).
    fn edit_metric_alarm(
        &self,
        arn: &str,
        edit: Edit<'_, String>,
    ) -> Result<Edited<String>, StoreError>;
    /// Deletes an alarm (its history stays until it ages out); false if there was none.
    fn delete_metric_alarm(&self, arn: &str) -> Result<bool, StoreError>;
    /// The records of `account`'s alarms whose name starts with `prefix` (any, with
    /// `None`), in name order, after the name `after`, at most `limit`.
    fn list_metric_alarms(
        &self,
        account: &str,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Every alarm of every account in ARN order (what the evaluator walks).
    fn all_metric_alarms(&self) -> Result<Vec<String>, StoreError>;
    /// Adds a history item of `account`'s alarm `name` at `ts_ms`.
    fn add_alarm_history(
        &self,
        account: &str,
        name: &str,
        ts_ms: i64,
        data: &str,
    ) -> Result<(), StoreError>;
    /// `account`'s history items (of the alarm `name`, where given) with
    /// `from_ms <= ts < to_ms`, newest first, skipping `skip`, at most `limit`, as
    /// `(ts_ms, data)`.
    fn list_alarm_history(
        &self,
        account: &str,
        name: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError>;
    /// Deletes history items older than `before_ms`; answers how many went.
    fn delete_alarm_history_before(&self, before_ms: i64) -> Result<usize, StoreError>;

    /// Adds each row's counts to the stored row of its (account, function, version,
    /// day, architecture, memory, ephemeral storage), creating it: all or none.
    fn add_metering(&self, rows: &[crate::MeterRow]) -> Result<(), StoreError>;
    /// `account`'s rows (of `function`, where given) with `from_day <= day < to_day`, by
    /// (function, version, day).
    fn metering(
        &self,
        account: &str,
        function: Option<&str>,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<crate::MeterRow>, StoreError>;
    /// Deletes rows of days before `before_day`; answers how many went.
    fn delete_metering_before(&self, before_day: i64) -> Result<usize, StoreError>;
}

impl<'s> dyn MetricStore + 's {
    /// Reads, changes and writes one alarm's record atomically: `f` returns `Err` to
    /// abort, and `Ok(None)` means the alarm does not exist.
    pub fn update_metric_alarm<E>(
        &self,
        arn: &str,
        f: impl FnOnce(&mut String) -> Result<(), E>,
    ) -> Result<Option<Result<String, E>>, StoreError> {
        edited(|edit| self.edit_metric_alarm(arn, edit), f)
    }
}

/// Lambda layers: each published version's record (`hearth_model::layer::LayerVersion`,
/// with its policy), and per layer the last version number given, which never goes
/// back (a number is not reused, even after every version was deleted).
pub trait LayerStore: Send + Sync {
    /// Stores `layer` as the next version of its account's layer of its name (its
    /// `version` is ignored), answering it with its number.
    fn publish_layer_version(
        &self,
        layer: &hearth_model::layer::LayerVersion,
    ) -> Result<hearth_model::layer::LayerVersion, StoreError>;
    fn get_layer_version(
        &self,
        account: &str,
        name: &str,
        version: u64,
    ) -> Result<Option<hearth_model::layer::LayerVersion>, StoreError>;
    /// The versions of `account`'s layers (of the layer `name`, where given), by name,
    /// newest version first.
    fn list_layer_versions(
        &self,
        account: &str,
        name: Option<&str>,
    ) -> Result<Vec<hearth_model::layer::LayerVersion>, StoreError>;
    /// Reads, changes and writes one version atomically (its policy).
    fn edit_layer_version(
        &self,
        account: &str,
        name: &str,
        version: u64,
        edit: Edit<'_, hearth_model::layer::LayerVersion>,
    ) -> Result<Edited<hearth_model::layer::LayerVersion>, StoreError>;
    /// Deletes a version; false if there was none. Its blob stays while a function
    /// version's `layers` names it (see the code collection).
    fn delete_layer_version(
        &self,
        account: &str,
        name: &str,
        version: u64,
    ) -> Result<bool, StoreError>;
}

impl<'s> dyn LayerStore + 's {
    /// Reads, changes and writes one layer version atomically: `f` returns `Err` to
    /// abort, and `Ok(None)` means the version does not exist.
    pub fn update_layer_version<E>(
        &self,
        account: &str,
        name: &str,
        version: u64,
        f: impl FnOnce(&mut hearth_model::layer::LayerVersion) -> Result<(), E>,
    ) -> Result<Option<Result<hearth_model::layer::LayerVersion, E>>, StoreError> {
        edited(
            |edit| self.edit_layer_version(account, name, version, edit),
            f,
        )
    }
}
