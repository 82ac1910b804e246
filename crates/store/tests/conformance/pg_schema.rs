//! PostgreSQL's schema versions (PostgreSQL only: SQLite's are unit-tested in the
//! crate): a node migrates an empty database to the newest version it knows, and during
//! a rolling upgrade keeps running on a database one newer node migrated, unless that
//! migration says the older nodes must stop; and the tables a fresh database gets.

use hearth_store::StoreError;

use crate::backend::{cluster, postgres_database};

/// Sets what the database says of its schema, as a newer node would have left it.
fn pretend(url: &str, version: i64, oldest_reader: i64) {
    cluster::sql_rows(
        url,
        &format!("UPDATE hearth_schema SET version = {version}, oldest_reader = {oldest_reader}"),
    );
}

#[test]
fn a_node_runs_on_a_newer_schema_only_if_it_keeps_older_nodes_working() {
    let url = postgres_database();
    let (before, after) = hearth_store::migrate_postgres(&url).expect("migrate");
    assert_eq!(before, 0);
    assert!(after >= 2, "{after}");
    assert_eq!(
        hearth_store::migrate_postgres(&url).expect("again"),
        (after, after),
        "nothing left to apply"
    );
    // One version newer, compatible with this one: accepted, and left as it is.
    pretend(&url, after + 1, after);
    assert_eq!(
        hearth_store::migrate_postgres(&url).expect("a compatible newer schema"),
        (after + 1, after + 1)
    );
    // A newer version that older nodes may not use: refused.
    pretend(&url, after + 1, after + 1);
    match hearth_store::migrate_postgres(&url) {
        Err(StoreError::NewerSchema { found, supported }) => {
            assert_eq!((found, supported), (after + 1, after));
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

/// Every table of a freshly migrated database (a migration that adds one lists it here,
/// as SQLite's own test does for its schema).
#[test]
fn a_fresh_database_gets_every_table() {
    let url = postgres_database();
    hearth_store::migrate_postgres(&url).expect("migrate");
    let tables = cluster::sql_rows(
        &url,
        "SELECT tablename::TEXT FROM pg_tables WHERE schemaname = 'public'
         ORDER BY tablename COLLATE \"C\"",
    );
    assert_eq!(
        tables,
        [
            "access_keys",
            "aliases",
            "audit_events",
            "code_blobs",
            "code_chunks",
            "code_nodes",
            "code_pins",
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
            "fleet_key",
            "fleet_nodes",
            "function_meta",
            "function_settings",
            "function_urls",
            "functions",
            "hearth_schema",
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
            "versions",
        ]
    );
}
