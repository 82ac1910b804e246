//! Metering rows from what the table counted: one per function version, day and
//! configuration, added to the store's totals (`MetricStore::add_metering`).

use hearth_model::arn::key_parts;
use hearth_store::MeterRow;

use crate::table::{Entry, Meter};

/// The rows to add for `entries` (throttles bill nothing and make none). Host use is
/// counted finer than the row keeps it (ns, MiB × µs) and rounded down per flush: less
/// than a millisecond per row and flush.
pub(crate) fn rows(entries: &[Entry]) -> Vec<MeterRow> {
    let mut rows = Vec::new();
    for e in entries {
        let (account, function) = key_parts(&e.function);
        let used = |m: &&Meter| {
            m.requests > 0 || m.provisioned_s > 0 || m.host_cpu_ns > 0 || m.host_memory_mib_us > 0
        };
        for m in e.meters.iter().filter(used) {
            rows.push(MeterRow {
                account: account.to_string(),
                function: function.to_string(),
                version: e.version.clone(),
                day: m.day,
                architecture: m.architecture.clone(),
                memory_mb: m.memory_mb,
                ephemeral_mb: m.ephemeral_mb,
                requests: m.requests,
                billed_ms: m.billed_ms,
                init_billed_ms: m.init_billed_ms,
                provisioned_s: m.provisioned_s,
                host_cpu_ms: m.host_cpu_ns / 1_000_000,
                // MiB × µs → MB × ms, with Lambda's MB being MiB (128 MB is 128 MiB).
                host_memory_mb_ms: m.host_memory_mib_us / 1000,
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_meter_becomes_a_row_of_its_account_and_function() {
        let entry = Entry {
            function: "111122223333:f".into(),
            qualifier: None,
            version: "$LATEST".into(),
            minutes: vec![],
            meters: vec![Meter {
                day: 20_425,
                architecture: "arm64".into(),
                memory_mb: 256,
                ephemeral_mb: 1024,
                requests: 3,
                billed_ms: 130,
                init_billed_ms: 100,
                host_cpu_ns: 2_500_999_999,
                host_memory_mib_us: 40_000_500,
                provisioned_s: 7,
            }],
        };
        assert_eq!(
            rows(&[entry]),
            vec![MeterRow {
                account: "111122223333".into(),
                function: "f".into(),
                version: "$LATEST".into(),
                day: 20_425,
                architecture: "arm64".into(),
                memory_mb: 256,
                ephemeral_mb: 1024,
                requests: 3,
                billed_ms: 130,
                init_billed_ms: 100,
                provisioned_s: 7,
                host_cpu_ms: 2_500,
                host_memory_mb_ms: 40_000,
            }]
        );
    }

    #[test]
    fn a_meter_of_host_use_or_provisioned_time_alone_is_a_row() {
        let meter = |host_cpu_ns, provisioned_s| Meter {
            day: 1,
            architecture: "x86_64".into(),
            memory_mb: 128,
            ephemeral_mb: 512,
            host_cpu_ns,
            provisioned_s,
            ..Meter::default()
        };
        let entry = Entry {
            function: "f".into(),
            version: "1".into(),
            meters: vec![meter(0, 0), meter(1_000_000, 0), meter(0, 3)],
            ..Entry::default()
        };
        let rows = rows(&[entry]);
        assert_eq!(
            rows.iter()
                .map(|r| (r.host_cpu_ms, r.provisioned_s))
                .collect::<Vec<_>>(),
            [(1, 0), (0, 3)]
        );
    }
}
