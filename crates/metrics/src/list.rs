//! ListMetrics: `account`'s metrics with a point in the last two weeks (AWS keeps a
//! metric listed that long after its last point), or in the last three hours with
//! `RecentlyActive` `PT3H`, filtered by namespace, name and dimensions, 500 a page.

use serde_json::{json, Value};

use crate::params::{check_len, invalid, list, namespace, opt_str, req_str};
use crate::query::{DAY_MS, HOUR_MS};
use crate::{CloudWatch, CloudWatchError};

/// Metrics per page.
const PAGE: usize = 500;
/// Series read from the store at a time while filtering by dimensions.
const BATCH: usize = 1000;

fn bad_token() -> CloudWatchError {
    // UNSURE: AWS's exact message.
    CloudWatchError::client("InvalidNextToken", "The NextToken is invalid.")
}

pub(crate) fn list_metrics(
    cw: &CloudWatch,
    account: &str,
    input: &Value,
) -> Result<Value, CloudWatchError> {
    let ns = opt_str(input, "Namespace", "Namespace")?;
    if let Some(ns) = ns {
        namespace(ns, "Namespace")?;
    }
    let name = opt_str(input, "MetricName", "MetricName")?;
    let filters_in = list(input, "Dimensions", "Dimensions")?;
    if filters_in.len() > 10 {
        return Err(invalid(
            "The collection Dimensions must not have a size greater than 10.",
        ));
    }
    let mut filters = Vec::new();
    for (i, f) in filters_in.iter().enumerate() {
        let at = format!("Dimensions.member.{}", i + 1);
        let n = req_str(f, "Name", &format!("{at}.Name"))?;
        check_len(n, &format!("{at}.Name"), 1, 255)?;
        let v = opt_str(f, "Value", &format!("{at}.Value"))?;
        if let Some(v) = v {
            check_len(v, &format!("{at}.Value"), 1, 1024)?;
        }
        filters.push((n, v));
    }
    let now = cw.now_ms();
    let since = match opt_str(input, "RecentlyActive", "RecentlyActive")? {
        None => now - 14 * DAY_MS,
        Some("PT3H") => now - 3 * HOUR_MS,
        Some(r) => {
            return Err(invalid(format!(
                "The value {r} for parameter RecentlyActive is invalid."
            )))
        }
    };
    if let Some(owner) = opt_str(input, "OwningAccount", "OwningAccount")? {
        if owner != account {
            return Err(invalid("The parameter OwningAccount names another account: cross-account listing is not supported."));
        }
    }
    // The token is the id of the last series listed, hex-encoded (opaque to callers,
    // checked to be one of this account's).
    let mut after = match opt_str(input, "NextToken", "NextToken")? {
        None => None,
        Some(t) => {
            let id = hex::decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(bad_token)?;
            let parsed: Option<Vec<Value>> = serde_json::from_str(&id).ok();
            if parsed
                .as_ref()
                .and_then(|p| p.first())
                .and_then(Value::as_str)
                != Some(account)
            {
                return Err(bad_token());
            }
            Some(id)
        }
    };
    cw.flush()?;
    let mut metrics = Vec::new();
    let mut last_id = None;
    let mut more = false;
    'scan: loop {
        let batch =
            cw.store
                .list_metric_series(account, ns, name, since, after.as_deref(), BATCH)?;
        let full = batch.len() == BATCH;
        for s in batch {
            let id = s.id.clone();
            let keep = filters.iter().all(|(n, v)| {
                s.dimensions
                    .iter()
                    .any(|(dn, dv)| dn == n && v.is_none_or(|v| dv == v))
            });
            if keep {
                if metrics.len() == PAGE {
                    more = true;
                    break 'scan;
                }
                metrics.push(json!({
                    "Namespace": s.namespace,
                    "MetricName": s.name,
                    "Dimensions": s.dimensions.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect::<Vec<_>>(),
                }));
                last_id = Some(id.clone());
            }
            after = Some(id);
        }
        if !full {
            break;
        }
    }
    let mut out = json!({ "Metrics": metrics });
    if more {
        if let Some(id) = last_id {
            out["NextToken"] = json!(hex::encode(id));
        }
    }
    Ok(out)
}
