//! Lambda layers' nine operations (`/2018-10-31/layers...`): PublishLayerVersion,
//! GetLayerVersion, GetLayerVersionByArn (`GET /2018-10-31/layers?find=LayerVersion`,
//! ListLayers' route), ListLayers, ListLayerVersions, DeleteLayerVersion and the layer
//! version policy operations; and the resolution of a function's `Layers` for
//! CreateFunction and UpdateFunctionConfiguration.
//!
//! Authorization: the route's declaration (`action.rs`) checks the caller's identity
//! policies against the layer's ARN in the caller's account (GetLayerVersionByArn's is
//! declared by its query binding, as `lambda:GetLayerVersion` on the version its `Arn`
//! names, and this module tells it from ListLayers by the same binding,
//! [`crate::operations::binds`]); whether another account's
//! layer version may be used is its layer policy's to say, which the engine reads
//! ([`hearth_engine::LayerCaller`]).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use hearth_engine::{LayerCaller, LayerVersionRef, NewLayerStatement, NewLayerVersion};
use hearth_model::function::LayerRef;
use hearth_model::layer::{
    layer_arn, parse_layer_name, parse_layer_version_arn, LayerStatement, LayerVersion,
    LayersListItem, LAYER_ACTIONS,
};
use hearth_model::validate::{DEPRECATED_RUNTIMES, SUPPORTED_RUNTIMES};
use hearth_model::{AwsError, Violations};
use serde::{Deserialize, Serialize};

use crate::authorize::Access;
use crate::error::ApiResult;
use crate::tenant::Tenant;
use crate::{body, AppState};

/// botocore's patterns, quoted in validation errors.
const LAYER_NAME_PATTERN: &str =
    r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+";
const LAYER_VERSION_ARN_PATTERN: &str =
    r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+";
const STATEMENT_ID_PATTERN: &str = "([a-zA-Z0-9-_]+)";
const PRINCIPAL_PATTERN: &str = r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root";
const ORGANIZATION_PATTERN: &str = "o-[a-z0-9]{10,32}";
const ARCHITECTURES: [&str; 2] = ["x86_64", "arm64"];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/2018-10-31/layers", get(list_layers))
        .route(
            "/2018-10-31/layers/{LayerName}/versions",
            post(publish).get(list_versions),
        )
        .route(
            "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}",
            get(get_version).delete(delete_version),
        )
        .route(
            "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy",
            post(add_permission).get(get_policy),
        )
        .route(
            "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}",
            axum::routing::delete(remove_permission),
        )
}

/// Who asks: the account the request acts in, named by its caller's ARN (its root's
/// when the authorization layer did not run).
fn caller(tenant: &Tenant, access: Option<&Extension<Access>>) -> LayerCaller {
    let account = tenant.as_str().to_string();
    let arn = access
        .map(|a| a.0.caller.arn.clone())
        .unwrap_or_else(|| format!("arn:aws:iam::{account}:root"));
    LayerCaller { account, arn }
}

/// The account and name of the `LayerName` path parameter.
fn layer_of(raw: &str, tenant: &Tenant) -> ApiResult<(String, String)> {
    let mut v = Violations::new();
    v.length(raw, "layerName", 1, 140);
    let parsed = parse_layer_name(raw, tenant.as_str());
    v.pattern(raw, "layerName", parsed.is_some(), LAYER_NAME_PATTERN);
    v.into_result()?;
    Ok(parsed.expect("no violation"))
}

/// The version the `LayerName` and `VersionNumber` path parameters name.
fn version_of(raw_name: &str, raw_version: &str, tenant: &Tenant) -> ApiResult<LayerVersionRef> {
    let (account, name) = layer_of(raw_name, tenant)?;
    let version = raw_version.parse::<u64>().map_err(|_| {
        AwsError::constraint(raw_version, "versionNumber", "Member must be a number")
    })?;
    Ok(LayerVersionRef {
        account,
        name,
        version,
    })
}

/// Where a layer version's zip downloads from (GetFunction's `Code.Location` stand-in).
fn location(headers: &HeaderMap, l: &LayerVersion) -> String {
    crate::functions::code_location(headers, &l.code.sha256_hex)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct PublishRequest {
    description: Option<String>,
    content: Option<ContentInput>,
    compatible_runtimes: Option<Vec<String>>,
    license_info: Option<String>,
    compatible_architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ContentInput {
    s3_bucket: Option<String>,
    s3_key: Option<String>,
    s3_object_version: Option<String>,
    zip_file: Option<String>,
}

/// The compatible runtimes and architectures as the model bounds them.
fn check_compatibility(runtimes: &[String], architectures: &[String], v: &mut Violations) {
    let shown = |items: &[String]| format!("[{}]", items.join(", "));
    if runtimes.len() > 15 {
        v.value(
            &shown(runtimes),
            "compatibleRuntimes",
            "Member must have length less than or equal to 15",
        );
    }
    let known = |r: &String| {
        SUPPORTED_RUNTIMES.contains(&r.as_str()) || DEPRECATED_RUNTIMES.contains(&r.as_str())
    };
    if !runtimes.iter().all(known) {
        let all: Vec<&str> = SUPPORTED_RUNTIMES
            .iter()
            .chain(DEPRECATED_RUNTIMES)
            .copied()
            .collect();
        v.value(
            &shown(runtimes),
            "compatibleRuntimes",
            &format!(
                "Member must satisfy constraint: [Member must satisfy enum value set: [{}]]",
                all.join(", ")
            ),
        );
    }
    if architectures.len() > 2 {
        v.value(
            &shown(architectures),
            "compatibleArchitectures",
            "Member must have length less than or equal to 2",
        );
    }
    if !architectures
        .iter()
        .all(|a| ARCHITECTURES.contains(&a.as_str()))
    {
        v.value(
            &shown(architectures),
            "compatibleArchitectures",
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]",
        );
    }
}

async fn publish(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(layer): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let bytes = body::control(body, "PublishLayerVersion").await?;
    let req: PublishRequest = body::parse(&bytes)?;
    let (account, name) = layer_of(&layer, &tenant)?;
    let mut v = Violations::new();
    if req.content.is_none() {
        v.null("content");
    }
    if let Some(d) = &req.description {
        v.length(d, "description", 0, 256);
    }
    if let Some(l) = &req.license_info {
        v.length(l, "licenseInfo", 0, 512);
    }
    let runtimes = req.compatible_runtimes.unwrap_or_default();
    let architectures = req.compatible_architectures.unwrap_or_default();
    check_compatibility(&runtimes, &architectures, &mut v);
    v.into_result()?;
    let content = req.content.expect("no violation");
    if account != tenant.as_str() {
        return Err(AwsError::invalid(format!(
            "Layers can only be published to the caller's own account ({}).",
            tenant.as_str()
        ))
        .into());
    }
    if content.s3_bucket.is_some()
        || content.s3_key.is_some()
        || content.s3_object_version.is_some()
    {
        return Err(AwsError::invalid(
            "Content from S3 (S3Bucket, S3Key, S3ObjectVersion) is not supported: Hearth has no object store yet. Upload the zip as Content.ZipFile.",
        )
        .into());
    }
    let zip = content
        .zip_file
        .ok_or_else(|| AwsError::invalid("Please provide a source for layer content (ZipFile)."))?;
    let published = s
        .engine
        .publish_layer_version(NewLayerVersion {
            account,
            name,
            description: req.description.unwrap_or_default(),
            license_info: req.license_info,
            compatible_runtimes: runtimes,
            compatible_architectures: architectures,
            zip: crate::function_request::decode_zip(&zip)?,
        })
        .await?;
    let shape = published.to_response(location(&headers, &published));
    Ok((StatusCode::CREATED, Json(shape)).into_response())
}

async fn get_version(
    State(s): State<AppState>,
    tenant: Tenant,
    access: Option<Extension<Access>>,
    Path((layer, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let r = version_of(&layer, &version, &tenant)?;
    let l = s
        .engine
        .layer_version(caller(&tenant, access.as_ref()), r)
        .await?;
    Ok(Json(l.to_response(location(&headers, &l))).into_response())
}

/// GetLayerVersionByArn, on ListLayers' route with `?find=LayerVersion`: authorized as
/// `lambda:GetLayerVersion` on its `Arn` by its declaration.
async fn get_by_arn(
    s: &AppState,
    tenant: &Tenant,
    access: Option<&Extension<Access>>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let arn = query.get("Arn").cloned().unwrap_or_default();
    let mut v = Violations::new();
    if !query.contains_key("Arn") {
        v.null("arn");
    } else {
        v.length(&arn, "arn", 1, 140);
        v.pattern(
            &arn,
            "arn",
            parse_layer_version_arn(&arn).is_some(),
            LAYER_VERSION_ARN_PATTERN,
        );
    }
    v.into_result()?;
    let (account, name, version) = parse_layer_version_arn(&arn).expect("no violation");
    let l = s
        .engine
        .layer_version(
            caller(tenant, access),
            LayerVersionRef {
                account,
                name,
                version,
            },
        )
        .await?;
    Ok(Json(l.to_response(location(headers, &l))).into_response())
}

/// The filters of ListLayers and ListLayerVersions.
fn filters(query: &HashMap<String, String>) -> ApiResult<(Option<String>, Option<String>)> {
    let runtime = query.get("CompatibleRuntime").cloned();
    let architecture = query.get("CompatibleArchitecture").cloned();
    let mut v = Violations::new();
    if let Some(r) = &runtime {
        let known =
            SUPPORTED_RUNTIMES.contains(&r.as_str()) || DEPRECATED_RUNTIMES.contains(&r.as_str());
        if !known {
            v.value(r, "compatibleRuntime", "Member must satisfy enum value set");
        }
    }
    if let Some(a) = &architecture {
        if !ARCHITECTURES.contains(&a.as_str()) {
            v.value(
                a,
                "compatibleArchitecture",
                "Member must satisfy enum value set: [x86_64, arm64]",
            );
        }
    }
    v.into_result()?;
    Ok((runtime, architecture))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListLayersResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    layers: Vec<LayersListItem>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListLayerVersionsResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    layer_versions: Vec<hearth_model::layer::LayerVersionsListItem>,
}

async fn list_layers(
    State(s): State<AppState>,
    tenant: Tenant,
    access: Option<Extension<Access>>,
    Query(query): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if crate::operations::binds(raw.as_deref(), "find=LayerVersion") {
        return get_by_arn(&s, &tenant, access.as_ref(), &query, &headers).await;
    }
    let (runtime, architecture) = filters(&query)?;
    let all = s
        .engine
        .list_layers(tenant.as_str().to_string(), runtime, architecture)
        .await?;
    let (page, next_marker) = crate::page::page(all, &query, 50, 50)?;
    let layers = page
        .iter()
        .map(|l| LayersListItem {
            layer_name: l.name.clone(),
            layer_arn: layer_arn(&l.account, &l.name),
            latest_matching_version: l.to_list_item(),
        })
        .collect();
    Ok(Json(ListLayersResponse {
        next_marker,
        layers,
    })
    .into_response())
}

async fn list_versions(
    State(s): State<AppState>,
    tenant: Tenant,
    access: Option<Extension<Access>>,
    Path(layer): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (account, name) = layer_of(&layer, &tenant)?;
    let (runtime, architecture) = filters(&query)?;
    let all = s
        .engine
        .list_layer_versions(
            caller(&tenant, access.as_ref()),
            account,
            name,
            runtime,
            architecture,
        )
        .await?;
    let (page, next_marker) = crate::page::page(all, &query, 50, 50)?;
    Ok(Json(ListLayerVersionsResponse {
        next_marker,
        layer_versions: page.iter().map(LayerVersion::to_list_item).collect(),
    })
    .into_response())
}

async fn delete_version(
    State(s): State<AppState>,
    tenant: Tenant,
    access: Option<Extension<Access>>,
    Path((layer, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let r = version_of(&layer, &version, &tenant)?;
    s.engine
        .delete_layer_version(caller(&tenant, access.as_ref()), r)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AddPermissionRequest {
    statement_id: Option<String>,
    action: Option<String>,
    principal: Option<String>,
    organization_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct AddPermissionResponse {
    statement: String,
    revision_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetPolicyResponse {
    policy: String,
    revision_id: String,
}

/// `Principal` as an account id or `*` (an account's root ARN names its account).
fn principal_of(raw: &str) -> Option<String> {
    if raw == "*" || hearth_model::arn::is_account_id(raw) {
        return Some(raw.to_string());
    }
    let rest = raw.strip_prefix("arn:aws")?;
    let (_, rest) = rest.split_once(":iam::")?;
    let account = rest.strip_suffix(":root")?;
    hearth_model::arn::is_account_id(account).then(|| account.to_string())
}

fn valid_statement_id(sid: &str) -> bool {
    sid.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn add_permission(
    State(s): State<AppState>,
    tenant: Tenant,
    access: Option<Extension<Access>>,
    Path((layer, version)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Response> {
    let r = version_of(&layer, &version, &tenant)?;
    let req: AddPermissionRequest = body::json(body, "AddLayerVersionPermission").await?;
    let mut v = Violations::new();
    match &req.statement_id {
        None => v.null("statementId"),
        Some(sid) => {
            v.length(sid, "statementId", 1, 100);
            v.pattern(
                sid,
                "statementId",
                valid_statement_id(sid),
                STATEMENT_ID_PATTERN,
            );
        }
    }
    match &req.action {
        None => v.null("action"),
        Some(a) => {
            v.length(a, "action", 0, 22);
            v.pattern(
                a,
                "action",
                LAYER_ACTIONS.contains(&a.as_str()),
                "lambda:GetLayerVersion",
            );
        }
    }
    match &req.principal {
        None => v.null("principal"),
        Some(p) => v.pattern(p, "principal", principal_of(p).is_some(), PRINCIPAL_PATTERN),
    }
    if let Some(o) = &req.organization_id {
        v.length(o, "organizationId", 0, 34);
        let valid = o.strip_prefix("o-").is_some_and(|id| {
            (10..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        v.pattern(o, "organizationId", valid, ORGANIZATION_PATTERN);
    }
    v.into_result()?;
    let (Some(sid), Some(action), Some(principal)) = (req.statement_id, req.action, req.principal)
    else {
        unreachable!("a missing member is a violation");
    };
    let principal = principal_of(&principal).expect("no violation");
    if req.organization_id.is_some() && principal != "*" {
        // AWS's wording as best known; see docs/layers.md.
        return Err(AwsError::invalid(
            "OrganizationId can only be specified when Principal is '*'.",
        )
        .into());
    }
    let (statement, revision_id) = s
        .engine
        .add_layer_version_permission(
            caller(&tenant, access.as_ref()),
            r,
            NewLayerStatement {
                statement: LayerStatement {
                    sid,
                    action,
                    principal,
                    organization_id: req.organization_id,
                },
                revision_id: query.get("RevisionId").cloned(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AddPermissionResponse {
            statement,
            revision_id,
        }),
    )
        .into_response())
}

async fn remove_permission(
    State(s): State<AppState>,
    tenant: Tenant,
    access: Option<Extension<Access>>,
    Path((layer, version, sid)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let r = version_of(&layer, &version, &tenant)?;
    let mut v = Violations::new();
    v.length(&sid, "statementId", 1, 100);
    v.pattern(
        &sid,
        "statementId",
        valid_statement_id(&sid),
        STATEMENT_ID_PATTERN,
    );
    v.into_result()?;
    s.engine
        .remove_layer_version_permission(
            caller(&tenant, access.as_ref()),
            r,
            sid,
            query.get("RevisionId").cloned(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_policy(
    State(s): State<AppState>,
    tenant: Tenant,
    access: Option<Extension<Access>>,
    Path((layer, version)): Path<(String, String)>,
) -> ApiResult<Response> {
    let r = version_of(&layer, &version, &tenant)?;
    let (policy, revision_id) = s
        .engine
        .layer_version_policy(caller(&tenant, access.as_ref()), r)
        .await?;
    Ok(Json(GetPolicyResponse {
        policy,
        revision_id,
    })
    .into_response())
}

/// A function's `Layers` (checked in form by `function_request`) resolved for its
/// account, the caller named where one is refused.
pub(crate) async fn resolve(
    s: &AppState,
    tenant: &Tenant,
    access: Option<&Extension<Access>>,
    arns: Vec<String>,
) -> ApiResult<Vec<LayerRef>> {
    Ok(s.engine
        .resolve_layers(caller(tenant, access), arns)
        .await?)
}
