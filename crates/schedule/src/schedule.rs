//! A schedule: an expression with the time zone, date bounds and anchor it is evaluated with,
//! answering "the next slot after T".
//!
//! - EventBridge rules ([`Schedule::rule`]): UTC, no bounds, a rate counted from the rule's
//!   creation.
//! - EventBridge Scheduler ([`Schedule::scheduler`]): `ScheduleExpressionTimezone` (UTC when
//!   absent), `StartDate`/`EndDate`, a rate counted from `StartDate` or else creation. AWS:
//!   "EventBridge Scheduler ignores StartDate [and EndDate] for one-time schedules".
//!
//! Nothing here reads a clock: the caller passes every time.

use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::error::ScheduleError;
use crate::expression::{Dialect, Expression};
use crate::local::{at_instant, cron_instant};

/// A schedule expression with everything needed to evaluate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    expr: Expression,
    dialect: Dialect,
    tz: Tz,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    anchor: DateTime<Utc>,
}

impl Schedule {
    /// An EventBridge rule's schedule (`PutRule`'s `ScheduleExpression`), created at `created`.
    pub fn rule(expression: &str, created: DateTime<Utc>) -> Result<Self, ScheduleError> {
        Ok(Schedule {
            expr: Expression::parse(expression, Dialect::Rule)?,
            dialect: Dialect::Rule,
            tz: Tz::UTC,
            start: None,
            end: None,
            anchor: created,
        })
    }

    /// An EventBridge Scheduler schedule, created (or last updated) at `created`.
    ///
    /// `time_zone` is `ScheduleExpressionTimezone`, an IANA name (case as the IANA database
    /// spells it); `None` is UTC. `start`/`end` are `StartDate`/`EndDate`; `end` must be after
    /// `start` when both are given.
    pub fn scheduler(
        expression: &str,
        time_zone: Option<&str>,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        created: DateTime<Utc>,
    ) -> Result<Self, ScheduleError> {
        let expr = Expression::parse(expression, Dialect::Scheduler)?;
        let tz = match time_zone {
            None => Tz::UTC,
            Some(name) => {
                Tz::from_str(name).map_err(|_| ScheduleError::TimeZone(name.to_string()))?
            }
        };
        if let (Some(start), Some(end)) = (start, end) {
            if end <= start {
                return Err(ScheduleError::EndBeforeStart);
            }
        }
        Ok(Schedule {
            expr,
            dialect: Dialect::Scheduler,
            tz,
            start,
            end,
            anchor: start.unwrap_or(created),
        })
    }

    pub fn expression(&self) -> &Expression {
        &self.expr
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.start
    }

    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.end
    }

    /// The instant a rate's slots are counted from.
    pub fn anchor(&self) -> DateTime<Utc> {
        self.anchor
    }

    /// The first slot strictly after `after`, or `None` when there is none: an `at` time
    /// already past, a cron that cannot match again (past year, `30 FEB`, beyond 2199), or
    /// the next slot lies after `EndDate`.
    ///
    /// Slots are never before `StartDate` and never after `EndDate` (both inclusive; AWS's
    /// wording, "on, or after" and "on, or before", allows either edge).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if let Expression::At(local) = &self.expr {
            return at_instant(self.tz, *local).filter(|&t| t > after);
        }
        // A slot exactly at StartDate counts: search from just before it.
        let from = match self.start {
            Some(start) if start > after => start - TimeDelta::nanoseconds(1),
            _ => after,
        };
        let slot = match &self.expr {
            Expression::Rate(rate) => rate.next_after(self.anchor, from)?,
            Expression::Cron(cron) => {
                let mut local = from.with_timezone(&self.tz).naive_local();
                loop {
                    local = cron.next_after(local)?;
                    // A slot in a spring-forward gap has no instant (skipped); one in a
                    // fall-back overlap has only its first, which may be at or before `from`
                    // when `from` is within the repeated hour (it already ran).
                    if let Some(t) = cron_instant(self.tz, local).filter(|&t| t > from) {
                        break t;
                    }
                }
            }
            Expression::At(_) => return None,
        };
        match self.end {
            Some(end) if slot > end => None,
            _ => Some(slot),
        }
    }

    /// The first slot at or after `t`.
    pub fn next_at_or_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_after(t - TimeDelta::nanoseconds(1))
    }

    /// The first slot of a schedule created (or updated) at `created`.
    ///
    /// Scheduler: a rate without `StartDate` "starts invoking its target immediately" (AWS),
    /// so the slot at `created` counts. Rule: a rate's first invocation is taken to be one
    /// interval after creation; AWS says only that "a rate expression starts when you create
    /// the scheduled event rule", so whether it also fires at creation is not confirmed.
    pub fn first_slot(&self, created: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.dialect {
            Dialect::Scheduler => self.next_at_or_after(created),
            Dialect::Rule => self.next_after(created),
        }
    }
}
