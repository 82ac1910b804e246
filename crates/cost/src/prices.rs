//! AWS Lambda's public price table (`data/lambda-prices.json`, compiled in): per region and
//! architecture the request price, the monthly duration tiers, ephemeral storage and
//! provisioned concurrency; the monthly free tier. Only regions whose figures were checked
//! are in the file: a region missing from it is an error, never a guess.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The price file, as reviewed in the repository.
const PRICES_JSON: &str = include_str!("../data/lambda-prices.json");

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("no AWS Lambda prices for region {region:?} (known: {known})")]
    UnknownRegion { region: String, known: String },
    #[error("the price file is invalid: {0}")]
    Invalid(String),
}

/// A function's instruction set; the two are priced (and tiered) apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// `x86_64` or `arm64`, as Lambda's API spells them; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "x86_64" => Some(Self::X86_64),
            "arm64" => Some(Self::Arm64),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }
}

/// The whole table.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PriceTable {
    /// The day the prices were read (`YYYY-MM-DD`).
    pub read_on: String,
    /// Where from.
    pub source: String,
    /// How they were read, and what they cover.
    pub note: String,
    pub currency: String,
    pub free_tier: FreeTier,
    pub regions: BTreeMap<String, RegionPrices>,
}

/// The monthly free tier: shared by x86 and Arm, per account (not per region).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FreeTier {
    pub requests: u64,
    pub gb_seconds: f64,
}

/// One region's prices, per architecture.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionPrices {
    pub x86_64: ArchPrices,
    pub arm64: ArchPrices,
}

impl RegionPrices {
    pub fn of(&self, architecture: Architecture) -> &ArchPrices {
        match architecture {
            Architecture::X86_64 => &self.x86_64,
            Architecture::Arm64 => &self.arm64,
        }
    }
}

/// One architecture's prices in one region (dollars).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ArchPrices {
    pub requests_per_million: f64,
    /// On-demand duration, cheapest last; tiers apply to the month's total GB-seconds of the
    /// architecture in the region.
    pub duration_tiers: Vec<DurationTier>,
    /// Per GB-second of ephemeral storage configured above the free 512 MB.
    pub ephemeral_per_gb_second: f64,
    /// Per GB-second of provisioned concurrency configured (used or not).
    pub provisioned_per_gb_second: f64,
    /// Per GB-second of duration of invocations served by provisioned concurrency.
    pub provisioned_duration_per_gb_second: f64,
}

/// A duration tier: its price applies to the month's GB-seconds below `up_to_gb_seconds`
/// (cumulative), the last tier to everything above.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DurationTier {
    pub up_to_gb_seconds: Option<f64>,
    pub per_gb_second: f64,
}

impl ArchPrices {
    /// The price of one request.
    pub fn per_request(&self) -> f64 {
        self.requests_per_million / 1_000_000.0
    }

    /// The on-demand duration price of `gb_seconds` GB-seconds in a month that already
    /// used `before` GB-seconds (of this architecture), tiers applied.
    pub fn tiered_duration(&self, before: f64, gb_seconds: f64) -> f64 {
        let mut cost = 0.0;
        let mut floor = 0.0;
        let (start, end) = (before, before + gb_seconds);
        for tier in &self.duration_tiers {
            let ceiling = tier.up_to_gb_seconds.unwrap_or(f64::INFINITY);
            let overlap = end.min(ceiling) - start.max(floor);
            if overlap > 0.0 {
                cost += overlap * tier.per_gb_second;
            }
            floor = ceiling;
        }
        cost
    }

    /// The first tier's price (what one invocation costs in a month's first billions).
    pub fn first_tier_per_gb_second(&self) -> f64 {
        self.duration_tiers
            .first()
            .map(|t| t.per_gb_second)
            .unwrap_or_default()
    }
}

impl PriceTable {
    /// The table compiled into this binary.
    pub fn aws() -> &'static PriceTable {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            Self::parse(PRICES_JSON).expect("data/lambda-prices.json is checked by a unit test")
        })
    }

    /// Parses a price file and checks that each architecture's tiers are ordered and end with
    /// an open tier.
    pub fn parse(json: &str) -> Result<PriceTable, PriceError> {
        let table: PriceTable =
            serde_json::from_str(json).map_err(|e| PriceError::Invalid(e.to_string()))?;
        for (region, prices) in &table.regions {
            for arch in [Architecture::X86_64, Architecture::Arm64] {
                let tiers = &prices.of(arch).duration_tiers;
                let bounds: Vec<f64> = tiers
                    .iter()
                    .map(|t| t.up_to_gb_seconds.unwrap_or(f64::INFINITY))
                    .collect();
                let ordered = bounds.windows(2).all(|w| w[0] < w[1]);
                let open = tiers.last().is_some_and(|t| t.up_to_gb_seconds.is_none());
                if !ordered || !open {
                    return Err(PriceError::Invalid(format!(
                        "{region} {}: duration tiers must rise and end with an open tier",
                        arch.as_str()
                    )));
                }
            }
        }
        Ok(table)
    }

    /// One region's prices.
    pub fn region(&self, region: &str) -> Result<&RegionPrices, PriceError> {
        self.regions
            .get(region)
            .ok_or_else(|| PriceError::UnknownRegion {
                region: region.to_string(),
                known: self.regions.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_embedded_table_parses_and_has_us_east_1() {
        let table = PriceTable::aws();
        assert_eq!(table.read_on, "2026-12-03");
        assert_eq!(table.currency, "USD");
        assert_eq!(table.source, "https://aws.amazon.com/lambda/pricing/");
        assert_eq!(table.free_tier.requests, 1_000_000);
        assert!(close(table.free_tier.gb_seconds, 400_000.0));
        let us = table.region("us-east-1").expect("us-east-1 is in the file");
        assert!(close(us.x86_64.per_request(), 0.000_000_2));
        assert!(close(us.x86_64.first_tier_per_gb_second(), 0.000_016_666_7));
        assert!(close(us.arm64.first_tier_per_gb_second(), 0.000_013_333_4));
        let err = table.region("mars-1").expect_err("no such region");
        assert_eq!(
            err.to_string(),
            "no AWS Lambda prices for region \"mars-1\" (known: us-east-1)"
        );
    }

    #[test]
    fn tiers_split_a_month_at_their_bounds() {
        let x86 = &PriceTable::aws().regions["us-east-1"].x86_64;
        // 1 B GB-s after 5.5 B: 0.5 B in tier 1, 0.5 B in tier 2.
        let expected = 0.5e9 * 0.000_016_666_7 + 0.5e9 * 0.000_015;
        assert!(close(x86.tiered_duration(5.5e9, 1e9), expected));
        // 20 B from zero: 6 B, 9 B, 5 B.
        let expected = 6e9 * 0.000_016_666_7 + 9e9 * 0.000_015 + 5e9 * 0.000_013_333_4;
        assert!(close(x86.tiered_duration(0.0, 20e9), expected));
    }

    #[test]
    fn rejects_tiers_without_an_open_end() {
        let json = PRICES_JSON.replace(
            r#"{ "UpToGbSeconds": null, "PerGbSecond": 0.0000106667 }"#,
            r#"{ "UpToGbSeconds": 1e12, "PerGbSecond": 0.0000106667 }"#,
        );
        let err = PriceTable::parse(&json).expect_err("closed last tier");
        assert_eq!(
            err.to_string(),
            "the price file is invalid: us-east-1 arm64: duration tiers must rise and end with an open tier"
        );
    }
}
