//! The evaluator: [`CloudWatch::evaluate_alarms`] walks every metric alarm once, fetches
//! its evaluation range through [`AlarmData`], writes state changes (see `alarm_state`)
//! and delivers the notifications of changes through [`AlarmActions`]. The caller runs
//! it every minute under a store lease, so once per fleet.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::alarm_eval::{self, Datapoint, Slot};
use crate::alarm_history::{self, ACTION};
use crate::alarm_model::{Dimension, MetricAlarm, MetricDataQuery};
use crate::alarm_state::{self, Expect, NewState};
use crate::{CloudWatch, CloudWatchError};

/// A boxed future (the traits here are used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One metric's statistic at one period, as a single-metric alarm reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery<'a> {
    pub namespace: &'a str,
    pub metric_name: &'a str,
    pub dimensions: &'a [Dimension],
    /// A `Statistic` (`Sum`, ...) or an `ExtendedStatistic` (`p99`, ...).
    pub stat: &'a str,
    pub unit: Option<&'a str>,
    pub period_s: i64,
}

/// Where alarms read their datapoints (the metric data queries of this crate).
pub trait AlarmData: Send + Sync {
    /// `account`'s datapoints of `query` with `from_ms <= timestamp < to_ms`, one per
    /// period that has data, stamped with the period's start.
    fn datapoints(
        &self,
        account: &str,
        query: &MetricQuery<'_>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Datapoint>, String>;

    /// The datapoints of the query of `queries` that returns data (metric math, as
    /// GetMetricData answers it), at `period_s`, over the same range.
    fn metric_math(
        &self,
        account: &str,
        queries: &[MetricDataQuery],
        period_s: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Datapoint>, String>;
}

/// What runs an alarm's actions: publishes `message` (see `alarm_notify`; its subject is
/// `alarm_notify::subject_of(message)`) to the SNS topic `action`, or POSTs it to the
/// webhook URL `action`. An `Err` is recorded as a failed action in the history.
pub trait AlarmActions: Send + Sync {
    fn notify<'a>(
        &'a self,
        action: &'a str,
        alarm_arn: &'a str,
        message: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EvaluationReport {
    pub evaluated: usize,
    pub changed: usize,
    pub notified: usize,
    pub failed_actions: usize,
    /// Alarms whose data could not be read (their state is kept).
    pub unreadable: usize,
    /// Alarms whose evaluation failed in the store.
    pub failed: usize,
    /// History items deleted for their age.
    pub history_deleted: usize,
}

/// How long alarm history is kept: 30 days, as AWS's user guide says today (it said two
/// weeks before; UNSURE which holds).
pub const ALARM_HISTORY_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;

impl CloudWatch {
    /// One pass over every metric alarm at `now_ms`, then history older than
    /// [`ALARM_HISTORY_RETENTION_MS`] is deleted.
    pub async fn evaluate_alarms(
        &self,
        now_ms: i64,
        data: &dyn AlarmData,
        actions: &dyn AlarmActions,
    ) -> Result<EvaluationReport, CloudWatchError> {
        let mut report = EvaluationReport::default();
        for record in self.store.all_metric_alarms()? {
            let Ok(alarm) = MetricAlarm::from_record(&record) else {
                tracing::warn!("skipping an alarm whose record does not parse");
                continue;
            };
            report.evaluated += 1;
            // One alarm's failure (its store writes) leaves the others to be evaluated.
            if let Err(e) = self
                .evaluate_one(alarm.clone(), now_ms, data, actions, &mut report)
                .await
            {
                tracing::warn!(alarm = %alarm.alarm_arn, error = %e, "alarm evaluation failed");
                report.failed += 1;
            }
        }
        report.history_deleted = self
            .store
            .delete_alarm_history_before(now_ms - ALARM_HISTORY_RETENTION_MS)?;
        Ok(report)
    }

    async fn evaluate_one(
        &self,
        mut alarm: MetricAlarm,
        now_ms: i64,
        data: &dyn AlarmData,
        actions: &dyn AlarmActions,
        report: &mut EvaluationReport,
    ) -> Result<(), CloudWatchError> {
        match range_of(&alarm, now_ms, data) {
            Ok(range) => {
                let decided = alarm_eval::evaluate(&alarm, &range, now_ms);
                if let Some(e) = decided.filter(|e| e.state != alarm.state_value) {
                    let expect = Expect {
                        state_updated_ms: alarm.state_updated_ms,
                        configuration_updated_ms: alarm.configuration_updated_ms,
                    };
                    let new = NewState {
                        state: e.state,
                        reason: e.reason,
                        reason_data: Some(e.reason_data.to_string()),
                    };
                    if let Some((_, written)) =
                        alarm_state::change(self, &alarm.alarm_arn, Some(expect), new, now_ms)?
                    {
                        report.changed += 1;
                        alarm = written;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(alarm = %alarm.alarm_arn, error = %e, "alarm data unreadable");
                report.unreadable += 1;
            }
        }
        if !alarm.pending.is_empty() {
            let (ok, failed) = self.deliver(&alarm, actions, now_ms).await?;
            report.notified += ok;
            report.failed_actions += failed;
        }
        Ok(())
    }

    /// Delivers `alarm`'s pending notifications, records each as an Action history item,
    /// then removes them from the record. Answers (delivered, failed).
    async fn deliver(
        &self,
        alarm: &MetricAlarm,
        actions: &dyn AlarmActions,
        now_ms: i64,
    ) -> Result<(usize, usize), CloudWatchError> {
        let (mut ok, mut failed) = (0, 0);
        // Actions disabled since the change: the notifications are dropped, not sent.
        if alarm.actions_enabled {
            for p in &alarm.pending {
                let outcome = actions
                    .notify(&p.action, &alarm.alarm_arn, &p.message)
                    .await;
                match outcome {
                    Ok(()) => ok += 1,
                    Err(_) => failed += 1,
                }
                let (summary, data) =
                    alarm_history::action(&p.action, &outcome, p.changed_ms, &p.message);
                alarm_history::add(
                    self,
                    &alarm.account,
                    &alarm.alarm_name,
                    now_ms,
                    ACTION,
                    &summary,
                    &data,
                )?;
            }
        }
        let done = alarm.pending.clone();
        self.store.edit_metric_alarm(
            &alarm.alarm_arn,
            Box::new(move |record: &mut String| {
                let Ok(mut a) = MetricAlarm::from_record(record) else {
                    return false;
                };
                a.pending.retain(|p| !done.contains(p));
                *record = a.to_record();
                true
            }),
        )?;
        Ok((ok, failed))
    }
}

/// The alarm's evaluation range ending with the last complete period before `now_ms`,
/// oldest first.
fn range_of(alarm: &MetricAlarm, now_ms: i64, data: &dyn AlarmData) -> Result<Vec<Slot>, String> {
    let period_ms = alarm.period_s().max(1) * 1000;
    let end = now_ms.div_euclid(period_ms) * period_ms;
    let len = alarm_eval::evaluation_range(alarm.evaluation_periods) as i64;
    let start = end - len * period_ms;
    let points = if alarm.metrics.is_empty() {
        let query = MetricQuery {
            namespace: alarm.namespace.as_deref().unwrap_or_default(),
            metric_name: alarm.metric_name.as_deref().unwrap_or_default(),
            dimensions: &alarm.dimensions,
            stat: alarm
                .statistic
                .as_deref()
                .or(alarm.extended_statistic.as_deref())
                .unwrap_or_default(),
            unit: alarm.unit.as_deref(),
            period_s: alarm.period_s(),
        };
        data.datapoints(&alarm.account, &query, start, end)?
    } else {
        data.metric_math(&alarm.account, &alarm.metrics, alarm.period_s(), start, end)?
    };
    let mut by_slot: HashMap<i64, Datapoint> = HashMap::new();
    for p in points {
        if p.timestamp_ms >= start && p.timestamp_ms < end {
            let slot = start + (p.timestamp_ms - start).div_euclid(period_ms) * period_ms;
            by_slot.insert(slot, p);
        }
    }
    Ok((0..len)
        .map(|k| {
            let start_ms = start + k * period_ms;
            Slot {
                start_ms,
                point: by_slot.remove(&start_ms),
            }
        })
        .collect())
}
