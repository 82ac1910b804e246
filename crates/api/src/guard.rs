//! The request guard: keeps web browsers from driving the API.
//!
//! A page on any web site can make its visitor's browser send requests to
//! `http://127.0.0.1:9000`: a "simple" cross-origin POST (`Content-Type: text/plain`)
//! needs no CORS preflight, and Hearth does not check signatures, so that alone could
//! create and invoke functions. With DNS rebinding the page can even read the answers,
//! because the browser then believes the server is the page's own host. Two checks stop
//! both, before any handler runs:
//!
//! - **Host**: the `Host` header must name this server: its listen address and port
//!   (for a loopback or unspecified address also `localhost` and the loopback literals;
//!   for an unspecified one also the machine's hostname and its own addresses), or a
//!   name configured with `--allowed-hosts`. A rebound name never matches.
//! - **Origin**: a request that carries an `Origin` (browsers add it to cross-origin and
//!   to most non-GET requests; the AWS SDKs, the CLI and `hearth` never send one) must
//!   come from the server's own origin (`http://` + its `Host`) or one configured with
//!   `--allowed-origins`.
//!
//! Function URLs and HTTP APIs (`http_endpoints.rs`) are public endpoints meant for
//! browsers: a request for one passes whatever its origin, and by its host when that is
//! under the server's domain.
//!
//! A refused request gets 403 `AccessDeniedException` with a message naming the flag that
//! would allow it. Hearth never answers with CORS headers, so a preflight (`OPTIONS` with
//! an `Origin`) from another origin is refused like any other request and a browser never
//! gets permission for a cross-origin call.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use hearth_model::{AwsError, ErrorCode};

/// Names or origins a flag allows: everything (`*`) or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    Any,
    Only(Vec<String>),
}

impl Allow {
    /// From the flag's comma-separated items (already split); `*` anywhere allows all.
    pub fn from_items<S: AsRef<str>>(items: &[S]) -> Self {
        let items: Vec<String> = items
            .iter()
            .map(|s| s.as_ref().trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        if items.iter().any(|s| s == "*") {
            Self::Any
        } else {
            Self::Only(items)
        }
    }
}

/// What the machine calls itself, for a server listening on an unspecified address.
#[derive(Debug, Clone, Default)]
pub struct LocalNames {
    /// The hostname (lower case), if it has one.
    pub hostname: Option<String>,
    /// Its interface addresses when the guard was made (looked up again for an address
    /// literal not among them, since addresses change).
    pub addresses: Vec<IpAddr>,
}

impl LocalNames {
    /// This machine's hostname and interface addresses.
    pub fn of_this_machine() -> Self {
        Self {
            hostname: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty()),
            addresses: interface_addresses(),
        }
    }
}

fn interface_addresses() -> Vec<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    addrs
        .filter_map(|a| {
            let address = a.address?;
            if let Some(v4) = address.as_sockaddr_in() {
                return Some(IpAddr::V4(v4.ip()));
            }
            address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
        })
        .collect()
}

/// The guard's settings: the address the server listens on and what the flags allow.
#[derive(Debug, Clone)]
pub struct RequestGuard {
    listen: SocketAddr,
    hosts: Allow,
    origins: Allow,
    local: LocalNames,
    /// Looks up the interface addresses now (swapped out in tests).
    current_addresses: fn() -> Vec<IpAddr>,
    /// Where function URLs and HTTP APIs answer: public endpoints, which browsers on any
    /// origin and hosts under the server's domain may reach (they authorize each request
    /// themselves and answer CORS as configured).
    fronts: Option<crate::http_endpoints::HttpEndpoints>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Host(String),
    Origin(String),
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::Host(host) => format!(
                "Request refused: the Host header {host:?} does not name this server, so the \
                 request may come from a web page using DNS rebinding. Use the server's own \
                 address, or allow this name with --allowed-hosts (HEARTH_ALLOWED_HOSTS)."
            ),
            Refusal::Origin(origin) => format!(
                "Request refused: it was sent by a web page of another origin ({origin}). \
                 Hearth does not accept requests from browsers on other origins; allow this one \
                 with --allowed-origins (HEARTH_ALLOWED_ORIGINS)."
            ),
        }
    }
}

impl RequestGuard {
    pub fn new(listen: SocketAddr, hosts: Allow, origins: Allow, local: LocalNames) -> Self {
        Self {
            listen,
            hosts,
            origins,
            local,
            current_addresses: interface_addresses,
            fronts: None,
        }
    }

    /// Lets requests for the function URLs and HTTP APIs of `endpoints` through, whatever
    /// their host (under its domain) or origin.
    pub fn with_fronts(mut self, endpoints: crate::http_endpoints::HttpEndpoints) -> Self {
        self.fronts = Some(endpoints);
        self
    }

    /// The guard of a server listening on `listen`, with the items of `--allowed-hosts`
    /// and `--allowed-origins`, on this machine.
    pub fn for_flags<S: AsRef<str>>(listen: SocketAddr, hosts: &[S], origins: &[S]) -> Self {
        Self::new(
            listen,
            Allow::from_items(hosts),
            Allow::from_items(origins),
            LocalNames::of_this_machine(),
        )
    }

    /// Checks a request's `Host` (`None` when it has none) and `Origin` headers.
    pub fn check(&self, host: Option<&str>, origin: Option<&str>) -> Result<(), Refusal> {
        // A request without a Host (HTTP/1.0) cannot come from a browser, which always
        // sends one.
        if let Some(host) = host {
            if !self.host_allowed(host) {
                return Err(Refusal::Host(host.to_string()));
            }
        }
        if let Some(origin) = origin {
            if !self.origin_allowed(origin, host) {
                return Err(Refusal::Origin(origin.to_string()));
            }
        }
        Ok(())
    }

    fn host_allowed(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        if self.configured_host(&name, port) {
            return true;
        }
        // Browsers leave the port out only when it is the scheme's default.
        if port.unwrap_or(80) != self.listen.port() {
            return false;
        }
        self.own_name(&name)
    }

    fn configured_host(&self, name: &str, port: Option<u16>) -> bool {
        match &self.hosts {
            Allow::Any => true,
            Allow::Only(list) => list.iter().any(|entry| match split_host(entry) {
                // An entry without a port allows the name on any port.
                Some((n, None)) => n == name,
                Some((n, Some(p))) => n == name && port.unwrap_or(80) == p,
                None => false,
            }),
        }
    }

    /// Whether `name` (lower case, IPv6 without brackets) is this server's own.
    fn own_name(&self, name: &str) -> bool {
        let listen = self.listen.ip();
        let loopback_or_any = listen.is_loopback() || listen.is_unspecified();
        if let Ok(ip) = name.parse::<IpAddr>() {
            let ip = canonical(ip);
            if ip == canonical(listen) {
                return true;
            }
            if loopback_or_any && ip.is_loopback() {
                return true;
            }
            return listen.is_unspecified()
                && (self.local.addresses.iter().any(|a| canonical(*a) == ip)
                    || (self.current_addresses)()
                        .iter()
                        .any(|a| canonical(*a) == ip));
        }
        if loopback_or_any && (name == "localhost" || name == "localhost.") {
            return true;
        }
        listen.is_unspecified()
            && self
                .local
                .hostname
                .as_deref()
                .is_some_and(|h| h == name.trim_end_matches('.'))
    }

    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        let configured = match &self.origins {
            Allow::Any => true,
            Allow::Only(list) => list
                .iter()
                .any(|o| o.trim_end_matches('/') == origin.trim_end_matches('/')),
        };
        if configured {
            return true;
        }
        // Same origin: the page was loaded from this very server (by the name in Host).
        let Some(host) = host else {
            return false;
        };
        let Some(authority) = origin.strip_prefix("http://") else {
            return false;
        };
        match (split_host(authority), split_host(host)) {
            (Some((a, ap)), Some((h, hp))) => a == h && ap.unwrap_or(80) == hp.unwrap_or(80),
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// `name[:port]` or `[v6][:port]` as (lower-case name without brackets, port); `None`
/// when it is not a host at all.
fn split_host(host: &str) -> Option<(String, Option<u16>)> {
    let host = host.trim().to_ascii_lowercase();
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        // In its canonical text, so that `[fd00::0001]` and `[fd00::1]` are one name.
        let v6 = v6.parse::<Ipv6Addr>().ok()?.to_string();
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (v6, port)
    } else {
        match host.rsplit_once(':') {
            // A bare IPv6 address has colons but no brackets: not a valid Host.
            Some((n, _)) if n.contains(':') => return None,
            Some((n, p)) => (n.to_string(), Some(p)),
            None => (host.clone(), None),
        }
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
    {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    Some((name, port))
}

/// `app` with the guard in front of every route.
pub fn guarded(app: impl hearth_serve::App, guard: RequestGuard) -> impl hearth_serve::App {
    hearth_serve::around(app, hearth_serve::GateLayer(Enforce(Arc::new(guard))))
}

/// The guard as a gate: a refused request never reaches the app.
#[derive(Clone)]
struct Enforce(Arc<RequestGuard>);

impl hearth_serve::Gate for Enforce {
    type Carry = ();

    fn check<S: hearth_serve::App>(&self, req: Request, _: &S) -> hearth_serve::Step<()> {
        match inspect(&self.0, &req) {
            Ok(()) => hearth_serve::Step::Pass(req, ()),
            Err(refusal) => {
                tracing::debug!(method = %req.method(), uri = %req.uri(), ?refusal, "request refused");
                hearth_serve::Step::answer_now(refuse(&refusal))
            }
        }
    }
}

fn inspect(guard: &RequestGuard, req: &Request) -> Result<(), Refusal> {
    // Another node's forward names the address this node advertises, which need not be
    // one it listens on; it carries the fleet's signature, which no browser can send
    // (a custom header needs a preflight, which is refused).
    if crate::forward::is_forward(req.uri().path(), req.headers()) {
        return Ok(());
    }
    let text = |name| req.headers().get(name).map(HeaderValue::to_str);
    let host = match text(header::HOST) {
        Some(Ok(h)) => Some(h.to_string()),
        Some(Err(_)) => return Err(Refusal::Host("(not text)".into())),
        // HTTP/2 carries the host in the URI instead.
        None => req.uri().authority().map(|a| a.to_string()),
    };
    if let Some(fronts) = &guard.fronts {
        if fronts.target(host.as_deref(), req.uri().path()).is_some() {
            return Ok(());
        }
    }
    let origin = match text(header::ORIGIN) {
        Some(Ok(o)) => Some(o),
        Some(Err(_)) => return Err(Refusal::Origin("(not text)".into())),
        None => None,
    };
    guard.check(host.as_deref(), origin)
}

/// 403 `AccessDeniedException`, shaped as AWS answers a request it does not authorize.
fn refuse(refusal: &Refusal) -> Response {
    let mut resp = crate::ApiError::from(AwsError::new(ErrorCode::AccessDenied, refusal.message()))
        .into_response();
    // The guard runs before the layer that assigns request ids.
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        resp.headers_mut().insert("x-amzn-requestid", id);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    fn guard(listen: &str, hosts: &[&str], origins: &[&str]) -> RequestGuard {
        let mut g = RequestGuard::new(
            addr(listen),
            Allow::from_items(hosts),
            Allow::from_items(origins),
            LocalNames {
                hostname: Some("devbox".into()),
                addresses: vec!["192.168.1.5".parse().expect("ip")],
            },
        );
        g.current_addresses = || vec!["10.0.0.7".parse().expect("ip")];
        g
    }

    fn host_ok(g: &RequestGuard, host: &str) -> bool {
        g.check(Some(host), None).is_ok()
    }

    #[test]
    fn loopback_listener_accepts_its_own_names_only() {
        let g = guard("127.0.0.1:9000", &[], &[]);
        for ok in [
            "127.0.0.1:9000",
            "localhost:9000",
            "LOCALHOST:9000",
            "localhost.:9000",
            "[::1]:9000",
            "127.0.0.2:9000",
        ] {
            assert!(host_ok(&g, ok), "{ok}");
        }
        for bad in [
            "evil.example:9000",
            "127.0.0.1:9001",
            "127.0.0.1",
            "localhost",
            "devbox:9000",
            "192.168.1.5:9000",
            "127.0.0.1.evil.example:9000",
            "localhost.evil.example:9000",
            "",
            "::1:9000",
            "[::1:9000",
            "127.0.0.1:9000/x",
            "127.0.0.1:port",
        ] {
            assert!(!host_ok(&g, bad), "{bad}");
        }
        assert_eq!(
            g.check(Some("evil.example:9000"), None),
            Err(Refusal::Host("evil.example:9000".into()))
        );
        assert!(g.check(None, None).is_ok(), "no Host: not a browser");
    }

    #[test]
    fn port_80_may_be_left_out() {
        let g = guard("127.0.0.1:80", &[], &[]);
        assert!(host_ok(&g, "localhost"));
        assert!(host_ok(&g, "127.0.0.1:80"));
        assert!(!host_ok(&g, "127.0.0.1:8080"));
    }

    #[test]
    fn ipv6_listener_and_brackets() {
        let g = guard("[::1]:9000", &[], &[]);
        assert!(host_ok(&g, "[::1]:9000"));
        assert!(host_ok(&g, "[0:0:0:0:0:0:0:1]:9000"));
        assert!(host_ok(&g, "localhost:9000"));
        assert!(host_ok(&g, "127.0.0.1:9000"));
        assert!(!host_ok(&g, "[::2]:9000"));
    }

    #[test]
    fn specific_address_is_only_itself() {
        let g = guard("192.168.1.5:9000", &[], &[]);
        assert!(host_ok(&g, "192.168.1.5:9000"));
        assert!(!host_ok(&g, "localhost:9000"));
        assert!(!host_ok(&g, "127.0.0.1:9000"));
        assert!(!host_ok(&g, "devbox:9000"));
    }

    #[test]
    fn unspecified_listener_accepts_the_machine() {
        for listen in ["0.0.0.0:9000", "[::]:9000"] {
            let g = guard(listen, &[], &[]);
            for ok in [
                "127.0.0.1:9000",
                "localhost:9000",
                "[::1]:9000",
                "devbox:9000",
                "DevBox.:9000",
                "192.168.1.5:9000",
                "[::ffff:192.168.1.5]:9000",
                // Not among the addresses at start, but the machine's now.
                "10.0.0.7:9000",
            ] {
                assert!(host_ok(&g, ok), "{listen} {ok}");
            }
            for bad in ["evil.example:9000", "10.0.0.8:9000", "devbox:9001"] {
                assert!(!host_ok(&g, bad), "{listen} {bad}");
            }
        }
    }

    #[test]
    fn configured_hosts() {
        let g = guard(
            "127.0.0.1:9000",
            &["hearth.internal", "proxy.example:443", "[fd00::1]"],
            &[],
        );
        assert!(host_ok(&g, "hearth.internal"));
        assert!(host_ok(&g, "Hearth.Internal:1234"));
        assert!(host_ok(&g, "proxy.example:443"));
        assert!(!host_ok(&g, "proxy.example:444"));
        assert!(!host_ok(&g, "proxy.example"));
        assert!(host_ok(&g, "[fd00::1]:9000"));
        assert!(host_ok(&g, "[FD00:0::0001]:9000"));
        assert!(!host_ok(&g, "evil.example:9000"));
        let any = guard("127.0.0.1:9000", &["*"], &[]);
        assert!(host_ok(&any, "evil.example:9000"));
        assert_eq!(Allow::from_items(&["a", " * "]), Allow::Any);
        assert_eq!(
            Allow::from_items(&[" A ", ""]),
            Allow::Only(vec!["a".into()])
        );
    }

    #[test]
    fn origins() {
        let g = guard("127.0.0.1:9000", &[], &[]);
        let host = Some("127.0.0.1:9000");
        assert!(g.check(host, Some("http://127.0.0.1:9000")).is_ok());
        assert!(g
            .check(Some("localhost:9000"), Some("http://localhost:9000"))
            .is_ok());
        for foreign in [
            "http://evil.example",
            "https://127.0.0.1:9000",
            "http://localhost:9000",
            "http://127.0.0.1:9001",
            "null",
            "",
        ] {
            assert_eq!(
                g.check(host, Some(foreign)),
                Err(Refusal::Origin(foreign.into())),
                "{foreign}"
            );
        }
        assert!(g.check(None, Some("http://127.0.0.1:9000")).is_err());
        let allowed = guard(
            "127.0.0.1:9000",
            &[],
            &["https://ui.example", "http://localhost:3000/"],
        );
        assert!(allowed.check(host, Some("https://ui.example")).is_ok());
        assert!(allowed.check(host, Some("HTTPS://UI.EXAMPLE")).is_ok());
        assert!(allowed.check(host, Some("http://localhost:3000")).is_ok());
        assert!(allowed.check(host, Some("http://ui.example")).is_err());
        let any = guard("127.0.0.1:9000", &[], &["*"]);
        assert!(any.check(host, Some("null")).is_ok());
        // Allowing every origin does not allow every host.
        assert!(any
            .check(Some("evil.example:9000"), Some("http://evil.example:9000"))
            .is_err());
    }

    #[test]
    fn messages_name_the_flags() {
        assert!(Refusal::Host("x".into())
            .message()
            .contains("--allowed-hosts (HEARTH_ALLOWED_HOSTS)"));
        assert!(Refusal::Origin("x".into())
            .message()
            .contains("--allowed-origins (HEARTH_ALLOWED_ORIGINS)"));
    }

    #[test]
    fn function_urls_and_http_apis_pass_from_any_origin_and_their_hosts() {
        let g = guard("127.0.0.1:9000", &[], &[]).with_fronts(
            crate::http_endpoints::HttpEndpoints::new("http://127.0.0.1:9000", Some("hearth.test")),
        );
        let req = |host: &str, path: &str, origin: Option<&str>| {
            let mut b = Request::builder().uri(path).header(header::HOST, host);
            if let Some(o) = origin {
                b = b.header(header::ORIGIN, o);
            }
            b.body(axum::body::Body::empty()).expect("request")
        };
        let page = Some("https://app.example");
        assert!(inspect(&g, &req("127.0.0.1:9000", "/lambda-url/abc/x", page)).is_ok());
        assert!(inspect(&g, &req("127.0.0.1:9000", "/execute-api/a1/prod", page)).is_ok());
        let url_host = "abc.lambda-url.us-east-1.hearth.test:9000";
        assert!(inspect(&g, &req(url_host, "/anything", page)).is_ok());
        // Lambda's API is still guarded, by host and by origin.
        assert!(inspect(&g, &req("127.0.0.1:9000", "/2015-03-31/functions", page)).is_err());
        assert!(inspect(&g, &req("evil.example:9000", "/2015-03-31/functions", None)).is_err());
        // Another name under the domain is no front.
        let other = "abc.other.us-east-1.hearth.test:9000";
        assert!(inspect(&g, &req(other, "/x", None)).is_err());
    }
}
