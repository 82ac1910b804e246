//! PublishVersion, CreateAlias and UpdateAlias's bodies checked as AWS checks them
//! (required members, model constraints) and turned into the engine's changes. Rules
//! that need the alias's current version or the versions that exist are the engine's.

use hearth_engine::{AliasChange, NewAlias, NewVersion};
use hearth_model::alias::{
    validate_alias_name, validate_version, validate_weights, CreateAliasRequest,
    PublishVersionRequest, UpdateAliasRequest,
};
use hearth_model::{validate, AwsError, FunctionRef};

pub(crate) fn new_version(
    r: &FunctionRef,
    req: PublishVersionRequest,
) -> Result<NewVersion, AwsError> {
    if r.qualifier.is_some() {
        return Err(AwsError::invalid(
            "PublishVersion takes an unqualified function name",
        ));
    }
    if let Some(d) = &req.description {
        validate::description(d)?;
    }
    if req.publish_to.is_some() {
        return Err(AwsError::invalid(
            "PublishTo (capacity providers) is not supported by Hearth",
        ));
    }
    Ok(NewVersion {
        description: req.description,
        revision_id: req.revision_id,
        code_sha256: req.code_sha256,
    })
}

pub(crate) fn new_alias(req: CreateAliasRequest) -> Result<NewAlias, AwsError> {
    let name = req.name.ok_or_else(|| AwsError::null_member("name"))?;
    let function_version = req
        .function_version
        .ok_or_else(|| AwsError::null_member("functionVersion"))?;
    validate_alias_name(&name)?;
    let description = req.description.unwrap_or_default();
    validate::description(&description)?;
    let weights = req
        .routing_config
        .and_then(|c| c.additional_version_weights)
        .unwrap_or_default();
    validate_version(&function_version)?;
    validate_weights(&weights)?;
    Ok(NewAlias {
        name,
        function_version,
        description,
        weights,
    })
}

pub(crate) fn alias_change(req: UpdateAliasRequest) -> Result<AliasChange, AwsError> {
    if let Some(d) = &req.description {
        validate::description(d)?;
    }
    if let Some(v) = &req.function_version {
        validate_version(v)?;
    }
    // A routing configuration without weights removes them.
    let weights = req
        .routing_config
        .map(|c| c.additional_version_weights.unwrap_or_default());
    if let Some(w) = &weights {
        validate_weights(w)?;
    }
    Ok(AliasChange {
        function_version: req.function_version,
        description: req.description,
        weights,
        revision_id: req.revision_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_model::ErrorCode;

    fn create(body: serde_json::Value) -> Result<NewAlias, AwsError> {
        new_alias(serde_json::from_value(body).expect("a CreateAlias body"))
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
        let c = alias_change(Default::default()).expect("valid");
        assert!(c.function_version.is_none() && c.weights.is_none());
        let c = alias_change(
            serde_json::from_value(serde_json::json!({"RoutingConfig": {}})).expect("a body"),
        )
        .expect("valid");
        assert_eq!(c.weights, Some(Default::default()));
    }
}
