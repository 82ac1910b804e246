//! GetMetricData: `MetricDataQueries` of metrics (`MetricStat`) and metric math
//! (`Expression`, see [`crate::expr`]), their results ordered by `ScanBy` and paged by
//! `MaxDatapoints` with a `NextToken`. The evaluation of a query list is also what
//! alarms on metric math use ([`CloudWatch::evaluate_queries`]).

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use crate::expr::{self, Env, Expr, ExprError, MathValue, Series};
use crate::get_statistics::check_order;
use crate::params::{
    check_len, dimensions, invalid, list, missing, namespace, opt_bool, opt_i64, opt_str, req_str,
    req_time_ms,
};
use crate::query::{align_start, check_period, MetricRef};
use crate::series::Unit;
use crate::statistic::Statistic;
use crate::{CloudWatch, CloudWatchError};

/// Most queries in one request.
const MAX_QUERIES: usize = 500;
/// `MaxDatapoints` when not given.
const DEFAULT_MAX_DATAPOINTS: usize = 100_800;

/// One parsed query.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub id: String,
    pub label: Option<String>,
    pub return_data: bool,
    /// The query's own `Period` (an expression's output period).
    pub period: Option<u32>,
    pub kind: QueryKind,
}

#[derive(Debug, Clone)]
pub(crate) enum QueryKind {
    Stat {
        metric: MetricRef,
        period: u32,
        stat: Statistic,
        unit: Option<Unit>,
    },
    Expression(Expr),
}

/// A query's result: datapoints in ascending time.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub id: String,
    pub label: String,
    pub return_data: bool,
    pub points: Vec<(i64, f64)>,
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses and checks `MetricDataQueries`.
pub(crate) fn parse_queries(items: &[Value], account: &str) -> Result<Vec<Query>, CloudWatchError> {
    if items.is_empty() {
        return Err(missing("MetricDataQueries"));
    }
    if items.len() > MAX_QUERIES {
        return Err(invalid(format!(
            "The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, q) in items.iter().enumerate() {
        let at = format!("MetricDataQueries.member.{}", i + 1);
        let id = req_str(q, "Id", &format!("{at}.Id"))?;
        check_len(id, &format!("{at}.Id"), 1, 255)?;
        if !valid_id(id) {
            // UNSURE: AWS's exact message.
            return Err(invalid(format!(
                "The value {id} for parameter {at}.Id is invalid: an Id starts with a lower-case \
                 letter and holds only letters, digits and underscores."
            )));
        }
        if !seen.insert(id) {
            return Err(invalid(format!(
                "The Id {id} is used by more than one query."
            )));
        }
        if let Some(a) = opt_str(q, "AccountId", &format!("{at}.AccountId"))? {
            if a != account {
                return Err(invalid(format!(
                    "The parameter {at}.AccountId names another account: cross-account queries are not supported."
                )));
            }
        }
        let period = match opt_i64(q, "Period", &format!("{at}.Period"))? {
            Some(p) => Some(check_period(p, &format!("{at}.Period"))?),
            None => None,
        };
        let stat = q.get("MetricStat").filter(|v| !v.is_null());
        let expression = opt_str(q, "Expression", &format!("{at}.Expression"))?;
        let kind = match (stat, expression) {
            (Some(s), None) => parse_stat(s, &format!("{at}.MetricStat"))?,
            (None, Some(e)) => {
                check_len(e, &format!("{at}.Expression"), 1, 2048)?;
                QueryKind::Expression(
                    expr::parse(e)
                        .map_err(|err| invalid(format!("Error in expression {id}: {err}")))?,
                )
            }
            // UNSURE: AWS's exact message.
            _ => {
                return Err(crate::params::combination(format!(
                    "The parameter {at} must have exactly one of MetricStat and Expression."
                )))
            }
        };
        out.push(Query {
            id: id.to_string(),
            label: opt_str(q, "Label", &format!("{at}.Label"))?.map(str::to_string),
            return_data: opt_bool(q, "ReturnData", &format!("{at}.ReturnData"))?.unwrap_or(true),
            period,
            kind,
        });
    }
    Ok(out)
}

fn parse_stat(s: &Value, at: &str) -> Result<QueryKind, CloudWatchError> {
    let m = s
        .get("Metric")
        .filter(|v| !v.is_null())
        .ok_or_else(|| missing(&format!("{at}.Metric")))?;
    let ns = req_str(m, "Namespace", &format!("{at}.Metric.Namespace"))?;
    namespace(ns, &format!("{at}.Metric.Namespace"))?;
    let name = req_str(m, "MetricName", &format!("{at}.Metric.MetricName"))?;
    let dims = dimensions(m, &format!("{at}.Metric"))?;
    let period = opt_i64(s, "Period", &format!("{at}.Period"))?
        .ok_or_else(|| missing(&format!("{at}.Period")))?;
    let period = check_period(period, &format!("{at}.Period"))?;
    let stat_name = req_str(s, "Stat", &format!("{at}.Stat"))?;
    let stat = Statistic::parse(stat_name).ok_or_else(|| {
        invalid(format!(
            "The value {stat_name} for parameter {at}.Stat is invalid."
        ))
    })?;
    let unit = match opt_str(s, "Unit", &format!("{at}.Unit"))? {
        None => None,
        Some(u) => Some(Unit::parse(u).ok_or_else(|| {
            invalid(format!("The value {u} for parameter {at}.Unit is invalid."))
        })?),
    };
    Ok(QueryKind::Stat {
        metric: MetricRef {
            namespace: ns.to_string(),
            name: name.to_string(),
            dimensions: dims,
        },
        period,
        stat,
        unit,
    })
}

/// Evaluates queries in dependency order, each once.
struct Evaluation<'a> {
    cw: &'a CloudWatch,
    account: &'a str,
    queries: &'a [Query],
    start_ms: i64,
    end_ms: i64,
    done: HashMap<String, MathValue>,
    running: HashSet<String>,
    /// A store failure met inside an expression (reported as such, not as the
    /// expression's fault).
    failure: Option<CloudWatchError>,
}

impl Evaluation<'_> {
    fn metric(&mut self, q: &Query) -> Result<Series, CloudWatchError> {
        let QueryKind::Stat {
            metric,
            period,
            stat,
            unit,
        } = &q.kind
        else {
            return Ok(Series::new());
        };
        Ok(self
            .cw
            .datapoints_flushed(
                self.account,
                metric,
                *period,
                stat,
                *unit,
                self.start_ms,
                self.end_ms,
            )?
            .into_iter()
            .collect())
    }

    fn value(&mut self, id: &str) -> Result<MathValue, ExprError> {
        if let Some(v) = self.done.get(id) {
            return Ok(v.clone());
        }
        let q = self
            .queries
            .iter()
            .find(|q| q.id == id)
            .ok_or_else(|| ExprError(format!("Unrecognized id {id}")))?;
        let v = match &q.kind {
            QueryKind::Stat { .. } => match self.metric(q) {
                Ok(s) => MathValue::Series(s),
                Err(e) => {
                    self.failure = Some(e);
                    return Err(ExprError("the store failed".into()));
                }
            },
            QueryKind::Expression(e) => {
                if !self.running.insert(id.to_string()) {
                    return Err(ExprError(format!("Circular reference to {id}")));
                }
                let v = expr::eval(e, self);
                self.running.remove(id);
                v?
            }
        };
        self.done.insert(id.to_string(), v.clone());
        Ok(v)
    }
}

impl Env for Evaluation<'_> {
    fn query(&mut self, id: &str) -> Result<MathValue, ExprError> {
        self.value(id)
    }

    // UNSURE: whether AWS's METRICS("filter") matches the Id or the Label; Hearth
    // matches the Id.
    fn metrics(&mut self, filter: Option<&str>) -> Result<Vec<Series>, ExprError> {
        let ids: Vec<String> = self
            .queries
            .iter()
            .filter(|q| matches!(q.kind, QueryKind::Stat { .. }))
            .filter(|q| filter.is_none_or(|f| q.id.contains(f)))
            .map(|q| q.id.clone())
            .collect();
        ids.iter()
            .map(|id| match self.value(id)? {
                MathValue::Series(s) => Ok(s),
                _ => Ok(Series::new()),
            })
            .collect()
    }
}

impl CloudWatch {
    /// For alarms on metric math (the query API, see `data.rs`): evaluates the
    /// `MetricDataQueries` `queries` (their AWS JSON form) of `account` over
    /// `from_ms..to_ms`, one result per query in request order, each with its
    /// datapoints in ascending time. What the recorder holds is flushed first.
    pub fn evaluate_queries(
        &self,
        account: &str,
        queries: &[Value],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<QueryResult>, CloudWatchError> {
        let queries = parse_queries(queries, account)?;
        self.flush()?;
        self.evaluate(account, &queries, from_ms, to_ms)
    }

    pub(crate) fn evaluate(
        &self,
        account: &str,
        queries: &[Query],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<QueryResult>, CloudWatchError> {
        let mut ev = Evaluation {
            cw: self,
            account,
            queries,
            start_ms,
            end_ms,
            done: HashMap::new(),
            running: HashSet::new(),
            failure: None,
        };
        // A scalar result is given at every period of the range: the query's own
        // Period, else the shortest of the metrics', else a minute. UNSURE: AWS's
        // exact placement of a scalar expression's timestamps.
        let shortest = queries
            .iter()
            .filter_map(|q| match q.kind {
                QueryKind::Stat { period, .. } => Some(period),
                QueryKind::Expression(_) => None,
            })
            .min()
            .unwrap_or(60);
        let now = self.now_ms();
        let mut out = Vec::with_capacity(queries.len());
        for q in queries {
            let value = ev.value(&q.id);
            if let Some(e) = ev.failure.take() {
                return Err(e);
            }
            let value = value.map_err(|e| invalid(format!("Error in expression {}: {e}", q.id)))?;
            let points: Vec<(i64, f64)> = match value {
                MathValue::Series(s) => s.into_iter().collect(),
                MathValue::Scalar(v) => {
                    let period = i64::from(q.period.unwrap_or(shortest)) * 1000;
                    let first = align_start(now, start_ms, q.period.unwrap_or(shortest));
                    (0..)
                        .map(|k| first + k * period)
                        .take_while(|t| *t < end_ms)
                        .take(DEFAULT_MAX_DATAPOINTS)
                        .map(|t| (t, v))
                        .collect()
                }
                MathValue::Array(_) => {
                    // UNSURE: AWS's exact message.
                    return Err(invalid(format!(
                        "Error in expression {}: the expression must return a single time series.",
                        q.id
                    )));
                }
            };
            let label = q.label.clone().unwrap_or_else(|| match &q.kind {
                QueryKind::Stat { metric, .. } => metric.name.clone(),
                // UNSURE: AWS's default label of an expression; Hearth uses its Id.
                QueryKind::Expression(_) => q.id.clone(),
            });
            out.push(QueryResult {
                id: q.id.clone(),
                label,
                return_data: q.return_data,
                points,
            });
        }
        Ok(out)
    }
}

/// FNV-1a: a stable fingerprint of the request a NextToken was made for.
fn fingerprint(input: &Value) -> u64 {
    let mut v = input.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("NextToken");
        o.remove("MaxDatapoints");
    }
    v.to_string().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn bad_token() -> CloudWatchError {
    // UNSURE: AWS's exact message.
    CloudWatchError::client(
        "InvalidNextToken",
        "The NextToken is invalid for this request.",
    )
}

fn token(offset: usize, print: u64) -> String {
    format!("{print:016x}{offset:x}")
}

fn read_token(t: &str, print: u64) -> Result<usize, CloudWatchError> {
    if t.len() <= 16 || !t.is_ascii() {
        return Err(bad_token());
    }
    let (p, o) = t.split_at(16);
    if u64::from_str_radix(p, 16).ok() != Some(print) {
        return Err(bad_token());
    }
    usize::from_str_radix(o, 16).map_err(|_| bad_token())
}

pub(crate) fn get_metric_data(
    cw: &CloudWatch,
    account: &str,
    input: &Value,
) -> Result<Value, CloudWatchError> {
    let queries = parse_queries(
        list(input, "MetricDataQueries", "MetricDataQueries")?,
        account,
    )?;
    let start = req_time_ms(input, "StartTime", "StartTime")?;
    let end = req_time_ms(input, "EndTime", "EndTime")?;
    check_order(start, end)?;
    let descending = match opt_str(input, "ScanBy", "ScanBy")? {
        None | Some("TimestampDescending") => true,
        Some("TimestampAscending") => false,
        Some(s) => {
            return Err(invalid(format!(
                "The value {s} for parameter ScanBy is invalid."
            )))
        }
    };
    let max = match opt_i64(input, "MaxDatapoints", "MaxDatapoints")? {
        None => DEFAULT_MAX_DATAPOINTS,
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(n) => {
            return Err(invalid(format!(
                "The value {n} for parameter MaxDatapoints is invalid."
            )))
        }
    };
    let print = fingerprint(input);
    let offset = match opt_str(input, "NextToken", "NextToken")? {
        Some(t) => read_token(t, print)?,
        None => 0,
    };
    cw.flush()?;
    let results = cw.evaluate(account, &queries, start, end)?;
    let mut base = 0usize;
    let mut page = Vec::new();
    let limit = offset.saturating_add(max);
    for mut r in results.into_iter().filter(|r| r.return_data) {
        if descending {
            r.points.reverse();
        }
        let len = r.points.len();
        let from = offset.clamp(base, base + len) - base;
        let to = limit.clamp(base, base + len) - base;
        let slice = &r.points[from..to];
        // UNSURE: whether AWS lists, on a page, results none of whose datapoints fall
        // in it; Hearth lists every result on every page.
        page.push(json!({
            "Id": r.id,
            "Label": r.label,
            "Timestamps": slice.iter().map(|(t, _)| json!(t / 1000)).collect::<Vec<_>>(),
            "Values": slice.iter().map(|(_, v)| json!(v)).collect::<Vec<_>>(),
            "StatusCode": if to < len { "PartialData" } else { "Complete" },
            "Messages": [],
        }));
        base += len;
    }
    if offset > base {
        return Err(bad_token());
    }
    let mut out = json!({ "MetricDataResults": page, "Messages": [] });
    if limit < base {
        out["NextToken"] = json!(token(limit, print));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_start_with_a_lower_case_letter() {
        assert!(valid_id("m1"));
        assert!(valid_id("errorRate_2"));
        assert!(!valid_id("M1"));
        assert!(!valid_id("1m"));
        assert!(!valid_id("m-1"));
    }

    #[test]
    fn tokens_belong_to_their_request() {
        let a = json!({"StartTime": 0, "NextToken": "x"});
        let b = json!({"StartTime": 60});
        let t = token(500, fingerprint(&a));
        assert_eq!(
            read_token(&t, fingerprint(&json!({"StartTime": 0}))),
            Ok(500)
        );
        assert_eq!(
            read_token(&t, fingerprint(&b)).map_err(|e| e.code),
            Err("InvalidNextToken".into())
        );
        assert_eq!(
            read_token("zz", 0).map_err(|e| e.code),
            Err("InvalidNextToken".into())
        );
    }
}
