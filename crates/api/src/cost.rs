//! `GET /_hearth/cost`: the caller's account's metered use priced as AWS Lambda would bill
//! it (docs/cost.md), per function and in total, with the host's own use beside it. The
//! pricing is `hearth-cost`'s [`Report`]; this handler parses the query, reads the
//! metering and answers the report as JSON. `hearth cost` prints this answer.

use axum::extract::{RawQuery, State};
use axum::Json;
use hearth_cost::{Architecture, PriceTable, Report, UsageRow};
use hearth_model::AwsError;
use hearth_store::MeterRow;

use crate::cost_query::CostQuery;
use crate::error::{ApiError, ApiResult};
use crate::hearth::read_metering;
use crate::tenant::Tenant;
use crate::AppState;

pub(crate) async fn cost(
    State(s): State<AppState>,
    tenant: Tenant,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Report>> {
    // Checked before anything is read: a bad query changes nothing and flushes nothing.
    let q = CostQuery::parse(raw.as_deref(), hearth_model::time::now_ms())?;
    let rows = read_metering(
        &s,
        tenant.as_str().to_string(),
        q.function,
        q.period.from_day,
        q.period.to_day,
    )
    .await?;
    let rows = rows
        .into_iter()
        .map(usage_row)
        .collect::<Result<Vec<_>, _>>()?;
    let report = Report::price(&rows, PriceTable::aws(), &q.region, q.free_tier, q.period)
        .map_err(|e| ApiError(AwsError::invalid(e.to_string())))?;
    Ok(Json(report))
}

/// A stored metering row as the pricing reads it.
fn usage_row(r: MeterRow) -> ApiResult<UsageRow> {
    let architecture = Architecture::parse(&r.architecture).ok_or_else(|| {
        // The engine meters only the two architectures Lambda has.
        tracing::error!(architecture = %r.architecture, function = %r.function, "a metering row of an unknown architecture");
        ApiError(AwsError::service(format!(
            "a metering row of {} has an unknown architecture",
            r.function
        )))
    })?;
    Ok(UsageRow {
        function: r.function,
        version: r.version,
        day: r.day,
        architecture,
        memory_mb: u64::from(r.memory_mb),
        ephemeral_mb: u64::from(r.ephemeral_mb),
        requests: r.requests,
        billed_ms: r.billed_ms,
        init_billed_ms: r.init_billed_ms,
        provisioned_seconds: r.provisioned_s,
        host_cpu_ms: r.host_cpu_ms,
        host_memory_mb_ms: r.host_memory_mb_ms,
    })
}
