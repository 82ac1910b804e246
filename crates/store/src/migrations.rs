//! The SQLite schema as a numbered list of migrations. The version applied is the
//! database's `PRAGMA user_version`; opening applies each later migration once, in its
//! own transaction together with the new version number, and refuses a database whose
//! version is newer than this build knows (a newer Hearth wrote it).
//!
//! Databases written before versions were recorded have version 0 and hold the tables
//! of whichever Hearth made them, so migration 1, the schema of that time, creates what
//! is missing (`IF NOT EXISTS`) and moves the one-line log rows of the earliest versions
//! into chunks. Every later migration is plain DDL: add one at the end, never change one
//! that has shipped.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::StoreError;

/// One step of the schema.
pub(crate) struct Migration {
    /// 1, 2, 3, ... in order; the `user_version` once it is applied.
    pub version: i64,
    /// What it does, for the server log.
    pub name: &'static str,
    pub apply: fn(&Transaction<'_>) -> rusqlite::Result<()>,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "the schema before versions were recorded",
        apply: baseline,
    },
    Migration {
        version: 2,
        name: "tags by resource ARN, resource policies, function settings",
        apply: resources,
    },
    Migration {
        version: 3,
        name: "access keys",
        apply: access_keys,
    },
    Migration {
        version: 4,
        name: "IAM roles",
        apply: roles,
    },
    Migration {
        version: 5,
        name: "the audit trail, Hearth's KMS keys",
        apply: audit,
    },
    Migration {
        version: 6,
        name: "fleet nodes and leases",
        apply: fleet,
    },
    Migration {
        version: 7,
        name: "async events held by nodes, nodes' own timeouts and drains",
        apply: owners,
    },
    Migration {
        version: 8,
        name: "concurrency tokens held by nodes",
        apply: tokens,
    },
    HTTP_APIS,
    Migration {
        version: 10,
        name: "function URLs",
        apply: function_urls,
    },
    SQS,
    SNS,
    EVENT_SOURCE_MAPPINGS,
    SQS_DELETIONS_AND_MOVE_TASKS,
    EVENTS,
    METRICS,
    QUEUE_TRACES,
    LAYERS,
    CONSOLE_SIGNOUTS,
    SCHEMA_REGISTRIES,
];

/// The web console's signed-out sessions (`console.rs`). Its own constant so that a
/// step added beside it renumbers simply.
const CONSOLE_SIGNOUTS: Migration = Migration {
    version: 19,
    name: "console sign-outs",
    apply: console_signouts,
};

fn console_signouts(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::console::SCHEMA)
}

/// EventBridge Schemas' registries and schema versions (`schemas.rs`). Its own constant
/// so that a step added beside it renumbers simply.
const SCHEMA_REGISTRIES: Migration = Migration {
    version: 20,
    name: "EventBridge Schemas registries and schemas",
    apply: schema_registries,
};

fn schema_registries(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::schemas::SCHEMA)
}

/// Lambda layers' versions and their numbering (`layers.rs`). Its own constant so that
/// a step added beside it renumbers simply.
const LAYERS: Migration = Migration {
    version: 18,
    name: "Lambda layer versions",
    apply: layers,
};

fn layers(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::layers::SCHEMA)
}

/// The asynchronous queue's trace header and loop-detection mark (`queue.rs`). Its own
/// constant so that a step added beside it renumbers simply.
const QUEUE_TRACES: Migration = Migration {
    version: 17,
    name: "async events' trace headers",
    apply: queue_traces,
};

fn queue_traces(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::queue::TRACE_SCHEMA)
}

/// SQS queues and messages (`sqs.rs`). Its own constant so that a step added beside it
/// renumbers simply.
const SQS: Migration = Migration {
    version: 11,
    name: "SQS queues and messages",
    apply: sqs,
};

fn sqs(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::sqs::SCHEMA)
}

/// SNS topics, subscriptions, pending deliveries and settings (`sns.rs`). Its own
/// constant so that steps added beside it (issue 16's other services) renumber simply.
const SNS: Migration = Migration {
    version: 12,
    name: "SNS topics, subscriptions and deliveries",
    apply: sns,
};

fn sns(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::sns::SCHEMA)
}

/// Event-source mappings (`mappings.rs`). Its own constant so that a step added beside
/// it renumbers simply.
const EVENT_SOURCE_MAPPINGS: Migration = Migration {
    version: 13,
    name: "event-source mappings",
    apply: event_source_mappings,
};

fn event_source_mappings(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::mappings::SCHEMA)
}

/// SQS's deleted queues and message move tasks (`sqs.rs`). Its own constant so that a
/// step added beside it renumbers simply.
const SQS_DELETIONS_AND_MOVE_TASKS: Migration = Migration {
    version: 14,
    name: "SQS queue deletions and message move tasks",
    apply: sqs_deletions_and_move_tasks,
};

fn sqs_deletions_and_move_tasks(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::sqs::SCHEMA_14)
}

/// EventBridge's buses and rules, Scheduler's groups and schedules, their fire progress
/// and pending target deliveries (`events.rs`). Its own constant so that a step added
/// beside it renumbers simply.
const EVENTS: Migration = Migration {
    version: 15,
    name: "EventBridge buses and rules, Scheduler groups and schedules, deliveries",
    apply: events,
};

fn events(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::events::SCHEMA)
}

/// CloudWatch's metric series and points, metric alarms with their history, and
/// metering (`metrics.rs`). Its own constant so that a step added beside it renumbers
/// simply.
const METRICS: Migration = Migration {
    version: 16,
    name: "CloudWatch metrics, alarms and alarm history, metering",
    apply: metrics,
};

fn metrics(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::metrics::SCHEMA)
}

/// API Gateway HTTP APIs and their integrations, routes, stages and deployments
/// (`http_apis.rs`). Its own constant so that a step added beside it renumbers simply.
const HTTP_APIS: Migration = Migration {
    version: 9,
    name: "API Gateway HTTP APIs",
    apply: http_apis,
};

fn http_apis(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::http_apis::SCHEMA)
}

const BASELINE: &str = "
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS log_chunks (
    -- Not AUTOINCREMENT: that costs a write to sqlite_sequence per commit. Ids only grow
    -- while the newest row is kept; deleting a whole log group may reuse them, which
    -- only matters to a follower of that deleted group.
    id INTEGER PRIMARY KEY,
    function TEXT NOT NULL,
    stream TEXT NOT NULL,
    ts INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    count INTEGER NOT NULL,
    stamps BLOB NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_chunks_by_function ON log_chunks (function, id);
CREATE TABLE IF NOT EXISTS log_groups (
    function TEXT PRIMARY KEY,
    retention_days INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    function TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE TABLE IF NOT EXISTS aliases (
    function TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, name)
);
CREATE TABLE IF NOT EXISTS function_meta (
    function TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL DEFAULT 0,
    reserved INTEGER
);
CREATE TABLE IF NOT EXISTS provisioned (
    function TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE IF NOT EXISTS event_invoke_configs (
    function TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    function TEXT NOT NULL,
    qualifier TEXT,
    payload BLOB NOT NULL,
    client_context TEXT,
    accepted_ms INTEGER NOT NULL,
    due_ms INTEGER NOT NULL,
    runs INTEGER NOT NULL DEFAULT 0,
    setbacks INTEGER NOT NULL DEFAULT 0,
    last_outcome TEXT
);
";

/// Moves rows of the one-line-per-row `logs` table of the earliest versions into
/// chunks of one line (keeping their ids, so followers' positions hold).
const LOG_ROWS_TO_CHUNKS: &str = "
INSERT INTO log_chunks (id, function, stream, ts, last_ts, count, stamps, body)
    SELECT id, function, stream, ts, ts, 1, x'', message FROM logs;
DROP TABLE logs;
";

fn baseline(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(BASELINE)?;
    let old_logs: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'logs')",
        [],
        |r| r.get(0),
    )?;
    if old_logs {
        tx.execute_batch(LOG_ROWS_TO_CHUNKS)?;
    }
    Ok(())
}

/// Tags move out of the function records (where CreateFunction's were kept) into a
/// table keyed by resource ARN; policies and settings are new.
const RESOURCES: &str = "
CREATE TABLE tags (
    resource TEXT PRIMARY KEY,
    function TEXT,
    data TEXT NOT NULL
);
CREATE INDEX tags_by_function ON tags (function);
CREATE TABLE policies (
    function TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE function_settings (
    function TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
INSERT INTO tags (resource, function, data)
    SELECT 'arn:aws:lambda:us-east-1:000000000000:function:' || name, name,
           json_extract(data, '$.tags')
    FROM functions
    WHERE json_type(data, '$.tags') = 'object' AND json_extract(data, '$.tags') != '{}';
UPDATE functions SET data = json_set(data, '$.tags', json('{}'))
    WHERE json_type(data, '$.tags') = 'object';
UPDATE versions SET data = json_set(data, '$.tags', json('{}'))
    WHERE json_type(data, '$.tags') = 'object';
";

fn resources(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(RESOURCES)
}

/// Access keys (issue 14), their secrets sealed under the server key.
const ACCESS_KEYS: &str = "
CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    user_name TEXT,
    sealed_secret BLOB NOT NULL,
    policy TEXT,
    created INTEGER NOT NULL
);
CREATE INDEX access_keys_by_user ON access_keys (account, user_name);
";

fn access_keys(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(ACCESS_KEYS)
}

const ROLES: &str = "
CREATE TABLE roles (
    account TEXT NOT NULL,
    -- The name folded to lower case: IAM's names are unique regardless of case.
    key TEXT NOT NULL,
    path TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (account, key)
);
";

fn roles(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(ROLES)
}

/// The audit trail (`audit.rs`): an event's JSON with the columns lookups filter on.
/// (Environment variables sealed at rest need no DDL: records are sealed when the store
/// opens, see `sealed_env.rs`.)
const AUDIT: &str = "
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
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
CREATE TABLE kms_keys (
    key_id TEXT PRIMARY KEY,
    arn TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    data_key BLOB NOT NULL
);
";

fn audit(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(AUDIT)
}

fn fleet(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::fleet::SQLITE_SCHEMA)
}

fn owners(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::queue::OWNER_SCHEMA)?;
    tx.execute_batch(crate::fleet::SQLITE_SCHEMA_2)
}

fn tokens(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::tokens::SQLITE_SCHEMA)
}

/// Function URLs: one JSON row per function and qualifier, found by the URL's id (a
/// generated column, so that the data plane's lookup is one index probe).
const FUNCTION_URLS: &str = "
CREATE TABLE function_urls (
    function TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    data TEXT NOT NULL,
    url_id TEXT GENERATED ALWAYS AS (json_extract(data, '$.url_id')) VIRTUAL,
    PRIMARY KEY (function, qualifier)
);
CREATE UNIQUE INDEX function_urls_by_id ON function_urls (url_id);
";

fn function_urls(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(FUNCTION_URLS)
}

fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Brings the database to the last of `migrations`.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    let supported = migrations.last().map_or(0, |m| m.version);
    for m in migrations {
        // Taken before reading the version, so that two processes opening one database
        // cannot both apply a step.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = version(&tx)?;
        if found > supported {
            return Err(StoreError::NewerSchema { found, supported });
        }
        if found >= m.version {
            continue;
        }
        (m.apply)(&tx)?;
        tx.pragma_update(None, "user_version", m.version)?;
        tx.commit()?;
        tracing::info!(
            version = m.version,
            migration = m.name,
            "migrated the database"
        );
    }
    // With nothing to apply the loop above did not look.
    let found = version(conn)?;
    if found > supported {
        return Err(StoreError::NewerSchema { found, supported });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::tests::first_logs;
    use crate::{MetadataStore, SqliteStore};

    /// The schema as Hearth wrote it before versions were recorded (every table the
    /// releases of that time made), with no `user_version`.
    const UNVERSIONED: &str = "
        CREATE TABLE functions (name TEXT PRIMARY KEY, data TEXT NOT NULL);
        CREATE TABLE log_chunks (id INTEGER PRIMARY KEY, function TEXT NOT NULL,
            stream TEXT NOT NULL, ts INTEGER NOT NULL, last_ts INTEGER NOT NULL,
            count INTEGER NOT NULL, stamps BLOB NOT NULL, body TEXT NOT NULL);
        CREATE INDEX log_chunks_by_function ON log_chunks (function, id);
        CREATE TABLE log_groups (function TEXT PRIMARY KEY, retention_days INTEGER NOT NULL);
        CREATE TABLE versions (function TEXT NOT NULL, version INTEGER NOT NULL,
            data TEXT NOT NULL, PRIMARY KEY (function, version));
        CREATE TABLE aliases (function TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (function, name));
        CREATE TABLE function_meta (function TEXT PRIMARY KEY,
            last_version INTEGER NOT NULL DEFAULT 0, reserved INTEGER);
        CREATE TABLE provisioned (function TEXT NOT NULL, qualifier TEXT NOT NULL,
            data TEXT NOT NULL, PRIMARY KEY (function, qualifier));
        CREATE TABLE event_invoke_configs (function TEXT NOT NULL, qualifier TEXT NOT NULL,
            data TEXT NOT NULL, PRIMARY KEY (function, qualifier));
        CREATE TABLE queue (seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL,
            function TEXT NOT NULL, qualifier TEXT, payload BLOB NOT NULL,
            client_context TEXT, accepted_ms INTEGER NOT NULL, due_ms INTEGER NOT NULL,
            runs INTEGER NOT NULL DEFAULT 0, setbacks INTEGER NOT NULL DEFAULT 0,
            last_outcome TEXT);
    ";

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        let names = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<Vec<String>, _>>()
            .expect("names");
        names
    }

    fn last() -> i64 {
        MIGRATIONS.last().expect("migrations").version
    }

    #[test]
    fn the_versions_increase_from_one() {
        // Strictly increasing (branches of one issue take numbers apart, so a branch
        // alone may skip some until they are merged).
        assert_eq!(MIGRATIONS[0].version, 1);
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version, "{}", pair[1].name);
        }
    }

    #[test]
    fn a_fresh_database_gets_every_table_and_the_last_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _store = SqliteStore::open(dir.path()).expect("open");
        let conn = Connection::open(dir.path().join("hearth.db")).expect("db");
        assert_eq!(version(&conn).expect("version"), last());
        assert_eq!(
            tables(&conn),
            [
                "access_keys",
                "aliases",
                "audit_events",
                "concurrency_tokens",
                "console_signouts",
                "event_invoke_configs",
                "event_source_mappings",
                "events_buses",
                "events_deliveries",
                "events_rules",
                "events_schedule_groups",
                "events_schedule_slots",
                "events_schedules",
                "fleet_nodes",
                "function_meta",
                "function_settings",
                "function_urls",
                "functions",
                "http_api_children",
                "http_apis",
                "kms_keys",
                "layer_meta",
                "layer_versions",
                "leases",
                "log_chunks",
                "log_groups",
                "metering",
                "metric_alarm_history",
                "metric_alarms",
                "metric_points",
                "metric_series",
                "policies",
                "provisioned",
                "queue",
                "roles",
                "schema_registries",
                "schema_versions",
                "sns_dedup",
                "sns_deliveries",
                "sns_settings",
                "sns_subscriptions",
                "sns_topics",
                "sqs_deleted_queues",
                "sqs_messages",
                "sqs_move_tasks",
                "sqs_queues",
                "tags",
                "versions"
            ]
        );
    }

    #[test]
    fn tags_kept_in_function_records_move_to_the_tags_of_their_arn() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut f = crate::db::tests::sample("f");
        f.tags = [("team".to_string(), "a".to_string())].into();
        {
            let mut conn = Connection::open(dir.path().join("hearth.db")).expect("db");
            migrate(&mut conn, &MIGRATIONS[..1]).expect("version 1");
            conn.execute(
                "INSERT INTO functions (name, data) VALUES ('f', ?1)",
                [serde_json::to_string(&f).expect("json")],
            )
            .expect("function");
        }
        let store = SqliteStore::open(dir.path()).expect("open");
        let arn = hearth_model::arn::function_arn("f", None);
        assert_eq!(
            crate::ResourceStore::tags(&store, &arn).expect("tags"),
            f.tags
        );
        let stored = store.get_function("f").expect("get").expect("f");
        assert!(stored.tags.is_empty());
    }

    #[test]
    fn queued_events_from_before_trace_headers_read_back_with_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut conn = Connection::open(dir.path().join("hearth.db")).expect("db");
            let before = MIGRATIONS
                .iter()
                .position(|m| m.version == QUEUE_TRACES.version)
                .expect("the step");
            migrate(&mut conn, &MIGRATIONS[..before]).expect("the version before");
            conn.execute(
                "INSERT INTO queue (seq, request_id, function, payload, accepted_ms, due_ms)
                 VALUES (1, 'r', 'f', x'7b7d', 5, 5)",
                [],
            )
            .expect("an old row");
        }
        let store = SqliteStore::open(dir.path()).expect("open");
        let events = store.queued_events().expect("load");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].request_id, "r");
        assert_eq!(events[0].trace_header, None);
        assert!(!events[0].counts_lineage);
    }

    #[test]
    fn a_database_from_before_versions_keeps_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = crate::db::tests::sample("f");
        {
            let conn = Connection::open(dir.path().join("hearth.db")).expect("db");
            conn.execute_batch(UNVERSIONED).expect("old schema");
            conn.execute(
                "INSERT INTO functions (name, data) VALUES ('f', ?1)",
                [serde_json::to_string(&f).expect("json")],
            )
            .expect("function");
            conn.execute_batch(
                "INSERT INTO log_groups VALUES ('f', 7);
                 INSERT INTO log_chunks (function, stream, ts, last_ts, count, stamps, body)
                     VALUES ('f', 's', 5, 5, 1, x'', 'kept');",
            )
            .expect("rows");
        }
        let store = SqliteStore::open(dir.path()).expect("open");
        assert_eq!(store.get_function("f").expect("get"), Some(f));
        assert_eq!(
            MetadataStore::retention(&store, "f").expect("retention"),
            Some(7)
        );
        let lines = first_logs(&store, "f");
        assert_eq!(lines[0].message, "kept");
        drop(store);
        let conn = Connection::open(dir.path().join("hearth.db")).expect("db");
        assert_eq!(version(&conn).expect("version"), last());
    }

    #[test]
    fn a_database_newer_than_this_build_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let conn = Connection::open(dir.path().join("hearth.db")).expect("db");
            conn.pragma_update(None, "user_version", last() + 1)
                .expect("version");
        }
        let err = SqliteStore::open(dir.path()).err().expect("refused");
        assert!(
            matches!(err, StoreError::NewerSchema { found, supported }
                if found == last() + 1 && supported == last()),
            "{err}"
        );
        assert!(err.to_string().contains("newer"), "{err}");
    }

    fn add_column(tx: &Transaction<'_>) -> rusqlite::Result<()> {
        // Fails if applied twice: the column exists.
        tx.execute_batch("ALTER TABLE functions ADD COLUMN extra TEXT")
    }

    fn half_then_fail(tx: &Transaction<'_>) -> rusqlite::Result<()> {
        tx.execute_batch("CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table")
    }

    #[test]
    fn each_step_is_applied_once_and_a_failed_one_not_at_all() {
        let two = [
            Migration {
                version: 1,
                name: "baseline",
                apply: baseline,
            },
            Migration {
                version: 2,
                name: "a column",
                apply: add_column,
            },
        ];
        let mut conn = Connection::open_in_memory().expect("db");
        migrate(&mut conn, &two).expect("first");
        migrate(&mut conn, &two).expect("again, applying nothing");
        assert_eq!(version(&conn).expect("version"), 2);
        let three = [
            two[0].clone_fn(),
            two[1].clone_fn(),
            Migration {
                version: 3,
                name: "fails",
                apply: half_then_fail,
            },
        ];
        assert!(migrate(&mut conn, &three).is_err());
        assert_eq!(version(&conn).expect("version"), 2);
        assert!(!tables(&conn).contains(&"half".to_string()));
    }

    impl Migration {
        fn clone_fn(&self) -> Migration {
            Migration {
                version: self.version,
                name: self.name,
                apply: self.apply,
            }
        }
    }
}
