//! Event-source mappings on SQLite: the side of [`crate::traits::MappingStore`] that keeps
//! each mapping's JSON record with the columns it is found by.

use hearth_model::event_source_mapping::EventSourceMapping;
use rusqlite::{params, OptionalExtension, Transaction};

use crate::traits::{Edit, Edited, MappingStore};
use crate::{SqliteStore, StoreError};

/// The migration step that makes the table (see `migrations.rs`). One mapping per
/// function and source: the unique index is what makes a racing second create fail.
pub(crate) const SCHEMA: &str = "
CREATE TABLE event_source_mappings (
    uuid TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    function_arn TEXT NOT NULL,
    source_arn TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX event_source_mappings_pair
    ON event_source_mappings (function_arn, source_arn);
CREATE INDEX event_source_mappings_account ON event_source_mappings (account, uuid);
";

fn decode(data: &str) -> Result<EventSourceMapping, StoreError> {
    Ok(serde_json::from_str(data)?)
}

fn read(tx: &Transaction<'_>, uuid: &str) -> Result<Option<EventSourceMapping>, StoreError> {
    let data: Option<String> = tx
        .query_row(
            "SELECT data FROM event_source_mappings WHERE uuid = ?1",
            params![uuid],
            |r| r.get(0),
        )
        .optional()?;
    data.as_deref().map(decode).transpose()
}

impl MappingStore for SqliteStore {
    fn insert_mapping(&self, m: &EventSourceMapping) -> Result<(), StoreError> {
        let data = serde_json::to_string(m)?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT uuid FROM event_source_mappings
                 WHERE function_arn = ?1 AND source_arn = ?2",
                params![m.function_arn, m.event_source_arn],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(uuid) = existing {
            return Err(StoreError::Exists(uuid));
        }
        let n = tx.execute(
            "INSERT OR IGNORE INTO event_source_mappings
                 (uuid, account, function_arn, source_arn, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![m.uuid, m.account, m.function_arn, m.event_source_arn, data],
        )?;
        if n == 0 {
            return Err(StoreError::Exists(m.uuid.clone()));
        }
        tx.commit()?;
        Ok(())
    }

    fn get_mapping(&self, uuid: &str) -> Result<Option<EventSourceMapping>, StoreError> {
        let data: Option<String> = self
            .conn()
            .query_row(
                "SELECT data FROM event_source_mappings WHERE uuid = ?1",
                params![uuid],
                |r| r.get(0),
            )
            .optional()?;
        data.as_deref().map(decode).transpose()
    }

    fn list_mappings(
        &self,
        account: &str,
        function_arn: Option<&str>,
        source_arn: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<EventSourceMapping>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT data FROM event_source_mappings
             WHERE account = ?1 AND (?2 IS NULL OR function_arn = ?2)
               AND (?3 IS NULL OR source_arn = ?3) AND uuid > ?4
             ORDER BY uuid LIMIT ?5",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(
            params![
                account,
                function_arn,
                source_arn,
                after.unwrap_or(""),
                limit
            ],
            |r| r.get::<_, String>(0),
        )?;
        rows.map(|r| decode(&r?)).collect()
    }

    fn all_mappings(&self) -> Result<Vec<EventSourceMapping>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT data FROM event_source_mappings ORDER BY uuid")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|r| decode(&r?)).collect()
    }

    fn edit_mapping(
        &self,
        uuid: &str,
        edit: Edit<'_, EventSourceMapping>,
    ) -> Result<Edited<EventSourceMapping>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let Some(mut m) = read(&tx, uuid)? else {
            return Ok(Edited::Missing);
        };
        if !edit(&mut m) {
            return Ok(Edited::Declined);
        }
        tx.execute(
            "UPDATE event_source_mappings SET data = ?2, function_arn = ?3 WHERE uuid = ?1",
            params![uuid, serde_json::to_string(&m)?, m.function_arn],
        )?;
        tx.commit()?;
        Ok(Edited::Done(m))
    }

    fn delete_mapping(&self, uuid: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM event_source_mappings WHERE uuid = ?1",
            params![uuid],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use hearth_model::event_source_mapping::MappingState;
    use hearth_model::testing::mapping as sample;

    use super::*;

    #[test]
    fn one_mapping_per_function_and_source_and_lists_filter_and_page() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let q = "arn:aws:sqs:us-east-1:000000000000:q";
        store.insert_mapping(&sample("a", "f", q)).expect("a");
        let err = store
            .insert_mapping(&sample("b", "f", q))
            .expect_err("conflict");
        assert!(
            matches!(err, StoreError::Exists(ref u) if u == "a"),
            "{err}"
        );
        store
            .insert_mapping(&sample("c", "g", q))
            .expect("another function");
        let all = store
            .list_mappings("000000000000", None, Some(q), None, 10)
            .expect("list");
        assert_eq!(all.len(), 2);
        let page = store
            .list_mappings("000000000000", None, None, Some("a"), 10)
            .expect("page");
        assert_eq!(page[0].uuid, "c");
        let of_f = store
            .list_mappings("000000000000", Some(&all[0].function_arn), None, None, 10)
            .expect("by function");
        assert_eq!(of_f.len(), 1);
        let edited = store
            .edit_mapping(
                "a",
                Box::new(|m| {
                    m.state = MappingState::Enabled;
                    true
                }),
            )
            .expect("edit");
        assert!(matches!(edited, Edited::Done(ref m) if m.state == MappingState::Enabled));
        assert!(store.delete_mapping("a").expect("delete"));
        assert!(store.get_mapping("a").expect("get").is_none());
        assert_eq!(store.all_mappings().expect("all").len(), 1);
    }
}
