//! Reserved concurrency (per function) and provisioned-concurrency requests (per
//! function and qualifier).

use hearth_model::concurrency::ProvisionedConfig;
use rusqlite::{params, OptionalExtension};

use crate::{SqliteStore, StoreError};

impl SqliteStore {
    /// Sets (or with `None` removes) a function's reserved concurrency.
    pub(crate) fn set_reserved(
        &self,
        function: &str,
        reserved: Option<i64>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO function_meta (function, reserved) VALUES (?1, ?2)
             ON CONFLICT(function) DO UPDATE SET reserved = ?2",
            params![function, reserved],
        )?;
        Ok(())
    }

    pub(crate) fn get_reserved(&self, function: &str) -> Result<Option<i64>, StoreError> {
        let r: Option<Option<i64>> = self
            .conn()
            .query_row(
                "SELECT reserved FROM function_meta WHERE function = ?1",
                params![function],
                |r| r.get(0),
            )
            .optional()?;
        Ok(r.flatten())
    }

    /// Every function with reserved concurrency.
    pub(crate) fn all_reserved(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT function, reserved FROM function_meta WHERE reserved IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn put_provisioned(&self, c: &ProvisionedConfig) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO provisioned (function, qualifier, data) VALUES (?1, ?2, ?3)
             ON CONFLICT(function, qualifier) DO UPDATE SET data = ?3",
            params![c.function, c.qualifier, serde_json::to_string(c)?],
        )?;
        Ok(())
    }

    pub(crate) fn get_provisioned(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConfig>, StoreError> {
        self.record("provisioned", "qualifier", function, qualifier)
    }

    /// Provisioned-concurrency requests of one function, or of all with `None`.
    pub(crate) fn list_provisioned(
        &self,
        function: Option<&str>,
    ) -> Result<Vec<ProvisionedConfig>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT data FROM provisioned WHERE ?1 IS NULL OR function = ?1
             ORDER BY function, qualifier",
        )?;
        let rows = stmt.query_map(params![function], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    pub(crate) fn delete_provisioned(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM provisioned WHERE function = ?1 AND qualifier = ?2",
            params![function, qualifier],
        )?;
        Ok(n > 0)
    }
}
