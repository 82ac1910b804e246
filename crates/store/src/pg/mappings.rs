//! Event-source mappings on PostgreSQL ([`MappingStore`]): the same table of JSON records
//! as the SQLite store keeps (`crate::mappings`). The unique index on (function ARN,
//! source ARN) decides between nodes creating the same mapping at once: the insert is
//! `ON CONFLICT DO NOTHING`, and the loser is answered the winner's UUID.

use hearth_model::event_source_mapping::EventSourceMapping;
use tokio_postgres::{GenericClient, Row};

use super::{backend, wait, PgStore};
use crate::traits::{Edit, Edited, MappingStore};
use crate::StoreError;

/// The migration step that makes the table ([`super::migrations`]).
pub(super) const SCHEMA: &str = r#"
CREATE TABLE event_source_mappings (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    account TEXT COLLATE "C" NOT NULL,
    function_arn TEXT COLLATE "C" NOT NULL,
    source_arn TEXT COLLATE "C" NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX event_source_mappings_pair
    ON event_source_mappings (function_arn, source_arn);
CREATE INDEX event_source_mappings_account ON event_source_mappings (account, uuid);
"#;

fn mapping_of(r: &Row) -> Result<EventSourceMapping, StoreError> {
    Ok(serde_json::from_str(r.try_get(0).map_err(backend)?)?)
}

fn pair_holder<C: GenericClient>(
    c: &C,
    m: &EventSourceMapping,
) -> Result<Option<String>, StoreError> {
    let row = wait(c.query_opt(
        "SELECT uuid FROM event_source_mappings WHERE function_arn = $1 AND source_arn = $2",
        &[&m.function_arn, &m.event_source_arn],
    ))
    .map_err(backend)?;
    row.map(|r| r.try_get(0).map_err(backend)).transpose()
}

impl MappingStore for PgStore {
    fn insert_mapping(&self, m: &EventSourceMapping) -> Result<(), StoreError> {
        let data = serde_json::to_string(m)?;
        let c = self.conn()?;
        let n = wait(c.execute(
            "INSERT INTO event_source_mappings (uuid, account, function_arn, source_arn, data)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[
                &m.uuid,
                &m.account,
                &m.function_arn,
                &m.event_source_arn,
                &data,
            ],
        ))
        .map_err(backend)?;
        if n == 0 {
            let holder = pair_holder(&*c, m)?.unwrap_or_else(|| m.uuid.clone());
            return Err(StoreError::Exists(holder));
        }
        Ok(())
    }

    fn get_mapping(&self, uuid: &str) -> Result<Option<EventSourceMapping>, StoreError> {
        let c = self.conn()?;
        let row = wait(c.query_opt(
            "SELECT data FROM event_source_mappings WHERE uuid = $1",
            &[&uuid],
        ))
        .map_err(backend)?;
        row.as_ref().map(mapping_of).transpose()
    }

    fn list_mappings(
        &self,
        account: &str,
        function_arn: Option<&str>,
        source_arn: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<EventSourceMapping>, StoreError> {
        let c = self.conn()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let after = after.unwrap_or("");
        let rows = wait(c.query(
            "SELECT data FROM event_source_mappings
             WHERE account = $1 AND ($2::TEXT IS NULL OR function_arn = $2)
               AND ($3::TEXT IS NULL OR source_arn = $3) AND uuid > $4
             ORDER BY uuid LIMIT $5",
            &[&account, &function_arn, &source_arn, &after, &limit],
        ))
        .map_err(backend)?;
        rows.iter().map(mapping_of).collect()
    }

    fn all_mappings(&self) -> Result<Vec<EventSourceMapping>, StoreError> {
        let c = self.conn()?;
        let rows = wait(c.query("SELECT data FROM event_source_mappings ORDER BY uuid", &[]))
            .map_err(backend)?;
        rows.iter().map(mapping_of).collect()
    }

    fn edit_mapping(
        &self,
        uuid: &str,
        edit: Edit<'_, EventSourceMapping>,
    ) -> Result<Edited<EventSourceMapping>, StoreError> {
        let mut c = self.conn()?;
        let tx = wait(c.transaction()).map_err(backend)?;
        let row = wait(tx.query_opt(
            "SELECT data FROM event_source_mappings WHERE uuid = $1 FOR UPDATE",
            &[&uuid],
        ))
        .map_err(backend)?;
        let Some(mut m) = row.as_ref().map(mapping_of).transpose()? else {
            return Ok(Edited::Missing);
        };
        if !edit(&mut m) {
            return Ok(Edited::Declined);
        }
        let data = serde_json::to_string(&m)?;
        wait(tx.execute(
            "UPDATE event_source_mappings SET data = $2, function_arn = $3 WHERE uuid = $1",
            &[&uuid, &data, &m.function_arn],
        ))
        .map_err(backend)?;
        wait(tx.commit()).map_err(backend)?;
        Ok(Edited::Done(m))
    }

    fn delete_mapping(&self, uuid: &str) -> Result<bool, StoreError> {
        let c = self.conn()?;
        let n = wait(c.execute(
            "DELETE FROM event_source_mappings WHERE uuid = $1",
            &[&uuid],
        ))
        .map_err(backend)?;
        Ok(n > 0)
    }
}
