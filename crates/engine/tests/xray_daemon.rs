//! Each environment's X-Ray daemon socket: handed to the observer with the environment
//! it belongs to, its address in the function's environment variables, and what the
//! observer returned kept exactly as long as the environment lives.

// Shared with the executor's tests, of which this one uses a part.
#[allow(dead_code)]
mod fixture;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fixture::{config, eventually, Fixture};
use hearth_engine::observe::{DaemonGuard, Daemonized, Observer, ObserverHandle};
use hearth_sandbox::scripted::Script;

/// What the observer was handed for one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Handed {
    function: String,
    version: String,
    log_stream: String,
    addr: SocketAddr,
}

/// Records each socket (keeping a clone to read from) and counts the guards alive.
#[derive(Default)]
struct Recording {
    handed: Mutex<Vec<(Handed, UdpSocket)>>,
    alive: Arc<AtomicUsize>,
}

struct Alive(Arc<AtomicUsize>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Observer for Recording {
    fn xray_daemon(&self, env: &Daemonized<'_>, socket: UdpSocket) -> Option<DaemonGuard> {
        let handed = Handed {
            function: env.function.to_string(),
            version: env.version.to_string(),
            log_stream: env.log_stream.to_string(),
            addr: socket.local_addr().expect("a bound socket"),
        };
        self.handed
            .lock()
            .expect("not poisoned")
            .push((handed, socket));
        self.alive.fetch_add(1, Ordering::SeqCst);
        Some(Box::new(Alive(self.alive.clone())))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_observer_gets_the_socket_the_function_is_told_of_for_the_environments_life() {
    let observer = Arc::new(Recording::default());
    let fx = Fixture::new(
        Script::default(),
        hearth_engine::EngineConfig {
            observer: ObserverHandle(observer.clone()),
            ..config(Duration::from_secs(600))
        },
    );
    fx.create("traced", 3, &[("VERSION", "1")]).await;
    fx.invoke("traced", "{}").await.ok();
    fx.invoke("traced", "{}").await.ok();

    // One environment, handed over once.
    let (handed, socket) = {
        let handed = observer.handed.lock().expect("not poisoned");
        assert_eq!(handed.len(), 1);
        let (h, s) = &handed[0];
        (h.clone(), s.try_clone().expect("a clone"))
    };
    let env = fx.records.env(0);
    assert_eq!(
        handed,
        Handed {
            function: "traced".into(),
            version: "$LATEST".into(),
            log_stream: env["AWS_LAMBDA_LOG_STREAM_NAME"].clone(),
            addr: handed.addr,
        }
    );
    assert_eq!(handed.addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_eq!(env["AWS_XRAY_DAEMON_ADDRESS"], handed.addr.to_string());
    assert_eq!(env["_AWS_XRAY_DAEMON_ADDRESS"], "127.0.0.1");
    assert_eq!(env["_AWS_XRAY_DAEMON_PORT"], handed.addr.port().to_string());
    assert_eq!(env["AWS_XRAY_CONTEXT_MISSING"], "LOG_ERROR");

    // What the function sends to that address reaches the socket the observer holds.
    let client = UdpSocket::bind("127.0.0.1:0").expect("client");
    client
        .send_to(b"datagram", env["AWS_XRAY_DAEMON_ADDRESS"].as_str())
        .expect("sent");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout set");
    let mut buf = [0u8; 16];
    let n = socket.recv(&mut buf).expect("received");
    assert_eq!(&buf[..n], b"datagram");

    // Kept while the environment is warm, dropped when it is retired.
    assert_eq!(observer.alive.load(Ordering::SeqCst), 1);
    fx.set_env("traced", &[("VERSION", "2")]).await;
    eventually("the retired environment's guard is dropped", || {
        observer.alive.load(Ordering::SeqCst) == 0
    })
    .await;
}
