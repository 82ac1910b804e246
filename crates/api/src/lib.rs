//! Hearth's control plane: the AWS Lambda REST API (botocore's `lambda/2015-03-31`
//! model) over axum, plus a few Hearth-private endpoints under `/_hearth` and CloudWatch
//! Logs' retention operations (`POST /` with `X-Amz-Target`).
//!
//! Handlers parse and validate the HTTP request, call the engine, and shape the reply;
//! every error leaves as one [`ApiError`] with Lambda's status, `x-amzn-ErrorType` and
//! JSON body.

mod account;
mod action;
mod auth;
mod body;
mod body_budget;
mod cloudwatch_logs;
mod concurrency;
mod error;
mod event_config;
mod for_functions;
mod function_request;
mod function_settings;
mod functions;
pub mod guard;
pub use for_functions::for_functions;
mod hearth;
mod invoke;
mod keys_api;
mod logs_read;
mod operations;
mod page;
mod policy;
mod reference;
mod request_id;
mod services;
mod tags;
mod version_request;
mod versions;

use axum::routing::{get, post, put};
use axum::Router;
use hearth_engine::Engine;
use hearth_triggers::Invoker;

pub use auth::Auth;
pub use body_budget::BodyBudget;
pub use error::ApiError;
pub use request_id::RequestId;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The control plane's records (functions, versions, aliases, configurations).
    pub engine: Engine,
    /// The one way a handler makes a function run: Invoke is an event source like the
    /// others (see `hearth-triggers`).
    pub invoker: Invoker,
    /// The server's access keys (`/_hearth/keys`); `None` in tests without them.
    pub keys: Option<hearth_auth::KeyRing>,
}

/// The whole HTTP surface, every request as the default account's root (`--auth off`).
pub fn router(engine: Engine, invoker: Invoker) -> Router {
    router_with_auth(engine, invoker, Auth::Off, None)
}

/// The whole HTTP surface, its requests authenticated by `auth`.
pub fn router_with_auth(
    engine: Engine,
    invoker: Invoker,
    auth: Auth,
    keys: Option<hearth_auth::KeyRing>,
) -> Router {
    let state = AppState {
        engine,
        invoker,
        keys,
    };
    Router::new()
        .route(
            "/2015-03-31/functions",
            post(functions::create).get(functions::list),
        )
        .route(
            "/2015-03-31/functions/",
            post(functions::create).get(functions::list),
        )
        .route(
            "/2015-03-31/functions/{function}",
            get(functions::get).delete(functions::delete),
        )
        .route(
            "/2015-03-31/functions/{function}/configuration",
            get(functions::get_configuration).put(functions::update_configuration),
        )
        .route(
            "/2015-03-31/functions/{function}/code",
            put(functions::update_code),
        )
        .route(
            "/2015-03-31/functions/{function}/versions",
            post(versions::publish).get(versions::list_versions),
        )
        .route(
            "/2015-03-31/functions/{function}/aliases",
            post(versions::create_alias).get(versions::list_aliases),
        )
        .route(
            "/2015-03-31/functions/{function}/aliases/{name}",
            get(versions::get_alias)
                .put(versions::update_alias)
                .delete(versions::delete_alias),
        )
        .route(
            "/2017-10-31/functions/{function}/concurrency",
            put(concurrency::put_reserved).delete(concurrency::delete_reserved),
        )
        .route(
            "/2019-09-30/functions/{function}/concurrency",
            get(concurrency::get_reserved),
        )
        .route(
            "/2019-09-30/functions/{function}/provisioned-concurrency",
            put(concurrency::put_provisioned)
                .get(concurrency::get_provisioned)
                .delete(concurrency::delete_provisioned),
        )
        .route(
            "/2019-09-25/functions/{function}/event-invoke-config",
            put(event_config::put)
                .post(event_config::update)
                .get(event_config::get)
                .delete(event_config::delete),
        )
        .route(
            "/2019-09-25/functions/{function}/event-invoke-config/list",
            get(event_config::list),
        )
        .route(
            "/2015-03-31/functions/{function}/invocations",
            post(invoke::invoke),
        )
        .route(
            "/2014-11-13/functions/{function}/invoke-async",
            post(invoke::invoke_async),
        )
        .route(
            "/2014-11-13/functions/{function}/invoke-async/",
            post(invoke::invoke_async),
        )
        .route("/2016-08-19/account-settings", get(account::get))
        .route("/2016-08-19/account-settings/", get(account::get))
        .route("/_hearth/code/{file}", get(hearth::code))
        .route(
            "/_hearth/logs/{function}",
            get(hearth::logs).delete(hearth::delete_logs),
        )
        .route("/_hearth/runtimes", get(hearth::runtimes))
        .route("/_hearth/concurrency", get(hearth::concurrency))
        .route("/_hearth/queue", get(hearth::queue))
        .merge(services::routes())
        .merge(tags::routes())
        .merge(policy::routes())
        .merge(function_settings::routes())
        .merge(keys_api::routes())
        .fallback(error::unknown_operation)
        // A path of an operation Hearth has with a method it does not: the same answers.
        .method_not_allowed_fallback(error::unknown_operation)
        // Bodies are read by `body::read` with per-operation limits and AWS errors.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            auth,
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}
