//! Functions, versions, aliases, concurrency, asynchronous invocation settings and log retention on PostgreSQL ([`MetadataStore`]).
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

impl MetadataStore for PgStore {
    fn subscribe(&self, subscriber: Subscriber) -> Subscription {
        self.changes.subscribe(subscriber)
    }
    fn insert_function(&self, f: &FunctionConfig) -> Result<(), StoreError> {
        Err(not_yet())
    }
    fn get_function(&self, name: &str) -> Result<Option<FunctionConfig>, StoreError> {
        Err(not_yet())
    }
    fn edit_function(
        &self,
        name: &str,
        edit: Edit<'_, FunctionConfig>,
    ) -> Result<Edited<FunctionConfig>, StoreError> {
        Err(not_yet())
    }
    fn list_functions(
        &self,
        account: Option<&str>,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionConfig>, StoreError> {
        Err(not_yet())
    }
    fn delete_function(&self, name: &str) -> Result<bool, StoreError> {
        Err(not_yet())
    }
    fn publish_with(
        &self,
        name: &str,
        decide: Decide<'_>,
    ) -> Result<Edited<FunctionConfig>, StoreError> {
        Err(not_yet())
    }
    fn get_version(&self, name: &str, version: u64) -> Result<Option<FunctionConfig>, StoreError> {
        Err(not_yet())
    }
    fn list_versions(&self, name: &str) -> Result<Vec<FunctionConfig>, StoreError> {
        Err(not_yet())
    }
    fn put_version(&self, f: &FunctionConfig) -> Result<(), StoreError> {
        Err(not_yet())
    }
    fn delete_version(&self, name: &str, version: u64) -> Result<bool, StoreError> {
        Err(not_yet())
    }
    fn insert_alias(&self, a: &Alias) -> Result<(), StoreError> {
        Err(not_yet())
    }
    fn get_alias(&self, function: &str, name: &str) -> Result<Option<Alias>, StoreError> {
        Err(not_yet())
    }
    fn list_aliases(&self, function: &str) -> Result<Vec<Alias>, StoreError> {
        Err(not_yet())
    }
    fn edit_alias(
        &self,
        function: &str,
        name: &str,
        edit: Edit<'_, Alias>,
    ) -> Result<Edited<Alias>, StoreError> {
        Err(not_yet())
    }
    fn delete_alias(&self, function: &str, name: &str) -> Result<bool, StoreError> {
        Err(not_yet())
    }
    fn set_reserved(&self, function: &str, reserved: Option<i64>) -> Result<(), StoreError> {
        Err(not_yet())
    }
    fn get_reserved(&self, function: &str) -> Result<Option<i64>, StoreError> {
        Err(not_yet())
    }
    fn all_reserved(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Err(not_yet())
    }
    fn put_provisioned(&self, c: &ProvisionedConfig) -> Result<(), StoreError> {
        Err(not_yet())
    }
    fn get_provisioned(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConfig>, StoreError> {
        Err(not_yet())
    }
    fn list_provisioned(
        &self,
        function: Option<&str>,
    ) -> Result<Vec<ProvisionedConfig>, StoreError> {
        Err(not_yet())
    }
    fn delete_provisioned(&self, function: &str, qualifier: &str) -> Result<bool, StoreError> {
        Err(not_yet())
    }
    fn put_event_invoke_config(&self, c: &EventInvokeConfig) -> Result<bool, StoreError> {
        Err(not_yet())
    }
    fn edit_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
        edit: Edit<'_, EventInvokeConfig>,
    ) -> Result<Edited<EventInvokeConfig>, StoreError> {
        Err(not_yet())
    }
    fn get_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, StoreError> {
        Err(not_yet())
    }
    fn list_event_invoke_configs(
        &self,
        function: &str,
    ) -> Result<Vec<EventInvokeConfig>, StoreError> {
        Err(not_yet())
    }
    fn delete_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        Err(not_yet())
    }
    fn put_retention(&self, function: &str, days: u32) -> Result<(), StoreError> {
        Err(not_yet())
    }
    fn delete_retention(&self, function: &str) -> Result<bool, StoreError> {
        Err(not_yet())
    }
    fn retention(&self, function: &str) -> Result<Option<u32>, StoreError> {
        Err(not_yet())
    }
}
