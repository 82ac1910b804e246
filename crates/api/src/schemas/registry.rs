//! EventBridge Schemas' operations on the store: typed requests in, the model's answer
//! shapes out (`serde_json::Value`, in the wire's member names). A registry and each
//! schema version is a JSON record of this module's own shape ([`RegistryRecord`],
//! [`VersionRecord`]); the store keeps them per account, so an account sees only its own.
//!
//! Every change of a schema is a new version numbered one above its latest, as AWS
//! numbers them; an update that changes nothing answers the latest version unchanged.

use std::collections::BTreeMap;

use hearth_store::{SchemaStore, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The model's limits: `__stringMin1Max100000` for Content, `__stringMin0Max256` for
/// Description.
const CONTENT_MAX: usize = 100_000;
const DESCRIPTION_MAX: usize = 256;
/// The longest registry or schema name accepted (AWS documents none in the model;
/// `_<64-character function name>-schema` fits).
const NAME_MAX: usize = 385;
/// A listing's page when the request gives no `limit`, and the most it may ask for.
pub(crate) const PAGE_MAX: usize = 100;
/// The schema types of the model's `Type` enum.
const TYPES: [&str; 2] = ["OpenApi3", "JSONSchemaDraft4"];

/// Why an operation failed: a client's mistake (the model's error shape and its
/// message) or the store's failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemasError {
    #[error("{code}: {message}")]
    Client { code: &'static str, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn bad(message: impl Into<String>) -> SchemasError {
    SchemasError::Client {
        code: "BadRequestException",
        message: message.into(),
    }
}

fn not_found(message: impl Into<String>) -> SchemasError {
    SchemasError::Client {
        code: "NotFoundException",
        message: message.into(),
    }
}

fn conflict(message: impl Into<String>) -> SchemasError {
    SchemasError::Client {
        code: "ConflictException",
        message: message.into(),
    }
}

/// The HTTP status of an error shape, as the model's `httpStatusCode`s say.
pub(crate) fn status_of(code: &str) -> u16 {
    match code {
        "BadRequestException" => 400,
        "UnauthorizedException" => 401,
        "ForbiddenException" => 403,
        "NotFoundException" => 404,
        "ConflictException" => 409,
        "ServiceUnavailableException" => 503,
        _ => 500,
    }
}

/// `arn:aws:schemas:REGION:ACCOUNT:registry/NAME`.
pub(crate) fn registry_arn(account: &str, registry: &str) -> String {
    format!(
        "arn:aws:schemas:{}:{account}:registry/{registry}",
        hearth_model::arn::REGION
    )
}

/// `arn:aws:schemas:REGION:ACCOUNT:schema/REGISTRY/NAME`.
pub(crate) fn schema_arn(account: &str, registry: &str, schema: &str) -> String {
    format!(
        "arn:aws:schemas:{}:{account}:schema/{registry}/{schema}",
        hearth_model::arn::REGION
    )
}

/// A registry or schema name: 1 to [`NAME_MAX`] letters, digits and `@ . _ -` (the
/// characters of AWS's own registries and schemas, `aws.events`,
/// `aws.ec2@EC2InstanceStateChangeNotification`, and of Lambda's `_<function>-schema`).
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), SchemasError> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} '{name}' is not valid: 1 to {NAME_MAX} letters, digits, '@', '.', '_' or '-'"
        )))
    }
}

/// A listing's continuation: the last name of a page, hex-encoded so that a client treats
/// it as opaque.
pub(crate) fn next_token(last: &str) -> String {
    hex::encode(last.as_bytes())
}

/// The name a `nextToken` continues after.
pub(crate) fn after_token(token: &str) -> Result<String, SchemasError> {
    hex::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| bad("The NextToken is not valid"))
}

/// A listing's `limit`: 1 to [`PAGE_MAX`], [`PAGE_MAX`] when absent.
pub(crate) fn page_limit(limit: Option<&str>) -> Result<usize, SchemasError> {
    match limit {
        None => Ok(PAGE_MAX),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=PAGE_MAX).contains(n))
            .ok_or_else(|| {
                bad(format!(
                    "limit '{v}' must be an integer from 1 to {PAGE_MAX}"
                ))
            }),
    }
}

fn check_description(d: Option<&str>) -> Result<(), SchemasError> {
    match d {
        Some(d) if d.chars().count() > DESCRIPTION_MAX => Err(bad(format!(
            "Description must be at most {DESCRIPTION_MAX} characters"
        ))),
        _ => Ok(()),
    }
}

/// A schema's type and content: the type one of the model's, the content 1 to
/// [`CONTENT_MAX`] characters of one JSON object (an OpenAPI 3 document or a JSON Schema).
pub(crate) fn check_content(kind: &str, content: &str) -> Result<(), SchemasError> {
    if !TYPES.contains(&kind) {
        return Err(bad(format!(
            "Type '{kind}' is not one of {}",
            TYPES.join(", ")
        )));
    }
    let n = content.chars().count();
    if n == 0 || n > CONTENT_MAX {
        return Err(bad(format!(
            "Content must be 1 to {CONTENT_MAX} characters"
        )));
    }
    match serde_json::from_str::<Value>(content) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(bad(format!(
            "Content is not a valid {kind} document: not a JSON object"
        ))),
    }
}

/// A registry as the store keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RegistryRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One version of a schema as the store keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VersionRecord {
    pub content: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When this version was made (ISO 8601, UTC).
    pub created: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// CreateRegistry's body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRegistry {
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "tags")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// CreateSchema's body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSchema {
    #[serde(rename = "Content")]
    pub content: String,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "tags")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(rename = "Type")]
    pub kind: String,
}

/// UpdateSchema's body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateSchema {
    #[serde(rename = "ClientTokenId")]
    pub client_token_id: Option<String>,
    #[serde(rename = "Content")]
    pub content: Option<String>,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "Type")]
    pub kind: Option<String>,
}

fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn record<T: for<'de> Deserialize<'de>>(data: &str) -> Result<T, SchemasError> {
    serde_json::from_str(data).map_err(|e| SchemasError::Store(StoreError::from(e)))
}

fn encode<T: Serialize>(value: &T) -> Result<String, SchemasError> {
    serde_json::to_string(value).map_err(|e| SchemasError::Store(StoreError::from(e)))
}

fn registry_answer(account: &str, name: &str, r: &RegistryRecord) -> Value {
    let mut v = json!({
        "RegistryArn": registry_arn(account, name),
        "RegistryName": name,
        "tags": r.tags,
    });
    if let Some(d) = &r.description {
        v["Description"] = json!(d);
    }
    v
}

/// A version's answer (CreateSchema's, UpdateSchema's; DescribeSchema's adds Content).
fn version_answer(
    account: &str,
    registry: &str,
    schema: &str,
    version: i64,
    r: &VersionRecord,
) -> Map<String, Value> {
    let mut v = Map::new();
    v.insert("LastModified".into(), json!(r.created));
    v.insert(
        "SchemaArn".into(),
        json!(schema_arn(account, registry, schema)),
    );
    v.insert("SchemaName".into(), json!(schema));
    v.insert("SchemaVersion".into(), json!(version.to_string()));
    v.insert("tags".into(), json!(r.tags));
    v.insert("Type".into(), json!(r.kind));
    v.insert("VersionCreatedDate".into(), json!(r.created));
    if let Some(d) = &r.description {
        v.insert("Description".into(), json!(d));
    }
    v
}

/// The registry's record, or NotFoundException.
fn registry(
    store: &dyn SchemaStore,
    account: &str,
    name: &str,
) -> Result<RegistryRecord, SchemasError> {
    match store.get_schema_registry(account, name)? {
        Some(data) => record(&data),
        None => Err(not_found(format!("Registry {name} does not exist."))),
    }
}

pub(crate) fn create_registry(
    store: &dyn SchemaStore,
    account: &str,
    name: &str,
    req: CreateRegistry,
) -> Result<Value, SchemasError> {
    check_name("RegistryName", name)?;
    check_description(req.description.as_deref())?;
    let r = RegistryRecord {
        description: req.description,
        tags: req.tags.unwrap_or_default(),
    };
    match store.insert_schema_registry(account, name, &encode(&r)?) {
        Ok(()) => Ok(registry_answer(account, name, &r)),
        Err(StoreError::Exists(_)) => Err(conflict(format!("Registry {name} already exists."))),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn describe_registry(
    store: &dyn SchemaStore,
    account: &str,
    name: &str,
) -> Result<Value, SchemasError> {
    check_name("RegistryName", name)?;
    let r = registry(store, account, name)?;
    Ok(registry_answer(account, name, &r))
}

pub(crate) fn delete_registry(
    store: &dyn SchemaStore,
    account: &str,
    name: &str,
) -> Result<(), SchemasError> {
    check_name("RegistryName", name)?;
    if store.delete_schema_registry(account, name)? {
        Ok(())
    } else {
        Err(not_found(format!("Registry {name} does not exist.")))
    }
}

/// ListRegistries: the account's own registries (`Scope=AWS`, AWS's registries, none).
pub(crate) fn list_registries(
    store: &dyn SchemaStore,
    account: &str,
    prefix: Option<&str>,
    scope: Option<&str>,
    limit: usize,
    token: Option<&str>,
) -> Result<Value, SchemasError> {
    match scope {
        None | Some("LOCAL") => {}
        Some("AWS") => return Ok(json!({"Registries": []})),
        Some(other) => return Err(bad(format!("Scope '{other}' is not LOCAL or AWS"))),
    }
    let after = token.map(after_token).transpose()?;
    // One more than a page, to know whether there is another.
    let rows =
        store.list_schema_registries(account, prefix.unwrap_or(""), after.as_deref(), limit + 1)?;
    let more = rows.len() > limit;
    let mut out = Vec::new();
    for (name, data) in rows.iter().take(limit) {
        let r: RegistryRecord = record(data)?;
        out.push(json!({
            "RegistryArn": registry_arn(account, name),
            "RegistryName": name,
            "tags": r.tags,
        }));
    }
    let mut v = json!({ "Registries": out });
    if more {
        if let Some((last, _)) = rows.get(limit - 1) {
            v["NextToken"] = json!(next_token(last));
        }
    }
    Ok(v)
}

pub(crate) fn create_schema(
    store: &dyn SchemaStore,
    account: &str,
    (registry_name, schema): (&str, &str),
    req: CreateSchema,
) -> Result<Value, SchemasError> {
    check_name("RegistryName", registry_name)?;
    check_name("SchemaName", schema)?;
    check_content(&req.kind, &req.content)?;
    check_description(req.description.as_deref())?;
    registry(store, account, registry_name)?;
    if store
        .get_schema_version(account, registry_name, schema, None)?
        .is_some()
    {
        return Err(conflict(format!("Schema {schema} already exists.")));
    }
    let r = VersionRecord {
        content: req.content,
        kind: req.kind,
        description: req.description,
        created: now_iso(),
        tags: req.tags.unwrap_or_default(),
    };
    match store.insert_schema_version(account, registry_name, schema, 1, &encode(&r)?) {
        Ok(true) => Ok(Value::Object(version_answer(
            account,
            registry_name,
            schema,
            1,
            &r,
        ))),
        Ok(false) => Err(not_found(format!(
            "Registry {registry_name} does not exist."
        ))),
        Err(StoreError::Exists(_)) => Err(conflict(format!("Schema {schema} already exists."))),
        Err(e) => Err(e.into()),
    }
}

/// The schema's latest version (or `version`), or NotFoundException.
fn version_of(
    store: &dyn SchemaStore,
    account: &str,
    (registry_name, schema): (&str, &str),
    version: Option<i64>,
) -> Result<(i64, VersionRecord), SchemasError> {
    registry(store, account, registry_name)?;
    match store.get_schema_version(account, registry_name, schema, version)? {
        Some((n, data)) => Ok((n, record(&data)?)),
        None => Err(not_found(match version {
            Some(v) => format!("Schema {schema} version {v} does not exist."),
            None => format!("Schema {schema} does not exist."),
        })),
    }
}

pub(crate) fn describe_schema(
    store: &dyn SchemaStore,
    account: &str,
    (registry_name, schema): (&str, &str),
    version: Option<&str>,
) -> Result<Value, SchemasError> {
    check_name("RegistryName", registry_name)?;
    check_name("SchemaName", schema)?;
    let version = version
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(format!("SchemaVersion '{v}' is not a version number")))
        })
        .transpose()?;
    let (n, r) = version_of(store, account, (registry_name, schema), version)?;
    let mut v = version_answer(account, registry_name, schema, n, &r);
    v.insert("Content".into(), json!(r.content));
    Ok(Value::Object(v))
}

/// UpdateSchema: a new version with what the request changes; the latest unchanged when
/// it changes nothing. A version made by another writer meanwhile is retried on.
pub(crate) fn update_schema(
    store: &dyn SchemaStore,
    account: &str,
    (registry_name, schema): (&str, &str),
    req: UpdateSchema,
) -> Result<Value, SchemasError> {
    check_name("RegistryName", registry_name)?;
    check_name("SchemaName", schema)?;
    check_description(req.description.as_deref())?;
    if req
        .client_token_id
        .as_deref()
        .is_some_and(|t| t.chars().count() > 36)
    {
        return Err(bad("ClientTokenId must be at most 36 characters"));
    }
    for _ in 0..3 {
        let (n, latest) = version_of(store, account, (registry_name, schema), None)?;
        let next = VersionRecord {
            content: req
                .content
                .clone()
                .unwrap_or_else(|| latest.content.clone()),
            kind: req.kind.clone().unwrap_or_else(|| latest.kind.clone()),
            description: req
                .description
                .clone()
                .or_else(|| latest.description.clone()),
            created: now_iso(),
            tags: latest.tags.clone(),
        };
        check_content(&next.kind, &next.content)?;
        if next.content == latest.content
            && next.kind == latest.kind
            && next.description == latest.description
        {
            return Ok(Value::Object(version_answer(
                account,
                registry_name,
                schema,
                n,
                &latest,
            )));
        }
        match store.insert_schema_version(account, registry_name, schema, n + 1, &encode(&next)?) {
            Ok(true) => {
                return Ok(Value::Object(version_answer(
                    account,
                    registry_name,
                    schema,
                    n + 1,
                    &next,
                )))
            }
            Ok(false) => {
                return Err(not_found(format!(
                    "Registry {registry_name} does not exist."
                )))
            }
            Err(StoreError::Exists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(conflict(format!(
        "Schema {schema} was changed by another request meanwhile; try again."
    )))
}

pub(crate) fn delete_schema(
    store: &dyn SchemaStore,
    account: &str,
    (registry_name, schema): (&str, &str),
) -> Result<(), SchemasError> {
    check_name("RegistryName", registry_name)?;
    check_name("SchemaName", schema)?;
    registry(store, account, registry_name)?;
    if store.delete_schema(account, registry_name, schema)? {
        Ok(())
    } else {
        Err(not_found(format!("Schema {schema} does not exist.")))
    }
}

/// DeleteSchemaVersion: one version; the schema is gone with its last one.
pub(crate) fn delete_schema_version(
    store: &dyn SchemaStore,
    account: &str,
    (registry_name, schema): (&str, &str),
    version: &str,
) -> Result<(), SchemasError> {
    check_name("RegistryName", registry_name)?;
    check_name("SchemaName", schema)?;
    let n = version
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad(format!("SchemaVersion '{version}' is not a version number")))?;
    registry(store, account, registry_name)?;
    if store.delete_schema_version(account, registry_name, schema, n)? {
        Ok(())
    } else {
        Err(not_found(format!(
            "Schema {schema} version {n} does not exist."
        )))
    }
}

pub(crate) fn list_schemas(
    store: &dyn SchemaStore,
    account: &str,
    registry_name: &str,
    prefix: Option<&str>,
    limit: usize,
    token: Option<&str>,
) -> Result<Value, SchemasError> {
    check_name("RegistryName", registry_name)?;
    registry(store, account, registry_name)?;
    let after = token.map(after_token).transpose()?;
    let rows = store.list_schemas(
        account,
        registry_name,
        prefix.unwrap_or(""),
        after.as_deref(),
        limit + 1,
    )?;
    let more = rows.len() > limit;
    let mut out = Vec::new();
    for row in rows.iter().take(limit) {
        let r: VersionRecord = record(&row.data)?;
        out.push(json!({
            "LastModified": r.created,
            "SchemaArn": schema_arn(account, registry_name, &row.name),
            "SchemaName": row.name,
            "tags": r.tags,
            "VersionCount": row.versions,
        }));
    }
    let mut v = json!({ "Schemas": out });
    if more {
        if let Some(last) = rows.get(limit - 1) {
            v["NextToken"] = json!(next_token(&last.name));
        }
    }
    Ok(v)
}

pub(crate) fn list_schema_versions(
    store: &dyn SchemaStore,
    account: &str,
    (registry_name, schema): (&str, &str),
    limit: usize,
    token: Option<&str>,
) -> Result<Value, SchemasError> {
    check_name("RegistryName", registry_name)?;
    check_name("SchemaName", schema)?;
    registry(store, account, registry_name)?;
    let versions = store.list_schema_versions(account, registry_name, schema)?;
    if versions.is_empty() {
        return Err(not_found(format!("Schema {schema} does not exist.")));
    }
    let after: i64 = match token {
        None => 0,
        Some(t) => after_token(t)?
            .parse()
            .map_err(|_| bad("The NextToken is not valid"))?,
    };
    let page: Vec<&(i64, String)> = versions.iter().filter(|(n, _)| *n > after).collect();
    let mut out = Vec::new();
    for (n, data) in page.iter().take(limit) {
        let r: VersionRecord = record(data)?;
        out.push(json!({
            "SchemaArn": schema_arn(account, registry_name, schema),
            "SchemaName": schema,
            "SchemaVersion": n.to_string(),
            "Type": r.kind,
        }));
    }
    let mut v = json!({ "SchemaVersions": out });
    if page.len() > limit {
        if let Some((last, _)) = page.get(limit - 1) {
            v["NextToken"] = json!(next_token(&last.to_string()));
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_letters_digits_and_a_few_marks() {
        for ok in [
            "lambda-testevent-schemas",
            "_my-function-schema",
            "aws.events",
            "aws.ec2@EC2InstanceStateChangeNotification",
        ] {
            assert!(check_name("SchemaName", ok).is_ok(), "{ok}");
        }
        for no in ["", "a/b", "a b", "é", &"x".repeat(NAME_MAX + 1)] {
            assert!(check_name("SchemaName", no).is_err(), "{no}");
        }
    }

    #[test]
    fn tokens_round_trip_and_refuse_what_they_did_not_make() {
        let t = next_token("_f-schema");
        assert_eq!(after_token(&t).expect("decode"), "_f-schema");
        assert!(after_token("not hex").is_err());
        assert!(after_token("ff").is_err(), "not UTF-8");
    }

    #[test]
    fn limits_are_one_to_a_hundred() {
        assert_eq!(page_limit(None).expect("default"), PAGE_MAX);
        assert_eq!(page_limit(Some("7")).expect("7"), 7);
        for no in ["0", "101", "-1", "x"] {
            assert!(page_limit(Some(no)).is_err(), "{no}");
        }
    }

    #[test]
    fn content_is_one_json_object_of_a_known_type() {
        assert!(check_content("OpenApi3", r#"{"openapi":"3.0.0"}"#).is_ok());
        assert!(check_content("JSONSchemaDraft4", r#"{"type":"object"}"#).is_ok());
        assert!(check_content("Avro", "{}").is_err());
        assert!(check_content("OpenApi3", "").is_err());
        assert!(check_content("OpenApi3", "[1]").is_err());
        assert!(check_content("OpenApi3", "{").is_err());
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(CONTENT_MAX));
        assert!(check_content("OpenApi3", &big).is_err());
    }

    #[test]
    fn arns_name_the_registry_and_schema() {
        assert_eq!(
            registry_arn("123456789012", "r"),
            "arn:aws:schemas:us-east-1:123456789012:registry/r"
        );
        assert_eq!(
            schema_arn("123456789012", "r", "_f-schema"),
            "arn:aws:schemas:us-east-1:123456789012:schema/r/_f-schema"
        );
    }

    #[test]
    fn the_error_shapes_have_the_models_statuses() {
        assert_eq!(status_of("BadRequestException"), 400);
        assert_eq!(status_of("ForbiddenException"), 403);
        assert_eq!(status_of("NotFoundException"), 404);
        assert_eq!(status_of("ConflictException"), 409);
        assert_eq!(status_of("InternalServerErrorException"), 500);
    }
}
