//! Change notifications between nodes: every write to a function's metadata runs
//! `NOTIFY hearth_changes, '<function>'` in its transaction (delivered at commit), and
//! each node listens on a connection of its own and tells its subscribers, so that a
//! change made on one node reaches every node's caches within milliseconds, never by
//! polling. When the listening connection is lost, changes may have been missed:
//! subscribers are told [`MetadataChange::Everything`] once it is back.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, Config, NoTls};

use crate::{MetadataChange, Notifier};

/// The channel every node listens on.
pub(crate) const CHANNEL: &str = "hearth_changes";

/// The payload that says "every function" (a function name is never empty).
pub(crate) const EVERYTHING: &str = "";

/// How long to wait before connecting again after the connection was lost.
const RETRY: Duration = Duration::from_secs(1);

/// Listens until `notifier` is gone (the store dropped), connecting again whenever the
/// connection is lost.
pub(crate) async fn listen(config: Config, notifier: Weak<Notifier>) {
    let mut connected_before = false;
    loop {
        if notifier.strong_count() == 0 {
            return;
        }
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                // The connection's messages are pumped by a task of their own (which also
                // drives the LISTEN below); it ends, closing the channel, when the
                // connection does.
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
                tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(note)) => {
                                if tx.send(note.payload().to_string()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "the PostgreSQL change listener's connection failed");
                                return;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        if connected_before {
                            if let Some(n) = notifier.upgrade() {
                                n.notify(&MetadataChange::Everything);
                            }
                        }
                        connected_before = true;
                        while let Some(payload) = rx.recv().await {
                            let Some(n) = notifier.upgrade() else { return };
                            tell(&n, &payload);
                        }
                        tracing::warn!(
                            "the PostgreSQL change listener lost its connection; reconnecting"
                        );
                    }
                    Err(e) => tracing::warn!(error = %e, "PostgreSQL LISTEN failed"),
                }
            }
            Err(e) => tracing::warn!(error = %e, "the PostgreSQL change listener cannot connect"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

fn tell(notifier: &Arc<Notifier>, payload: &str) {
    if payload == EVERYTHING {
        notifier.notify(&MetadataChange::Everything);
    } else {
        notifier.function_changed(payload);
    }
}
