//! Lambda layers on SQLite: the side of [`crate::traits::LayerStore`] that keeps each
//! layer version's JSON record, keyed by (account, name, version), and each layer's
//! last version number, which outlives its versions so that none is given twice.

use hearth_model::layer::LayerVersion;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::traits::{Edit, Edited, LayerStore};
use crate::{SqliteStore, StoreError};

/// The migration step that makes the tables (see `migrations.rs`).
pub(crate) const SCHEMA: &str = "
CREATE TABLE layer_versions (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account, name, version)
);
CREATE TABLE layer_meta (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    last_version INTEGER NOT NULL,
    PRIMARY KEY (account, name)
);
";

fn decode(data: &str) -> Result<LayerVersion, StoreError> {
    Ok(serde_json::from_str(data)?)
}

fn number(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

fn read(
    tx: &Transaction<'_>,
    account: &str,
    name: &str,
    version: u64,
) -> Result<Option<LayerVersion>, StoreError> {
    let data: Option<String> = tx
        .query_row(
            "SELECT data FROM layer_versions WHERE account = ?1 AND name = ?2 AND version = ?3",
            params![account, name, number(version)],
            |r| r.get(0),
        )
        .optional()?;
    data.as_deref().map(decode).transpose()
}

impl LayerStore for SqliteStore {
    fn publish_layer_version(&self, layer: &LayerVersion) -> Result<LayerVersion, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let next: i64 = tx.query_row(
            "INSERT INTO layer_meta (account, name, last_version) VALUES (?1, ?2, 1)
             ON CONFLICT (account, name) DO UPDATE SET last_version = last_version + 1
             RETURNING last_version",
            params![layer.account, layer.name],
            |r| r.get(0),
        )?;
        let stored = LayerVersion {
            version: u64::try_from(next).unwrap_or(0),
            ..layer.clone()
        };
        tx.execute(
            "INSERT INTO layer_versions (account, name, version, data) VALUES (?1, ?2, ?3, ?4)",
            params![
                stored.account,
                stored.name,
                next,
                serde_json::to_string(&stored)?
            ],
        )?;
        tx.commit()?;
        Ok(stored)
    }

    fn get_layer_version(
        &self,
        account: &str,
        name: &str,
        version: u64,
    ) -> Result<Option<LayerVersion>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        read(&tx, account, name, version)
    }

    fn list_layer_versions(
        &self,
        account: &str,
        name: Option<&str>,
    ) -> Result<Vec<LayerVersion>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT data FROM layer_versions WHERE account = ?1 AND (?2 IS NULL OR name = ?2)
             ORDER BY name, version DESC",
        )?;
        let rows = stmt.query_map(params![account, name], |r| r.get::<_, String>(0))?;
        rows.map(|r| decode(&r?)).collect()
    }

    fn edit_layer_version(
        &self,
        account: &str,
        name: &str,
        version: u64,
        edit: Edit<'_, LayerVersion>,
    ) -> Result<Edited<LayerVersion>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let Some(mut layer) = read(&tx, account, name, version)? else {
            return Ok(Edited::Missing);
        };
        if !edit(&mut layer) {
            return Ok(Edited::Declined);
        }
        tx.execute(
            "UPDATE layer_versions SET data = ?4 WHERE account = ?1 AND name = ?2 AND version = ?3",
            params![
                account,
                name,
                number(version),
                serde_json::to_string(&layer)?
            ],
        )?;
        tx.commit()?;
        Ok(Edited::Done(layer))
    }

    fn delete_layer_version(
        &self,
        account: &str,
        name: &str,
        version: u64,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM layer_versions WHERE account = ?1 AND name = ?2 AND version = ?3",
            params![account, name, number(version)],
        )?;
        if n > 0 {
            // Its blob may be collectable now.
            self.collect_code();
        }
        Ok(n > 0)
    }
}
