//! The asynchronous queue's rows on PostgreSQL ([`QueueStore`]).
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

impl QueueStore for PgStore {
    fn queued_events(&self) -> Result<Vec<QueuedEvent>, StoreError> {
        Err(not_yet())
    }
    fn queued_payload(&self, seq: i64) -> Result<Option<Bytes>, StoreError> {
        Err(not_yet())
    }
    fn last_queue_seq(&self) -> Result<i64, StoreError> {
        Err(not_yet())
    }
}
