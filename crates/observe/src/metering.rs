//! Metering rows from what the table counted: one per function version, day and
//! configuration, added to the store's totals (`MetricStore::add_metering`).

use hearth_model::arn::key_parts;
use hearth_store::MeterRow;

use crate::table::Entry;

/// The rows to add for `entries` (throttles bill nothing and make none).
pub(crate) fn rows(entries: &[Entry]) -> Vec<MeterRow> {
    let mut rows = Vec::new();
    for e in entries {
        let (account, function) = key_parts(&e.function);
        for m in e.meters.iter().filter(|m| m.requests > 0) {
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
                ..MeterRow::default()
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Meter;

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
                ..MeterRow::default()
            }]
        );
    }
}
