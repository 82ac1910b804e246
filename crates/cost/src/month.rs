//! The price of metered usage: rows (per function, version, day, architecture, memory,
//! ephemeral storage) grouped by calendar month, each month's duration tiers applied to its
//! total GB-seconds per architecture, the free tier optionally taken off, and each month's
//! charges shared back to the functions in proportion to their use.
//!
//! Modelling choices where AWS's pages do not say (UNSURE): the free tier's 400,000 GB-s
//! go to x86 first, then Arm (AWS says only that they are shared); usage under the free tier
//! does not advance the tiers; a row with provisioned-concurrency seconds has all its
//! duration priced at the provisioned-duration price (the metering cannot tell the
//! invocations that spilled over to on-demand); the free tier covers on-demand duration and
//! requests only, not provisioned concurrency.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::calendar::{month_of_day, Month};
use crate::prices::{Architecture, FreeTier, RegionPrices};
use crate::MB_MS_PER_GB_SECOND;

/// One metering row, as `GET /_hearth/metering` answers it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UsageRow {
    pub function: String,
    pub version: String,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub architecture: Architecture,
    #[serde(rename = "MemoryMB")]
    pub memory_mb: u64,
    #[serde(rename = "EphemeralMB")]
    pub ephemeral_mb: u64,
    pub requests: u64,
    /// Billed milliseconds, INIT included.
    pub billed_ms: u64,
    pub init_billed_ms: u64,
    /// Provisioned concurrency configured: environments × seconds.
    pub provisioned_seconds: u64,
    pub host_cpu_ms: u64,
    pub host_memory_mb_ms: u64,
}

impl UsageRow {
    fn gb_seconds(&self) -> f64 {
        (self.billed_ms as f64) * (self.memory_mb as f64) / MB_MS_PER_GB_SECOND
    }
}

/// Dollars, by what they pay for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Charges {
    pub requests: f64,
    pub duration: f64,
    pub provisioned: f64,
    pub ephemeral: f64,
}

impl Charges {
    pub fn total(&self) -> f64 {
        self.requests + self.duration + self.provisioned + self.ephemeral
    }

    fn add(&mut self, other: &Charges) {
        self.requests += other.requests;
        self.duration += other.duration;
        self.provisioned += other.provisioned;
        self.ephemeral += other.ephemeral;
    }
}

/// One function's (or the total's) use and price over the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Line {
    pub requests: u64,
    /// Billed duration × memory, INIT included.
    pub gb_seconds: f64,
    /// Of `gb_seconds`, the billed INIT phases.
    pub init_gb_seconds: f64,
    /// Of `gb_seconds`, what ran on x86_64 and on arm64 (they are priced apart).
    pub x86_gb_seconds: f64,
    pub arm_gb_seconds: f64,
    /// Provisioned concurrency configured: environments × seconds × memory.
    pub provisioned_gb_seconds: f64,
    pub charges: Charges,
    pub total: f64,
    pub host_cpu_seconds: f64,
    pub host_memory_gb_seconds: f64,
}

impl Line {
    fn add(&mut self, other: &Line) {
        self.requests += other.requests;
        self.gb_seconds += other.gb_seconds;
        self.init_gb_seconds += other.init_gb_seconds;
        self.x86_gb_seconds += other.x86_gb_seconds;
        self.arm_gb_seconds += other.arm_gb_seconds;
        self.provisioned_gb_seconds += other.provisioned_gb_seconds;
        self.charges.add(&other.charges);
        self.total = self.charges.total();
        self.host_cpu_seconds += other.host_cpu_seconds;
        self.host_memory_gb_seconds += other.host_memory_gb_seconds;
    }
}

/// The price of a period of usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bill {
    pub functions: BTreeMap<String, Line>,
    pub total: Line,
    /// The calendar months the usage fell in (`YYYY-MM`).
    pub months: Vec<String>,
}

/// Prices `rows` with `prices`, per calendar month, with `free_tier` taken off each month
/// when given.
pub fn price_usage(rows: &[UsageRow], prices: &RegionPrices, free_tier: Option<&FreeTier>) -> Bill {
    let mut by_month: BTreeMap<Month, Vec<&UsageRow>> = BTreeMap::new();
    for row in rows {
        by_month.entry(month_of_day(row.day)).or_default().push(row);
    }
    let mut bill = Bill::default();
    for (month, rows) in &by_month {
        bill.months.push(month.to_string());
        for (function, line) in price_month(rows, prices, free_tier) {
            bill.functions.entry(function).or_default().add(&line);
        }
    }
    for line in bill.functions.values() {
        bill.total.add(line);
    }
    bill
}

/// One calendar month's rows, per function.
fn price_month(
    rows: &[&UsageRow],
    prices: &RegionPrices,
    free_tier: Option<&FreeTier>,
) -> BTreeMap<String, Line> {
    // The month's on-demand GB-seconds per architecture: what the tiers apply to.
    let mut demand: BTreeMap<Architecture, f64> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.provisioned_seconds == 0) {
        *demand.entry(row.architecture).or_default() += row.gb_seconds();
    }
    let mut free_gbs = free_tier.map(|f| f.gb_seconds).unwrap_or(0.0);
    // The duration charge of each architecture's month, and the rate shared back per GB-s.
    let mut rate: BTreeMap<Architecture, f64> = BTreeMap::new();
    for arch in [Architecture::X86_64, Architecture::Arm64] {
        let used = demand.get(&arch).copied().unwrap_or(0.0);
        if used <= 0.0 {
            continue;
        }
        let free = free_gbs.min(used);
        free_gbs -= free;
        let cost = prices.of(arch).tiered_duration(0.0, used - free);
        rate.insert(arch, cost / used);
    }
    let total_requests: u64 = rows.iter().map(|r| r.requests).sum();
    let free_requests = free_tier
        .map(|f| f.requests)
        .unwrap_or(0)
        .min(total_requests);
    let charged_share = if total_requests == 0 {
        0.0
    } else {
        (total_requests - free_requests) as f64 / total_requests as f64
    };

    let mut lines: BTreeMap<String, Line> = BTreeMap::new();
    for row in rows {
        let arch = prices.of(row.architecture);
        let gb_seconds = row.gb_seconds();
        let memory_gb = row.memory_mb as f64 / 1024.0;
        let duration = if row.provisioned_seconds == 0 {
            gb_seconds * rate.get(&row.architecture).copied().unwrap_or(0.0)
        } else {
            gb_seconds * arch.provisioned_duration_per_gb_second
        };
        let extra_storage_gb = row.ephemeral_mb.saturating_sub(512) as f64 / 1024.0;
        let charges = Charges {
            requests: row.requests as f64 * charged_share * arch.per_request(),
            duration,
            provisioned: row.provisioned_seconds as f64
                * memory_gb
                * arch.provisioned_per_gb_second,
            ephemeral: extra_storage_gb
                * (row.billed_ms as f64 / 1000.0)
                * arch.ephemeral_per_gb_second,
        };
        let (x86_gb_seconds, arm_gb_seconds) = match row.architecture {
            Architecture::X86_64 => (gb_seconds, 0.0),
            Architecture::Arm64 => (0.0, gb_seconds),
        };
        let line = Line {
            requests: row.requests,
            gb_seconds,
            init_gb_seconds: (row.init_billed_ms as f64) * (row.memory_mb as f64)
                / MB_MS_PER_GB_SECOND,
            x86_gb_seconds,
            arm_gb_seconds,
            provisioned_gb_seconds: row.provisioned_seconds as f64 * memory_gb,
            charges,
            total: charges.total(),
            host_cpu_seconds: row.host_cpu_ms as f64 / 1000.0,
            host_memory_gb_seconds: row.host_memory_mb_ms as f64 / MB_MS_PER_GB_SECOND,
        };
        lines.entry(row.function.clone()).or_default().add(&line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prices::PriceTable;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn row(
        function: &str,
        day: i64,
        arch: Architecture,
        memory_mb: u64,
        requests: u64,
        ms: u64,
    ) -> UsageRow {
        UsageRow {
            function: function.to_string(),
            version: "$LATEST".to_string(),
            day,
            architecture: arch,
            memory_mb,
            ephemeral_mb: 512,
            requests,
            billed_ms: requests * ms,
            init_billed_ms: 0,
            provisioned_seconds: 0,
            host_cpu_ms: 0,
            host_memory_mb_ms: 0,
        }
    }

    fn us() -> &'static RegionPrices {
        PriceTable::aws().region("us-east-1").expect("us-east-1")
    }

    #[test]
    fn three_million_requests_of_120_ms_at_512_mb() {
        // 3,000,000 × 0.120 s × 0.5 GB = 180,000 GB-s.
        let rows = [row("f", 20_425, Architecture::X86_64, 512, 3_000_000, 120)];
        let bill = price_usage(&rows, us(), None);
        let f = &bill.functions["f"];
        assert!(close(f.gb_seconds, 180_000.0));
        // Without the free tier: 3 × $0.20 and 180,000 × $0.0000166667 = $3.000006.
        assert!(close(f.charges.requests, 0.60));
        assert!(close(f.charges.duration, 3.000_006));
        assert!(close(f.total, 3.600_006));
        assert!(close(bill.total.total, 3.600_006));

        // With it: 2,000,000 requests charged ($0.40); 180,000 GB-s < 400,000 are free.
        let bill = price_usage(&rows, us(), Some(&PriceTable::aws().free_tier));
        let f = &bill.functions["f"];
        assert!(close(f.charges.requests, 0.40));
        assert!(close(f.charges.duration, 0.0));
        assert!(close(f.total, 0.40));
    }

    #[test]
    fn free_tier_and_tiers_reset_each_calendar_month() {
        // Day 20_423 is 2025-12-01 (December), 20_422 is 2025-11-30 (November).
        // Each month: 1,000,000 requests of 1000 ms at 1024 MB = 1,000,000 GB-s.
        let rows = [
            row("a", 20_422, Architecture::X86_64, 1024, 1_000_000, 1000),
            row("a", 20_423, Architecture::X86_64, 1024, 1_000_000, 1000),
        ];
        let bill = price_usage(&rows, us(), Some(&PriceTable::aws().free_tier));
        assert_eq!(
            bill.months,
            vec!["2025-11".to_string(), "2025-12".to_string()]
        );
        // Each month: requests all free; (1,000,000 − 400,000) × 0.0000166667 = $10.00002.
        let a = &bill.functions["a"];
        assert!(close(a.charges.requests, 0.0));
        assert!(close(a.charges.duration, 2.0 * 10.000_02));
        assert_eq!(a.requests, 2_000_000);
        assert!(close(a.gb_seconds, 2_000_000.0));
    }

    #[test]
    fn free_gb_seconds_go_to_x86_first_and_are_shared_by_use() {
        // x86: "a" 300,000 GB-s and "b" 300,000 GB-s; arm: "c" 100,000 GB-s.
        // 400,000 free GB-s all go to x86: 200,000 x86 GB-s charged, shared 50/50.
        let rows = [
            row("a", 20_425, Architecture::X86_64, 1024, 300, 1_000_000),
            row("b", 20_425, Architecture::X86_64, 1024, 300, 1_000_000),
            row("c", 20_425, Architecture::Arm64, 1024, 100, 1_000_000),
        ];
        let bill = price_usage(&rows, us(), Some(&PriceTable::aws().free_tier));
        let x86_each = 200_000.0 * 0.000_016_666_7 / 2.0;
        assert!(close(bill.functions["a"].charges.duration, x86_each));
        assert!(close(bill.functions["b"].charges.duration, x86_each));
        assert!(close(
            bill.functions["c"].charges.duration,
            100_000.0 * 0.000_013_333_4
        ));
        assert!(close(
            bill.total.charges.duration,
            2.0 * x86_each + 1.333_34
        ));
    }

    #[test]
    fn provisioned_concurrency_and_ephemeral_storage() {
        // 2 environments of 1024 MB for one hour = 7,200 GB-s at $0.0000041667 = $0.03000024;
        // 1,000 invocations of 100 ms = 100 GB-s at $0.0000097222 = $0.00097222.
        // Ephemeral 1536 MB: 1 GB above 512 MB × 100 s × $0.0000000309 = $0.00000309.
        let mut r = row("p", 20_425, Architecture::X86_64, 1024, 1000, 100);
        r.provisioned_seconds = 7200;
        r.ephemeral_mb = 1536;
        r.host_cpu_ms = 2500;
        r.host_memory_mb_ms = 2_048_000;
        let bill = price_usage(&[r], us(), None);
        let p = &bill.functions["p"];
        assert!(close(p.charges.provisioned, 0.030_000_24));
        assert!(close(p.charges.duration, 0.000_972_22));
        assert!(close(p.charges.ephemeral, 0.000_003_09));
        assert!(close(p.charges.requests, 0.000_2));
        // 1,000 × 100 ms × 1 GB = 100 GB-s, all x86; 2 × 3600 s × 1 GB configured.
        assert_eq!(
            (p.gb_seconds, p.x86_gb_seconds, p.arm_gb_seconds),
            (100.0, 100.0, 0.0)
        );
        assert_eq!(p.provisioned_gb_seconds, 7200.0);
        assert!(close(p.host_cpu_seconds, 2.5));
        assert!(close(p.host_memory_gb_seconds, 2.0));
    }

    #[test]
    fn reads_the_metering_endpoint_rows() {
        let json = r#"{"Function":"f","Version":"$LATEST","Day":20425,"Architecture":"x86_64",
            "MemoryMB":128,"EphemeralMB":512,"Requests":3,"BilledMs":120,"InitBilledMs":100,
            "ProvisionedSeconds":0,"HostCpuMs":40,"HostMemoryMbMs":1200}"#;
        let row: UsageRow = serde_json::from_str(json).expect("row");
        assert_eq!(row.memory_mb, 128);
        assert_eq!(row.billed_ms, 120);
        assert_eq!(row.architecture, Architecture::X86_64);
        // 120 ms × 128 MB = 15,360 MB·ms = 0.015 GB-s.
        assert!(close(row.gb_seconds(), 0.015));
    }
}
