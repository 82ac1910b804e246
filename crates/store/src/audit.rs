//! The audit trail's table: events appended by the writer thread (never on a request's
//! path), read newest first with one filter, and kept within a number of days and a
//! number of rows by the retention sweep.

use hearth_model::audit::{AuditAttribute, AuditEvent, AuditPage, AuditQuery, AuditRetention};
use rusqlite::params;

use crate::{SqliteStore, StoreError};

const DAY_MS: i64 = 86_400_000;
/// Rows deleted per statement (as `delete_batched` expects), so that a large expiry does
/// not hold the lock long.
const DELETE_BATCH: i64 = crate::retention::DELETE_BATCH;

/// Appends an event in the writer's transaction.
pub(crate) fn append(tx: &rusqlite::Connection, e: &AuditEvent) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO audit_events (time_ms, event_id, event_name, event_source, user_name,
             principal, access_key, action, resource, resource_type, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        e.time_ms,
        e.event_id,
        e.event_name,
        e.event_source,
        e.user_name,
        e.principal_arn,
        e.access_key_id,
        e.action,
        e.resource_arn,
        e.resource_type,
        serde_json::to_string(e)?,
    ])?;
    Ok(())
}

impl SqliteStore {
    pub(crate) fn lookup_audit(&self, q: &AuditQuery) -> Result<AuditPage, StoreError> {
        let mut sql = String::from("SELECT seq, data FROM audit_events WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(t) = q.start_ms {
            arg(&mut sql, " AND time_ms >= ?", t.into());
        }
        if let Some(t) = q.end_ms {
            arg(&mut sql, " AND time_ms <= ?", t.into());
        }
        if let Some(before) = q.before {
            arg(&mut sql, " AND seq < ?", before.into());
        }
        if let Some((key, value)) = &q.attribute {
            let column = match key {
                AuditAttribute::EventId => "event_id",
                AuditAttribute::EventName => "event_name",
                AuditAttribute::Username => "user_name",
                AuditAttribute::ResourceType => "resource_type",
                AuditAttribute::ResourceName => "resource",
                AuditAttribute::EventSource => "event_source",
                AuditAttribute::AccessKeyId => "access_key",
                // Only writes are recorded.
                AuditAttribute::ReadOnly if value == "false" => "''",
                AuditAttribute::ReadOnly => "NULL",
            };
            if column == "''" {
                // Every event is a write: no filter.
            } else {
                arg(
                    &mut sql,
                    &format!(" AND {column} = ?"),
                    value.clone().into(),
                );
            }
        }
        if let Some(p) = &q.principal {
            args.push(p.clone().into());
            let n = args.len();
            sql.push_str(&format!(" AND (principal = ?{n} OR user_name = ?{n})"));
        }
        if let Some(a) = &q.action {
            args.push(a.clone().into());
            let n = args.len();
            // An operation's name also finds it by its action (`lambda:DeleteFunction`),
            // whatever CloudTrail's event name (`DeleteFunction20150331`).
            sql.push_str(&format!(
                " AND (event_name = ?{n} OR action = ?{n} OR action LIKE '%:' || ?{n})"
            ));
        }
        if let Some(a) = &q.account {
            args.push(a.clone().into());
            let n = args.len();
            sql.push_str(&format!(
                " AND (json_extract(data, '$.account') = ?{n} \
                 OR json_extract(data, '$.resource_account') = ?{n})"
            ));
        }
        // One more than asked: whether a next page exists.
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", q.limit + 1));
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut events = Vec::new();
        let mut last = None;
        for row in rows {
            let (seq, data) = row?;
            if events.len() == q.limit {
                return Ok(AuditPage { events, next: last });
            }
            events.push(serde_json::from_str(&data)?);
            last = Some(seq);
        }
        Ok(AuditPage { events, next: None })
    }

    /// Deletes events older than the retention's days, then the oldest beyond its row
    /// cap; returns how many went.
    pub(crate) fn expire_audit(
        &self,
        now_ms: i64,
        keep: AuditRetention,
    ) -> Result<usize, StoreError> {
        let cutoff = now_ms.saturating_sub(i64::from(keep.days).saturating_mul(DAY_MS));
        let old = self.delete_batched(|conn| {
            conn.execute(
                "DELETE FROM audit_events WHERE seq IN
                     (SELECT seq FROM audit_events WHERE time_ms < ?1 ORDER BY seq LIMIT ?2)",
                params![cutoff, DELETE_BATCH],
            )
        })?;
        let max = i64::try_from(keep.max_events).unwrap_or(i64::MAX);
        let over = self.delete_batched(|conn| {
            conn.execute(
                "DELETE FROM audit_events WHERE seq IN
                     (SELECT seq FROM audit_events ORDER BY seq LIMIT
                          MIN(?2, MAX(0, (SELECT COUNT(*) FROM audit_events) - ?1)))",
                params![max, DELETE_BATCH],
            )
        })?;
        Ok(old + over)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row an older Hearth wrote, before events kept their parameters (no member in
    /// the JSON of the row), reads back with none.
    #[test]
    fn a_row_from_before_parameters_reads_without_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let old = r#"{"event_id": "id-1", "time_ms": 1000, "account": "000000000000",
            "principal_arn": "arn:aws:iam::000000000000:user/a", "principal_id": "AIDA",
            "principal_type": "IAMUser", "user_name": "a", "access_key_id": null,
            "event_source": "lambda.amazonaws.com", "event_name": "CreateFunction",
            "action": null, "resource_arn": null, "resource_type": null,
            "source_ip": "127.0.0.1", "user_agent": null, "request_id": "req-1",
            "region": "us-east-1", "secure": false, "status": 200, "error_code": null}"#;
        store
            .conn()
            .execute(
                "INSERT INTO audit_events (time_ms, event_id, event_name, event_source,
                     user_name, principal, data)
                 VALUES (1000, 'id-1', 'CreateFunction', 'lambda.amazonaws.com', 'a',
                     'arn:aws:iam::000000000000:user/a', ?1)",
                [old],
            )
            .expect("an old row");
        let page = store
            .lookup_audit(&AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            })
            .expect("lookup");
        assert_eq!(page.events.len(), 1);
        assert_eq!(page.events[0].event_id, "id-1");
        assert_eq!(page.events[0].request_parameters, None);
    }
}
