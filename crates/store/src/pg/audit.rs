//! The audit trail on PostgreSQL ([`AuditStore`]): events appended by the writer's
//! groups ([`super::changes`]), read newest first with filters and paging, and kept
//! within a number of days and of rows, as SQLite's (`crate::audit`).
//!
//! An event's position (`seq`, what a page's `next` names) comes from a sequence, so
//! it is unique across nodes; pages go by it, newest first.

use hearth_model::audit::{AuditAttribute, AuditPage, AuditQuery, AuditRetention};
use tokio_postgres::types::ToSql;

use super::{backend, wait, PgStore};
use crate::traits::AuditStore;
use crate::StoreError;

/// This area's tables, part of the first migration ([`super::migrations`]).
pub(super) const SCHEMA: &str = "
CREATE TABLE audit_events (
    seq BIGSERIAL PRIMARY KEY,
    time_ms BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    event_name TEXT NOT NULL,
    event_source TEXT NOT NULL,
    user_name TEXT NOT NULL,
    principal TEXT NOT NULL,
    access_key TEXT,
    action TEXT,
    resource TEXT,
    resource_type TEXT,
    data TEXT NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (time_ms);
";

const DAY_MS: i64 = 86_400_000;
/// Rows deleted per statement, as SQLite's expiry: short transactions.
const DELETE_BATCH: i64 = crate::retention::DELETE_BATCH;

/// The SQL of a lookup and its parameters.
fn lookup_sql(q: &AuditQuery) -> (String, Vec<Box<dyn ToSql + Sync>>) {
    let mut sql = String::from("SELECT seq, data FROM audit_events WHERE TRUE");
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    // Adds `clause` with its `?` as the next parameter, `v`.
    let mut arg = |sql: &mut String, clause: &str, v: Box<dyn ToSql + Sync>| {
        args.push(v);
        sql.push_str(&clause.replace('?', &format!("${}", args.len())));
    };
    if let Some(t) = q.start_ms {
        arg(&mut sql, " AND time_ms >= ?", Box::new(t));
    }
    if let Some(t) = q.end_ms {
        arg(&mut sql, " AND time_ms <= ?", Box::new(t));
    }
    if let Some(before) = q.before {
        arg(&mut sql, " AND seq < ?", Box::new(before));
    }
    if let Some((key, value)) = &q.attribute {
        let column = match key {
            AuditAttribute::EventId => Some("event_id"),
            AuditAttribute::EventName => Some("event_name"),
            AuditAttribute::Username => Some("user_name"),
            AuditAttribute::ResourceType => Some("resource_type"),
            AuditAttribute::ResourceName => Some("resource"),
            AuditAttribute::EventSource => Some("event_source"),
            AuditAttribute::AccessKeyId => Some("access_key"),
            // Only writes are recorded: every event is not read-only, none is.
            AuditAttribute::ReadOnly => None,
        };
        match column {
            Some(column) => arg(
                &mut sql,
                &format!(" AND {column} = ?::TEXT"),
                Box::new(value.clone()),
            ),
            None if value == "false" => {}
            None => sql.push_str(" AND FALSE"),
        }
    }
    if let Some(p) = &q.principal {
        arg(
            &mut sql,
            " AND (principal = ?::TEXT OR user_name = ?::TEXT)",
            Box::new(p.clone()),
        );
    }
    if let Some(a) = &q.action {
        // An operation's name also finds it by its action (`lambda:DeleteFunction`),
        // whatever CloudTrail's event name (`DeleteFunction20150331`). SQLite's LIKE
        // ignores ASCII case and has no escape character: ILIKE with none.
        arg(
            &mut sql,
            " AND (event_name = ?::TEXT OR action = ?::TEXT \
             OR action ILIKE ('%:' || ?::TEXT) ESCAPE '')",
            Box::new(a.clone()),
        );
    }
    if let Some(a) = &q.account {
        arg(
            &mut sql,
            " AND ((data::jsonb ->> 'account') = ?::TEXT \
             OR (data::jsonb ->> 'resource_account') = ?::TEXT)",
            Box::new(a.clone()),
        );
    }
    // One more than asked: whether a next page exists.
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX).saturating_add(1);
    arg(&mut sql, " ORDER BY seq DESC LIMIT ?", Box::new(limit));
    (sql, args)
}

impl AuditStore for PgStore {
    fn lookup_audit(&self, q: &AuditQuery) -> Result<AuditPage, StoreError> {
        let (sql, args) = lookup_sql(q);
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a).collect();
        let c = self.conn()?;
        let rows = wait(c.query(&sql, &params)).map_err(backend)?;
        let mut events = Vec::new();
        let mut last = None;
        for r in &rows {
            if events.len() == q.limit {
                return Ok(AuditPage { events, next: last });
            }
            let seq: i64 = r.try_get(0).map_err(backend)?;
            let data: String = r.try_get(1).map_err(backend)?;
            events.push(serde_json::from_str(&data)?);
            last = Some(seq);
        }
        Ok(AuditPage { events, next: None })
    }

    /// Deletes events older than the retention's days, then the oldest beyond its row
    /// cap, a batch at a time; returns how many went.
    fn expire_audit(&self, now_ms: i64, keep: AuditRetention) -> Result<usize, StoreError> {
        let cutoff = now_ms.saturating_sub(i64::from(keep.days).saturating_mul(DAY_MS));
        let c = self.conn()?;
        let batched = |sql: &str, params: &[&(dyn ToSql + Sync)]| -> Result<usize, StoreError> {
            let stmt = wait(c.prepare(sql)).map_err(backend)?;
            let mut removed = 0;
            loop {
                let n = wait(c.execute(&stmt, params)).map_err(backend)?;
                removed += n as usize;
                if (n as i64) < DELETE_BATCH {
                    return Ok(removed);
                }
            }
        };
        let old = batched(
            "DELETE FROM audit_events WHERE seq IN
                 (SELECT seq FROM audit_events WHERE time_ms < $1 ORDER BY seq LIMIT $2)",
            &[&cutoff, &DELETE_BATCH],
        )?;
        let max = i64::try_from(keep.max_events).unwrap_or(i64::MAX);
        let over = batched(
            "DELETE FROM audit_events WHERE seq IN
                 (SELECT seq FROM audit_events ORDER BY seq LIMIT
                      LEAST($2, GREATEST(0, (SELECT COUNT(*) FROM audit_events) - $1)))",
            &[&max, &DELETE_BATCH],
        )?;
        Ok(old + over)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_numbers_its_parameters() {
        let q = AuditQuery {
            start_ms: Some(1),
            end_ms: Some(2),
            before: Some(3),
            attribute: Some((AuditAttribute::EventName, "E".into())),
            principal: Some("p".into()),
            action: Some("a".into()),
            account: Some("000000000000".into()),
            limit: 10,
        };
        let (sql, args) = lookup_sql(&q);
        assert_eq!(args.len(), 8);
        for n in 1..=8 {
            assert!(sql.contains(&format!("${n}")), "${n} in {sql}");
        }
        assert!(!sql.contains("$9") && !sql.contains('?'), "{sql}");
        assert!(sql.ends_with("LIMIT $8"), "{sql}");
    }

    #[test]
    fn read_only_true_matches_nothing_and_false_everything() {
        let q = |v: &str| AuditQuery {
            attribute: Some((AuditAttribute::ReadOnly, v.into())),
            limit: 1,
            ..Default::default()
        };
        let (yes, args) = lookup_sql(&q("true"));
        assert!(yes.contains("AND FALSE"), "{yes}");
        assert_eq!(args.len(), 1);
        let (no, args) = lookup_sql(&q("false"));
        assert!(!no.contains("FALSE"), "{no}");
        assert_eq!(args.len(), 1);
    }
}
