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

#[cfg(test)]
mod tests {
    use hearth_model::alias::Alias;
    use hearth_model::event_invoke::{Destination, DestinationConfig};

    use super::*;
    use crate::db::tests::sample;

    fn config(function: &str, qualifier: &str, retries: i64) -> EventInvokeConfig {
        EventInvokeConfig {
            function: function.into(),
            qualifier: qualifier.into(),
            maximum_retry_attempts: Some(retries),
            maximum_event_age_in_seconds: None,
            destination_config: DestinationConfig {
                on_success: Destination::default(),
                on_failure: Destination {
                    destination: Some("arn:aws:lambda:us-east-1:000000000000:function:g".into()),
                },
            },
            last_modified: 1.5,
        }
    }

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        (dir, store)
    }

    fn publish(store: &SqliteStore, name: &str) {
        crate::versions::tests::publish(store, name);
    }

    fn alias(function: &str, name: &str) -> Alias {
        Alias {
            function: function.into(),
            name: name.into(),
            function_version: "1".into(),
            description: String::new(),
            additional_weights: Default::default(),
            revision_id: "r".into(),
        }
    }

    #[test]
    fn configs_round_trip_per_qualifier() {
        let (_dir, store) = open();
        store.insert_function(&sample("f")).expect("insert");
        publish(&store, "f");
        store.insert_alias(&alias("f", "live")).expect("alias");

        let latest = config("f", LATEST, 0);
        assert!(store.put_event_invoke_config(&latest).expect("put"));
        assert!(store
            .put_event_invoke_config(&config("f", "1", 1))
            .expect("put"));
        assert!(store
            .put_event_invoke_config(&config("f", "live", 2))
            .expect("put"));
        assert_eq!(
            store.get_event_invoke_config("f", LATEST).expect("get"),
            Some(latest)
        );
        // Put replaces.
        assert!(store
            .put_event_invoke_config(&config("f", LATEST, 2))
            .expect("put"));
        let listed: Vec<_> = store
            .list_event_invoke_configs("f")
            .expect("list")
            .into_iter()
            .map(|c| (c.qualifier, c.maximum_retry_attempts))
            .collect();
        assert_eq!(
            listed,
            [
                (LATEST.to_string(), Some(2)),
                ("1".to_string(), Some(1)),
                ("live".to_string(), Some(2))
            ]
        );

        let updated = store
            .metadata()
            .update_event_invoke_config("f", "1", |c| {
                c.maximum_event_age_in_seconds = Some(60);
                Ok::<_, ()>(())
            })
            .expect("db")
            .expect("exists")
            .expect("updated");
        assert_eq!(
            (
                updated.maximum_retry_attempts,
                updated.maximum_event_age_in_seconds
            ),
            (Some(1), Some(60))
        );
        assert!(store
            .metadata()
            .update_event_invoke_config("f", "2", |_| Ok::<_, ()>(()))
            .expect("db")
            .is_none());

        assert!(store
            .delete_event_invoke_config("f", "live")
            .expect("delete"));
        assert!(!store
            .delete_event_invoke_config("f", "live")
            .expect("delete"));
        assert!(store
            .get_event_invoke_config("f", "live")
            .expect("get")
            .is_none());
    }

    #[test]
    fn a_config_needs_its_function_version_or_alias() {
        let (_dir, store) = open();
        assert!(!store
            .put_event_invoke_config(&config("f", LATEST, 0))
            .expect("put"));
        store.insert_function(&sample("f")).expect("insert");
        assert!(store
            .put_event_invoke_config(&config("f", LATEST, 0))
            .expect("put"));
        for missing in ["1", "live", "01x"] {
            assert!(
                !store
                    .put_event_invoke_config(&config("f", missing, 0))
                    .expect("put"),
                "{missing}"
            );
        }
        assert_eq!(store.list_event_invoke_configs("f").expect("list").len(), 1);
    }

    #[test]
    fn configs_go_with_their_version_alias_or_function() {
        let (_dir, store) = open();
        for name in ["f", "g"] {
            store.insert_function(&sample(name)).expect("insert");
            publish(&store, name);
            store.insert_alias(&alias(name, "live")).expect("alias");
            for q in [LATEST, "1", "live"] {
                assert!(store
                    .put_event_invoke_config(&config(name, q, 0))
                    .expect("put"));
            }
        }
        assert!(store.delete_version("f", 1).expect("delete version"));
        assert!(store
            .get_event_invoke_config("f", "1")
            .expect("get")
            .is_none());
        assert!(store.delete_alias("f", "live").expect("delete alias"));
        assert!(store
            .get_event_invoke_config("f", "live")
            .expect("get")
            .is_none());
        assert!(store
            .get_event_invoke_config("f", LATEST)
            .expect("get")
            .is_some());

        assert!(store.delete_function("f").expect("delete function"));
        assert!(store
            .list_event_invoke_configs("f")
            .expect("list")
            .is_empty());
        // Another function's configurations stay.
        assert_eq!(store.list_event_invoke_configs("g").expect("list").len(), 3);
    }
}
