//! The store conformance suite: what every backend of [`hearth_store::Store`] must do,
//! tested through the public handle and its trait objects only (no backend's internals,
//! SQL or files), so that each backend proves the same behaviour by passing it.
//!
//! Every test is a `fn(Fixture)` in a module per trait area, listed in that module's
//! [`each_backend!`], which makes one `#[test]` per backend (`<area>::<test>::<backend>`).
//! A backend joins the suite with one line in that macro and its `Fixture` maker in
//! `backend.rs`.

/// Runs each named test of the calling module on every backend: one `#[test]` a backend,
/// in a module named after the test.
macro_rules! each_backend {
    ($($test:ident),+ $(,)?) => {
        $(
            mod $test {
                #[test]
                fn sqlite() {
                    super::$test(crate::backend::sqlite());
                }

                #[test]
                fn postgres() {
                    super::$test(crate::backend::postgres());
                }
            }
        )+
    };
}

mod audit;
mod backend;
mod code;
mod concurrency;
mod console;
mod event_config;
mod events;
mod fleet;
mod fleet_identity;
mod fleet_metadata;
mod function_urls;
mod functions;
mod http_apis;
mod keys;
mod kms;
mod layers;
mod logs;
mod mappings;
mod metrics;
mod notify;
mod pg_schema;
mod queue;
mod records;
mod resources;
mod roles;
mod schemas;
mod sns;
mod sqs;
mod tokens;
mod versions;
