//! Functions' environment variables sealed at rest: a function's record (of `$LATEST`
//! or of a published version) is stored with its `environment` replaced by
//! `environment_sealed`, the variables' JSON sealed under the server key's
//! `environment` key and bound to the function's name and version, so that a copy of
//! the database alone reveals no variable and a sealed value moved to another function
//! or version does not open. Records written before this (plain `environment`) still
//! read, and are sealed when the store opens (see [`SqliteStore::seal_plain_environments`]).
//!
//! A function whose `kms_key_arn` names a Hearth key (`kms.rs`) has its variables sealed
//! under that key's data key instead of the server's `environment` key.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use hearth_model::function::FunctionConfig;
use rusqlite::params;
use serde_json::{Map, Value};

use crate::seal::SealKey;
use crate::{SqliteStore, StoreError};

/// The field of a stored record that holds the sealed variables.
const SEALED: &str = "environment_sealed";

/// Encodes and decodes stored function records.
#[derive(Clone, Debug)]
pub(crate) struct EnvSeal {
    key: SealKey,
    /// What Hearth keys' data keys are sealed under.
    pub(crate) kms_master: SealKey,
    /// The data keys of the Hearth keys, by ARN (loaded at open, added on creation:
    /// records are encoded while the database is locked, so no lookup then).
    pub(crate) kms: Arc<RwLock<HashMap<String, SealKey>>>,
}

/// What a sealed value is bound to.
fn place(name: &str, version: &str) -> Vec<u8> {
    format!("function:{name}:{version}").into_bytes()
}

impl EnvSeal {
    /// `server` is the server key; the variables are sealed under a key derived from it.
    pub(crate) fn new(server: &SealKey) -> Self {
        Self {
            key: server.derive("environment"),
            kms_master: server.derive("kms"),
            kms: Arc::default(),
        }
    }

    /// The key a record's variables are sealed under: its Hearth key's, or the server's.
    fn key_for(&self, kms_key_arn: Option<&str>) -> Result<SealKey, StoreError> {
        match kms_key_arn.filter(|a| !a.is_empty()) {
            None => Ok(self.key.clone()),
            Some(arn) => self
                .kms
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(arn)
                .cloned()
                .ok_or_else(|| {
                    StoreError::Io(std::io::Error::other(format!("no Hearth key {arn}")))
                }),
        }
    }

    /// The stored JSON of `f`.
    pub(crate) fn encode(&self, f: &FunctionConfig) -> Result<String, StoreError> {
        let mut value = serde_json::to_value(f)?;
        if let Value::Object(map) = &mut value {
            self.seal_map(map, &f.name, &f.version)?;
        }
        Ok(serde_json::to_string(&value)?)
    }

    /// A record read back (sealed, or plain from before sealing).
    pub(crate) fn decode(&self, data: &str) -> Result<FunctionConfig, StoreError> {
        let mut value: Value = serde_json::from_str(data)?;
        if let Value::Object(map) = &mut value {
            if let Some(Value::String(sealed)) = map.remove(SEALED) {
                let name = map.get("name").and_then(Value::as_str).unwrap_or_default();
                let version = map
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(sealed)
                    .map_err(|_| sealed_error(name, version))?;
                let kms = map.get("kms_key_arn").and_then(Value::as_str);
                let plain = self
                    .key_for(kms)?
                    .open(&bytes, &place(name, version))
                    .map_err(|_| sealed_error(name, version))?;
                map.insert("environment".into(), serde_json::from_slice(&plain)?);
            }
        }
        Ok(serde_json::from_value(value)?)
    }

    /// Replaces a non-empty `environment` of a record's map by its sealed form.
    fn seal_map(
        &self,
        map: &mut Map<String, Value>,
        name: &str,
        version: &str,
    ) -> Result<(), StoreError> {
        let plain = match map.get("environment") {
            Some(Value::Object(vars)) if !vars.is_empty() => serde_json::to_vec(vars)?,
            _ => return Ok(()),
        };
        let kms = map.get("kms_key_arn").and_then(Value::as_str);
        let sealed = self
            .key_for(kms)?
            .seal(&plain, &place(name, version))
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        map.insert("environment".into(), Value::Object(Map::new()));
        map.insert(
            SEALED.into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(sealed)),
        );
        Ok(())
    }
}

fn sealed_error(name: &str, version: &str) -> StoreError {
    StoreError::Io(std::io::Error::other(format!(
        "the environment variables of {name}:{version} do not open under this server's key \
         (server.key replaced, or the database copied from another server)"
    )))
}

impl SqliteStore {
    /// Seals the variables of records stored in the clear (by a Hearth from before
    /// sealing, or restored from a dump); returns how many were sealed.
    pub(crate) fn seal_plain_environments(&self) -> Result<usize, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut sealed = 0;
        for (table, key) in [
            ("functions", "name"),
            ("versions", "function || ':' || version"),
        ] {
            let rows: Vec<(String, String)> = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT {key}, data FROM {table}
                     WHERE json_extract(data, '$.environment') IS NOT NULL
                       AND json_extract(data, '$.environment') != '{{}}'"
                ))?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (id, data) in rows {
                let config = self.env_seal.decode(&data)?;
                let encoded = self.env_seal.encode(&config)?;
                tx.execute(
                    &format!("UPDATE {table} SET data = ?2 WHERE {key} = ?1"),
                    params![id, encoded],
                )?;
                sealed += 1;
            }
        }
        tx.commit()?;
        Ok(sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, version: &str) -> FunctionConfig {
        let mut f = hearth_model::testing::function(name);
        f.version = version.into();
        f.environment = [("SECRET".to_string(), "hunter2-value".to_string())].into();
        f
    }

    #[test]
    fn variables_are_sealed_and_bound_to_their_function() {
        let seal = EnvSeal::new(&SealKey::from_bytes([3; 32]));
        let f = config("f", "$LATEST");
        let stored = seal.encode(&f).expect("encode");
        assert!(!stored.contains("hunter2-value"), "{stored}");
        assert!(!stored.contains("SECRET"), "{stored}");
        assert_eq!(seal.decode(&stored).expect("decode"), f);
        // Moved to another function (or version), the value does not open.
        let moved = stored.replace("\"name\":\"f\"", "\"name\":\"g\"");
        assert!(seal.decode(&moved).is_err());
        // Another server's key does not open it either.
        let other = EnvSeal::new(&SealKey::from_bytes([4; 32]));
        assert!(other.decode(&stored).is_err());
        // A record from before sealing reads as it was.
        let plain = serde_json::to_string(&f).expect("json");
        assert_eq!(seal.decode(&plain).expect("decode"), f);
        // No variables: nothing sealed.
        let mut empty = f.clone();
        empty.environment.clear();
        assert!(!seal.encode(&empty).expect("encode").contains(SEALED));
    }

    #[test]
    fn stored_records_hold_no_variable_and_older_ones_are_sealed_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = SealKey::from_bytes([5; 32]);
        let store = SqliteStore::open_with(dir.path(), &key, false).expect("open");
        let f = config("f", "$LATEST");
        store.insert_function(&f).expect("insert");
        let raw = |store: &SqliteStore| -> String {
            store
                .conn()
                .query_row("SELECT data FROM functions WHERE name = 'f'", [], |r| {
                    r.get(0)
                })
                .expect("row")
        };
        assert!(!raw(&store).contains("hunter2-value"));
        assert_eq!(store.get_function("f").expect("get"), Some(f.clone()));
        // A record in the clear, as an older Hearth wrote it.
        let plain = serde_json::to_string(&f).expect("json");
        store
            .conn()
            .execute("UPDATE functions SET data = ?1 WHERE name = 'f'", [&plain])
            .expect("update");
        drop(store);
        let store = SqliteStore::open_with(dir.path(), &key, false).expect("reopen");
        assert!(!raw(&store).contains("hunter2-value"));
        assert_eq!(store.get_function("f").expect("get"), Some(f));
    }
}
