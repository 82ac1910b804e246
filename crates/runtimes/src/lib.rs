//! Hearth's runtimes: which ones this host can run (host detection), installing their
//! official runtime interface clients (`hearth runtime install`), how to launch each
//! (the catalogue), and the environment variables every execution environment gets (the
//! contract), shared by the engine and the benchmark's floor so that both start a runtime
//! the same way.

mod catalog;
pub mod contract;
pub mod function_env;
mod host;
pub mod install;

pub use catalog::{Catalog, Launch, LaunchError};
pub use host::host_runtimes;
