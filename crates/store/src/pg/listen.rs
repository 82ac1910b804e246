//! Change notifications between nodes: every write to a function's metadata runs
//! `NOTIFY hearth_changes, '<function>'` in its transaction (delivered at commit), and
//! each node listens on a connection of its own and tells its subscribers, so that a
//! change made on one node reaches every node's caches within milliseconds, never by
//! polling. When the listening connection is lost, changes may have been missed:
//! subscribers are told [`MetadataChange::Everything`] once it is back.
//!
//! A payload is `<node> <function>`: the listener of the store that wrote skips its own
//! (its subscribers were told at the commit, and a second, later notice would reach
//! them after the writer's next change, out of order with it).

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

/// The payload of a change to `function` written by the store `node`.
pub(crate) fn payload(node: &str, function: &str) -> String {
    format!("{node} {function}")
}

/// Listens until `notifier` is gone (the store dropped), connecting again whenever the
/// connection is lost; `ready` is told once the first `LISTEN` is in place.
pub(crate) async fn listen(
    config: Config,
    notifier: Weak<Notifier>,
    node: Arc<str>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
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
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        while let Some(payload) = rx.recv().await {
                            let Some(n) = notifier.upgrade() else { return };
                            // A subscriber may read the store, waiting on a client whose
                            // connection task may sit in this worker's queue: this
                            // worker's tasks go to another thread while it is told.
                            tokio::task::block_in_place(|| tell(&n, &node, &payload));
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

fn tell(notifier: &Arc<Notifier>, node: &str, payload: &str) {
    match heard(node, payload) {
        Heard::Everything => notifier.notify(&MetadataChange::Everything),
        Heard::Function(f) => notifier.function_changed(f),
        Heard::Own => {}
    }
}

/// What a payload says to the store `node`.
#[derive(Debug, PartialEq, Eq)]
enum Heard<'p> {
    Everything,
    Function(&'p str),
    /// Its own change, already told.
    Own,
}

fn heard<'p>(node: &str, payload: &'p str) -> Heard<'p> {
    if payload == EVERYTHING {
        return Heard::Everything;
    }
    match payload.split_once(' ') {
        Some((from, _)) if from == node => Heard::Own,
        Some((_, function)) => Heard::Function(function),
        // Not written by a node of this build: taken as a bare function name.
        None => Heard::Function(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_skips_its_own_notices_and_hears_the_others() {
        let ours = payload("n1", "111122223333:f g");
        assert_eq!(heard("n1", &ours), Heard::Own);
        assert_eq!(heard("n2", &ours), Heard::Function("111122223333:f g"));
        assert_eq!(heard("n1", EVERYTHING), Heard::Everything);
        assert_eq!(heard("n1", "f"), Heard::Function("f"));
    }
}
