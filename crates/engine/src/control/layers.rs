//! Lambda layers' control plane: publishing a layer version (its zip a blob of the code
//! store), reading and listing versions, deleting them, their permission policies, and
//! resolving the `Layers` a function asks for into the [`LayerRef`]s its configuration
//! keeps (a function version keeps the layers it was published with; a deleted layer
//! version keeps working for the functions that use it, its zip being kept by code
//! collection while any of them names it).
//!
//! Access: an account uses its own layers freely; another account's layer version only
//! where its policy allows the caller's account (`lambda:GetLayerVersion` to read it or
//! use it in a function, `lambda:ListLayerVersions` to list it). Changing a layer
//! (publishing, deleting, its policy) is its own account's alone.

use hearth_model::function::LayerRef;
use hearth_model::layer::{layer_version_arn, LayerStatement, LayerVersion};
use hearth_model::limits::UNZIPPED_MAX_BYTES;
use hearth_store::LayerStore;

use super::functions::{new_revision, now_stamp};
use crate::error::{Conflict, NotFound};
use crate::{Engine, EngineError};

/// At most this many layers a function (AWS's quota).
pub const MAX_FUNCTION_LAYERS: usize = 5;

/// PublishLayerVersion, validated by the api.
#[derive(Debug, Clone)]
pub struct NewLayerVersion {
    pub account: String,
    pub name: String,
    pub description: String,
    pub license_info: Option<String>,
    pub compatible_runtimes: Vec<String>,
    pub compatible_architectures: Vec<String>,
    /// The zip, decoded and within the zipped-size limit.
    pub zip: Vec<u8>,
}

/// Who asks: the account whose access is checked and the principal AWS names when it is
/// refused.
#[derive(Debug, Clone)]
pub struct LayerCaller {
    pub account: String,
    pub arn: String,
}

impl LayerCaller {
    /// AWS's access-denied text for `action` on `resource`.
    fn denied(&self, action: &str, resource: &str) -> EngineError {
        EngineError::AccessDenied(format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action",
            self.arn
        ))
    }
}

/// AddLayerVersionPermission, validated by the api.
#[derive(Debug, Clone)]
pub struct NewLayerStatement {
    pub statement: LayerStatement,
    pub revision_id: Option<String>,
}

/// A layer version's place: its account, name and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerVersionRef {
    pub account: String,
    pub name: String,
    pub version: u64,
}

impl LayerVersionRef {
    pub fn arn(&self) -> String {
        layer_version_arn(&self.account, &self.name, self.version)
    }
}

/// Checks the combined unzipped size of a function's code and its layers.
pub(crate) fn check_total_size(code_unzipped: u64, layers: &[LayerRef]) -> Result<(), EngineError> {
    let total = code_unzipped + layers.iter().map(|l| l.code.unzipped_size).sum::<u64>();
    if total > UNZIPPED_MAX_BYTES {
        // AWS's wording as best known; see docs/layers.md.
        return Err(EngineError::Invalid(format!(
            "Function code combined with layers exceeds the maximum allowed size of {UNZIPPED_MAX_BYTES} bytes. The actual size is {total} bytes."
        )));
    }
    Ok(())
}

impl Engine {
    async fn on_layers<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn LayerStore) -> Result<T, EngineError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let store = self.store().clone();
        tokio::task::spawn_blocking(move || f(store.layers())).await?
    }

    /// PublishLayerVersion: stores the zip and the next version of the layer.
    pub async fn publish_layer_version(
        &self,
        mut new: NewLayerVersion,
    ) -> Result<LayerVersion, EngineError> {
        // The pin keeps the zip until the row naming it is written.
        let (code, pin) = self.put_zip(std::mem::take(&mut new.zip)).await?;
        let layer = LayerVersion {
            account: new.account,
            name: new.name,
            version: 0,
            description: new.description,
            license_info: new.license_info,
            compatible_runtimes: new.compatible_runtimes,
            compatible_architectures: new.compatible_architectures,
            created_date: now_stamp(),
            code,
            policy: Vec::new(),
            revision_id: new_revision(),
        };
        let stored = self
            .on_layers(move |s| Ok(s.publish_layer_version(&layer)?))
            .await?;
        drop(pin);
        Ok(stored)
    }

    /// GetLayerVersion and GetLayerVersionByArn: a version of the caller's account, or
    /// of another whose policy lets the caller's account get it.
    pub async fn layer_version(
        &self,
        caller: LayerCaller,
        r: LayerVersionRef,
    ) -> Result<LayerVersion, EngineError> {
        self.on_layers(move |s| readable(s, &caller, &r)).await
    }

    /// ListLayers: the newest version of each of `account`'s layers that matches the
    /// filters, by layer name.
    pub async fn list_layers(
        &self,
        account: String,
        runtime: Option<String>,
        architecture: Option<String>,
    ) -> Result<Vec<LayerVersion>, EngineError> {
        self.on_layers(move |s| {
            let mut out: Vec<LayerVersion> = Vec::new();
            for v in s.list_layer_versions(&account, None)? {
                if !v.matches(runtime.as_deref(), architecture.as_deref()) {
                    continue;
                }
                // Newest first within a name: the first match of a name is its latest.
                if out.last().is_some_and(|l| l.name == v.name) {
                    continue;
                }
                out.push(v);
            }
            Ok(out)
        })
        .await
    }

    /// ListLayerVersions: the versions of a layer matching the filters, newest first. A
    /// layer of another account shows the versions whose policy lets the caller's
    /// account list them.
    pub async fn list_layer_versions(
        &self,
        caller: LayerCaller,
        account: String,
        name: String,
        runtime: Option<String>,
        architecture: Option<String>,
    ) -> Result<Vec<LayerVersion>, EngineError> {
        self.on_layers(move |s| {
            Ok(s.list_layer_versions(&account, Some(&name))?
                .into_iter()
                .filter(|v| v.matches(runtime.as_deref(), architecture.as_deref()))
                .filter(|v| v.allows(&caller.account, "lambda:ListLayerVersions"))
                .collect())
        })
        .await
    }

    /// DeleteLayerVersion: idempotent, as AWS's (a version that is not there is no
    /// error). Functions using it keep it.
    pub async fn delete_layer_version(
        &self,
        caller: LayerCaller,
        r: LayerVersionRef,
    ) -> Result<(), EngineError> {
        own(&caller, &r, "lambda:DeleteLayerVersion")?;
        self.on_layers(move |s| {
            s.delete_layer_version(&r.account, &r.name, r.version)?;
            Ok(())
        })
        .await
    }

    /// AddLayerVersionPermission: the statement as AWS shows it and the new revision.
    pub async fn add_layer_version_permission(
        &self,
        caller: LayerCaller,
        r: LayerVersionRef,
        new: NewLayerStatement,
    ) -> Result<(String, String), EngineError> {
        own(&caller, &r, "lambda:AddLayerVersionPermission")?;
        let arn = r.arn();
        let statement = new.statement.clone();
        let edited = self
            .on_layers(move |s| {
                Ok(s.update_layer_version(&r.account, &r.name, r.version, |l| {
                    check_revision(l, new.revision_id.as_deref())?;
                    if l.policy.iter().any(|s| s.sid == new.statement.sid) {
                        return Err(EngineError::from(Conflict::StatementExists {
                            sid: new.statement.sid.clone(),
                        }));
                    }
                    l.policy.push(new.statement);
                    l.revision_id = new_revision();
                    Ok(())
                })?)
            })
            .await?
            .ok_or(NotFound::LayerVersion { arn: arn.clone() })??;
        Ok((
            statement.document(&arn).to_string(),
            edited.revision_id.clone(),
        ))
    }

    /// RemoveLayerVersionPermission.
    pub async fn remove_layer_version_permission(
        &self,
        caller: LayerCaller,
        r: LayerVersionRef,
        sid: String,
        revision_id: Option<String>,
    ) -> Result<(), EngineError> {
        own(&caller, &r, "lambda:RemoveLayerVersionPermission")?;
        let arn = r.arn();
        self.on_layers(move |s| {
            Ok(s.update_layer_version(&r.account, &r.name, r.version, |l| {
                check_revision(l, revision_id.as_deref())?;
                let before = l.policy.len();
                l.policy.retain(|s| s.sid != sid);
                if l.policy.len() == before {
                    return Err(EngineError::from(NotFound::Statement { sid }));
                }
                l.revision_id = new_revision();
                Ok(())
            })?)
        })
        .await?
        .ok_or(NotFound::LayerVersion { arn })??;
        Ok(())
    }

    /// GetLayerVersionPolicy: the policy document and its revision.
    pub async fn layer_version_policy(
        &self,
        caller: LayerCaller,
        r: LayerVersionRef,
    ) -> Result<(String, String), EngineError> {
        own(&caller, &r, "lambda:GetLayerVersionPolicy")?;
        let arn = r.arn();
        let layer = self
            .on_layers(move |s| Ok(s.get_layer_version(&r.account, &r.name, r.version)?))
            .await?
            .ok_or(NotFound::LayerVersion { arn })?;
        let policy = layer.policy_document().ok_or(NotFound::NoPolicy)?;
        Ok((policy, layer.revision_id))
    }

    /// A function's `Layers` (version ARNs the api checked the form of) as the
    /// references its configuration keeps, in the order given: at most
    /// [`MAX_FUNCTION_LAYERS`], one version per layer, each existing and usable by the
    /// function's account.
    pub async fn resolve_layers(
        &self,
        caller: LayerCaller,
        arns: Vec<String>,
    ) -> Result<Vec<LayerRef>, EngineError> {
        if arns.len() > MAX_FUNCTION_LAYERS {
            // AWS's wording as best known; see docs/layers.md.
            return Err(EngineError::Invalid(format!(
                "Cannot reference more than {MAX_FUNCTION_LAYERS} layers."
            )));
        }
        let mut refs = Vec::with_capacity(arns.len());
        for arn in &arns {
            let Some((account, name, version)) = hearth_model::layer::parse_layer_version_arn(arn)
            else {
                return Err(EngineError::Invalid(format!(
                    "Layer version {arn} does not exist."
                )));
            };
            if refs
                .iter()
                .any(|r: &LayerVersionRef| r.account == account && r.name == name)
            {
                return Err(EngineError::Invalid(
                    "Two different versions of the same layer are not allowed.".into(),
                ));
            }
            refs.push(LayerVersionRef {
                account,
                name,
                version,
            });
        }
        self.on_layers(move |s| {
            let mut out = Vec::with_capacity(refs.len());
            for r in refs {
                let found = s.get_layer_version(&r.account, &r.name, r.version)?;
                let layer = match found {
                    Some(l) if l.allows(&caller.account, "lambda:GetLayerVersion") => l,
                    Some(_) => return Err(caller.denied("lambda:GetLayerVersion", &r.arn())),
                    None if r.account != caller.account => {
                        return Err(caller.denied("lambda:GetLayerVersion", &r.arn()))
                    }
                    None => {
                        return Err(EngineError::Invalid(format!(
                            "Layer version {} does not exist.",
                            r.arn()
                        )))
                    }
                };
                out.push(LayerRef {
                    arn: layer.version_arn(),
                    code: layer.code,
                });
            }
            Ok(out)
        })
        .await
    }
}

/// A version the caller may read: its own account's (or `ResourceNotFoundException`),
/// or another's whose policy allows it (else, whether or not it exists, access denied:
/// another account's layers are not told about).
fn readable(
    s: &dyn LayerStore,
    caller: &LayerCaller,
    r: &LayerVersionRef,
) -> Result<LayerVersion, EngineError> {
    let found = s.get_layer_version(&r.account, &r.name, r.version)?;
    match found {
        Some(l) if l.allows(&caller.account, "lambda:GetLayerVersion") => Ok(l),
        _ if r.account != caller.account => Err(caller.denied("lambda:GetLayerVersion", &r.arn())),
        _ => Err(NotFound::LayerVersion { arn: r.arn() }.into()),
    }
}

/// Only a layer's own account changes it or reads its policy.
fn own(caller: &LayerCaller, r: &LayerVersionRef, action: &str) -> Result<(), EngineError> {
    if r.account == caller.account {
        return Ok(());
    }
    Err(caller.denied(action, &r.arn()))
}

/// A `RevisionId` given must be the version's current one.
fn check_revision(l: &LayerVersion, given: Option<&str>) -> Result<(), EngineError> {
    match given {
        Some(g) if g != l.revision_id => {
            Err(Conflict::PolicyRevisionMismatch { alias: false }.into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
