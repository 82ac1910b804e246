//! Where a subscriber wants its records: the `destination` object of a subscription, parsed
//! from its URI, and the resolver the wiring gives to turn it into a socket address.
//!
//! AWS: "Lambda sends telemetry only to destinations that are inside the execution
//! environment" and names the environment `sandbox.localdomain`. Hearth accepts that name and
//! the loopback names a process inside the environment would also reach itself by
//! (`127.0.0.1`, `localhost`; the runtime interface emulator also maps plain `sandbox`). AWS's
//! exact list of accepted host names is not documented; this one is Hearth's.

use std::io;
use std::net::SocketAddr;

use crate::bounds::{RESERVED_PORT, SANDBOX_HOST};

/// How records travel to the subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// A POST of a JSON array per batch (AWS: "HTTP (recommended)").
    Http,
    /// Newline-delimited JSON written to a TCP connection.
    Tcp,
}

/// Host names accepted in a destination URI (see the module docs).
pub const ACCEPTED_HOSTS: [&str; 4] = [SANDBOX_HOST, "sandbox", "127.0.0.1", "localhost"];

/// A validated destination: a host inside the environment, a port, and for HTTP a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// HTTP or TCP.
    pub protocol: Protocol,
    /// The host as written (one of [`ACCEPTED_HOSTS`], lower-cased); the wiring's
    /// [`Resolver`] turns it into the environment's address.
    pub host: String,
    /// The port, never [`RESERVED_PORT`].
    pub port: u16,
    /// The request path for HTTP (`/` when the URI had none); `/` for TCP.
    pub path: String,
}

impl Destination {
    /// The `Host` header a delivery sends: `host:port` as the subscriber wrote it.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Turns a destination into the socket address to connect to. The wiring passes one that maps
/// `sandbox.localdomain` (and loopback, which inside a jail is the jail's own) to the
/// environment's address as the host sees it.
pub trait Resolver: Send + Sync {
    /// The address to connect to for `destination`.
    fn resolve(&self, destination: &Destination) -> io::Result<SocketAddr>;

    /// Whether deliveries connect through [`Resolver::connect`] (the environment has a
    /// network of its own, which the host's network does not reach) rather than from the
    /// host's network.
    fn connects(&self) -> bool {
        false
    }

    /// Opens a connection to `addr` (an address [`Resolver::resolve`] gave), when
    /// [`Resolver::connects`]: a blocking call, which deliveries run on tokio's blocking pool.
    fn connect(&self, addr: SocketAddr) -> io::Result<std::net::TcpStream> {
        std::net::TcpStream::connect(addr)
    }
}

/// A resolver that sends every destination to one IP address at the destination's port: the
/// environment's address, as seen from where the delivery runs.
#[derive(Debug, Clone, Copy)]
pub struct EnvironmentAddress(pub std::net::IpAddr);

impl Resolver for EnvironmentAddress {
    fn resolve(&self, destination: &Destination) -> io::Result<SocketAddr> {
        Ok(SocketAddr::new(self.0, destination.port))
    }
}

/// Parses a destination URI for `protocol`, collecting every problem (AWS joins several in one
/// message: "URI port is not provided; types should not be empty").
///
/// HTTP wants `http://HOST:PORT[/PATH]` (AWS: "Lambda supports only HTTP, not HTTPS"). For TCP
/// AWS shows no URI example; Hearth accepts `tcp://HOST:PORT` and, as for HTTP,
/// `http://HOST:PORT`.
pub(crate) fn parse_uri(
    protocol: Protocol,
    uri: &str,
    errors: &mut Vec<String>,
) -> Option<Destination> {
    let (scheme, rest) = match uri.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => {
            errors.push(format!("URI '{uri}' is not a valid URI"));
            return None;
        }
    };
    let scheme_ok = match protocol {
        Protocol::Http => scheme == "http",
        Protocol::Tcp => scheme == "tcp" || scheme == "http",
    };
    if !scheme_ok {
        errors.push(match protocol {
            Protocol::Http => format!("URI scheme '{scheme}' is not supported; use http"),
            Protocol::Tcp => format!("URI scheme '{scheme}' is not supported; use tcp"),
        });
    }
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        errors.push("URI must not contain user information".to_owned());
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host = host.to_ascii_lowercase();
    let mut ok = scheme_ok;
    if !ACCEPTED_HOSTS.contains(&host.as_str()) {
        errors.push(format!(
            "URI host '{host}' is not in the execution environment; use {SANDBOX_HOST}"
        ));
        ok = false;
    }
    let port = match port {
        None | Some("") => {
            errors.push("URI port is not provided".to_owned());
            None
        }
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => {
                errors.push(format!("URI port '{port}' is not a valid port"));
                None
            }
            Ok(RESERVED_PORT) => {
                errors.push(format!("URI port {RESERVED_PORT} is reserved by Lambda"));
                None
            }
            Ok(port) => Some(port),
        },
    };
    let port = port?;
    if !ok {
        return None;
    }
    let path = match protocol {
        Protocol::Http => path.to_owned(),
        Protocol::Tcp => "/".to_owned(),
    };
    Some(Destination {
        protocol,
        host,
        port,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(protocol: Protocol, uri: &str) -> Result<Destination, Vec<String>> {
        let mut errors = Vec::new();
        match parse_uri(protocol, uri, &mut errors) {
            Some(d) if errors.is_empty() => Ok(d),
            _ => Err(errors),
        }
    }

    #[test]
    fn http_with_and_without_path() {
        assert_eq!(
            parse(
                Protocol::Http,
                "http://sandbox.localdomain:8080/lambda_logs"
            ),
            Ok(Destination {
                protocol: Protocol::Http,
                host: "sandbox.localdomain".into(),
                port: 8080,
                path: "/lambda_logs".into()
            })
        );
        assert_eq!(
            parse(Protocol::Http, "http://127.0.0.1:4243"),
            Ok(Destination {
                protocol: Protocol::Http,
                host: "127.0.0.1".into(),
                port: 4243,
                path: "/".into()
            })
        );
    }

    #[test]
    fn tcp_uri() {
        assert_eq!(
            parse(Protocol::Tcp, "tcp://sandbox.localdomain:4244"),
            Ok(Destination {
                protocol: Protocol::Tcp,
                host: "sandbox.localdomain".into(),
                port: 4244,
                path: "/".into()
            })
        );
    }

    #[test]
    fn rejections_name_each_problem() {
        assert_eq!(
            parse(Protocol::Http, "http://sandbox.localdomain"),
            Err(vec!["URI port is not provided".to_owned()])
        );
        assert_eq!(
            parse(Protocol::Http, "http://sandbox.localdomain:9001/"),
            Err(vec!["URI port 9001 is reserved by Lambda".to_owned()])
        );
        assert_eq!(
            parse(Protocol::Http, "https://sandbox.localdomain:8080"),
            Err(vec![
                "URI scheme 'https' is not supported; use http".to_owned()
            ])
        );
        assert_eq!(
            parse(Protocol::Http, "http://example.com:80/x"),
            Err(vec![
                "URI host 'example.com' is not in the execution environment; use sandbox.localdomain"
                    .to_owned()
            ])
        );
        assert_eq!(
            parse(Protocol::Http, "sandbox.localdomain:8080"),
            Err(vec![
                "URI 'sandbox.localdomain:8080' is not a valid URI".to_owned()
            ])
        );
        assert_eq!(
            parse(Protocol::Http, "http://sandbox.localdomain:99999"),
            Err(vec!["URI port '99999' is not a valid port".to_owned()])
        );
        assert_eq!(
            parse(Protocol::Tcp, "udp://sandbox.localdomain:1"),
            Err(vec!["URI scheme 'udp' is not supported; use tcp".to_owned()])
        );
    }

    #[test]
    fn environment_address_keeps_the_port() {
        let d = Destination {
            protocol: Protocol::Http,
            host: "sandbox.localdomain".into(),
            port: 8080,
            path: "/".into(),
        };
        let addr = EnvironmentAddress("10.0.0.7".parse().expect("an IP"))
            .resolve(&d)
            .expect("resolves");
        assert_eq!(addr, "10.0.0.7:8080".parse().expect("an address"));
        assert_eq!(d.authority(), "sandbox.localdomain:8080");
    }
}
