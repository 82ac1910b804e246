//! TagResource, UntagResource and ListTags (`/2017-03-31/tags/{Resource}`).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use hearth_model::tags::{ListTagsResponse, TagResourceRequest, TaggedResource};
use hearth_model::AwsError;

use crate::action::{Operation, ResourceOf};
use crate::error::ApiResult;
use crate::tenant::Tenant;
use crate::{body, AppState};

const TAG_RESOURCE: Operation =
    Operation::new("TagResource", "lambda:TagResource", ResourceOf::PathArn);
const UNTAG_RESOURCE: Operation =
    Operation::new("UntagResource", "lambda:UntagResource", ResourceOf::PathArn);
const LIST_TAGS: Operation = Operation::new("ListTags", "lambda:ListTags", ResourceOf::PathArn);
#[cfg(test)]
pub(crate) const OPERATIONS: &[Operation] = &[TAG_RESOURCE, UNTAG_RESOURCE, LIST_TAGS];

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/2017-03-31/tags/{resource}",
        get(list)
            .layer(Extension(LIST_TAGS))
            .merge(post(tag).layer(Extension(TAG_RESOURCE)))
            .merge(delete(untag).layer(Extension(UNTAG_RESOURCE))),
    )
}

async fn tag(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(resource): Path<String>,
    body: Body,
) -> ApiResult<StatusCode> {
    let resource = TaggedResource::parse(&resource, tenant.as_str())?;
    let req: TagResourceRequest = body::json(body, TAG_RESOURCE.name).await?;
    s.engine.tag_resource(&resource, req.validated()?)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn untag(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(resource): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    let resource = TaggedResource::parse(&resource, tenant.as_str())?;
    let keys: Vec<String> = query
        .into_iter()
        .filter(|(k, _)| k == "tagKeys")
        .map(|(_, v)| v)
        .collect();
    // botocore sends no `tagKeys` for an empty list: AWS sees a null member.
    if keys.is_empty() {
        return Err(AwsError::null_member("tagKeys").into());
    }
    s.engine.untag_resource(&resource, &keys)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(resource): Path<String>,
) -> ApiResult<Json<ListTagsResponse>> {
    let resource = TaggedResource::parse(&resource, tenant.as_str())?;
    Ok(Json(ListTagsResponse {
        tags: s.engine.list_tags(&resource)?,
    }))
}
