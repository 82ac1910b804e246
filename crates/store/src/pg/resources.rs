//! Tags, resource-based policies and function settings on PostgreSQL ([`ResourceStore`]).
//!
//! NOT YET BUILT: every operation answers [`super::not_yet`]; this file is replaced
//! by the real implementation.

#![allow(unused_variables, unused_imports)]

use super::{not_yet, PgStore};
use std::collections::HashSet;
use std::path::PathBuf;

use bytes::Bytes;
use hearth_model::alias::Alias;
use hearth_model::concurrency::ProvisionedConfig;
use hearth_model::event_invoke::EventInvokeConfig;
use hearth_model::function::CodeRef;
use hearth_model::function_settings::FunctionSettings;
use hearth_model::iam::Role;
use hearth_model::policy::Policy;
use hearth_model::tags::Tags;
use hearth_model::FunctionConfig;

use crate::traits::*;
use crate::*;

/// This area's tables, part of the first migration ([`super::migrations`]).
pub(super) const SCHEMA: &str = "";

impl ResourceStore for PgStore {
    fn tags(&self, resource: &str) -> Result<Tags, StoreError> {
        Err(not_yet())
    }
    fn edit_tags(
        &self,
        resource: &str,
        owner: &str,
        edit: Edit<'_, Tags>,
    ) -> Result<Edited<Tags>, StoreError> {
        Err(not_yet())
    }
    fn policy(&self, function: &str, qualifier: &str) -> Result<Option<Policy>, StoreError> {
        Err(not_yet())
    }
    fn edit_policy(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, Option<Policy>>,
    ) -> Result<Edited<Option<Policy>>, StoreError> {
        Err(not_yet())
    }
    fn function_settings(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<FunctionSettings, StoreError> {
        Err(not_yet())
    }
    fn edit_function_settings(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, FunctionSettings>,
    ) -> Result<Edited<FunctionSettings>, StoreError> {
        Err(not_yet())
    }
}
