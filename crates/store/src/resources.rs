//! Tags (one JSON row per resource ARN, owned by a function), resource-based policies
//! and per-function settings (one JSON row per function and qualifier): the SQLite
//! side of [`crate::traits::ResourceStore`].

use hearth_model::arn::function_arn;
use hearth_model::function_settings::FunctionSettings;
use hearth_model::function_url::FunctionUrl;
use hearth_model::policy::Policy;
use hearth_model::tags::Tags;
use rusqlite::{params, OptionalExtension, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::event_config::target_exists;
use crate::traits::{Edit, Edited, ResourceStore};
use crate::{SqliteStore, StoreError};

/// The data of a row keyed by function and qualifier in `table`.
fn qualified_row<T: DeserializeOwned>(
    tx: &Transaction<'_>,
    table: &str,
    function: &str,
    qualifier: &str,
) -> Result<Option<T>, StoreError> {
    let data: Option<String> = tx
        .query_row(
            &format!("SELECT data FROM {table} WHERE function = ?1 AND qualifier = ?2"),
            params![function, qualifier],
            |r| r.get(0),
        )
        .optional()?;
    Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
}

/// Writes (or with `None` deletes) the row of function and qualifier in `table`.
fn put_qualified_row<T: Serialize>(
    tx: &Transaction<'_>,
    table: &str,
    function: &str,
    qualifier: &str,
    data: Option<&T>,
) -> Result<(), StoreError> {
    match data {
        Some(d) => tx.execute(
            &format!(
                "INSERT INTO {table} (function, qualifier, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT(function, qualifier) DO UPDATE SET data = ?3"
            ),
            params![function, qualifier, serde_json::to_string(d)?],
        )?,
        None => tx.execute(
            &format!("DELETE FROM {table} WHERE function = ?1 AND qualifier = ?2"),
            params![function, qualifier],
        )?,
    };
    Ok(())
}

/// Stores a new function's tags under its ARN, in the transaction inserting it.
pub(crate) fn insert_function_tags(
    tx: &Transaction<'_>,
    function: &str,
    tags: &Tags,
) -> Result<(), StoreError> {
    if !tags.is_empty() {
        tx.execute(
            "INSERT INTO tags (resource, function, data) VALUES (?1, ?2, ?3)
             ON CONFLICT(resource) DO UPDATE SET function = ?2, data = ?3",
            params![
                function_arn(function, None),
                function,
                serde_json::to_string(tags)?
            ],
        )?;
    }
    Ok(())
}

/// Removes what belongs to a function, in the transaction deleting it.
pub(crate) fn delete_function_resources(
    tx: &Transaction<'_>,
    function: &str,
) -> Result<(), StoreError> {
    for table in ["tags", "policies", "function_settings", "function_urls"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE function = ?1"),
            params![function],
        )?;
    }
    Ok(())
}

/// Removes what belongs to a version or an alias, in the transaction deleting it.
pub(crate) fn delete_qualifier_resources(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
) -> Result<(), StoreError> {
    for table in ["policies", "function_settings", "function_urls"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE function = ?1 AND qualifier = ?2"),
            params![function, qualifier],
        )?;
    }
    Ok(())
}

impl SqliteStore {
    /// Runs a read-modify-write of a row of `table` whose target must exist.
    fn edit_qualified<T: Serialize + DeserializeOwned + Default + Clone>(
        &self,
        table: &str,
        function: &str,
        qualifier: &str,
        keep: impl Fn(&T) -> bool,
        edit: Edit<'_, T>,
    ) -> Result<Edited<T>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if !target_exists(&tx, function, qualifier)? {
            return Ok(Edited::Missing);
        }
        let mut record: T = qualified_row(&tx, table, function, qualifier)?.unwrap_or_default();
        if !edit(&mut record) {
            return Ok(Edited::Declined);
        }
        put_qualified_row(
            &tx,
            table,
            function,
            qualifier,
            keep(&record).then_some(&record),
        )?;
        tx.commit()?;
        drop(conn);
        // The data plane caches policies and URLs (as the registry caches functions).
        self.changed(function);
        Ok(Edited::Done(record))
    }
}

/// Whether a policy is stored after an edit (one with no statement is removed), on every
/// backend.
pub(crate) fn policy_kept(p: &Option<Policy>) -> bool {
    p.as_ref().is_some_and(|p| !p.statements.is_empty())
}

/// Whether settings are stored after an edit (the defaults are not), on every backend.
pub(crate) fn settings_kept(s: &FunctionSettings) -> bool {
    *s != FunctionSettings::default()
}

impl ResourceStore for SqliteStore {
    fn tags(&self, resource: &str) -> Result<Tags, StoreError> {
        let data: Option<String> = self
            .conn()
            .query_row(
                "SELECT data FROM tags WHERE resource = ?1",
                params![resource],
                |r| r.get(0),
            )
            .optional()?;
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
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let owner_exists = tx
            .query_row(
                "SELECT 1 FROM functions WHERE name = ?1",
                params![owner],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !owner_exists {
            return Ok(Edited::Missing);
        }
        let data: Option<String> = tx
            .query_row(
                "SELECT data FROM tags WHERE resource = ?1",
                params![resource],
                |r| r.get(0),
            )
            .optional()?;
        let mut tags: Tags = data
            .map(|d| serde_json::from_str(&d))
            .transpose()?
            .unwrap_or_default();
        if !edit(&mut tags) {
            return Ok(Edited::Declined);
        }
        if tags.is_empty() {
            tx.execute("DELETE FROM tags WHERE resource = ?1", params![resource])?;
        } else {
            tx.execute(
                "INSERT INTO tags (resource, function, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT(resource) DO UPDATE SET function = ?2, data = ?3",
                params![resource, owner, serde_json::to_string(&tags)?],
            )?;
        }
        tx.commit()?;
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
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT data FROM function_urls WHERE function = ?1 ORDER BY qualifier",
        )?;
        let rows = stmt.query_map(params![function], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for data in rows {
            out.push(serde_json::from_str(&data?)?);
        }
        Ok(out)
    }

    fn function_url_by_id(&self, url_id: &str) -> Result<Option<FunctionUrl>, StoreError> {
        let data: Option<String> = self
            .conn()
            .prepare_cached("SELECT data FROM function_urls WHERE url_id = ?1")?
            .query_row(params![url_id], |r| r.get(0))
            .optional()?;
        Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
    }
}
