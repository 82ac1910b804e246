//! `GET /metrics`: the server's Prometheus metrics in the text exposition format. The
//! gauges of what exists now (busy and warm environments per function, the async queue,
//! SQS queues' depths and mappings' backlogs, the host's pressure) are read at the scrape; counters and histograms are kept by the
//! engine's observer.
//!
//! Prometheus cannot sign SigV4, so the path is outside the signature check: with
//! authentication off it is open like every other path, and with `--auth sigv4` it needs
//! `Authorization: Bearer <token>` with the server's metrics token (`--metrics-token`);
//! without a token configured it is refused.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::{AppState, Auth};

/// The path Prometheus scrapes.
pub const PATH: &str = "/metrics";

pub(crate) async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let Some(observatory) = s.options.observatory.clone() else {
        return (
            StatusCode::NOT_FOUND,
            "metrics are not enabled on this server\n",
        )
            .into_response();
    };
    if let Err(refusal) = allowed(
        &s.options.auth,
        s.options.metrics_token.as_deref(),
        &headers,
    ) {
        return *refusal;
    }
    let engine = s.engine.clone();
    let queues = s.invoker.queue_stats();
    let sqs = s.options.sqs.clone();
    // Reading /proc and the registry is blocking work, however short.
    let text = tokio::task::spawn_blocking(move || {
        let prom = observatory.prometheus();
        let busy = engine.busy_by_function();
        let idle = engine.idle_by_function();
        let per_function = |m: Vec<(String, f64)>| -> Vec<(Vec<String>, f64)> {
            m.into_iter()
                .map(|(key, v)| {
                    let (account, name) = hearth_model::arn::key_parts(&key);
                    (vec![account.to_string(), name.to_string()], v)
                })
                .collect()
        };
        let set = |name, help, values: Vec<(Vec<String>, f64)>| {
            let values: Vec<(Vec<&str>, f64)> = values
                .iter()
                .map(|(l, v)| (l.iter().map(String::as_str).collect(), *v))
                .collect();
            prom.set_gauge(name, help, &["account", "function"], &values);
        };
        set(
            "hearth_concurrent_executions",
            "Environments busy with an invocation.",
            per_function(busy.into_iter().map(|(k, v)| (k, v as f64)).collect()),
        );
        set(
            "hearth_warm_environments",
            "Warm on-demand environments waiting for work.",
            per_function(idle.into_iter().map(|(k, v)| (k, v as f64)).collect()),
        );
        set(
            "hearth_async_queue_depth",
            "Asynchronous events accepted and not yet finished.",
            per_function(
                queues
                    .iter()
                    .map(|q| (q.function.clone(), q.queued as f64))
                    .collect(),
            ),
        );
        if let Some(sqs) = &sqs {
            let depths = sqs.all_depths(hearth_model::time::now_ms());
            let mappings = engine.store().mappings().all_mappings().unwrap_or_default();
            prom.set_queues(&depths, &backlogs(&depths, &mappings));
        }
        prom.set_host(&hearth_observe::Host::read());
        prom.render()
    })
    .await
    .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Each enabled mapping's backlog: the visible messages of its queue, for the queues this
/// server serves (another endpoint's are not known here).
fn backlogs(
    depths: &[hearth_sqs::QueueDepth],
    mappings: &[hearth_model::event_source_mapping::EventSourceMapping],
) -> Vec<hearth_observe::Backlog> {
    mappings
        .iter()
        .filter(|m| m.enabled)
        .filter_map(|m| {
            let q = hearth_model::event_source_mapping::sqs_queue(&m.event_source_arn)?;
            let depth = depths
                .iter()
                .find(|d| d.account == q.account && d.name == q.name)?;
            Some(hearth_observe::Backlog {
                account: m.account.clone(),
                uuid: m.uuid.clone(),
                function: hearth_model::arn::key_parts(&m.function).1.to_string(),
                queue: q.name.to_string(),
                visible: depth.counts.visible,
            })
        })
        .collect()
}

/// Whether the scrape may read the metrics (see the module's documentation).
fn allowed(auth: &Auth, token: Option<&str>, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if matches!(auth, Auth::Off) {
        return Ok(());
    }
    let Some(token) = token else {
        return Err(Box::new((
            StatusCode::FORBIDDEN,
            "with --auth sigv4, /metrics needs a token: start the server with --metrics-token (or HEARTH_METRICS_TOKEN) and scrape with `Authorization: Bearer <token>`\n",
        )
            .into_response()));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(Box::new(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a valid `Authorization: Bearer <metrics token>` is needed\n",
            )
                .into_response(),
        )),
    }
}

/// Compares without stopping at the first difference, so that timing tells nothing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
