//! Functions, versions, aliases, concurrency, asynchronous invocation settings and log
//! retention on PostgreSQL ([`MetadataStore`]), with the embedded store's tables and
//! answers (`db.rs`, `versions.rs`, `concurrency.rs`, `event_config.rs`,
//! `retention.rs`).
//!
//! The tables and columns are SQLite's, so that other areas read them by the same names
//! (the code area reads the code a record names out of `functions.data` and
//! `versions.data`); records are the same JSON text, functions' environment variables
//! sealed as SQLite seals them. Key columns compare in the `C` collation: byte order, as
//! SQLite's, so listings and their markers page the same whatever the database's locale.
//!
//! Several nodes write at once, so what SQLite gets from its one writer is taken here
//! with row locks held to the commit: a read-modify-write reads its row `FOR UPDATE`; a
//! publish locks the function's row, which makes reading and raising its version counter
//! (`function_meta.last_version`, kept after versions are deleted so that no number
//! comes back) one step on every node; a record that needs its function, version or
//! alias to exist locks that row, so that a concurrent deletion waits and then removes
//! the record too. Every change SQLite tells its subscribers of also runs a `NOTIFY` in
//! its transaction, so other nodes hear of it at the commit.

use hearth_model::alias::Alias;
use hearth_model::arn::{ACCOUNT, LATEST};
use hearth_model::concurrency::ProvisionedConfig;
use hearth_model::event_invoke::EventInvokeConfig;
use hearth_model::FunctionConfig;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Transaction};

use super::{backend, wait, PgStore};
use crate::traits::{Decide, Edit, Edited, MetadataStore};
use crate::{Publish, StoreError, Subscriber, Subscription};

/// This area's tables, part of the first migration ([`super::migrations`]). SQLite's
/// (`migrations.rs`), INTEGER as BIGINT. `log_groups` is made only if missing: the log
/// area reads it (and expires by it), and may declare it too.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE functions (
    name TEXT COLLATE "C" PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE versions (
    function TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE TABLE aliases (
    function TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, name)
);
CREATE TABLE function_meta (
    function TEXT COLLATE "C" PRIMARY KEY,
    last_version BIGINT NOT NULL DEFAULT 0,
    reserved BIGINT
);
CREATE TABLE provisioned (
    function TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE event_invoke_configs (
    function TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE IF NOT EXISTS log_groups (
    function TEXT COLLATE "C" PRIMARY KEY,
    retention_days BIGINT NOT NULL
);
"#;

/// A statement's parameters.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The first column of a row, as text.
pub(super) fn text(row: &Row) -> Result<String, StoreError> {
    row.try_get(0).map_err(backend)
}

/// The first column (text) of the row `sql` selects in `tx`, if there is one.
pub(super) fn tx_text(
    tx: &Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<String>, StoreError> {
    wait(tx.query_opt(sql, params))
        .map_err(backend)?
        .as_ref()
        .map(text)
        .transpose()
}

/// Whether `sql` selects a row in `tx`.
fn tx_exists(tx: &Transaction<'_>, sql: &str, params: Params<'_>) -> Result<bool, StoreError> {
    Ok(wait(tx.query_opt(sql, params)).map_err(backend)?.is_some())
}

/// Whether `qualifier` of `function` exists (`$LATEST` of an existing function, a
/// published version, or an alias: `event_config::target_exists`), locking what it
/// found until the transaction ends: the function's row for update (so that edits of
/// a record that may not exist yet take turns, and a deletion of the function waits and
/// then removes what was written), and the version's or alias's row against deletion.
pub(super) fn lock_target(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
) -> Result<bool, StoreError> {
    if !tx_exists(
        tx,
        "SELECT 1 FROM functions WHERE name = $1 FOR UPDATE",
        &[&function],
    )? {
        return Ok(false);
    }
    if qualifier == LATEST {
        return Ok(true);
    }
    match qualifier.parse::<i64>() {
        Ok(n) if qualifier.bytes().all(|b| b.is_ascii_digit()) => tx_exists(
            tx,
            "SELECT 1 FROM versions WHERE function = $1 AND version = $2 FOR SHARE",
            &[&function, &n],
        ),
        _ => tx_exists(
            tx,
            "SELECT 1 FROM aliases WHERE function = $1 AND name = $2 FOR SHARE",
            &[&function, &qualifier],
        ),
    }
}

impl PgStore {
    /// The first column (text) of every row `sql` selects.
    pub(super) fn texts(&self, sql: &str, params: Params<'_>) -> Result<Vec<String>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(sql, params)).map_err(backend)?;
        rows.iter().map(text).collect()
    }

    /// The first column (text) of the row `sql` selects, if there is one.
    pub(super) fn one_text(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<String>, StoreError> {
        let c = self.conn()?;
        wait(c.query_opt(sql, params))
            .map_err(backend)?
            .as_ref()
            .map(text)
            .transpose()
    }

    /// The JSON record in `table` (keyed by `function` and `key_column`) at (`function`,
    /// `key`), as `SqliteStore::record`.
    pub(super) fn record<T: DeserializeOwned>(
        &self,
        table: &str,
        key_column: &str,
        function: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let data = self.one_text(
            &format!("SELECT data FROM {table} WHERE function = $1 AND {key_column} = $2"),
            &[&function, &key],
        )?;
        Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
    }

    /// Reads, changes and writes one such record atomically, telling of the change.
    fn edit_record<T: Serialize + DeserializeOwned>(
        &self,
        table: &str,
        key_column: &str,
        function: &str,
        key: &str,
        edit: Edit<'_, T>,
    ) -> Result<Edited<T>, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let Some(data) = tx_text(
            &tx,
            &format!(
                "SELECT data FROM {table} WHERE function = $1 AND {key_column} = $2 FOR UPDATE"
            ),
            &[&function, &key],
        )?
        else {
            return Ok(Edited::Missing);
        };
        let mut record: T = serde_json::from_str(&data)?;
        if !edit(&mut record) {
            return Ok(Edited::Declined);
        }
        wait(tx.execute(
            &format!("UPDATE {table} SET data = $3 WHERE function = $1 AND {key_column} = $2"),
            &[&function, &key, &serde_json::to_string(&record)?],
        ))
        .map_err(backend)?;
        self.notify(&tx, function)?;
        wait(tx.commit()).map_err(backend)?;
        drop(c);
        self.function_changed(function);
        Ok(Edited::Done(record))
    }

    /// Has `tx` tell every node, at its commit, that `function` changed.
    pub(super) fn notify(&self, tx: &Transaction<'_>, function: &str) -> Result<(), StoreError> {
        wait(tx.execute(super::NOTIFY_SQL, &[&self.notice(function)])).map_err(backend)?;
        Ok(())
    }

    /// Runs `write` in a transaction that also tells of a change to `function`, and tells
    /// this node's subscribers after the commit.
    fn write_telling<R>(
        &self,
        function: &str,
        write: impl FnOnce(&Transaction<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let out = write(&tx)?;
        self.notify(&tx, function)?;
        wait(tx.commit()).map_err(backend)?;
        drop(c);
        self.function_changed(function);
        Ok(out)
    }

    /// A statement outside any transaction; answers how many rows it changed.
    fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        let c = self.conn()?;
        wait(c.execute(sql, params)).map_err(backend)
    }
}

impl MetadataStore for PgStore {
    fn subscribe(&self, subscriber: Subscriber) -> Subscription {
        self.changes.subscribe(subscriber)
    }

    fn insert_function(&self, f: &FunctionConfig) -> Result<(), StoreError> {
        // The tags are kept by resource ARN (`resources.rs`), not in the record.
        let record = FunctionConfig {
            tags: Default::default(),
            ..f.clone()
        };
        let data = self.encode_function(&record)?;
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let inserted = wait(tx.execute(
            "INSERT INTO functions (name, data) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&f.name, &data],
        ))
        .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Exists(f.name.clone()));
        }
        super::resources::insert_function_tags(&tx, &f.name, &f.tags)?;
        self.notify(&tx, &f.name)?;
        wait(tx.commit()).map_err(backend)?;
        drop(c);
        self.function_changed(&f.name);
        Ok(())
    }

    fn get_function(&self, name: &str) -> Result<Option<FunctionConfig>, StoreError> {
        self.one_text("SELECT data FROM functions WHERE name = $1", &[&name])?
            .map(|d| self.decode_function(&d))
            .transpose()
    }

    fn edit_function(
        &self,
        name: &str,
        edit: Edit<'_, FunctionConfig>,
    ) -> Result<Edited<FunctionConfig>, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let Some(data) = tx_text(
            &tx,
            "SELECT data FROM functions WHERE name = $1 FOR UPDATE",
            &[&name],
        )?
        else {
            return Ok(Edited::Missing);
        };
        let mut config = self.decode_function(&data)?;
        if !edit(&mut config) {
            return Ok(Edited::Declined);
        }
        wait(tx.execute(
            "UPDATE functions SET data = $2 WHERE name = $1",
            &[&name, &self.encode_function(&config)?],
        ))
        .map_err(backend)?;
        self.notify(&tx, name)?;
        wait(tx.commit()).map_err(backend)?;
        drop(c);
        self.function_changed(name);
        Ok(Edited::Done(config))
    }

    fn list_functions(
        &self,
        account: Option<&str>,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionConfig>, StoreError> {
        // Keys (`hearth_model::arn::function_key`): the default account's hold no colon,
        // another account's all start with `ACCOUNT:` (and sort before `ACCOUNT;`).
        let after = marker.unwrap_or("");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match account {
            None => self.texts(
                "SELECT data FROM functions WHERE name > $1 ORDER BY name LIMIT $2",
                &[&after, &limit],
            )?,
            Some(ACCOUNT) => self.texts(
                "SELECT data FROM functions WHERE name > $1 AND strpos(name, ':') = 0 \
                 ORDER BY name LIMIT $2",
                &[&after, &limit],
            )?,
            Some(a) => {
                let first = format!("{a}:");
                self.texts(
                    "SELECT data FROM functions WHERE name > $1 AND name < $2 \
                     ORDER BY name LIMIT $3",
                    &[&after.max(first.as_str()), &format!("{a};"), &limit],
                )?
            }
        };
        rows.iter().map(|row| self.decode_function(row)).collect()
    }

    fn delete_function(&self, name: &str) -> Result<bool, StoreError> {
        self.write_telling(name, |tx| {
            let n = wait(tx.execute("DELETE FROM functions WHERE name = $1", &[&name]))
                .map_err(backend)?;
            // SQLite's list (`db.rs`): the log group and its retention outlive the
            // function, as CloudWatch's do.
            for table in [
                "versions",
                "aliases",
                "function_meta",
                "provisioned",
                "event_invoke_configs",
            ] {
                wait(tx.execute(
                    &format!("DELETE FROM {table} WHERE function = $1"),
                    &[&name],
                ))
                .map_err(backend)?;
            }
            super::resources::delete_function_resources(tx, name)?;
            Ok(n > 0)
        })
    }

    fn publish_with(
        &self,
        name: &str,
        decide: Decide<'_>,
    ) -> Result<Edited<FunctionConfig>, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        // Every node's publish of this function waits here for the one before it to
        // commit; what is read after sees that one's version and counter.
        let Some(latest) = tx_text(
            &tx,
            "SELECT data FROM functions WHERE name = $1 FOR UPDATE",
            &[&name],
        )?
        else {
            return Ok(Edited::Missing);
        };
        let mut latest = self.decode_function(&latest)?;
        let newest = tx_text(
            &tx,
            "SELECT data FROM versions WHERE function = $1 ORDER BY version DESC LIMIT 1",
            &[&name],
        )?
        .map(|d| self.decode_function(&d))
        .transpose()?;
        let last: Option<i64> = wait(tx.query_opt(
            "SELECT last_version FROM function_meta WHERE function = $1",
            &[&name],
        ))
        .map_err(backend)?
        .map(|r| r.try_get(0))
        .transpose()
        .map_err(backend)?;
        let next = last.unwrap_or(0) as u64 + 1;
        let (version, latest_revision) = match decide(&latest, newest, next) {
            None => return Ok(Edited::Declined),
            // Nothing is written, so nothing changed.
            Some(Publish::Existing(v)) => return Ok(Edited::Done(v)),
            Some(Publish::New(v)) => (v, None),
            Some(Publish::NewRevising(v, revision)) => (v, Some(revision)),
        };
        if let Some(revision) = latest_revision {
            // As SQLite's `json_set`: the environments keep the revision they were
            // started for.
            if latest.environment_revision.is_none() {
                latest.environment_revision = Some(latest.revision_id.clone());
            }
            latest.revision_id = revision;
            wait(tx.execute(
                "UPDATE functions SET data = $2 WHERE name = $1",
                &[&name, &self.encode_function(&latest)?],
            ))
            .map_err(backend)?;
        }
        let number = next as i64;
        wait(tx.execute(
            "INSERT INTO versions (function, version, data) VALUES ($1, $2, $3)",
            &[&name, &number, &self.encode_function(&version)?],
        ))
        .map_err(backend)?;
        wait(tx.execute(
            "INSERT INTO function_meta (function, last_version) VALUES ($1, $2)
             ON CONFLICT (function) DO UPDATE SET last_version = $2",
            &[&name, &number],
        ))
        .map_err(backend)?;
        self.notify(&tx, name)?;
        wait(tx.commit()).map_err(backend)?;
        drop(c);
        self.function_changed(name);
        Ok(Edited::Done(version))
    }

    fn get_version(&self, name: &str, version: u64) -> Result<Option<FunctionConfig>, StoreError> {
        let Ok(number) = i64::try_from(version) else {
            return Ok(None);
        };
        self.one_text(
            "SELECT data FROM versions WHERE function = $1 AND version = $2",
            &[&name, &number],
        )?
        .map(|d| self.decode_function(&d))
        .transpose()
    }

    fn list_versions(&self, name: &str) -> Result<Vec<FunctionConfig>, StoreError> {
        self.texts(
            "SELECT data FROM versions WHERE function = $1 ORDER BY version",
            &[&name],
        )?
        .iter()
        .map(|d| self.decode_function(d))
        .collect()
    }

    fn put_version(&self, f: &FunctionConfig) -> Result<(), StoreError> {
        let Ok(number) = f.version.parse::<i64>() else {
            return Ok(());
        };
        let data = self.encode_function(f)?;
        self.write_telling(&f.name, |tx| {
            wait(tx.execute(
                "UPDATE versions SET data = $3 WHERE function = $1 AND version = $2",
                &[&f.name, &number, &data],
            ))
            .map_err(backend)?;
            Ok(())
        })
    }

    fn delete_version(&self, name: &str, version: u64) -> Result<bool, StoreError> {
        let number = i64::try_from(version).unwrap_or(i64::MAX);
        let qualifier = version.to_string();
        self.write_telling(name, |tx| {
            let n = wait(tx.execute(
                "DELETE FROM versions WHERE function = $1 AND version = $2",
                &[&name, &number],
            ))
            .map_err(backend)?;
            wait(tx.execute(
                "DELETE FROM event_invoke_configs WHERE function = $1 AND qualifier = $2",
                &[&name, &qualifier],
            ))
            .map_err(backend)?;
            super::resources::delete_qualifier_resources(tx, name, &qualifier)?;
            Ok(n > 0)
        })
    }

    fn insert_alias(&self, a: &Alias) -> Result<(), StoreError> {
        let data = serde_json::to_string(a)?;
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let n = wait(tx.execute(
            "INSERT INTO aliases (function, name, data) VALUES ($1, $2, $3)
             ON CONFLICT (function, name) DO NOTHING",
            &[&a.function, &a.name, &data],
        ))
        .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Exists(a.arn()));
        }
        self.notify(&tx, &a.function)?;
        wait(tx.commit()).map_err(backend)?;
        drop(c);
        self.function_changed(&a.function);
        Ok(())
    }

    fn get_alias(&self, function: &str, name: &str) -> Result<Option<Alias>, StoreError> {
        self.record("aliases", "name", function, name)
    }

    fn list_aliases(&self, function: &str) -> Result<Vec<Alias>, StoreError> {
        self.texts(
            "SELECT data FROM aliases WHERE function = $1 ORDER BY name",
            &[&function],
        )?
        .iter()
        .map(|d| Ok(serde_json::from_str(d)?))
        .collect()
    }

    fn edit_alias(
        &self,
        function: &str,
        name: &str,
        edit: Edit<'_, Alias>,
    ) -> Result<Edited<Alias>, StoreError> {
        self.edit_record("aliases", "name", function, name, edit)
    }

    fn delete_alias(&self, function: &str, name: &str) -> Result<bool, StoreError> {
        self.write_telling(function, |tx| {
            let n = wait(tx.execute(
                "DELETE FROM aliases WHERE function = $1 AND name = $2",
                &[&function, &name],
            ))
            .map_err(backend)?;
            wait(tx.execute(
                "DELETE FROM event_invoke_configs WHERE function = $1 AND qualifier = $2",
                &[&function, &name],
            ))
            .map_err(backend)?;
            super::resources::delete_qualifier_resources(tx, function, name)?;
            Ok(n > 0)
        })
    }

    fn set_reserved(&self, function: &str, reserved: Option<i64>) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO function_meta (function, reserved) VALUES ($1, $2)
             ON CONFLICT (function) DO UPDATE SET reserved = $2",
            &[&function, &reserved],
        )?;
        Ok(())
    }

    fn get_reserved(&self, function: &str) -> Result<Option<i64>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT reserved FROM function_meta WHERE function = $1",
            &[&function],
        ))
        .map_err(backend)?;
        let reserved: Option<Option<i64>> =
            row.map(|r| r.try_get(0)).transpose().map_err(backend)?;
        Ok(reserved.flatten())
    }

    fn all_reserved(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query(
            "SELECT function, reserved FROM function_meta WHERE reserved IS NOT NULL",
            &[],
        ))
        .map_err(backend)?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(backend)
    }

    fn put_provisioned(&self, c: &ProvisionedConfig) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO provisioned (function, qualifier, data) VALUES ($1, $2, $3)
             ON CONFLICT (function, qualifier) DO UPDATE SET data = $3",
            &[&c.function, &c.qualifier, &serde_json::to_string(c)?],
        )?;
        Ok(())
    }

    fn get_provisioned(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConfig>, StoreError> {
        self.record("provisioned", "qualifier", function, qualifier)
    }

    fn list_provisioned(
        &self,
        function: Option<&str>,
    ) -> Result<Vec<ProvisionedConfig>, StoreError> {
        self.texts(
            "SELECT data FROM provisioned WHERE $1::TEXT IS NULL OR function = $1
             ORDER BY function, qualifier",
            &[&function],
        )?
        .iter()
        .map(|d| Ok(serde_json::from_str(d)?))
        .collect()
    }

    fn delete_provisioned(&self, function: &str, qualifier: &str) -> Result<bool, StoreError> {
        let n = self.execute(
            "DELETE FROM provisioned WHERE function = $1 AND qualifier = $2",
            &[&function, &qualifier],
        )?;
        Ok(n > 0)
    }

    fn put_event_invoke_config(&self, c: &EventInvokeConfig) -> Result<bool, StoreError> {
        let data = serde_json::to_string(c)?;
        let mut conn = self.conn()?;
        let tx = wait(conn.transaction()).map_err(backend)?;
        if !lock_target(&tx, &c.function, &c.qualifier)? {
            return Ok(false);
        }
        wait(tx.execute(
            "INSERT INTO event_invoke_configs (function, qualifier, data) VALUES ($1, $2, $3)
             ON CONFLICT (function, qualifier) DO UPDATE SET data = $3",
            &[&c.function, &c.qualifier, &data],
        ))
        .map_err(backend)?;
        self.notify(&tx, &c.function)?;
        wait(tx.commit()).map_err(backend)?;
        drop(conn);
        self.function_changed(&c.function);
        Ok(true)
    }

    fn edit_event_invoke_config(
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

    fn get_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, StoreError> {
        self.record("event_invoke_configs", "qualifier", function, qualifier)
    }

    fn list_event_invoke_configs(
        &self,
        function: &str,
    ) -> Result<Vec<EventInvokeConfig>, StoreError> {
        self.texts(
            "SELECT data FROM event_invoke_configs WHERE function = $1 ORDER BY qualifier",
            &[&function],
        )?
        .iter()
        .map(|d| Ok(serde_json::from_str(d)?))
        .collect()
    }

    fn delete_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let n = wait(tx.execute(
            "DELETE FROM event_invoke_configs WHERE function = $1 AND qualifier = $2",
            &[&function, &qualifier],
        ))
        .map_err(backend)?;
        if n > 0 {
            self.notify(&tx, function)?;
        }
        wait(tx.commit()).map_err(backend)?;
        drop(c);
        if n > 0 {
            self.function_changed(function);
        }
        Ok(n > 0)
    }

    fn put_retention(&self, function: &str, days: u32) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO log_groups (function, retention_days) VALUES ($1, $2)
             ON CONFLICT (function) DO UPDATE SET retention_days = $2",
            &[&function, &i64::from(days)],
        )?;
        Ok(())
    }

    fn delete_retention(&self, function: &str) -> Result<bool, StoreError> {
        let n = self.execute("DELETE FROM log_groups WHERE function = $1", &[&function])?;
        Ok(n > 0)
    }

    fn retention(&self, function: &str) -> Result<Option<u32>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT retention_days FROM log_groups WHERE function = $1",
            &[&function],
        ))
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let days: i64 = row.try_get(0).map_err(backend)?;
        u32::try_from(days).map(Some).map_err(|_| {
            StoreError::Backend(
                format!("{function}'s retention of {days} days is out of range").into(),
            )
        })
    }
}
