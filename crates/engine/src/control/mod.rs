//! The control plane: the records (functions and their lifecycle and states, versions,
//! aliases, reserved and provisioned concurrency configurations, event invoke
//! configurations, log groups and their retention, tags, resource policies and
//! function settings, the fresh-environment setting, layers), the registry that caches them for
//! the invoke path, and the resolution of a reference to the [`RunSpec`] the executor
//! runs. It tells the executor what to retire when a record changes (`retire`).
//!
//! [`RunSpec`]: crate::executor::RunSpec

mod audit;
mod concurrency;
mod egress;
mod event_config;
mod fresh_env;
mod function_settings;
mod function_urls;
mod functions;
mod http_apis;
mod invoke;
mod layers;
mod log_groups;
mod mappings;
mod policy;
mod provisioned;
mod recursion;
pub(crate) mod registry;
mod resolve;
mod retire;
mod role_permissions;
mod roles;
mod settle;
pub(crate) mod spread;
mod tags;
mod versions;

pub use egress::EgressView;
pub use functions::AccountSettings;
pub use http_apis::Inserted;
pub use invoke::InvokePath;
pub use layers::{
    LayerCaller, LayerVersionRef, NewLayerStatement, NewLayerVersion, MAX_FUNCTION_LAYERS,
};
pub use log_groups::RetentionConfig;
pub use role_permissions::dead_letters_refused;
pub use roles::{IamError, Limit, NewRole, MAX_ATTACHED_POLICIES, MAX_INLINE_POLICY_CHARS};

use retire::RecordChange;

use crate::Engine;

impl Engine {
    /// Tells the executor to stop the environments `change` makes stale.
    fn retire(&self, change: RecordChange<'_>) {
        for r in retire::retirements(change) {
            self.inner.executor.retire(&r);
        }
    }
}
