//! EventBridge Schemas on Hearth's endpoint (REST-JSON, credential scope `schemas`): the
//! registries and their schemas' versions that Lambda's console and `sam remote
//! test-event` keep a function's shareable test events in (`lambda-testevent-schemas`,
//! one schema `_<function>-schema` per function). The model's `requestUri`s under
//! `/v1/registries`, each method one operation of [`OPERATIONS`], authorised as its IAM
//! action (`schemas:<Operation>`) on the registry or schema it names (`*` for
//! ListRegistries) before [`registry`] runs it on the store, in the caller's own account.
//! Answers are `application/json`; errors carry the model's status, the error shape in
//! `x-amzn-errortype` (where botocore reads the code) and `{"Code", "Message"}`, the
//! model's error members. A refusal of IAM is `ForbiddenException` (403), the shape the
//! model lists and AWS SAM CLI's shared test events look for.

mod registry;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::authorize::{Access, Refused};
use crate::AppState;
use registry::SchemasError;

/// A request is at most this long: a schema's 100,000 characters of content (up to four
/// bytes each in UTF-8, and escaped in JSON) with its other members.
const BODY_MAX: usize = 1 << 20;

/// Where the service's paths start (`auth.rs` signs them for `schemas`).
pub(crate) const PREFIX: &str = "/v1/registries";

/// Whether `path` is one of the service's.
pub(crate) fn is_schemas_path(path: &str) -> bool {
    path == PREFIX
        || path
            .strip_prefix(PREFIX)
            .is_some_and(|r| r.starts_with('/'))
}

/// What an operation's IAM resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `*` (ListRegistries).
    Any,
    /// The registry `{registryName}`.
    Registry,
    /// The schema `{schemaName}` of the registry `{registryName}`.
    Schema,
}

/// Every operation, the IAM action that authorises it and its resource.
pub(crate) const OPERATIONS: &[(&str, &str, Resource)] = &[
    ("ListRegistries", "schemas:ListRegistries", Resource::Any),
    (
        "CreateRegistry",
        "schemas:CreateRegistry",
        Resource::Registry,
    ),
    (
        "DescribeRegistry",
        "schemas:DescribeRegistry",
        Resource::Registry,
    ),
    (
        "DeleteRegistry",
        "schemas:DeleteRegistry",
        Resource::Registry,
    ),
    ("ListSchemas", "schemas:ListSchemas", Resource::Registry),
    ("CreateSchema", "schemas:CreateSchema", Resource::Schema),
    ("DescribeSchema", "schemas:DescribeSchema", Resource::Schema),
    ("UpdateSchema", "schemas:UpdateSchema", Resource::Schema),
    ("DeleteSchema", "schemas:DeleteSchema", Resource::Schema),
    (
        "ListSchemaVersions",
        "schemas:ListSchemaVersions",
        Resource::Schema,
    ),
    (
        "DeleteSchemaVersion",
        "schemas:DeleteSchemaVersion",
        Resource::Schema,
    ),
];

/// The routes; `action.rs` declares each (method, path) as its operation, dispatched
/// here, which checks it.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/registries", get(registries))
        .route(
            "/v1/registries/name/{registryName}",
            get(one_registry).post(one_registry).delete(one_registry),
        )
        .route("/v1/registries/name/{registryName}/schemas", get(schemas))
        .route(
            "/v1/registries/name/{registryName}/schemas/name/{schemaName}",
            get(schema).post(schema).put(schema).delete(schema),
        )
        .route(
            "/v1/registries/name/{registryName}/schemas/name/{schemaName}/versions",
            get(versions),
        )
        .route(
            "/v1/registries/name/{registryName}/schemas/name/{schemaName}/version/{schemaVersion}",
            axum::routing::delete(one_version),
        )
}

/// An error in the REST-JSON encoding.
#[derive(Debug)]
struct WireError {
    status: StatusCode,
    code: String,
    message: String,
}

fn client(code: &str, message: impl Into<String>) -> WireError {
    WireError {
        status: StatusCode::from_u16(registry::status_of(code)).unwrap_or(StatusCode::BAD_REQUEST),
        code: code.to_string(),
        message: message.into(),
    }
}

impl IntoResponse for WireError {
    fn into_response(self) -> Response {
        let body = json!({"Code": self.code, "Message": self.message}).to_string();
        let mut resp = (self.status, body).into_response();
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            h.insert("x-amzn-errortype", v);
        }
        resp
    }
}

impl From<SchemasError> for WireError {
    fn from(e: SchemasError) -> Self {
        match e {
            SchemasError::Client { code, message } => client(code, message),
            SchemasError::Store(other) => {
                tracing::error!(error = %other, "EventBridge Schemas failed");
                client("InternalServerErrorException", "Internal error")
            }
        }
    }
}

/// One request, as its route and method name it.
struct Call {
    op: &'static str,
    registry: String,
    schema: String,
    query: Vec<(String, String)>,
    body: Value,
}

impl Call {
    fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn query_of(uri: &Uri) -> Vec<(String, String)> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn registries(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    uri: Uri,
) -> Response {
    serve(
        &s,
        &access,
        "ListRegistries",
        (String::new(), String::new()),
        &uri,
        Body::empty(),
    )
    .await
}

async fn one_registry(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    method: Method,
    Path(name): Path<String>,
    uri: Uri,
    body: Body,
) -> Response {
    let op = match method {
        Method::POST => "CreateRegistry",
        Method::DELETE => "DeleteRegistry",
        _ => "DescribeRegistry",
    };
    serve(&s, &access, op, (name, String::new()), &uri, body).await
}

async fn schemas(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    Path(name): Path<String>,
    uri: Uri,
) -> Response {
    serve(
        &s,
        &access,
        "ListSchemas",
        (name, String::new()),
        &uri,
        Body::empty(),
    )
    .await
}

async fn schema(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    method: Method,
    Path(names): Path<(String, String)>,
    uri: Uri,
    body: Body,
) -> Response {
    let op = match method {
        Method::POST => "CreateSchema",
        Method::PUT => "UpdateSchema",
        Method::DELETE => "DeleteSchema",
        _ => "DescribeSchema",
    };
    serve(&s, &access, op, names, &uri, body).await
}

async fn versions(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    Path(names): Path<(String, String)>,
    uri: Uri,
) -> Response {
    serve(
        &s,
        &access,
        "ListSchemaVersions",
        names,
        &uri,
        Body::empty(),
    )
    .await
}

async fn one_version(
    State(s): State<AppState>,
    Extension(access): Extension<Access>,
    Path((registry, schema, version)): Path<(String, String, String)>,
    uri: Uri,
) -> Response {
    // The version rides in the query the dispatcher reads, as DescribeSchema's does.
    let uri = format!(
        "{}?schemaVersion={}",
        uri.path(),
        form_urlencoded::byte_serialize(version.as_bytes()).collect::<String>()
    )
    .parse()
    .unwrap_or(uri);
    serve(
        &s,
        &access,
        "DeleteSchemaVersion",
        (registry, schema),
        &uri,
        Body::empty(),
    )
    .await
}

async fn serve(
    s: &AppState,
    access: &Access,
    op: &'static str,
    (registry, schema): (String, String),
    uri: &Uri,
    body: Body,
) -> Response {
    match handle(s, access, op, (registry, schema), uri, body).await {
        Ok((status, _)) if status == StatusCode::NO_CONTENT => status.into_response(),
        Ok((status, v)) => (
            status,
            [("content-type", "application/json")],
            v.to_string(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The resource an operation is authorised on.
fn resource_of(resource: Resource, account: &str, registry: &str, schema: &str) -> String {
    match resource {
        Resource::Any => "*".to_string(),
        Resource::Registry => registry::registry_arn(account, registry),
        Resource::Schema => registry::schema_arn(account, registry, schema),
    }
}

async fn handle(
    s: &AppState,
    access: &Access,
    op: &'static str,
    (registry_name, schema): (String, String),
    uri: &Uri,
    body: Body,
) -> Result<(StatusCode, Value), WireError> {
    let Some((_, action, resource)) = OPERATIONS.iter().find(|(name, _, _)| *name == op) else {
        return Err(client(
            "BadRequestException",
            format!("{op} is not an operation"),
        ));
    };
    let bytes = crate::body::read(body, BODY_MAX, op)
        .await
        .map_err(|e| client("BadRequestException", e.0.message))?;
    let body: Value = serde_json::from_slice(if bytes.is_empty() { b"{}" } else { &bytes })
        .map_err(|e| client("BadRequestException", format!("The body is not JSON: {e}")))?;
    if !body.is_object() {
        return Err(client(
            "BadRequestException",
            "the request body is not a JSON object",
        ));
    }
    let account = access.caller.account.clone();
    let arn = resource_of(*resource, &account, &registry_name, &schema);
    access
        .check_in(s, action, &arn, &account)
        .map_err(|refused| match refused {
            Refused::Denied(m) => client("ForbiddenException", m),
            Refused::Failed(m) => client("InternalServerErrorException", m),
        })?;
    let call = Call {
        op,
        registry: registry_name,
        schema,
        query: query_of(uri),
        body,
    };
    let store = s.engine.store().clone();
    tokio::task::spawn_blocking(move || run(store.schemas(), &account, &call))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "EventBridge Schemas' task failed");
            client("InternalServerErrorException", "Internal error")
        })?
}

/// A body read into a request shape.
fn parse<T: DeserializeOwned>(body: &Value) -> Result<T, WireError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        client(
            "BadRequestException",
            format!("The request is not valid: {e}"),
        )
    })
}

fn run(
    store: &dyn hearth_store::SchemaStore,
    account: &str,
    call: &Call,
) -> Result<(StatusCode, Value), WireError> {
    let names = (call.registry.as_str(), call.schema.as_str());
    let limit = || registry::page_limit(call.query("limit"));
    let ok = |v: Value| Ok((StatusCode::OK, v));
    match call.op {
        "ListRegistries" => ok(registry::list_registries(
            store,
            account,
            call.query("registryNamePrefix"),
            call.query("scope"),
            limit()?,
            call.query("nextToken"),
        )?),
        "CreateRegistry" => Ok((
            StatusCode::CREATED,
            registry::create_registry(store, account, names.0, parse(&call.body)?)?,
        )),
        "DescribeRegistry" => ok(registry::describe_registry(store, account, names.0)?),
        "DeleteRegistry" => {
            registry::delete_registry(store, account, names.0)?;
            Ok((StatusCode::NO_CONTENT, Value::Null))
        }
        "ListSchemas" => ok(registry::list_schemas(
            store,
            account,
            names.0,
            call.query("schemaNamePrefix"),
            limit()?,
            call.query("nextToken"),
        )?),
        "CreateSchema" => Ok((
            StatusCode::CREATED,
            registry::create_schema(store, account, names, parse(&call.body)?)?,
        )),
        "DescribeSchema" => ok(registry::describe_schema(
            store,
            account,
            names,
            call.query("schemaVersion"),
        )?),
        "UpdateSchema" => ok(registry::update_schema(
            store,
            account,
            names,
            parse(&call.body)?,
        )?),
        "DeleteSchema" => {
            registry::delete_schema(store, account, names)?;
            Ok((StatusCode::NO_CONTENT, Value::Null))
        }
        "ListSchemaVersions" => ok(registry::list_schema_versions(
            store,
            account,
            names,
            limit()?,
            call.query("nextToken"),
        )?),
        "DeleteSchemaVersion" => {
            registry::delete_schema_version(
                store,
                account,
                names,
                call.query("schemaVersion").unwrap_or(""),
            )?;
            Ok((StatusCode::NO_CONTENT, Value::Null))
        }
        other => Err(client(
            "BadRequestException",
            format!("{other} is not an operation"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_authorised_on_their_registry_or_schema() {
        let acct = "123456789012";
        assert_eq!(resource_of(Resource::Any, acct, "", ""), "*");
        assert_eq!(
            resource_of(Resource::Registry, acct, "lambda-testevent-schemas", ""),
            "arn:aws:schemas:us-east-1:123456789012:registry/lambda-testevent-schemas"
        );
        assert_eq!(
            resource_of(Resource::Schema, acct, "r", "_f-schema"),
            "arn:aws:schemas:us-east-1:123456789012:schema/r/_f-schema"
        );
        for (op, action, _) in OPERATIONS {
            assert_eq!(*action, format!("schemas:{op}"));
        }
    }

    #[test]
    fn the_declarations_are_the_table() {
        for route in crate::action::ROUTES {
            if route.op.action.starts_with("schemas:") {
                assert!(
                    OPERATIONS
                        .iter()
                        .any(|(op, action, _)| *op == route.op.name && *action == route.op.action),
                    "{route:?}"
                );
                assert!(is_schemas_path(route.path), "{route:?}");
            }
        }
        for (op, _, _) in OPERATIONS {
            assert!(
                crate::action::ROUTES.iter().any(|r| r.op.name == *op),
                "{op} is not routed"
            );
        }
    }

    #[test]
    fn the_paths_are_under_v1_registries() {
        assert!(is_schemas_path("/v1/registries"));
        assert!(is_schemas_path("/v1/registries/name/r/schemas"));
        assert!(!is_schemas_path("/v1/registriesx"));
        assert!(!is_schemas_path("/v2/apis"));
    }
}
