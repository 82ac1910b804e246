//! The SQLite schema and the function records.

use std::path::Path;

use hearth_model::FunctionConfig;
use rusqlite::{params, Connection, OptionalExtension};

use crate::{Store, StoreError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    function TEXT NOT NULL,
    stream TEXT NOT NULL,
    ts INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_by_function ON logs (function, id);
";

pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    // WAL with synchronous=NORMAL: a commit survives a crash of Hearth (the WAL is in the
    // OS's page cache) without an fsync on every invocation's log write.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

impl Store {
    /// Inserts a new function; `Exists` if the name is taken.
    pub fn insert_function(&self, f: &FunctionConfig) -> Result<(), StoreError> {
        let data = serde_json::to_string(f)?;
        let inserted = self.conn().execute(
            "INSERT INTO functions (name, data) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
            params![f.name, data],
        )?;
        if inserted == 0 {
            return Err(StoreError::Exists(f.name.clone()));
        }
        Ok(())
    }

    pub fn get_function(&self, name: &str) -> Result<Option<FunctionConfig>, StoreError> {
        let data: Option<String> = self
            .conn()
            .query_row(
                "SELECT data FROM functions WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        Ok(data.map(|d| serde_json::from_str(&d)).transpose()?)
    }

    /// Reads, changes and writes one function atomically. `f` returns `Err` to abort;
    /// `Ok(None)` means the function does not exist.
    pub fn update_function<E>(
        &self,
        name: &str,
        f: impl FnOnce(&mut FunctionConfig) -> Result<(), E>,
    ) -> Result<Option<Result<FunctionConfig, E>>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let data: Option<String> = tx
            .query_row(
                "SELECT data FROM functions WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let Some(data) = data else {
            return Ok(None);
        };
        let mut config: FunctionConfig = serde_json::from_str(&data)?;
        if let Err(e) = f(&mut config) {
            return Ok(Some(Err(e)));
        }
        tx.execute(
            "UPDATE functions SET data = ?2 WHERE name = ?1",
            params![name, serde_json::to_string(&config)?],
        )?;
        tx.commit()?;
        Ok(Some(Ok(config)))
    }

    /// Functions in name order, starting after `marker`.
    pub fn list_functions(
        &self,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionConfig>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT data FROM functions WHERE name > ?1 ORDER BY name LIMIT ?2")?;
        let rows = stmt.query_map(params![marker.unwrap_or(""), limit as i64], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    /// Every function, for start-up recovery and account totals.
    pub fn all_functions(&self) -> Result<Vec<FunctionConfig>, StoreError> {
        self.list_functions(None, usize::MAX >> 1)
    }

    /// Deletes a function record; false if there was none.
    pub fn delete_function(&self, name: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute("DELETE FROM functions WHERE name = ?1", params![name])?;
        Ok(n > 0)
    }
}
