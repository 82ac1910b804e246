//! Hearth's control plane: the AWS Lambda REST API (botocore's `lambda/2015-03-31`
//! model) over axum, plus a few Hearth-private endpoints under `/_hearth` and CloudWatch
//! Logs' retention operations (`POST /` with `X-Amz-Target`).
//!
//! Handlers parse and validate the HTTP request, call the engine, and shape the reply;
//! every error leaves as one [`ApiError`] with Lambda's status, `x-amzn-ErrorType` and
//! JSON body.

mod account;
mod action;
mod audit;
mod audit_params;
mod auth;
mod authorize;
mod body;
mod body_budget;
mod cloudtrail;
mod cloudwatch;
mod cloudwatch_logs;
mod concurrency;
pub mod console;
mod cost;
mod cost_query;
mod egress;
mod error;
mod event_config;
mod event_source_mappings;
mod eventbridge;
mod fleet_auth;
mod for_functions;
pub mod forward;
mod fresh_env;
mod front;
mod function_request;
mod function_settings;
mod function_urls;
mod functions;
pub mod guard;
mod http_api;
pub mod http_endpoints;
mod iam;
pub use for_functions::for_functions;
mod eventstream;
mod hearth;
mod identities;
mod invoke;
mod invoke_stream;
mod keys_api;
mod kms;
mod layers;
mod logs_read;
mod operations;
mod page;
mod policy;
mod prometheus;
mod query;
mod reference;
mod request_id;
mod role_check;
mod scheduler;
mod schemas;
mod services;
mod shape;
mod sns;
mod sqs;
pub mod sts;
mod tags;
mod tenant;
mod tune;
mod version_request;
mod versions;

use axum::routing::{get, post, put};
use axum::Router;
use hearth_engine::Engine;
use hearth_triggers::Invoker;

pub use auth::Auth;
pub use authorize::{Authorizer, NoIdentityPolicies, SharedAuthorizer};
pub use body_budget::BodyBudget;
pub use error::ApiError;
/// How a request arrived (TLS or not, the peer address): a request extension on every request.
pub use hearth_serve::Transport;
pub use identities::Identities;
pub use request_id::RequestId;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The control plane's records (functions, versions, aliases, configurations).
    pub engine: Engine,
    /// The one way a handler makes a function run: Invoke is an event source like the
    /// others (see `hearth-triggers`).
    pub invoker: Invoker,
    /// What the server turns on (issue 14). Shared: the state is cloned for every
    /// layer of every request.
    pub options: std::sync::Arc<ApiOptions>,
}

/// Settings of the API that depend on how the server authenticates.
#[derive(Clone)]
pub struct ApiOptions {
    /// Mints AssumeRole's temporary credentials; without one AssumeRole answers that
    /// the service is unavailable.
    pub session_issuer: sts::Issuer,
    /// Where callers' identity policies come from (`authorize.rs`).
    pub authorizer: SharedAuthorizer,
    /// How requests are authenticated (`auth.rs`).
    pub auth: Auth,
    /// The server's access keys (`/_hearth/keys`); `None` in tests without them.
    pub keys: Option<hearth_auth::KeyRing>,
    /// This node's part in forwarding synchronous invokes to other nodes of its fleet
    /// (`forward.rs`); `None` on the embedded store: nothing is forwarded and forwards
    /// are refused.
    pub fleet: Option<std::sync::Arc<forward::Fleet>>,
    /// Where function URLs and HTTP APIs answer on this server.
    pub endpoints: http_endpoints::HttpEndpoints,
    /// The SQS service (`sqs/`); `None` answers SQS requests that it is not enabled.
    pub sqs: Option<hearth_sqs::Sqs>,
    /// The SNS service; `None` answers its operations as unknown.
    pub sns: Option<hearth_sns::Sns>,
    /// The EventBridge control plane (`eventbridge.rs`); `None` answers its operations
    /// as unknown.
    pub events: Option<hearth_eventbridge::EventBridge>,
    /// The EventBridge Scheduler control plane (`scheduler.rs`); `None` answers its
    /// operations as not enabled.
    pub scheduler: Option<hearth_scheduler::Scheduler>,
    /// CloudWatch's metrics and alarms (`cloudwatch/`); `None` answers its operations as
    /// not enabled.
    pub cloudwatch: Option<hearth_metrics::CloudWatch>,
    /// The queues event-source mappings poll (this server's, or another endpoint's),
    /// which CreateEventSourceMapping asks whether the queue exists and how long its
    /// visibility timeout is; `None` (tests without queues) asks nothing.
    pub mapping_queues: Option<std::sync::Arc<dyn hearth_mappings::QueueClients>>,
    /// The engine's observer, whose Prometheus metrics `GET /metrics` renders; `None`
    /// answers 404 there.
    pub observatory: Option<std::sync::Arc<hearth_observe::Observatory>>,
    /// Flushes what the engine's observer counted into CloudWatch and metering, before
    /// they are read (blocking).
    pub metrics_flush: Option<hearth_observe::FlushNow>,
    /// The bearer token `/metrics` needs when requests are signed (`prometheus.rs`).
    pub metrics_token: Option<String>,
    /// The web console's sessions (`console/`); `None` serves no console.
    pub console: Option<console::Settings>,
}

impl Default for ApiOptions {
    /// Authentication off (every request the default account's root), no keys, no
    /// issuer, and no identity policies for any key or role.
    fn default() -> Self {
        Self {
            session_issuer: Default::default(),
            authorizer: std::sync::Arc::new(NoIdentityPolicies),
            auth: Auth::Off,
            keys: None,
            fleet: None,
            endpoints: Default::default(),
            sqs: None,
            sns: None,
            events: None,
            scheduler: None,
            cloudwatch: None,
            mapping_queues: None,
            observatory: None,
            metrics_token: None,
            metrics_flush: None,
            console: None,
        }
    }
}

/// The whole HTTP surface, with the default [`ApiOptions`].
pub fn router(engine: Engine, invoker: Invoker) -> impl hearth_serve::App {
    router_with(engine, invoker, ApiOptions::default())
}

/// The whole HTTP surface.
pub fn router_with(
    engine: Engine,
    invoker: Invoker,
    options: ApiOptions,
) -> impl hearth_serve::App {
    let auth = options.auth.clone();
    let state = AppState {
        engine,
        invoker,
        options: std::sync::Arc::new(options),
    };
    let api = Router::new()
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
            "/2021-10-31/functions/{function}/url",
            post(function_urls::create)
                .get(function_urls::get)
                .put(function_urls::update)
                .delete(function_urls::delete),
        )
        .route(
            "/2021-10-31/functions/{function}/urls",
            get(function_urls::list),
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
        .route("/metrics", get(prometheus::metrics))
        .route(
            "/_hearth/logs/{function}",
            get(hearth::logs).delete(hearth::delete_logs),
        )
        .route("/_hearth/runtimes", get(hearth::runtimes))
        .route("/_hearth/concurrency", get(hearth::concurrency))
        .route("/_hearth/queue", get(hearth::queue))
        .route("/_hearth/metering", get(hearth::metering))
        .route("/_hearth/cost", get(cost::cost))
        .route("/_hearth/tune/{function}", post(tune::tune))
        .route("/_hearth/nodes", get(hearth::nodes))
        .route("/_hearth/nodes/{id}/drain", post(hearth::drain))
        .route("/_hearth/nodes/{id}/undrain", post(hearth::undrain))
        .merge(invoke_stream::routes())
        .merge(services::routes())
        .merge(tags::routes())
        .merge(policy::routes())
        .merge(function_settings::routes())
        .merge(keys_api::routes())
        .merge(egress::routes())
        .merge(fresh_env::routes())
        .merge(audit::routes())
        .merge(kms::routes())
        // API Gateway HTTP APIs' control plane (`/v2/...`).
        .merge(http_api::routes())
        // SNS's signing certificate: public, as AWS serves it (`auth.rs` lets it through
        // unsigned, as the default root, like `/_hearth/code`).
        .merge(sns::public_routes())
        .merge(event_source_mappings::routes())
        .merge(layers::routes())
        // EventBridge Scheduler's REST-JSON paths (`/schedules`, `/schedule-groups`,
        // `/tags/{ResourceArn}`).
        .merge(scheduler::routes())
        // EventBridge Schemas' REST-JSON paths (`/v1/registries/...`).
        .merge(schemas::routes())
        // CloudWatch's Smithy RPC v2 CBOR paths (`/service/<Service>/operation/<Op>`).
        .route(
            "/service/{service}/operation/{operation}",
            post(cloudwatch::dispatch_cbor),
        )
        // Every route above is checked against its declaration (`action.rs`) before its
        // handler runs; routes merged after this line would not be: add them above.
        .route_layer(hearth_serve::GateLayer(authorize::Authorize(state.clone())))
        // Every route's writes go to the audit trail, refused ones too (outside the
        // authorization layer, a route layer: it sees the route).
        .route_layer(hearth_serve::GateLayer(audit::Trail(state.clone())))
        .fallback(error::unknown_operation)
        // A path of an operation Hearth has with a method it does not: the same answers.
        .method_not_allowed_fallback(error::unknown_operation)
        .with_state(state.clone());
    // The layers below wrap the whole router once (`hearth_serve::around`), not each route.
    // Bodies are read by `body::read` with per-operation limits and AWS errors.
    let api = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn_with_state(
            auth,
            auth::authenticate,
        ))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .service(api);
    hearth_serve::around(
        api,
        tower::ServiceBuilder::new()
            // Function URLs and HTTP APIs answer before anything of the Lambda API sees
            // the request: they authenticate as their configuration says and answer in
            // their own terms (`front.rs`).
            .layer(hearth_serve::GateLayer(front::Fronts(state.clone())))
            .layer(hearth_serve::GateLayer(request_id::Assign))
            // Forwards between nodes carry the fleet's signature instead of a caller's:
            // the node that forwarded authenticated and authorised the caller, so their
            // routes are outside the authentication layer.
            .layer(hearth_serve::GateLayer(forward::Forwards(
                forward::routes().with_state(state.clone()),
            )))
            // The web console: its pages, and its calls of the API passed on inward as
            // its session's principal (`console/`).
            .layer(hearth_serve::GateLayer(console::Console(state)))
            // Power tuning's requests go through the router as its caller (`tune.rs`).
            .layer(hearth_serve::GateLayer(tune::SelfCalls)),
    )
}
