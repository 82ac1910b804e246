//! Published versions (immutable snapshots of `$LATEST`), aliases, and the per-function
//! counters that outlive them (the last version number is never reused).

use hearth_model::alias::Alias;
use hearth_model::FunctionConfig;
use rusqlite::{params, OptionalExtension};

use crate::traits::{Decide, Edit, Edited};
use crate::{SqliteStore, StoreError};

/// What a publish decided, given `$LATEST` and the newest published version.
pub enum Publish {
    /// Nothing changed since the newest version: Lambda returns that one.
    Existing(FunctionConfig),
    /// A new snapshot, stored under the next number.
    New(FunctionConfig),
    /// A new snapshot, and `$LATEST` takes this `RevisionId` with it (Lambda gives
    /// `$LATEST` a new one when PublishVersion publishes it).
    NewRevising(FunctionConfig, String),
}

impl SqliteStore {
    /// Publishes a version atomically. `decide` gets `$LATEST`, the newest version (if
    /// any) and the number a new version would get.
    pub(crate) fn publish_with(
        &self,
        name: &str,
        decide: Decide<'_>,
    ) -> Result<Edited<FunctionConfig>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let latest: Option<String> = tx
            .query_row(
                "SELECT data FROM functions WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let Some(latest) = latest else {
            return Ok(Edited::Missing);
        };
        let latest: FunctionConfig = self.env_seal.decode(&latest)?;
        let newest: Option<String> = tx
            .query_row(
                "SELECT data FROM versions WHERE function = ?1 ORDER BY version DESC LIMIT 1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let newest = newest.map(|d| self.env_seal.decode(&d)).transpose()?;
        let last: Option<i64> = tx
            .query_row(
                "SELECT last_version FROM function_meta WHERE function = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let next = last.unwrap_or(0) as u64 + 1;
        let (version, latest_revision) = match decide(&latest, newest, next) {
            None => return Ok(Edited::Declined),
            // Nothing is written, so nothing changed.
            Some(Publish::Existing(v)) => return Ok(Edited::Done(v)),
            Some(Publish::New(v)) => (v, None),
            Some(Publish::NewRevising(v, revision)) => (v, Some(revision)),
        };
        if let Some(revision) = latest_revision {
            tx.execute(
                // The environments keep the revision they were started for.
                "UPDATE functions SET data = json_set(data, '$.revision_id', ?2,
                     '$.environment_revision',
                     COALESCE(json_extract(data, '$.environment_revision'),
                              json_extract(data, '$.revision_id')))
                 WHERE name = ?1",
                params![name, revision],
            )?;
        }
        tx.execute(
            "INSERT INTO versions (function, version, data) VALUES (?1, ?2, ?3)",
            params![name, next as i64, self.env_seal.encode(&version)?],
        )?;
        tx.execute(
            "INSERT INTO function_meta (function, last_version) VALUES (?1, ?2)
             ON CONFLICT(function) DO UPDATE SET last_version = ?2",
            params![name, next as i64],
        )?;
        tx.commit()?;
        drop(conn);
        self.changed(name);
        Ok(Edited::Done(version))
    }

    pub(crate) fn get_version(
        &self,
        name: &str,
        version: u64,
    ) -> Result<Option<FunctionConfig>, StoreError> {
        let data: Option<String> = self
            .conn()
            .query_row(
                "SELECT data FROM versions WHERE function = ?1 AND version = ?2",
                params![name, version as i64],
                |r| r.get(0),
            )
            .optional()?;
        data.map(|d| self.env_seal.decode(&d)).transpose()
    }

    /// A function's published versions, oldest first.
    pub(crate) fn list_versions(&self, name: &str) -> Result<Vec<FunctionConfig>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT data FROM versions WHERE function = ?1 ORDER BY version")?;
        let rows = stmt.query_map(params![name], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(self.env_seal.decode(&row?)?);
        }
        Ok(out)
    }

    /// Rewrites a stored version (its state, when the code it shares with `$LATEST`
    /// settles).
    pub(crate) fn put_version(&self, f: &FunctionConfig) -> Result<(), StoreError> {
        let Ok(number) = f.version.parse::<i64>() else {
            return Ok(());
        };
        self.conn().execute(
            "UPDATE versions SET data = ?3 WHERE function = ?1 AND version = ?2",
            params![f.name, number, self.env_seal.encode(f)?],
        )?;
        self.changed(&f.name);
        Ok(())
    }

    /// Deletes a version with its asynchronous invocation settings.
    pub(crate) fn delete_version(&self, name: &str, version: u64) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM versions WHERE function = ?1 AND version = ?2",
            params![name, version as i64],
        )?;
        tx.execute(
            "DELETE FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
            params![name, version.to_string()],
        )?;
        crate::resources::delete_qualifier_resources(&tx, name, &version.to_string())?;
        tx.commit()?;
        drop(conn);
        self.changed(name);
        Ok(n > 0)
    }

    /// Inserts a new alias; `Exists` if the name is taken.
    pub(crate) fn insert_alias(&self, a: &Alias) -> Result<(), StoreError> {
        let n = self.conn().execute(
            "INSERT INTO aliases (function, name, data) VALUES (?1, ?2, ?3)
             ON CONFLICT(function, name) DO NOTHING",
            params![a.function, a.name, serde_json::to_string(a)?],
        )?;
        if n == 0 {
            return Err(StoreError::Exists(a.arn()));
        }
        self.changed(&a.function);
        Ok(())
    }

    pub(crate) fn get_alias(
        &self,
        function: &str,
        name: &str,
    ) -> Result<Option<Alias>, StoreError> {
        self.record("aliases", "name", function, name)
    }

    /// A function's aliases in name order.
    pub(crate) fn list_aliases(&self, function: &str) -> Result<Vec<Alias>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT data FROM aliases WHERE function = ?1 ORDER BY name")?;
        let rows = stmt.query_map(params![function], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    /// Reads, changes and writes one alias atomically, as [`SqliteStore::edit_function`].
    pub(crate) fn edit_alias(
        &self,
        function: &str,
        name: &str,
        edit: Edit<'_, Alias>,
    ) -> Result<Edited<Alias>, StoreError> {
        self.edit_record("aliases", "name", function, name, edit)
    }

    /// Deletes an alias with its asynchronous invocation settings.
    pub(crate) fn delete_alias(&self, function: &str, name: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "DELETE FROM aliases WHERE function = ?1 AND name = ?2",
            params![function, name],
        )?;
        tx.execute(
            "DELETE FROM event_invoke_configs WHERE function = ?1 AND qualifier = ?2",
            params![function, name],
        )?;
        crate::resources::delete_qualifier_resources(&tx, function, name)?;
        tx.commit()?;
        drop(conn);
        self.changed(function);
        Ok(n > 0)
    }
}
