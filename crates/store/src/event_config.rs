//! Asynchronous invocation settings (`FunctionEventInvokeConfig`), one per function and
//! qualifier (`$LATEST`, a version number or an alias name).

use hearth_model::arn::LATEST;
use hearth_model::event_invoke::EventInvokeConfig;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::traits::{Edit, Edited};
use crate::{SqliteStore, StoreError};

/// Whether `qualifier` of `function` exists: `$LATEST` of an existing function, a
/// published version, or an alias.
pub(crate) fn target_exists(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
) -> Result<bool, StoreError> {
    let function_exists = tx
        .query_row(
            "SELECT 1 FROM functions WHERE name = ?1",
            params![function],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !function_exists {
        return Ok(false);
    }
    if qualifier == LATEST {
        return Ok(true);
    }
    let (sql, value) = match qualifier.parse::<i64>() {
        Ok(n) if qualifier.bytes().all(|b| b.is_ascii_digit()) => (
            "SELECT 1 FROM versions WHERE function = ?1 AND version = ?2",
            rusqlite::types::Value::Integer(n),
        ),
        _ => (
            "SELECT 1 FROM aliases WHERE function = ?1 AND name = ?2",
            rusqlite::types::Value::Text(qualifier.to_string()),
        ),
    };
    Ok(tx
        .query_row(sql, params![function, value], |_| Ok(()))
        .optional()?
        .is_some())
}

impl SqliteStore {
    /// Stores (replacing) a configuration; false, and nothing stored, if its function,
    /// version or alias does not exist (it may have been deleted since it was checked).
    pub(crate) fn put_event_invoke_config(
        &self,
        c: &EventInvokeConfig,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if !target_exists(&tx, &c.function, &c.qualifier)? {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO event_invoke_configs (function, qualifier, data) VALUES (?1, ?2, ?3)
             ON CONFLICT(function, qualifier) DO UPDATE SET data = ?3",
            params![c.function, c.qualifier, serde_json::to_string(c)?],
        )?;
        tx.commit()?;
        drop(conn);
        self.changed(&c.function);
        Ok(true)
    }

    /// Reads, changes and writes one configuration atomically, as
    /// [`SqliteStore::edit_alias`].
    pub(crate) fn edit_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, EventInvokeConfig>,
    ) -> Result<Edited<EventInvokeConfig>, StoreError> {
        self.edit_record(
            "event_invoke_configs",
            "qualifier",
            function,
            qualifier,
            edit,
        )
    }

    pub(crate) fn get_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, StoreError> {
        self.record("event_invoke_configs", "qualifier", function, qualifier)
    }

    /// A function's configurations in qualifier order.
    pub(crate) fn list_event_invoke_configs(
        &self,
        function: &str,
    ) -> Result<Vec<EventInvokeConfig>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT data FROM event_invoke_configs WHERE function = ?1 ORDER BY qualifier",
        )?;
        let rows = stmt.query_map(params![function], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    pub(crate) fn delete_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
            params![function, qualifier],
        )?;
        if n > 0 {
            self.changed(function);
        }
        Ok(n > 0)
    }
}
