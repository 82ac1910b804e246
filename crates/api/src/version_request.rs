//! PublishVersion, CreateAlias and UpdateAlias's bodies checked as AWS checks them
//! (required members, model constraints) and turned into the engine's changes. Rules
//! that need the alias's current version or the versions that exist are the engine's.

use hearth_engine::{AliasChange, NewAlias, NewVersion};
use std::collections::BTreeMap;

use hearth_model::alias::{
    check_alias_name, check_version, check_weights, validate_weights, CreateAliasRequest,
    PublishVersionRequest, UpdateAliasRequest,
};
use hearth_model::{validate, AwsError, FunctionRef, NameShape, Violations};

pub(crate) fn new_version(
    path: &str,
    tenant: &str,
    req: PublishVersionRequest,
) -> Result<(FunctionRef, NewVersion), AwsError> {
    let mut v = Violations::new();
    let parts = FunctionRef::check(path, NameShape::FunctionName, "functionName", &mut v);
    if let Some(d) = &req.description {
        validate::check_description(d, &mut v);
    }
    v.into_result()?;
    let r = parts.expect("no violation").resolve(tenant)?;
    if r.qualifier.is_some() {
        return Err(AwsError::invalid(
            "PublishVersion takes an unqualified function name",
        ));
    }
    if req.publish_to.is_some() {
        return Err(AwsError::invalid(
            "PublishTo (capacity providers) is not supported by Hearth",
        ));
    }
    Ok((
        r,
        NewVersion {
            description: req.description,
            revision_id: req.revision_id,
            code_sha256: req.code_sha256,
        },
    ))
}

/// The members CreateAlias and UpdateAlias share, in the model's order.
fn check_alias_members(
    v: &mut Violations,
    function_version: Option<&str>,
    description: Option<&str>,
    weights: Option<&BTreeMap<String, f64>>,
) {
    if let Some(version) = function_version {
        check_version(version, v);
    }
    if let Some(d) = description {
        validate::check_description(d, v);
    }
    if let Some(w) = weights {
        check_weights(w, v);
    }
}

pub(crate) fn new_alias(
    path: &str,
    tenant: &str,
    req: CreateAliasRequest,
) -> Result<(FunctionRef, NewAlias), AwsError> {
    let mut v = Violations::new();
    let parts = FunctionRef::check(path, NameShape::FunctionName, "functionName", &mut v);
    match &req.name {
        Some(name) => check_alias_name(name, &mut v),
        None => v.null("name"),
    }
    if req.function_version.is_none() {
        v.null("functionVersion");
    }
    let weights = req
        .routing_config
        .and_then(|c| c.additional_version_weights)
        .unwrap_or_default();
    check_alias_members(
        &mut v,
        req.function_version.as_deref(),
        req.description.as_deref(),
        Some(&weights),
    );
    v.into_result()?;
    let r = parts.expect("no violation").resolve(tenant)?;
    validate_weights(&weights)?;
    let (Some(name), Some(function_version)) = (req.name, req.function_version) else {
        unreachable!("a missing member is a violation");
    };
    Ok((
        r,
        NewAlias {
            name,
            function_version,
            description: req.description.unwrap_or_default(),
            weights,
        },
    ))
}

pub(crate) fn alias_change(
    path: &str,
    tenant: &str,
    name: &str,
    req: UpdateAliasRequest,
) -> Result<(FunctionRef, AliasChange), AwsError> {
    let mut v = Violations::new();
    let parts = FunctionRef::check(path, NameShape::FunctionName, "functionName", &mut v);
    check_alias_name(name, &mut v);
    // A routing configuration without weights removes them.
    let weights = req
        .routing_config
        .map(|c| c.additional_version_weights.unwrap_or_default());
    check_alias_members(
        &mut v,
        req.function_version.as_deref(),
        req.description.as_deref(),
        weights.as_ref(),
    );
    v.into_result()?;
    let r = parts.expect("no violation").resolve(tenant)?;
    if let Some(w) = &weights {
        validate_weights(w)?;
    }
    Ok((
        r,
        AliasChange {
            function_version: req.function_version,
            description: req.description,
            weights,
            revision_id: req.revision_id,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::ErrorCode;

    fn create(body: serde_json::Value) -> Result<NewAlias, AwsError> {
        new_alias(
            "f",
            hearth_model::arn::ACCOUNT,
            serde_json::from_value(body).expect("a CreateAlias body"),
        )
        .map(|(_, a)| a)
    }

    #[test]
    fn create_alias_checks_its_members() {
        let a = create(serde_json::json!({"Name": "live", "FunctionVersion": "1"})).expect("valid");
        assert_eq!(
            (a.name.as_str(), a.function_version.as_str()),
            ("live", "1")
        );
        let e = create(serde_json::json!({"FunctionVersion": "1"})).expect_err("no name");
        assert_eq!(e.code, ErrorCode::Validation);
        let e = create(serde_json::json!({"Name": "live", "FunctionVersion": "x"}))
            .expect_err("not a version");
        assert_eq!(e.code, ErrorCode::Validation);
        let e = create(serde_json::json!({
            "Name": "live", "FunctionVersion": "1",
            "RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1, "3": 0.1}},
        }))
        .expect_err("two weights");
        assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    }

    #[test]
    fn an_update_keeps_what_it_does_not_name() {
        let (_, c) = alias_change("f", hearth_model::arn::ACCOUNT, "live", Default::default())
            .expect("valid");
        assert!(c.function_version.is_none() && c.weights.is_none());
        let (_, c) = alias_change(
            "f",
            hearth_model::arn::ACCOUNT,
            "live",
            serde_json::from_value(serde_json::json!({"RoutingConfig": {}})).expect("a body"),
        )
        .expect("valid");
        assert_eq!(c.weights, Some(Default::default()));
    }
}
