//! One alarm evaluation, pure: from the datapoints of an alarm's evaluation range to its
//! new state, with AWS's reason text and `StateReasonData`.
//!
//! The rules are those of AWS's user guide ("How alarm state is evaluated when data is
//! missing"), whose two tables are this module's tests:
//! - CloudWatch fetches an evaluation range longer than `EvaluationPeriods` (N). With at
//!   least N real datapoints in it, the N most recent real ones are evaluated and
//!   `TreatMissingData` plays no part.
//! - With fewer, every real datapoint is evaluated and the rest of the N are missing ones,
//!   filled by `TreatMissingData`: `breaching` and `notBreaching` count them as such.
//! - `ALARM` when at least `DatapointsToAlarm` (M) evaluated datapoints breach, else `OK`,
//!   except where `missing` and `ignore` lack the data to say: with no real datapoint,
//!   `missing` goes to `INSUFFICIENT_DATA` and `ignore` keeps the state; with only
//!   breaching real ones short of M, `missing` goes to `ALARM` when the oldest of them is
//!   at least M periods old, and to `INSUFFICIENT_DATA` otherwise; `ignore` keeps the
//!   state. The guide states that rule in "Avoiding premature transitions to alarm
//!   state" (an `- - X - -` range goes to ALARM for 3 of 3 even when treated as missing);
//!   where it disagrees with the table (`0 - X - -`, 2 of 3: the table's OK), the table is
//!   followed, a non-breaching datapoint deciding OK (UNSURE beyond the guide's rows).
//! - With `EvaluateLowSampleCountPercentile: ignore`, a percentile alarm keeps its state
//!   while an evaluated datapoint has fewer samples than the guide's 10/(1-p) (p ≥ 0.5)
//!   or 10/p (p < 0.5).

use serde_json::{json, Map, Value};

use crate::alarm_model::{MetricAlarm, StateValue, TreatMissing};
use crate::alarm_time::{iso_date, java_double, reason_date};

/// Periods fetched beyond `EvaluationPeriods`. AWS says only that it fetches "a higher
/// number"; its example fetches 5 for 3 evaluation periods (UNSURE for other lengths).
pub const EXTRA_PERIODS: usize = 2;

/// The number of periods of an alarm's evaluation range.
pub fn evaluation_range(evaluation_periods: u32) -> usize {
    evaluation_periods as usize + EXTRA_PERIODS
}

/// One period's aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Datapoint {
    /// The period's start.
    pub timestamp_ms: i64,
    pub value: f64,
    /// Samples aggregated, where known (percentile low-sample handling needs it).
    pub sample_count: Option<f64>,
}

/// One period of the evaluation range: its start and its datapoint, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub start_ms: i64,
    pub point: Option<Datapoint>,
}

/// What an evaluation decided (the caller writes it only when the state changes).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluated {
    pub state: StateValue,
    pub reason: String,
    pub reason_data: Value,
}

/// One evaluated datapoint: a real one, or a missing one filled in (breaching or not).
#[derive(Clone, Copy)]
enum Cell<'a> {
    Real(&'a Datapoint),
    Fill { start_ms: i64, breaching: bool },
}

/// Evaluates `alarm` over `range` (oldest first, newest last, one slot per period).
/// `None` keeps the current state.
pub fn evaluate(alarm: &MetricAlarm, range: &[Slot], now_ms: i64) -> Option<Evaluated> {
    let n = alarm.evaluation_periods as usize;
    let m = alarm.datapoints_to_alarm() as usize;
    let treat = alarm.treat_missing();
    let breaches = |p: &Datapoint| alarm.comparison_operator.breaches(p.value, alarm.threshold);
    let real: Vec<(usize, &Datapoint)> = range
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.point.as_ref().map(|p| (i, p)))
        .collect();

    let ctx = Ctx {
        alarm,
        now_ms,
        n,
        m,
    };
    if real.len() >= n {
        let window: Vec<(usize, Cell)> = real[real.len() - n..]
            .iter()
            .map(|&(i, p)| (i, Cell::Real(p)))
            .collect();
        if low_sample(alarm, &window) {
            return None;
        }
        let b = window.iter().filter(|(_, c)| ctx.breaching(c)).count();
        return Some(ctx.by_count(&window, b));
    }
    // Fewer real datapoints than N: fill the most recent missing periods, as few as
    // needed, and keep every real one.
    let fills = n - real.len();
    let mut window: Vec<(usize, Cell)> = real.iter().map(|&(i, p)| (i, Cell::Real(p))).collect();
    let fill_breaching = treat == TreatMissing::Breaching;
    window.extend(
        range
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, s)| s.point.is_none())
            .take(fills)
            .map(|(i, s)| {
                (
                    i,
                    Cell::Fill {
                        start_ms: s.start_ms,
                        breaching: fill_breaching,
                    },
                )
            }),
    );
    window.sort_by_key(|(i, _)| *i);
    if low_sample(alarm, &window) {
        return None;
    }
    if real.is_empty() {
        return match treat {
            TreatMissing::Ignore => None,
            TreatMissing::Missing => Some(ctx.insufficient(&window, n)),
            TreatMissing::Breaching | TreatMissing::NotBreaching => {
                Some(ctx.all_filled(&window, treat))
            }
        };
    }
    let b_real = real.iter().filter(|(_, p)| breaches(p)).count();
    let g_real = real.len() - b_real;
    match treat {
        TreatMissing::Breaching | TreatMissing::NotBreaching => {
            let b = window.iter().filter(|(_, c)| ctx.breaching(c)).count();
            Some(ctx.by_count(&window, b))
        }
        TreatMissing::Missing | TreatMissing::Ignore => {
            // The missing datapoints count for neither side here: the reason counts the
            // real ones.
            if b_real >= m {
                return Some(ctx.verdict(&window, StateValue::Alarm, b_real));
            }
            if g_real > 0 {
                return Some(ctx.verdict(&window, StateValue::Ok, g_real));
            }
            // Every real datapoint breaches: "ALARM" when the oldest is at least M
            // periods old (the newest period being 1 old).
            let oldest_is_old_enough = range.len() - real[0].0 >= m;
            match treat {
                TreatMissing::Missing if oldest_is_old_enough => {
                    Some(ctx.verdict(&window, StateValue::Alarm, b_real))
                }
                TreatMissing::Missing => Some(ctx.insufficient(&window, fills)),
                _ => None,
            }
        }
    }
}

/// Whether a percentile alarm set to ignore low sample counts has an evaluated datapoint
/// with too few samples.
fn low_sample(alarm: &MetricAlarm, window: &[(usize, Cell)]) -> bool {
    if alarm.evaluate_low_sample_count_percentile.as_deref() != Some("ignore") {
        return false;
    }
    let Some(q) = alarm
        .extended_statistic
        .as_deref()
        .and_then(|s| s.strip_prefix('p'))
        .and_then(|p| p.parse::<f64>().ok())
        .map(|p| p / 100.0)
    else {
        return false;
    };
    if q <= 0.0 || q >= 1.0 {
        return false;
    }
    let need = if q >= 0.5 { 10.0 / (1.0 - q) } else { 10.0 / q };
    window.iter().any(|(_, c)| match c {
        Cell::Real(p) => p.sample_count.is_some_and(|n| n < need),
        Cell::Fill { .. } => false,
    })
}

struct Ctx<'a> {
    alarm: &'a MetricAlarm,
    now_ms: i64,
    n: usize,
    m: usize,
}

fn plural(k: usize, word: &str) -> String {
    if k == 1 {
        format!("{k} {word}")
    } else {
        format!("{k} {word}s")
    }
}

fn was(k: usize) -> &'static str {
    if k == 1 {
        "was"
    } else {
        "were"
    }
}

impl Ctx<'_> {
    fn breaching(&self, c: &Cell) -> bool {
        match c {
            Cell::Real(p) => self
                .alarm
                .comparison_operator
                .breaches(p.value, self.alarm.threshold),
            Cell::Fill { breaching, .. } => *breaching,
        }
    }

    fn by_count(&self, window: &[(usize, Cell)], breaching: usize) -> Evaluated {
        let state = if breaching >= self.m {
            StateValue::Alarm
        } else {
            StateValue::Ok
        };
        let k = match state {
            StateValue::Alarm => breaching,
            _ => window.len() - breaching,
        };
        self.verdict(window, state, k)
    }

    /// "Threshold Crossed: k out of the last n datapoints [v (date), ...] was (not)
    /// greater than the threshold (t) (minimum x datapoints for A -> B transition)."
    fn verdict(&self, window: &[(usize, Cell)], state: StateValue, k: usize) -> Evaluated {
        let alarm_side = state == StateValue::Alarm;
        let listed: Vec<String> = window
            .iter()
            .rev()
            .filter_map(|(_, c)| match c {
                Cell::Real(p) if self.breaching(c) == alarm_side => Some(format!(
                    "{} ({})",
                    java_double(p.value),
                    reason_date(p.timestamp_ms)
                )),
                _ => None,
            })
            .collect();
        let minimum = if alarm_side {
            self.m
        } else {
            self.n - self.m + 1
        };
        let side = if alarm_side { "" } else { "not " };
        let phrase = self.alarm.comparison_operator.phrase();
        let threshold = java_double(self.alarm.threshold);
        let reason = if self.alarm.datapoints_to_alarm.is_none() {
            // Without DatapointsToAlarm AWS writes the short form (recorded in 2023:
            // "Threshold Crossed: 1 datapoint [21.5 (26/10/23 16:42:00)] was greater than
            // the threshold (2.0).").
            format!(
                "Threshold Crossed: {} [{}] {} {side}{phrase} the threshold ({threshold}).",
                plural(listed.len(), "datapoint"),
                listed.join(", "),
                was(listed.len()),
            )
        } else {
            // AWS names the transition by the side crossed, whatever the old state: an
            // alarm leaving INSUFFICIENT_DATA reads "OK -> ALARM".
            let transition = if alarm_side {
                "OK -> ALARM"
            } else {
                "ALARM -> OK"
            };
            format!(
                "Threshold Crossed: {k} out of the last {} datapoints [{}] {} {side}{phrase} \
                 the threshold ({threshold}) (minimum {} for {transition} transition).",
                window.len(),
                listed.join(", "),
                was(k),
                plural(minimum, "datapoint"),
            )
        };
        Evaluated {
            state,
            reason,
            reason_data: self.reason_data(window),
        }
    }

    /// Every evaluated datapoint missing and filled as breaching or not.
    fn all_filled(&self, window: &[(usize, Cell)], treat: TreatMissing) -> Evaluated {
        let breaching = treat == TreatMissing::Breaching;
        let state = if breaching && self.n >= self.m {
            StateValue::Alarm
        } else {
            StateValue::Ok
        };
        let reason = format!(
            "Threshold Crossed: no datapoints were received for {} and {} missing {} {} \
             treated as [{}].",
            plural(self.n, "period"),
            self.n,
            if self.n == 1 {
                "datapoint"
            } else {
                "datapoints"
            },
            was(self.n),
            if breaching {
                "Breaching"
            } else {
                "NonBreaching"
            },
        );
        Evaluated {
            state,
            reason,
            reason_data: self.reason_data(window),
        }
    }

    fn insufficient(&self, window: &[(usize, Cell)], unknown: usize) -> Evaluated {
        Evaluated {
            state: StateValue::InsufficientData,
            reason: format!(
                "Insufficient Data: {} {} unknown.",
                plural(unknown, "datapoint"),
                was(unknown)
            ),
            reason_data: self.reason_data(window),
        }
    }

    /// AWS's `StateReasonData`, with the members of AWS's recorded answers: version,
    /// queryDate, startDate, unit, statistic, period, recentDatapoints, threshold,
    /// evaluatedDatapoints (extendedStatistic for percentiles is UNSURE).
    fn reason_data(&self, window: &[(usize, Cell)]) -> Value {
        let a = self.alarm;
        let mut m = Map::new();
        m.insert("version".into(), json!("1.0"));
        m.insert("queryDate".into(), json!(iso_date(self.now_ms)));
        // AWS gives a startDate only when a datapoint was received.
        let first_real = window.iter().find_map(|(_, c)| match c {
            Cell::Real(p) => Some(p.timestamp_ms),
            Cell::Fill { .. } => None,
        });
        if let Some(start) = first_real {
            m.insert("startDate".into(), json!(iso_date(start)));
        }
        if let Some(s) = &a.statistic {
            m.insert("statistic".into(), json!(s));
        }
        if let Some(s) = &a.extended_statistic {
            m.insert("extendedStatistic".into(), json!(s));
        }
        if let Some(u) = &a.unit {
            m.insert("unit".into(), json!(u));
        }
        m.insert("period".into(), json!(a.period_s()));
        let recent: Vec<f64> = window
            .iter()
            .filter_map(|(_, c)| match c {
                Cell::Real(p) => Some(p.value),
                Cell::Fill { .. } => None,
            })
            .collect();
        m.insert("recentDatapoints".into(), json!(recent));
        m.insert("threshold".into(), json!(a.threshold));
        let evaluated: Vec<Value> = window
            .iter()
            .rev()
            .map(|(_, c)| match c {
                Cell::Real(p) => {
                    let mut d = Map::new();
                    d.insert("timestamp".into(), json!(iso_date(p.timestamp_ms)));
                    if let Some(n) = p.sample_count {
                        d.insert("sampleCount".into(), json!(n));
                    }
                    d.insert("value".into(), json!(p.value));
                    Value::Object(d)
                }
                Cell::Fill { start_ms, .. } => json!({"timestamp": iso_date(*start_ms)}),
            })
            .collect();
        m.insert("evaluatedDatapoints".into(), json!(evaluated));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm_model::tests::sample;
    use crate::alarm_model::Comparison;

    // 2026-12-03T10:00:00Z
    const T: i64 = 1_796_292_000_000;
    const MIN: i64 = 60_000;

    /// A range from AWS's notation, oldest first: `0` not breaching (value 0), `X`
    /// breaching (value 5), `-` missing; threshold 1, one-minute periods ending at T.
    fn range(pattern: &str) -> Vec<Slot> {
        let cells: Vec<char> = pattern.chars().filter(|c| !c.is_whitespace()).collect();
        let len = cells.len() as i64;
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let start_ms = T - (len - i as i64) * MIN;
                let value = match c {
                    '0' => Some(0.0),
                    'X' => Some(5.0),
                    _ => None,
                };
                Slot {
                    start_ms,
                    point: value.map(|value| Datapoint {
                        timestamp_ms: start_ms,
                        value,
                        sample_count: Some(1.0),
                    }),
                }
            })
            .collect()
    }

    fn alarm(m: u32, n: u32, treat: TreatMissing) -> MetricAlarm {
        let mut a = sample("a");
        a.evaluation_periods = n;
        a.datapoints_to_alarm = Some(m);
        a.treat_missing_data = Some(treat);
        a
    }

    /// The state each mode reaches, as the guide's tables write it.
    fn outcome(m: u32, pattern: &str, treat: TreatMissing) -> &'static str {
        match evaluate(&alarm(m, 3, treat), &range(pattern), T) {
            None => "Retain",
            Some(e) => match e.state {
                StateValue::Ok => "OK",
                StateValue::Alarm => "ALARM",
                StateValue::InsufficientData => "Insufficient",
            },
        }
    }

    fn table(m: u32, rows: &[(&str, [&str; 4])]) {
        use TreatMissing::*;
        for (pattern, want) in rows {
            let got = [Missing, Ignore, Breaching, NotBreaching].map(|t| outcome(m, pattern, t));
            assert_eq!(&got, want, "M={m} N=3 data points {pattern}");
        }
    }

    #[test]
    fn aws_table_three_out_of_three() {
        table(
            3,
            &[
                ("0 - X - X", ["OK", "OK", "OK", "OK"]),
                ("0 - - - -", ["OK", "OK", "OK", "OK"]),
                ("- - - - -", ["Insufficient", "Retain", "ALARM", "OK"]),
                ("0 X X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
                ("- - - - X", ["Insufficient", "Retain", "ALARM", "OK"]),
                ("X - - - -", ["ALARM", "Retain", "ALARM", "OK"]),
            ],
        );
    }

    #[test]
    fn aws_table_two_out_of_three() {
        table(
            2,
            &[
                ("0 - X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
                ("0 0 X 0 X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
                ("0 - X - -", ["OK", "OK", "ALARM", "OK"]),
                ("- - - - 0", ["OK", "OK", "ALARM", "OK"]),
                ("- - - - X", ["Insufficient", "Retain", "ALARM", "OK"]),
            ],
        );
    }

    #[test]
    fn missing_mode_premature_transitions() {
        // The guide's "- - X - -" for 3 of 3, and its rule (the oldest breaching
        // datapoint at least M periods old, none more recent within) for others.
        table(
            3,
            &[
                ("- - X - -", ["ALARM", "Retain", "ALARM", "OK"]),
                ("- - - X -", ["Insufficient", "Retain", "ALARM", "OK"]),
                ("- - X X -", ["ALARM", "Retain", "ALARM", "OK"]),
                ("- - 0 X -", ["OK", "OK", "OK", "OK"]),
            ],
        );
        table(
            2,
            &[
                ("- - - X -", ["ALARM", "Retain", "ALARM", "OK"]),
                ("- - - - X", ["Insufficient", "Retain", "ALARM", "OK"]),
            ],
        );
    }

    #[test]
    fn m_out_of_n_counts_the_most_recent_n() {
        use TreatMissing::Missing;
        // 2 of 4: the two old breaches fall out of the last four.
        let mut a = alarm(2, 4, Missing);
        a.evaluation_periods = 4;
        let e = evaluate(&a, &range("X X 0 0 X 0"), T).expect("decides");
        assert_eq!(e.state, StateValue::Ok);
        let e = evaluate(&a, &range("X X 0 X X 0"), T).expect("decides");
        assert_eq!(e.state, StateValue::Alarm);
    }

    #[test]
    fn alarm_reason_is_aws_wording() {
        let a = alarm(1, 1, TreatMissing::Missing);
        let e = evaluate(&a, &range("- - X"), T).expect("decides");
        assert_eq!(e.state, StateValue::Alarm);
        assert_eq!(
            e.reason,
            "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (03/12/26 09:59:00)] was \
             greater than the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
        );
        assert_eq!(
            e.reason_data,
            json!({
                "version": "1.0",
                "queryDate": "2026-12-03T10:00:00.000+0000",
                "startDate": "2026-12-03T09:59:00.000+0000",
                "statistic": "Sum",
                "period": 60,
                "recentDatapoints": [5.0],
                "threshold": 1.0,
                "evaluatedDatapoints": [
                    {"timestamp": "2026-12-03T09:59:00.000+0000", "sampleCount": 1.0, "value": 5.0}
                ]
            })
        );
    }

    #[test]
    fn short_reason_without_datapoints_to_alarm() {
        let mut a = alarm(1, 1, TreatMissing::Missing);
        a.datapoints_to_alarm = None;
        let e = evaluate(&a, &range("- - X"), T).expect("decides");
        assert_eq!(
            e.reason,
            "Threshold Crossed: 1 datapoint [5.0 (03/12/26 09:59:00)] was greater than the \
             threshold (1.0)."
        );
        let e = evaluate(&a, &range("- - 0"), T).expect("decides");
        assert_eq!(
            e.reason,
            "Threshold Crossed: 1 datapoint [0.0 (03/12/26 09:59:00)] was not greater than \
             the threshold (1.0)."
        );
    }

    #[test]
    fn ok_reason_counts_the_datapoints_within() {
        let mut a = alarm(2, 3, TreatMissing::Missing);
        a.comparison_operator = Comparison::GreaterThanOrEqualToThreshold;
        let e = evaluate(&a, &range("X X 0 X 0"), T).expect("decides");
        assert_eq!(e.state, StateValue::Ok);
        assert_eq!(
            e.reason,
            "Threshold Crossed: 2 out of the last 3 datapoints [0.0 (03/12/26 09:59:00), \
             0.0 (03/12/26 09:57:00)] were not greater than or equal to the threshold (1.0) \
             (minimum 2 datapoints for ALARM -> OK transition)."
        );
    }

    #[test]
    fn partial_data_reasons_count_real_datapoints() {
        let a = alarm(3, 3, TreatMissing::Missing);
        let e = evaluate(&a, &range("0 - - - -"), T).expect("decides");
        assert_eq!(
            e.reason,
            "Threshold Crossed: 1 out of the last 3 datapoints [0.0 (03/12/26 09:55:00)] was \
             not greater than the threshold (1.0) (minimum 1 datapoint for ALARM -> OK \
             transition)."
        );
        let e = evaluate(&a, &range("X - - - -"), T).expect("decides");
        assert_eq!(
            e.reason,
            "Threshold Crossed: 1 out of the last 3 datapoints [5.0 (03/12/26 09:55:00)] was \
             greater than the threshold (1.0) (minimum 3 datapoints for OK -> ALARM \
             transition)."
        );
    }

    #[test]
    fn all_missing_reasons() {
        let a = alarm(1, 2, TreatMissing::Breaching);
        let e = evaluate(&a, &range("- - - -"), T).expect("decides");
        assert_eq!(e.state, StateValue::Alarm);
        assert_eq!(
            e.reason,
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing \
             datapoints were treated as [Breaching]."
        );
        let a = alarm(1, 1, TreatMissing::Missing);
        let e = evaluate(&a, &range("- - -"), T).expect("decides");
        assert_eq!(e.state, StateValue::InsufficientData);
        assert_eq!(e.reason, "Insufficient Data: 1 datapoint was unknown.");
        assert_eq!(
            e.reason_data,
            json!({
                "version": "1.0",
                "queryDate": "2026-12-03T10:00:00.000+0000",
                "statistic": "Sum",
                "period": 60,
                "recentDatapoints": [],
                "threshold": 1.0,
                "evaluatedDatapoints": [{"timestamp": "2026-12-03T09:59:00.000+0000"}]
            })
        );
    }

    #[test]
    fn low_sample_percentiles_keep_state_when_ignored() {
        let mut a = alarm(1, 1, TreatMissing::Missing);
        a.statistic = None;
        a.extended_statistic = Some("p99".into());
        a.evaluate_low_sample_count_percentile = Some("ignore".into());
        let mut r = range("- - X");
        // p99 needs 10 / (1 - 0.99) = 1000 samples.
        if let Some(p) = r[2].point.as_mut() {
            p.sample_count = Some(999.0);
        }
        assert_eq!(evaluate(&a, &r, T), None);
        if let Some(p) = r[2].point.as_mut() {
            p.sample_count = Some(1000.0);
        }
        assert_eq!(
            evaluate(&a, &r, T).map(|e| e.state),
            Some(StateValue::Alarm)
        );
        a.evaluate_low_sample_count_percentile = Some("evaluate".into());
        if let Some(p) = r[2].point.as_mut() {
            p.sample_count = Some(3.0);
        }
        assert_eq!(
            evaluate(&a, &r, T).map(|e| e.state),
            Some(StateValue::Alarm)
        );
        // p10 needs 10 / 0.1 = 100.
        a.extended_statistic = Some("p10".into());
        a.evaluate_low_sample_count_percentile = Some("ignore".into());
        if let Some(p) = r[2].point.as_mut() {
            p.sample_count = Some(99.0);
        }
        assert_eq!(evaluate(&a, &r, T), None);
    }
}
