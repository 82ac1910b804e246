//! Schedule expressions of AWS EventBridge rules (`ScheduleExpression`) and EventBridge
//! Scheduler (`ScheduleExpression` with `ScheduleExpressionTimezone`, `StartDate`, `EndDate`,
//! `FlexibleTimeWindow`): parsed, validated, and evaluated to the next slot after a time.
//!
//! Pure logic: no I/O, no clock. Every time is a parameter, so evaluation is deterministic and
//! a server can keep one timer heap over many schedules, asking each for its next slot (a few
//! microseconds; the cron search skips by field, never minute by minute).
//!
//! ```
//! use chrono::{DateTime, TimeDelta, Utc};
//! use hearth_schedule::{fire_time, FlexibleTimeWindow, Schedule};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let created: DateTime<Utc> = "2024-05-01T07:30:00Z".parse()?;
//! let schedule = Schedule::scheduler(
//!     "cron(0 10 ? * MON-FRI *)",
//!     Some("Europe/Berlin"),
//!     None,
//!     None,
//!     created,
//! )?;
//! let slot = schedule.first_slot(created).ok_or("no slot")?;
//! assert_eq!(slot.to_rfc3339(), "2024-05-01T08:00:00+00:00"); // 10:00 CEST
//! let window = FlexibleTimeWindow::new("FLEXIBLE", Some(15))?;
//! let fire = fire_time(slot, window, "default/daily-report");
//! assert!(fire >= slot && fire < slot + TimeDelta::minutes(15));
//! # Ok(())
//! # }
//! ```

mod at;
pub mod cron;
mod error;
mod expression;
mod local;
pub mod rate;
mod schedule;
mod window;

#[cfg(test)]
mod tests;

pub use chrono_tz::Tz;
pub use error::{CronField, ScheduleError};
pub use expression::{Dialect, Expression, ExpressionKind};
pub use schedule::Schedule;
pub use window::{fire_time, FlexibleTimeWindow};
