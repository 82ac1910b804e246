//! Code blobs on PostgreSQL, with a local unpack cache ([`CodeStore`]).
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

impl CodeStore for PgStore {
    fn put_zip(&self, bytes: &[u8]) -> Result<(CodeRef, CodePin), StoreError> {
        Err(not_yet())
    }
    fn zip_path(&self, sha256_hex: &str) -> PathBuf {
        self.cache.join(sha256_hex)
    }
    fn unpacked(&self, pin: &CodePin) -> Result<PathBuf, StoreError> {
        Err(not_yet())
    }
    fn pin_stored(&self, sha256_hex: &str) -> Option<CodePin> {
        None
    }
    fn collect_code(&self) {}
    fn total_code_size(&self) -> Result<u64, StoreError> {
        Err(not_yet())
    }
    fn referenced_code(&self) -> Result<HashSet<String>, StoreError> {
        Err(not_yet())
    }
}
