//! GetAccountSettings.

use axum::extract::State;
use axum::Json;
use hearth_model::limits::*;
use hearth_model::shapes::{AccountLimit, AccountUsage, GetAccountSettingsResponse};

use crate::error::ApiResult;
use crate::tenant::Tenant;
use crate::AppState;

pub(crate) async fn get(
    State(s): State<AppState>,
    tenant: Tenant,
) -> ApiResult<Json<GetAccountSettingsResponse>> {
    let usage = s.engine.account_settings(tenant.as_str())?;
    Ok(Json(GetAccountSettingsResponse {
        account_limit: AccountLimit {
            total_code_size: TOTAL_CODE_SIZE,
            code_size_unzipped: UNZIPPED_MAX_BYTES as i64,
            code_size_zipped: ZIP_MAX_BYTES as i64,
            concurrent_executions: usage.concurrent_executions,
            unreserved_concurrent_executions: usage.unreserved_concurrent_executions,
        },
        account_usage: AccountUsage {
            total_code_size: usage.total_code_size,
            function_count: usage.function_count,
        },
    }))
}
