//! Hearth's KMS keys on PostgreSQL ([`KmsStore`]).
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

impl KmsStore for PgStore {
    fn create_kms_key(
        &self,
        account: &str,
        description: &str,
    ) -> Result<crate::KmsKeyInfo, StoreError> {
        Err(not_yet())
    }
    fn list_kms_keys(&self) -> Result<Vec<crate::KmsKeyInfo>, StoreError> {
        Err(not_yet())
    }
    fn kms_key_exists(&self, arn: &str) -> bool {
        false
    }
}
