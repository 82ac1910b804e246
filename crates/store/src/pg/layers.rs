//! Lambda layers on PostgreSQL ([`LayerStore`]): the same tables as the SQLite store
//! keeps (`crate::layers`). A publish takes its number from `layer_meta` by an upsert,
//! whose row lock orders nodes publishing one layer at once: each gets its own number.

use hearth_model::layer::LayerVersion;
use tokio_postgres::Row;

use super::{backend, wait, PgStore};
use crate::traits::{Edit, Edited, LayerStore};
use crate::StoreError;

/// The migration step that makes the tables ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE layer_versions (
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account, name, version)
);
CREATE TABLE layer_meta (
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    last_version BIGINT NOT NULL,
    PRIMARY KEY (account, name)
);
"#;

fn layer_of(r: &Row) -> Result<LayerVersion, StoreError> {
    Ok(serde_json::from_str(r.try_get(0).map_err(backend)?)?)
}

fn number(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

impl LayerStore for PgStore {
    fn publish_layer_version(&self, layer: &LayerVersion) -> Result<LayerVersion, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let next: i64 = wait(tx.query_one(
            "INSERT INTO layer_meta (account, name, last_version) VALUES ($1, $2, 1)
             ON CONFLICT (account, name) DO UPDATE SET last_version = layer_meta.last_version + 1
             RETURNING last_version",
            &[&layer.account, &layer.name],
        ))
        .map_err(backend)?
        .try_get(0)
        .map_err(backend)?;
        let stored = LayerVersion {
            version: u64::try_from(next).unwrap_or(0),
            ..layer.clone()
        };
        let data = serde_json::to_string(&stored)?;
        wait(tx.execute(
            "INSERT INTO layer_versions (account, name, version, data) VALUES ($1, $2, $3, $4)",
            &[&stored.account, &stored.name, &next, &data],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(stored)
    }

    fn get_layer_version(
        &self,
        account: &str,
        name: &str,
        version: u64,
    ) -> Result<Option<LayerVersion>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT data FROM layer_versions WHERE account = $1 AND name = $2 AND version = $3",
            &[&account, &name, &number(version)],
        ))
        .map_err(backend)?;
        row.as_ref().map(layer_of).transpose()
    }

    fn list_layer_versions(
        &self,
        account: &str,
        name: Option<&str>,
    ) -> Result<Vec<LayerVersion>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT data FROM layer_versions WHERE account = $1 AND ($2::TEXT IS NULL OR name = $2)
             ORDER BY name, version DESC",
            &[&account, &name],
        ))
        .map_err(backend)?;
        rows.iter().map(layer_of).collect()
    }

    fn edit_layer_version(
        &self,
        account: &str,
        name: &str,
        version: u64,
        edit: Edit<'_, LayerVersion>,
    ) -> Result<Edited<LayerVersion>, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let row = wait(tx.query_opt(
            "SELECT data FROM layer_versions WHERE account = $1 AND name = $2 AND version = $3
             FOR UPDATE",
            &[&account, &name, &number(version)],
        ))
        .map_err(backend)?;
        let Some(mut layer) = row.as_ref().map(layer_of).transpose()? else {
            return Ok(Edited::Missing);
        };
        if !edit(&mut layer) {
            return Ok(Edited::Declined);
        }
        let data = serde_json::to_string(&layer)?;
        wait(tx.execute(
            "UPDATE layer_versions SET data = $4 WHERE account = $1 AND name = $2 AND version = $3",
            &[&account, &name, &number(version), &data],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(Edited::Done(layer))
    }

    fn delete_layer_version(
        &self,
        account: &str,
        name: &str,
        version: u64,
    ) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "DELETE FROM layer_versions WHERE account = $1 AND name = $2 AND version = $3",
            &[&account, &name, &number(version)],
        ))
        .map_err(backend)?;
        if n > 0 {
            crate::traits::CodeStore::collect_code(self);
        }
        Ok(n > 0)
    }
}
