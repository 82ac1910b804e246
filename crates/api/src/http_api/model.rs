//! The records of an HTTP API as the store keeps them, in the shapes (and camelCase
//! member names) that `apigatewayv2`'s REST-JSON answers use, plus what reads a
//! request's members. An API's `apiEndpoint` is not kept: it depends on how the server
//! is addressed now (`HttpEndpoints`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{GwError, GwResult};

/// The kinds of child records (the store's `kind`).
pub(crate) const INTEGRATION: &str = "integration";
pub(crate) const ROUTE: &str = "route";
pub(crate) const STAGE: &str = "stage";
pub(crate) const DEPLOYMENT: &str = "deployment";
/// What a deployment froze: the API's routes and integrations at that moment, kept under
/// the deployment's id and served by the stages that point at it without auto-deploying.
pub(crate) const SNAPSHOT: &str = "snapshot";

/// The `$default` stage's name, which a request needs no path segment to reach.
pub(crate) const DEFAULT_STAGE: &str = "$default";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Api {
    pub api_id: String,
    pub api_key_selection_expression: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors_configuration: Option<Value>,
    pub created_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub disable_execute_api_endpoint: bool,
    pub ip_address_type: String,
    pub name: String,
    pub protocol_type: String,
    pub route_selection_expression: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Integration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
    pub connection_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub integration_id: String,
    pub integration_method: String,
    pub integration_type: String,
    pub integration_uri: String,
    pub payload_format_version: String,
    pub timeout_in_millis: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Route {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
    pub api_key_required: bool,
    pub authorization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    pub route_id: String,
    pub route_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Stage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_gateway_managed: Option<bool>,
    pub auto_deploy: bool,
    pub created_date: String,
    pub default_route_settings: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_deployment_status_message: Option<String>,
    pub last_updated_date: String,
    pub route_settings: Value,
    pub stage_name: String,
    pub stage_variables: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Deployment {
    pub auto_deployed: bool,
    pub created_date: String,
    pub deployment_id: String,
    pub deployment_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub routes: Vec<Route>,
    pub integrations: Vec<Integration>,
}

/// A request body's members.
pub(crate) struct Members(pub Map<String, Value>);

impl Members {
    pub(crate) fn parse(bytes: &[u8]) -> GwResult<Self> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(Map::new()));
        }
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(m)) => Ok(Self(m)),
            _ => Err(GwError::bad_request("Invalid request body")),
        }
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|v| !v.is_null())
    }

    pub(crate) fn string(&self, name: &str) -> GwResult<Option<String>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(GwError::bad_request(format!("Invalid value for {name}"))),
        }
    }

    pub(crate) fn boolean(&self, name: &str) -> GwResult<Option<bool>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(GwError::bad_request(format!("Invalid value for {name}"))),
        }
    }

    pub(crate) fn integer(&self, name: &str) -> GwResult<Option<i64>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| GwError::bad_request(format!("Invalid value for {name}"))),
        }
    }

    pub(crate) fn string_map(&self, name: &str) -> GwResult<Option<BTreeMap<String, String>>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(GwError::bad_request(format!("Invalid value for {name}"))),
                })
                .collect::<GwResult<_>>()
                .map(Some),
            Some(_) => Err(GwError::bad_request(format!("Invalid value for {name}"))),
        }
    }

    pub(crate) fn raw(&self, name: &str) -> Option<Value> {
        self.0.get(name).filter(|v| !v.is_null()).cloned()
    }
}

/// Now as API Gateway writes its dates (ISO 8601, seconds, UTC).
pub(crate) fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A new id of `len` lower-case letters and digits, as API Gateway's ids are.
pub(crate) fn new_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in uuid::Uuid::new_v4().into_bytes() {
            if out.len() == len {
                break;
            }
            // 252 = 7 * 36: keeps the letters and digits equally likely.
            if b < 252 {
                out.push(char::from(ALPHABET[usize::from(b % 36)]));
            }
        }
    }
    out
}

/// Checks a stage's variables as API Gateway does: names of letters, digits and
/// underscores, values of at most 2048 characters.
pub(crate) fn check_stage_variables(vars: &BTreeMap<String, String>) -> GwResult<()> {
    for (k, v) in vars {
        let name_ok = !k.is_empty()
            && k.len() <= 64
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(GwError::bad_request(format!(
                "Stage variable name {k} is invalid. Stage variable names must only contain alphanumeric characters and underscores, and must not exceed 64 characters."
            )));
        }
        if v.chars().count() > 2048 {
            return Err(GwError::bad_request(format!(
                "Stage variable value for {k} is invalid. Stage variable values must not exceed 2048 characters."
            )));
        }
    }
    Ok(())
}
