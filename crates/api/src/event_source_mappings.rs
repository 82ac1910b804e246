//! Create-, Get-, Update-, Delete- and ListEventSourceMappings: Lambda's REST shapes of
//! an event-source mapping (SQS queues only), their validation with Lambda's messages,
//! and the records they write (`MappingStore`, through the engine). The pollers of
//! `hearth-mappings` follow the records and settle their transitional states; until
//! they have, another Update or Delete is refused (`ResourceInUseException`), as Lambda
//! refuses it.
//!
//! A mapping is made (or pointed at another function) only for a queue that exists,
//! whose visibility timeout is at least the function's timeout, and that the function's
//! execution role may poll: the queue is asked through the client its pollers would use
//! (`ApiOptions::mapping_queues`), this server's queues or another endpoint's.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hearth_engine::Edited;
use hearth_mappings::QueueError;
use hearth_model::arn::function_arn;
use hearth_model::event_source_mapping::{
    self as esm, sqs_queue, EventSourceMapping, MappingState,
};
use hearth_model::{AwsError, ErrorCode, FunctionRef, NameShape, Violations};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::tenant::Tenant;
use crate::{body, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/2015-03-31/event-source-mappings", get(list).post(create))
        .route("/2015-03-31/event-source-mappings/", get(list).post(create))
        .route(
            "/2015-03-31/event-source-mappings/{uuid}",
            get(get_one).put(update).delete(delete),
        )
}

/// The model's pattern of `EventSourceArn`, as a ValidationException quotes it.
const SOURCE_ARN_PATTERN: &str = r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)";

/// SQS's default `VisibilityTimeout`, for an endpoint that does not say.
const DEFAULT_VISIBILITY: i64 = 30;

/// The SQS actions Lambda polls a queue with: the execution role must allow each.
const POLL_ACTIONS: [&str; 3] = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];

/// Parameters of other sources' mappings (streams, Kafka, MQ, DocumentDB), which an SQS
/// mapping refuses by name.
const NOT_FOR_SQS: &[&str] = &[
    "StartingPosition",
    "StartingPositionTimestamp",
    "ParallelizationFactor",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
    "Topics",
    "Queues",
    "SourceAccessConfigurations",
    "SelfManagedEventSource",
    "AmazonManagedKafkaEventSourceConfig",
    "SelfManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
    "ProvisionedPollerConfig",
    "DestinationConfig",
];

#[derive(Debug, Deserialize)]
struct Filter {
    #[serde(rename = "Pattern")]
    pattern: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FilterCriteria {
    #[serde(rename = "Filters", default)]
    filters: Vec<Filter>,
}

#[derive(Debug, Deserialize)]
struct ScalingConfig {
    #[serde(rename = "MaximumConcurrency")]
    maximum_concurrency: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct MetricsConfig {
    #[serde(rename = "Metrics")]
    metrics: Option<Vec<String>>,
}

/// The members of Create and Update that an SQS mapping reads; the rest is kept in
/// `other`, to be refused by name when present.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MappingRequest {
    event_source_arn: Option<String>,
    function_name: Option<String>,
    enabled: Option<bool>,
    batch_size: Option<i64>,
    filter_criteria: Option<FilterCriteria>,
    maximum_batching_window_in_seconds: Option<i64>,
    function_response_types: Option<Vec<String>>,
    scaling_config: Option<ScalingConfig>,
    metrics_config: Option<MetricsConfig>,
    tags: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

impl MappingRequest {
    /// The model's constraints, every violation in one ValidationException, in the
    /// order the model declares the members; the function's name parts if it has one.
    fn violations(&self, create: bool) -> Result<Option<hearth_model::arn::NameParts>, AwsError> {
        let mut v = Violations::new();
        if let Some(arn) = &self.event_source_arn {
            v.length(arn, "eventSourceArn", 12, 1024);
            v.pattern(
                arn,
                "eventSourceArn",
                arn.starts_with("arn:") && arn.split(':').count() >= 6,
                SOURCE_ARN_PATTERN,
            );
        }
        let parts = match &self.function_name {
            Some(name) => FunctionRef::check(name, NameShape::FunctionName, "functionName", &mut v),
            None if create => {
                v.null("functionName");
                None
            }
            None => None,
        };
        if let Some(n) = self.batch_size {
            v.range(n, "batchSize", Some(1), Some(i64::from(esm::SQS_MAX_BATCH)));
        }
        if let Some(n) = self.maximum_batching_window_in_seconds {
            v.range(
                n,
                "maximumBatchingWindowInSeconds",
                Some(0),
                Some(i64::from(esm::MAX_BATCHING_WINDOW)),
            );
        }
        if let Some(types) = &self.function_response_types {
            if types.len() > 1 {
                v.value(
                    &format!("[{}]", types.join(", ")),
                    "functionResponseTypes",
                    "Member must have length less than or equal to 1",
                );
            }
            if types.iter().any(|t| t != esm::REPORT_BATCH_ITEM_FAILURES) {
                v.value(
                    &format!("[{}]", types.join(", ")),
                    "functionResponseTypes",
                    "Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]",
                );
            }
        }
        if let Some(n) = self
            .scaling_config
            .as_ref()
            .and_then(|s| s.maximum_concurrency)
        {
            v.range(
                n,
                "scalingConfig.maximumConcurrency",
                Some(i64::from(esm::MIN_CONCURRENCY)),
                Some(i64::from(esm::MAX_CONCURRENCY)),
            );
        }
        if let Some(metrics) = self.metrics() {
            let listed = format!("[{}]", metrics.join(", "));
            if metrics.len() > esm::MAX_METRICS {
                v.value(
                    &listed,
                    "metricsConfig.metrics",
                    "Member must have length less than or equal to 3",
                );
            }
            if metrics.iter().any(|m| !esm::METRICS.contains(&m.as_str())) {
                v.value(
                    &listed,
                    "metricsConfig.metrics",
                    "Member must satisfy constraint: [Member must satisfy enum value set: [EventCount, ErrorCount, KafkaMetrics]]",
                );
            }
        }
        v.into_result()?;
        Ok(parts)
    }

    /// `MetricsConfig.Metrics` when the request has a `MetricsConfig` (no `Metrics` is
    /// none).
    fn metrics(&self) -> Option<Vec<String>> {
        self.metrics_config
            .as_ref()
            .map(|c| c.metrics.clone().unwrap_or_default())
    }

    /// The metrics an SQS mapping publishes: `EventCount` only (`ErrorCount` and
    /// `KafkaMetrics` are Kafka's). UNSURE: Lambda's exact message for the others is not
    /// documented; this one follows its refusal of other sources' parameters.
    fn sqs_metrics(&self) -> Result<Option<Vec<String>>, AwsError> {
        let Some(metrics) = self.metrics() else {
            return Ok(None);
        };
        if let Some(other) = metrics.iter().find(|m| *m != esm::EVENT_COUNT) {
            return Err(AwsError::invalid(format!(
                "Unsupported MetricsConfig metric {other} for given event source mapping type."
            )));
        }
        Ok(Some(metrics))
    }

    /// Parameters given (not null) that an SQS mapping does not take.
    fn refuse_other_sources(&self) -> Result<(), AwsError> {
        for name in NOT_FOR_SQS {
            if self.other.get(*name).is_some_and(|v| !v.is_null()) {
                return Err(AwsError::invalid(format!(
                    "Unsupported {name} parameter for given event source mapping type."
                )));
            }
        }
        Ok(())
    }

    /// The filters' patterns, each one checked; `Some(empty)` clears them (Update).
    fn filters(&self) -> Result<Option<Vec<String>>, AwsError> {
        let Some(criteria) = &self.filter_criteria else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for f in &criteria.filters {
            let p = f.pattern.clone().unwrap_or_default();
            hearth_mappings::filter::check(&p).map_err(AwsError::invalid)?;
            out.push(p);
        }
        Ok(Some(out))
    }
}

/// Lambda's answer for a UUID it does not know (or another account's).
fn no_such_mapping() -> ApiError {
    ApiError(AwsError::not_found(
        "The resource you requested does not exist.",
    ))
}

/// A mapping as Lambda's answers show it.
pub(crate) fn shape(m: &EventSourceMapping) -> Value {
    let mut o = json!({
        "UUID": m.uuid,
        "BatchSize": m.batch_size,
        "MaximumBatchingWindowInSeconds": m.maximum_batching_window,
        "EventSourceArn": m.event_source_arn,
        "FunctionArn": m.function_arn,
        "LastModified": m.last_modified_ms as f64 / 1000.0,
        "State": m.state.as_str(),
        "StateTransitionReason": m.state_transition_reason,
        "FunctionResponseTypes": m.function_response_types,
        "EventSourceMappingArn": m.arn(),
    });
    let obj = o.as_object_mut().expect("a JSON object");
    if let Some(filters) = m.filters.as_ref().filter(|f| !f.is_empty()) {
        obj.insert(
            "FilterCriteria".into(),
            json!({ "Filters": filters.iter().map(|p| json!({ "Pattern": p })).collect::<Vec<_>>() }),
        );
    }
    if let Some(n) = m.maximum_concurrency {
        obj.insert("ScalingConfig".into(), json!({ "MaximumConcurrency": n }));
    }
    if let Some(r) = &m.last_processing_result {
        obj.insert("LastProcessingResult".into(), json!(r));
    }
    if let Some(d) = &m.on_failure {
        obj.insert(
            "DestinationConfig".into(),
            json!({ "OnFailure": { "Destination": d } }),
        );
    }
    if let Some(metrics) = &m.metrics {
        obj.insert("MetricsConfig".into(), json!({ "Metrics": metrics }));
    }
    o
}

/// The SQS rules on batch size and window, for the mapping as it would stand. A FIFO
/// queue takes no window, so its batches stay within 10 as well.
fn check_batching(queue_arn: &str, batch_size: u32, window: u32) -> Result<(), AwsError> {
    if window > 0 && sqs_queue(queue_arn).is_some_and(|q| q.is_fifo()) {
        return Err(AwsError::invalid(
            "Batching window is not supported for FIFO queues",
        ));
    }
    if batch_size > esm::SQS_MAX_BATCH_UNWINDOWED && window == 0 {
        return Err(AwsError::invalid(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        ));
    }
    Ok(())
}

/// The function a mapping's `FunctionName` names.
struct Target {
    r: FunctionRef,
    /// Its ARN as the mapping shows it (with the qualifier it was named with).
    arn: String,
    /// Its timeout, in seconds (the version's, or the alias's version's).
    timeout: i64,
}

/// The function a mapping's `FunctionName` names, which must exist (else Lambda's
/// `InvalidParameterValueException`, not the `ResourceNotFoundException` of the
/// function's own operations).
fn resolve_function(
    s: &AppState,
    parts: hearth_model::arn::NameParts,
    tenant: &Tenant,
) -> ApiResult<Target> {
    let r = parts.resolve(tenant.as_str())?;
    let timeout = match s.engine.get_function(&r) {
        Ok(config) => config.timeout,
        Err(hearth_engine::EngineError::NotFound(_)) => {
            return Err(ApiError(AwsError::invalid("Function does not exist")))
        }
        Err(e) => return Err(e.into()),
    };
    let arn = function_arn(&r.name, r.qualifier.as_deref());
    Ok(Target { r, arn, timeout })
}

/// Lambda checks, when a mapping is made or pointed at another function, that the
/// function's execution role may poll the queue: with the queue's own policy when this
/// server has the queue, as its pollers' calls are authorized.
async fn check_role(s: &AppState, r: &FunctionRef, queue_arn: &str) -> ApiResult<()> {
    // A policy that cannot be read now (SQS changing hands on a fleet) counts as none: the
    // role's own policies decide, which can only refuse more than the queue's would.
    let policy = match (s.options.sqs.as_ref(), sqs_queue(queue_arn)) {
        (Some(sqs), Some(q)) => sqs
            .resource_policy(&hearth_sqs::QueueId {
                account: q.account.to_string(),
                name: q.name.to_string(),
            })
            .await
            .unwrap_or(None),
        _ => None,
    };
    for action in POLL_ACTIONS {
        if !s.engine.role_may_call(
            &r.name,
            r.qualifier.as_deref(),
            action,
            queue_arn,
            policy.as_ref(),
        )? {
            let call = action.trim_start_matches("sqs:");
            return Err(ApiError(AwsError::invalid(format!(
                "The provided execution role does not have permissions to call {call} on SQS"
            ))));
        }
    }
    Ok(())
}

/// Lambda's answer for a queue it cannot poll: what SQS answered, in its words.
fn sqs_refused(code: &str, message: &str) -> ApiError {
    ApiError(AwsError::invalid(format!(
        "Error occurred while ReceiveMessage. SQS Error Code: {code}. SQS Error Message: {message}"
    )))
}

/// The queue must exist, and hide a received message for at least as long as the
/// function may run on it (else another poller would receive it meanwhile): asked of the
/// queue through the client the mapping's pollers use.
async fn check_queue(s: &AppState, m: &EventSourceMapping, function_timeout: i64) -> ApiResult<()> {
    let Some(queues) = &s.options.mapping_queues else {
        return Ok(());
    };
    let client = queues.client(m);
    let attrs = match client
        .attributes(&m.event_source_arn, &["VisibilityTimeout"])
        .await
    {
        Ok(attrs) => attrs,
        Err(QueueError::Service { code, message }) => return Err(sqs_refused(&code, &message)),
        Err(QueueError::Transport(cause)) => {
            tracing::warn!(queue = %m.event_source_arn, %cause, "cannot ask the queue of a mapping");
            return Err(ApiError(AwsError::service(
                "The event source could not be reached. Please try again.",
            )));
        }
    };
    let visibility = attrs
        .get("VisibilityTimeout")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(DEFAULT_VISIBILITY);
    if visibility < function_timeout {
        return Err(ApiError(AwsError::invalid(format!(
            "Queue visibility timeout: {visibility} seconds is less than Function timeout: {function_timeout} seconds"
        ))));
    }
    Ok(())
}

/// Lambda's answer to a change of a mapping whose last change is not in effect yet.
fn in_use(verb: &str) -> ApiError {
    ApiError(AwsError::new(
        ErrorCode::ResourceInUse,
        format!("Cannot {verb} the event source mapping because it is in use."),
    ))
}

fn conflict(source: &str, function: &FunctionRef, uuid: &str) -> ApiError {
    ApiError(AwsError::conflict(format!(
        "An event source mapping with SQS arn (\" {source} \") and function (\" {} \") already exists. Please update or delete the existing mapping with UUID {uuid}",
        function.display_name()
    )))
}

async fn create(State(s): State<AppState>, tenant: Tenant, body: Body) -> ApiResult<Response> {
    let req: MappingRequest = body::json(body, "CreateEventSourceMapping").await?;
    let parts = req.violations(true)?.expect("a create's name was checked");
    // What the request asks of the source is checked before the function is looked
    // for, as Lambda answers.
    let source = req.event_source_arn.clone().unwrap_or_default();
    if sqs_queue(&source).is_none() {
        return Err(ApiError(AwsError::invalid("Unrecognized event source.")));
    }
    req.refuse_other_sources()?;
    let metrics = req.sqs_metrics()?;
    let filters = req.filters()?.filter(|f| !f.is_empty());
    let batch_size = req.batch_size.map_or(esm::SQS_DEFAULT_BATCH, |n| n as u32);
    let window = req.maximum_batching_window_in_seconds.unwrap_or(0) as u32;
    check_batching(&source, batch_size, window)?;
    let target = resolve_function(&s, parts, &tenant)?;
    let r = &target.r;
    let enabled = req.enabled.unwrap_or(true);
    let account = hearth_model::arn::key_account(&r.name).to_string();
    let m = EventSourceMapping {
        uuid: uuid::Uuid::new_v4().to_string(),
        account,
        function: r.name.clone(),
        qualifier: r.qualifier.clone(),
        function_arn: target.arn.clone(),
        event_source_arn: source.clone(),
        state: MappingState::Creating,
        enabled,
        state_transition_reason: "USER_INITIATED".into(),
        last_modified_ms: hearth_model::time::now_ms(),
        last_processing_result: None,
        batch_size,
        maximum_batching_window: window,
        filters,
        function_response_types: req.function_response_types.clone().unwrap_or_default(),
        maximum_concurrency: req
            .scaling_config
            .as_ref()
            .and_then(|c| c.maximum_concurrency)
            .map(|n| n as u32),
        on_failure: None,
        metrics,
        tags: req.tags.clone().unwrap_or_default(),
    };
    check_role(&s, r, &source).await?;
    check_queue(&s, &m, target.timeout).await?;
    if let Err(existing) = s.engine.insert_mapping(m.clone()).await? {
        return Err(conflict(&source, r, &existing));
    }
    Ok((StatusCode::ACCEPTED, Json(shape(&m))).into_response())
}

/// The mapping `uuid` of the tenant's account.
async fn find(s: &AppState, tenant: &Tenant, uuid: &str) -> ApiResult<EventSourceMapping> {
    match s.engine.mapping(uuid.to_string()).await? {
        Some(m) if m.account == tenant.as_str() => Ok(m),
        _ => Err(no_such_mapping()),
    }
}

async fn get_one(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(uuid): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(shape(&find(&s, &tenant, &uuid).await?)))
}

async fn update(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(uuid): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let req: MappingRequest = body::json(body, "UpdateEventSourceMapping").await?;
    let parts = req.violations(false)?;
    let current = find(&s, &tenant, &uuid).await?;
    if current.state.is_transitional() {
        return Err(in_use("update"));
    }
    req.refuse_other_sources()?;
    let metrics = req.sqs_metrics()?;
    let filters = req.filters()?;
    let mut next = current.clone();
    let mut retargeted = None;
    if let Some(parts) = parts {
        let target = resolve_function(&s, parts, &tenant)?;
        if target.arn != current.function_arn {
            let taken = s
                .engine
                .list_mappings(
                    current.account.clone(),
                    Some(target.arn.clone()),
                    Some(current.event_source_arn.clone()),
                    None,
                    1,
                )
                .await?;
            if let Some(other) = taken.first() {
                return Err(conflict(&current.event_source_arn, &target.r, &other.uuid));
            }
            check_role(&s, &target.r, &current.event_source_arn).await?;
            retargeted = Some(target.timeout);
        }
        next.function = target.r.name.clone();
        next.qualifier = target.r.qualifier.clone();
        next.function_arn = target.arn;
    }
    if let Some(n) = req.batch_size {
        next.batch_size = n as u32;
    }
    if let Some(n) = req.maximum_batching_window_in_seconds {
        next.maximum_batching_window = n as u32;
    }
    if let Some(f) = filters {
        next.filters = (!f.is_empty()).then_some(f);
    }
    if let Some(t) = &req.function_response_types {
        next.function_response_types = t.clone();
    }
    if let Some(c) = &req.scaling_config {
        next.maximum_concurrency = c.maximum_concurrency.map(|n| n as u32);
    }
    if metrics.is_some() {
        next.metrics = metrics;
    }
    check_batching(
        &next.event_source_arn,
        next.batch_size,
        next.maximum_batching_window,
    )?;
    if let Some(timeout) = retargeted {
        check_queue(&s, &next, timeout).await?;
    }
    let enabling = req.enabled.filter(|e| *e != current.enabled);
    next.state = match enabling {
        Some(true) => MappingState::Enabling,
        Some(false) => MappingState::Disabling,
        None => MappingState::Updating,
    };
    next.enabled = req.enabled.unwrap_or(current.enabled);
    next.state_transition_reason = "USER_INITIATED".into();
    next.last_modified_ms = hearth_model::time::now_ms();
    let written = next.clone();
    match s
        .engine
        .edit_mapping(uuid, move |m| {
            // A change that came in between is in progress: this one waits for it.
            if m.state.is_transitional() {
                return false;
            }
            *m = written;
            true
        })
        .await?
    {
        Edited::Done(m) => Ok((StatusCode::ACCEPTED, Json(shape(&m))).into_response()),
        Edited::Declined => Err(in_use("update")),
        Edited::Missing => Err(no_such_mapping()),
    }
}

async fn delete(
    State(s): State<AppState>,
    tenant: Tenant,
    Path(uuid): Path<String>,
) -> ApiResult<Response> {
    find(&s, &tenant, &uuid).await?;
    match s
        .engine
        .edit_mapping(uuid, |m| {
            if m.state.is_transitional() {
                return false;
            }
            m.state = MappingState::Deleting;
            m.state_transition_reason = "USER_INITIATED".into();
            m.last_modified_ms = hearth_model::time::now_ms();
            true
        })
        .await?
    {
        Edited::Done(m) => Ok((StatusCode::ACCEPTED, Json(shape(&m))).into_response()),
        Edited::Declined => Err(in_use("delete")),
        Edited::Missing => Err(no_such_mapping()),
    }
}

async fn list(
    State(s): State<AppState>,
    tenant: Tenant,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let limit = crate::page::max_items(&query, esm::LIST_DEFAULT_ITEMS, esm::LIST_MAX_ITEMS)?;
    let function = match query.get("FunctionName").filter(|f| !f.is_empty()) {
        Some(name) => {
            let r = FunctionRef::parse_as(name, NameShape::Namespaced, tenant.as_str())?;
            Some(function_arn(&r.name, r.qualifier.as_deref()))
        }
        None => None,
    };
    let source = query
        .get("EventSourceArn")
        .filter(|a| !a.is_empty())
        .cloned();
    let after = crate::page::marker(&query).map(str::to_string);
    // One more than the page tells whether there is a next one.
    let mut found = s
        .engine
        .list_mappings(tenant.0.clone(), function, source, after, limit + 1)
        .await?;
    let next = (found.len() > limit).then(|| {
        found.truncate(limit);
        found.last().map(|m| m.uuid.clone()).unwrap_or_default()
    });
    let mut out = json!({
        "EventSourceMappings": found.iter().map(shape).collect::<Vec<_>>(),
    });
    if let Some(marker) = next {
        out["NextMarker"] = json!(marker);
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared sample mapping, last modified at 1.5 s.
    fn sample() -> EventSourceMapping {
        let mut m =
            hearth_model::testing::mapping("u", "f", "arn:aws:sqs:us-east-1:000000000000:q");
        m.last_modified_ms = 1_500;
        m
    }

    #[test]
    fn the_shape_has_lambdas_members_and_only_those_that_are_set() {
        let v = shape(&sample());
        assert_eq!(v["LastModified"], json!(1.5));
        assert_eq!(v["State"], "Creating");
        assert_eq!(v["FunctionResponseTypes"], json!([]));
        assert_eq!(
            v["EventSourceMappingArn"],
            "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:u"
        );
        assert!(v.get("FilterCriteria").is_none());
        assert!(v.get("ScalingConfig").is_none());
        assert!(v.get("LastProcessingResult").is_none());
        assert!(v.get("MetricsConfig").is_none());
        let mut m = sample();
        m.metrics = Some(vec!["EventCount".into()]);
        assert_eq!(
            shape(&m)["MetricsConfig"],
            json!({"Metrics": ["EventCount"]})
        );
    }

    #[test]
    fn an_sqs_mapping_takes_event_count_only() {
        let req = |metrics: Value| -> MappingRequest {
            serde_json::from_value(
                json!({"FunctionName": "f", "MetricsConfig": {"Metrics": metrics}}),
            )
            .expect("parses")
        };
        let ok = req(json!(["EventCount"]));
        assert!(ok.violations(true).is_ok());
        assert_eq!(
            ok.sqs_metrics().expect("taken"),
            Some(vec!["EventCount".to_string()])
        );
        assert_eq!(req(json!([])).sqs_metrics().expect("taken"), Some(vec![]));
        let kafka = req(json!(["ErrorCount"]));
        assert!(kafka.violations(true).is_ok(), "a value of the model");
        assert_eq!(
            kafka.sqs_metrics().expect_err("Kafka's").message,
            "Unsupported MetricsConfig metric ErrorCount for given event source mapping type."
        );
        let e = req(json!(["Nope"]))
            .violations(true)
            .expect_err("not in the enum");
        assert_eq!(
            e.message,
            "1 validation error detected: Value '[Nope]' at 'metricsConfig.metrics' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [EventCount, ErrorCount, KafkaMetrics]]"
        );
    }

    #[test]
    fn a_batch_over_ten_needs_a_window_and_a_fifo_queue_takes_none() {
        let standard = "arn:aws:sqs:us-east-1:000000000000:q";
        let fifo = "arn:aws:sqs:us-east-1:000000000000:q.fifo";
        assert_eq!(
            check_batching(standard, 11, 0)
                .expect_err("no window")
                .message,
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
        );
        assert!(check_batching(standard, 11, 1).is_ok());
        assert!(check_batching(fifo, 10, 0).is_ok());
        // A FIFO queue's batch over 10 is refused for the window either way.
        assert_eq!(
            check_batching(fifo, 100, 5).expect_err("a window").message,
            "Batching window is not supported for FIFO queues"
        );
        assert!(check_batching(fifo, 11, 0)
            .expect_err("no window")
            .message
            .starts_with("Maximum batch window in seconds"));
    }

    #[test]
    fn model_constraints_are_one_validation_exception() {
        let req: MappingRequest = serde_json::from_value(json!({
            "FunctionName": "f", "BatchSize": 0, "ScalingConfig": {"MaximumConcurrency": 1},
            "FunctionResponseTypes": ["Nope"]
        }))
        .expect("parses");
        let e = req.violations(true).expect_err("invalid");
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(e.message.starts_with("3 validation errors detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1"), "{}", e.message);
    }
}
