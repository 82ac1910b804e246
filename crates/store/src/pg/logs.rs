//! Invocation logs on PostgreSQL ([`LogStore`]).
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

impl LogStore for PgStore {
    fn query_logs(&self, function: &str, q: &LogQuery) -> Result<Vec<LogEvent>, StoreError> {
        Err(not_yet())
    }
    fn scan_logs(&self, function: &str, q: &LogQuery) -> Result<LogScan, StoreError> {
        Err(not_yet())
    }
    fn log_streams(&self, function: &str) -> Result<Vec<LogStreamInfo>, StoreError> {
        Err(not_yet())
    }
    fn log_groups(&self) -> Result<Vec<LogGroupInfo>, StoreError> {
        Err(not_yet())
    }
    fn has_logs(&self, function: &str) -> Result<bool, StoreError> {
        Err(not_yet())
    }
    fn delete_log_group(&self, function: &str) -> Result<bool, StoreError> {
        Err(not_yet())
    }
    fn expire_logs(&self, now_ms: i64, default_days: u32) -> Result<usize, StoreError> {
        Err(not_yet())
    }
    fn release_space(&self) {}
}
