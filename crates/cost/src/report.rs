//! The priced bill of a period as one document: what `GET /_hearth/cost` answers and what
//! `hearth cost` prints (its `--json` is this document as the server sent it). The bill
//! names the price table's region, date and source beside the figures, so a reader can
//! tell which prices it used.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::month::{price_usage, Line, UsageRow};
use crate::prices::{PriceError, PriceTable};

/// A period's usage priced in one region, per function and in total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Report {
    pub region: String,
    /// Whether AWS's monthly free tier was taken off each calendar month.
    pub free_tier: bool,
    /// The first day priced (days since 1970-01-01, UTC).
    pub from_day: i64,
    /// The first day not priced.
    pub to_day: i64,
    pub currency: String,
    pub prices_read_on: String,
    pub prices_source: String,
    pub prices_note: String,
    /// The calendar months the usage fell in (`YYYY-MM`).
    pub months: Vec<String>,
    pub functions: BTreeMap<String, Line>,
    pub total: Line,
}

/// The days `[from_day, to_day)` a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from_day: i64,
    pub to_day: i64,
}

impl Report {
    /// Prices `rows` (the metering of `period`) with `table`'s prices for `region`, the
    /// free tier taken off each month when `free_tier`.
    pub fn price(
        rows: &[UsageRow],
        table: &PriceTable,
        region: &str,
        free_tier: bool,
        period: Period,
    ) -> Result<Report, PriceError> {
        let prices = table.region(region)?;
        let bill = price_usage(rows, prices, free_tier.then_some(&table.free_tier));
        Ok(Report {
            region: region.to_string(),
            free_tier,
            from_day: period.from_day,
            to_day: period.to_day,
            currency: table.currency.clone(),
            prices_read_on: table.read_on.clone(),
            prices_source: table.source.clone(),
            prices_note: table.note.clone(),
            months: bill.months,
            functions: bill.functions,
            total: bill.total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prices::Architecture;

    fn row(function: &str, architecture: Architecture) -> UsageRow {
        UsageRow {
            function: function.to_string(),
            version: "$LATEST".to_string(),
            day: 20_425,
            architecture,
            memory_mb: 1024,
            ephemeral_mb: 512,
            requests: 10,
            billed_ms: 2000,
            init_billed_ms: 500,
            provisioned_seconds: 0,
            host_cpu_ms: 300,
            host_memory_mb_ms: 1_024_000,
        }
    }

    #[test]
    fn a_report_names_its_prices_and_round_trips_as_json() {
        let rows = [
            row("a", Architecture::X86_64),
            row("b", Architecture::Arm64),
        ];
        let period = Period {
            from_day: 20_400,
            to_day: 20_426,
        };
        let report =
            Report::price(&rows, PriceTable::aws(), "us-east-1", false, period).expect("priced");
        assert_eq!(report.region, "us-east-1");
        assert_eq!(report.prices_read_on, "2026-12-03");
        assert_eq!(report.currency, "USD");
        assert_eq!((report.from_day, report.to_day), (20_400, 20_426));
        assert_eq!(report.months, vec!["2025-12".to_string()]);
        // Each: 2 s × 1 GB = 2 GB-s, of which INIT 0.5 GB-s.
        let a = &report.functions["a"];
        assert_eq!(
            (
                a.gb_seconds,
                a.init_gb_seconds,
                a.x86_gb_seconds,
                a.arm_gb_seconds
            ),
            (2.0, 0.5, 2.0, 0.0)
        );
        let b = &report.functions["b"];
        assert_eq!((b.x86_gb_seconds, b.arm_gb_seconds), (0.0, 2.0));
        assert_eq!(
            (report.total.gb_seconds, report.total.init_gb_seconds),
            (4.0, 1.0)
        );
        assert_eq!(report.total.requests, 20);

        let json = serde_json::to_value(&report).expect("serializes");
        let keys: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "Currency",
                "FreeTier",
                "FromDay",
                "Functions",
                "Months",
                "PricesNote",
                "PricesReadOn",
                "PricesSource",
                "Region",
                "ToDay",
                "Total"
            ]
        );
        let line: Vec<&str> = json["Total"]
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            line,
            [
                "ArmGbSeconds",
                "Charges",
                "GbSeconds",
                "HostCpuSeconds",
                "HostMemoryGbSeconds",
                "InitGbSeconds",
                "ProvisionedGbSeconds",
                "Requests",
                "Total",
                "X86GbSeconds"
            ]
        );
        let back: Report = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, report);
    }

    #[test]
    fn an_unknown_region_is_an_error() {
        let period = Period {
            from_day: 0,
            to_day: 1,
        };
        let err = Report::price(&[], PriceTable::aws(), "eu-west-9", true, period)
            .expect_err("no prices there");
        assert_eq!(
            err.to_string(),
            "no AWS Lambda prices for region \"eu-west-9\" (known: us-east-1)"
        );
    }
}
