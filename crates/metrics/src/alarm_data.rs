//! [`AlarmData`] over this crate's own queries: the evaluator can be handed the
//! [`CloudWatch`] it runs on. A single metric is read with `metric_datapoints` (and its
//! sample counts, which percentile alarms' low-sample rule and `StateReasonData` use);
//! metric math with `evaluate_queries`, the query returning data being the alarm's.

use std::collections::HashMap;

use crate::alarm_eval::Datapoint;
use crate::alarm_evaluator::{AlarmData, MetricQuery};
use crate::alarm_model::MetricDataQuery;
use crate::query::MetricRef;
use crate::series::{sorted_dimensions, Unit};
use crate::statistic::Statistic;
use crate::CloudWatch;

impl AlarmData for CloudWatch {
    fn datapoints(
        &self,
        account: &str,
        query: &MetricQuery<'_>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Datapoint>, String> {
        let stat = Statistic::parse(query.stat)
            .ok_or_else(|| format!("unknown statistic {}", query.stat))?;
        let unit = query
            .unit
            .map(|u| Unit::parse(u).ok_or_else(|| format!("unknown unit {u}")))
            .transpose()?;
        let period =
            u32::try_from(query.period_s).map_err(|_| "period out of range".to_string())?;
        let dims: Vec<(&str, &str)> = query
            .dimensions
            .iter()
            .map(|d| (d.name.as_str(), d.value.as_str()))
            .collect();
        let metric = MetricRef {
            namespace: query.namespace.to_string(),
            name: query.metric_name.to_string(),
            dimensions: sorted_dimensions(&dims),
        };
        let values = self
            .metric_datapoints(account, &metric, period, &stat, unit, from_ms, to_ms)
            .map_err(|e| e.to_string())?;
        let counts: HashMap<i64, f64> = self
            .datapoints_flushed(
                account,
                &metric,
                period,
                &Statistic::SampleCount,
                unit,
                from_ms,
                to_ms,
            )
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        Ok(values
            .into_iter()
            .map(|(t, value)| Datapoint {
                timestamp_ms: t,
                value,
                sample_count: counts.get(&t).copied(),
            })
            .collect())
    }

    fn metric_math(
        &self,
        account: &str,
        queries: &[MetricDataQuery],
        _period_s: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Datapoint>, String> {
        let json: Vec<serde_json::Value> = queries
            .iter()
            .map(|q| serde_json::to_value(q).expect("a query always serializes"))
            .collect();
        let results = self
            .evaluate_queries(account, &json, from_ms, to_ms)
            .map_err(|e| e.to_string())?;
        let returned = results
            .into_iter()
            .find(|r| r.return_data)
            .ok_or_else(|| "no query returns data".to_string())?;
        Ok(returned
            .points
            .into_iter()
            .map(|(t, value)| Datapoint {
                timestamp_ms: t,
                value,
                sample_count: None,
            })
            .collect())
    }
}
