//! IAM roles on PostgreSQL ([`RoleStore`]).
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

impl RoleStore for PgStore {
    fn insert_role(&self, role: &Role) -> Result<(), StoreError> {
        Err(not_yet())
    }
    fn get_role(&self, account: &str, name: &str) -> Result<Option<Role>, StoreError> {
        Err(not_yet())
    }
    fn edit_role(
        &self,
        account: &str,
        name: &str,
        edit: Edit<'_, Role>,
    ) -> Result<Edited<Role>, StoreError> {
        Err(not_yet())
    }
    fn delete_role(
        &self,
        account: &str,
        name: &str,
        decide: Box<dyn FnOnce(&Role) -> bool + '_>,
    ) -> Result<Edited<Role>, StoreError> {
        Err(not_yet())
    }
    fn list_roles(
        &self,
        account: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Role>, StoreError> {
        Err(not_yet())
    }
}
