//! The audit trail on PostgreSQL ([`AuditStore`]).
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

impl AuditStore for PgStore {
    fn lookup_audit(
        &self,
        query: &hearth_model::audit::AuditQuery,
    ) -> Result<hearth_model::audit::AuditPage, StoreError> {
        Err(not_yet())
    }
    fn expire_audit(
        &self,
        now_ms: i64,
        keep: hearth_model::audit::AuditRetention,
    ) -> Result<usize, StoreError> {
        Err(not_yet())
    }
}
