//! Tags, resource-based policies and function settings on PostgreSQL
//! ([`ResourceStore`]), with the embedded store's tables and answers (`resources.rs`):
//! tags as one JSON row per resource ARN owned by a function, policies and settings as
//! one JSON row per function and qualifier.
//!
//! An edit locks the row of the function the record belongs to (and the version's or
//! alias's, [`lock_target`]) before reading the record: the record may not exist yet, so
//! there is no row of its own to lock, and two nodes adding a permission to one policy
//! at once must not both start from the same statements. The lock also makes a
//! concurrent deletion of the function wait, and then remove what the edit wrote. These
//! changes are not told to subscribers (the registry does not cache them), as on SQLite.

use hearth_model::arn::function_arn;
use hearth_model::function_settings::FunctionSettings;
use hearth_model::function_url::FunctionUrl;
use hearth_model::policy::Policy;
use hearth_model::tags::Tags;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::Transaction;

use super::metadata::{lock_target, tx_text};
use super::{backend, wait, PgStore};
use crate::traits::{Edit, Edited, ResourceStore};
use crate::StoreError;

/// This area's tables, part of the first migration ([`super::migrations`]): SQLite's
/// (`migrations.rs`, migration 2), keys in byte order as there.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE tags (
    resource TEXT COLLATE "C" PRIMARY KEY,
    function TEXT COLLATE "C",
    data TEXT NOT NULL
);
CREATE INDEX tags_by_function ON tags (function);
CREATE TABLE policies (
    function TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE function_settings (
    function TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
"#;

/// Function URLs (migration 5): one JSON row per function and qualifier, found by the
/// URL's id, a column of its own so that the data plane's lookup is one index probe.
pub(super) const URLS_SCHEMA: &str = r#"
CREATE TABLE function_urls (
    function TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    url_id TEXT COLLATE "C" GENERATED ALWAYS AS (data::jsonb ->> 'url_id') STORED,
    data TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE UNIQUE INDEX function_urls_by_id ON function_urls (url_id);
"#;

/// Upserts a resource's tags.
const PUT_TAGS: &str = "INSERT INTO tags (resource, function, data) VALUES ($1, $2, $3)
     ON CONFLICT (resource) DO UPDATE SET function = $2, data = $3";

/// Stores a new function's tags under its ARN, in the transaction inserting it.
pub(super) fn insert_function_tags(
    tx: &Transaction<'_>,
    function: &str,
    tags: &Tags,
) -> Result<(), StoreError> {
    if !tags.is_empty() {
        wait(tx.execute(
            PUT_TAGS,
            &[
                &function_arn(function, None),
                &function,
                &serde_json::to_string(tags)?,
            ],
        ))
        .map_err(backend)?;
    }
    Ok(())
}

/// Removes what belongs to a function, in the transaction deleting it.
pub(super) fn delete_function_resources(
    tx: &Transaction<'_>,
    function: &str,
) -> Result<(), StoreError> {
    for table in ["tags", "policies", "function_settings", "function_urls"] {
        wait(tx.execute(
            &format!("DELETE FROM {table} WHERE function = $1"),
            &[&function],
        ))
        .map_err(backend)?;
    }
    Ok(())
}

/// Removes what belongs to a version or an alias, in the transaction deleting it.
pub(super) fn delete_qualifier_resources(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
) -> Result<(), StoreError> {
    for table in ["policies", "function_settings", "function_urls"] {
        wait(tx.execute(
            &format!("DELETE FROM {table} WHERE function = $1 AND qualifier = $2"),
            &[&function, &qualifier],
        ))
        .map_err(backend)?;
    }
    Ok(())
}

impl PgStore {
    /// Runs a read-modify-write of a row of `table` whose target must exist; the row is
    /// removed when `keep` says the result is empty.
    fn edit_qualified<T: Serialize + DeserializeOwned + Default>(
        &self,
        table: &str,
        function: &str,
        qualifier: &str,
        keep: impl Fn(&T) -> bool,
        edit: Edit<'_, T>,
    ) -> Result<Edited<T>, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        if !lock_target(&tx, function, qualifier)? {
            return Ok(Edited::Missing);
        }
        let data = tx_text(
            &tx,
            &format!("SELECT data FROM {table} WHERE function = $1 AND qualifier = $2"),
            &[&function, &qualifier],
        )?;
        let mut record: T = data
            .map(|d| serde_json::from_str(&d))
            .transpose()?
            .unwrap_or_default();
        if !edit(&mut record) {
            return Ok(Edited::Declined);
        }
        if keep(&record) {
            wait(tx.execute(
                &format!(
                    "INSERT INTO {table} (function, qualifier, data) VALUES ($1, $2, $3)
                     ON CONFLICT (function, qualifier) DO UPDATE SET data = $3"
                ),
                &[&function, &qualifier, &serde_json::to_string(&record)?],
            ))
            .map_err(backend)?;
        } else {
            wait(tx.execute(
                &format!("DELETE FROM {table} WHERE function = $1 AND qualifier = $2"),
                &[&function, &qualifier],
            ))
            .map_err(backend)?;
        }
        // The data plane caches policies and URLs (as the registry caches functions).
        self.notify(&tx, function)?;
        wait(tx.commit()).map_err(backend)?;
        drop(c);
        self.function_changed(function);
        Ok(Edited::Done(record))
    }
}

impl ResourceStore for PgStore {
    fn tags(&self, resource: &str) -> Result<Tags, StoreError> {
        let data = self.one_text("SELECT data FROM tags WHERE resource = $1", &[&resource])?;
        Ok(data
            .map(|d| serde_json::from_str(&d))
            .transpose()?
            .unwrap_or_default())
    }

    fn edit_tags(
        &self,
        resource: &str,
        owner: &str,
        edit: Edit<'_, Tags>,
    ) -> Result<Edited<Tags>, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        // The owner's row is the lock: a resource's tags are always its one owner's.
        let owner_exists = wait(tx.query_opt(
            "SELECT 1 FROM functions WHERE name = $1 FOR UPDATE",
            &[&owner],
        ))
        .map_err(backend)?
        .is_some();
        if !owner_exists {
            return Ok(Edited::Missing);
        }
        let data = tx_text(
            &tx,
            "SELECT data FROM tags WHERE resource = $1",
            &[&resource],
        )?;
        let mut tags: Tags = data
            .map(|d| serde_json::from_str(&d))
            .transpose()?
            .unwrap_or_default();
        if !edit(&mut tags) {
            return Ok(Edited::Declined);
        }
        if tags.is_empty() {
            wait(tx.execute("DELETE FROM tags WHERE resource = $1", &[&resource]))
                .map_err(backend)?;
        } else {
            wait(tx.execute(
                PUT_TAGS,
                &[&resource, &owner, &serde_json::to_string(&tags)?],
            ))
            .map_err(backend)?;
        }
        wait(tx.commit()).map_err(backend)?;
        Ok(Edited::Done(tags))
    }

    fn policy(&self, function: &str, qualifier: &str) -> Result<Option<Policy>, StoreError> {
        self.record("policies", "qualifier", function, qualifier)
    }

    fn edit_policy(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, Option<Policy>>,
    ) -> Result<Edited<Option<Policy>>, StoreError> {
        self.edit_qualified(
            "policies",
            function,
            qualifier,
            crate::resources::policy_kept,
            edit,
        )
    }

    fn function_settings(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<FunctionSettings, StoreError> {
        Ok(self
            .record("function_settings", "qualifier", function, qualifier)?
            .unwrap_or_default())
    }

    fn edit_function_settings(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, FunctionSettings>,
    ) -> Result<Edited<FunctionSettings>, StoreError> {
        self.edit_qualified(
            "function_settings",
            function,
            qualifier,
            crate::resources::settings_kept,
            edit,
        )
    }

    fn function_url(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<FunctionUrl>, StoreError> {
        self.record("function_urls", "qualifier", function, qualifier)
    }

    fn edit_function_url(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, Option<FunctionUrl>>,
    ) -> Result<Edited<Option<FunctionUrl>>, StoreError> {
        self.edit_qualified("function_urls", function, qualifier, Option::is_some, edit)
    }

    fn function_urls(&self, function: &str) -> Result<Vec<FunctionUrl>, StoreError> {
        self.texts(
            "SELECT data FROM function_urls WHERE function = $1 ORDER BY qualifier",
            &[&function],
        )?
        .iter()
        .map(|d| Ok(serde_json::from_str(d)?))
        .collect()
    }

    fn function_url_by_id(&self, url_id: &str) -> Result<Option<FunctionUrl>, StoreError> {
        let data = self.one_text(
            "SELECT data FROM function_urls WHERE url_id = $1",
            &[&url_id],
        )?;
        Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
    }
}
