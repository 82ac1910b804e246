//! Where an environment's function finds the X-Ray daemon: the UDP socket each sandbox
//! binds for it (the engine hands it to whoever receives the segments) and the
//! environment variables that give the function its address.
//!
//! Lambda runs its daemon at `169.254.79.129:2000`. A jail puts that very address on the
//! loopback of the environment's own network namespace (`jail/netns.rs`), so a function
//! sees what it sees on Lambda; the `process` sandbox shares the host's network, where
//! that address is not Hearth's to take, and binds a free loopback port instead.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};

/// The address Lambda's X-Ray daemon listens on, as `AWS_XRAY_DAEMON_ADDRESS` gives it.
pub const LAMBDA_DAEMON_IP: Ipv4Addr = Ipv4Addr::new(169, 254, 79, 129);

/// The X-Ray daemon's UDP port everywhere.
pub const DAEMON_PORT: u16 = 2000;

/// Lambda's daemon address, where a jailed function reaches the daemon.
pub const LAMBDA_DAEMON_ADDR: SocketAddrV4 = SocketAddrV4::new(LAMBDA_DAEMON_IP, DAEMON_PORT);

/// What a jail binds should the namespace's loopback refuse Lambda's address: the
/// namespace's own loopback at the daemon's usual port.
pub const LOOPBACK_DAEMON_ADDR: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, DAEMON_PORT);

/// The variables that tell a function where the daemon listens.
///
/// `AWS_XRAY_DAEMON_ADDRESS` and `AWS_XRAY_CONTEXT_MISSING=LOG_ERROR` are on AWS's
/// "Defined runtime environment variables" page (LOG_ERROR keeps the X-Ray SDK from
/// throwing when it finds no segment). `_AWS_XRAY_DAEMON_ADDRESS` (the IP alone) and
/// `_AWS_XRAY_DAEMON_PORT` are what Lambda environments are seen to have, which the
/// Node and Java X-Ray SDKs read; they are not on that page, so their exact form is
/// UNSURE.
pub fn variables(daemon: SocketAddr) -> Vec<(String, String)> {
    [
        ("AWS_XRAY_DAEMON_ADDRESS", daemon.to_string()),
        ("_AWS_XRAY_DAEMON_ADDRESS", daemon.ip().to_string()),
        ("_AWS_XRAY_DAEMON_PORT", daemon.port().to_string()),
        ("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The socket of an environment on the host's network: a free loopback port, as the
/// Runtime API's listener there.
pub(crate) fn bind_host() -> std::io::Result<UdpSocket> {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jailed_function_is_told_lambdas_address() {
        assert_eq!(
            variables(SocketAddr::V4(LAMBDA_DAEMON_ADDR)),
            vec![
                (
                    "AWS_XRAY_DAEMON_ADDRESS".to_string(),
                    "169.254.79.129:2000".to_string()
                ),
                (
                    "_AWS_XRAY_DAEMON_ADDRESS".to_string(),
                    "169.254.79.129".to_string()
                ),
                ("_AWS_XRAY_DAEMON_PORT".to_string(), "2000".to_string()),
                (
                    "AWS_XRAY_CONTEXT_MISSING".to_string(),
                    "LOG_ERROR".to_string()
                ),
            ]
        );
    }

    #[test]
    fn a_host_socket_is_named_by_the_port_it_got() {
        let socket = bind_host().expect("a free loopback port");
        let addr = socket.local_addr().expect("bound");
        assert_eq!(addr.ip(), std::net::IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_ne!(addr.port(), 0);
        let vars: std::collections::BTreeMap<_, _> = variables(addr).into_iter().collect();
        assert_eq!(
            vars["AWS_XRAY_DAEMON_ADDRESS"],
            format!("127.0.0.1:{}", addr.port())
        );
        assert_eq!(vars["_AWS_XRAY_DAEMON_ADDRESS"], "127.0.0.1");
        assert_eq!(vars["_AWS_XRAY_DAEMON_PORT"], addr.port().to_string());
        assert_eq!(vars["AWS_XRAY_CONTEXT_MISSING"], "LOG_ERROR");
    }
}
