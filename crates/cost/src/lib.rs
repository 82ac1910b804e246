//! What a workload would cost on AWS Lambda: the public price table (a reviewed data file,
//! compiled in), the billed duration of one invocation as AWS computes it, and the price of
//! metered usage with the monthly tiers and the free tier. No I/O: the server reads the
//! metering and answers the priced [`Report`] (`GET /_hearth/cost`), the CLI prints it; this
//! crate only computes.

mod calendar;
mod invocation;
mod month;
mod prices;
mod report;

pub use calendar::{month_of_day, Month};
pub use invocation::{bill_invocation, Billed, Invocation, RuntimeKind, INIT_BILLED_FOR_ALL_SINCE};
pub use month::{price_usage, Bill, Charges, Line, UsageRow};
pub use prices::{
    ArchPrices, Architecture, DurationTier, FreeTier, PriceError, PriceTable, RegionPrices,
};
pub use report::{Period, Report};

/// Megabyte-milliseconds in one gigabyte-second (AWS counts 1 GB as 1024 MB).
pub const MB_MS_PER_GB_SECOND: f64 = 1024.0 * 1000.0;
