//! Where the HTTP fronts of functions answer on this server: function URLs
//! (`<url-id>.lambda-url.<region>.<domain>`) and HTTP APIs
//! (`<api-id>.execute-api.<region>.<domain>`) when the server has a domain with wildcard
//! DNS pointing at it, and the path forms that need no DNS at all
//! (`<base>/lambda-url/<url-id>/...`, `<base>/execute-api/<api-id>/...`). The addresses
//! the control plane answers (`FunctionUrl`, `ApiEndpoint`) are made here, and the data
//! plane finds which URL or API a request is for here, so the two always agree.

use hearth_model::arn::REGION;

/// The path prefix of function URLs on the server's own address.
pub const URL_PREFIX: &str = "/lambda-url/";
/// The path prefix of HTTP APIs on the server's own address.
pub const API_PREFIX: &str = "/execute-api/";

/// How this server's HTTP fronts are addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEndpoints {
    /// The scheme, host and port clients reach the server at, without a trailing slash
    /// (`http://127.0.0.1:9000`).
    base_url: String,
    /// The domain under which `<id>.lambda-url.<region>.` and `<id>.execute-api.<region>.`
    /// names resolve to this server, if there is one.
    domain: Option<String>,
}

/// What a request's host or path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontTarget<'a> {
    /// A function URL, by its id, and the path the function sees.
    FunctionUrl { id: &'a str, path: &'a str },
    /// An HTTP API, by its id, and the path after the API (stage first, for a named stage).
    HttpApi { id: &'a str, path: &'a str },
}

impl Default for HttpEndpoints {
    fn default() -> Self {
        Self::new("http://127.0.0.1:9000", None)
    }
}

impl HttpEndpoints {
    /// `base_url` is the server as clients reach it (`http://HOST:PORT`); `domain`, the
    /// wildcard domain, if any (`example.com`, `localtest.me`).
    pub fn new(base_url: &str, domain: Option<&str>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            domain: domain
                .map(|d| d.trim_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty()),
        }
    }

    /// The scheme clients reach the server with (`http` or `https`).
    pub fn scheme(&self) -> &str {
        self.scheme_and_port().0.trim_end_matches("://")
    }

    /// The base URL's `scheme://` and, after its host, its `:port` if it has one.
    fn scheme_and_port(&self) -> (&str, &str) {
        let (scheme_end, authority) = match self.base_url.find("://") {
            Some(i) => (i + 3, &self.base_url[i + 3..]),
            None => (0, self.base_url.as_str()),
        };
        let port = authority
            .rfind(':')
            .filter(|i| authority[i + 1..].bytes().all(|b| b.is_ascii_digit()))
            .map_or("", |i| &authority[i..]);
        (&self.base_url[..scheme_end], port)
    }

    fn under_domain(&self, id: &str, service: &str) -> Option<String> {
        let domain = self.domain.as_deref()?;
        let (scheme, port) = self.scheme_and_port();
        Some(format!("{scheme}{id}.{service}.{REGION}.{domain}{port}"))
    }

    /// A function URL's address, ending in `/` as Lambda's do.
    pub fn function_url(&self, id: &str) -> String {
        match self.under_domain(id, "lambda-url") {
            Some(host) => format!("{host}/"),
            None => format!("{}{URL_PREFIX}{id}/", self.base_url),
        }
    }

    /// An HTTP API's `ApiEndpoint` (no trailing slash, as API Gateway's).
    pub fn api_endpoint(&self, id: &str) -> String {
        match self.under_domain(id, "execute-api") {
            Some(host) => host,
            None => format!("{}{API_PREFIX}{}", self.base_url, id),
        }
    }

    /// The domain name a function URL's or API's events carry (`requestContext.domainName`).
    pub fn domain_name(&self, id: &str, service: &str, host: Option<&str>) -> String {
        match &self.domain {
            Some(d) => format!("{id}.{service}.{REGION}.{d}"),
            None => host.unwrap_or("localhost").to_string(),
        }
    }

    /// Which URL or API a request for `host` (its `Host` header, port and all) and `path`
    /// names, if any: by the host under the domain, else by the path prefix.
    pub fn target<'a>(&self, host: Option<&'a str>, path: &'a str) -> Option<FrontTarget<'a>> {
        if let (Some(domain), Some(host)) = (self.domain.as_deref(), host) {
            let name = host
                .rsplit_once(':')
                .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                .map_or(host, |(h, _)| h);
            if let Some((id, rest)) = name.split_once('.') {
                let under = |service: &str| {
                    rest.strip_prefix(service)
                        .and_then(|r| r.strip_prefix('.'))
                        .and_then(|r| r.strip_prefix(REGION))
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|d| d.eq_ignore_ascii_case(domain))
                };
                if under("lambda-url") {
                    return Some(FrontTarget::FunctionUrl { id, path });
                }
                if under("execute-api") {
                    return Some(FrontTarget::HttpApi { id, path });
                }
            }
        }
        let split = |rest: &'a str| match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if let Some(rest) = path.strip_prefix(URL_PREFIX) {
            let (id, path) = split(rest);
            return Some(FrontTarget::FunctionUrl { id, path });
        }
        if let Some(rest) = path.strip_prefix(API_PREFIX) {
            let (id, path) = split(rest);
            return Some(FrontTarget::HttpApi { id, path });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_domain_urls_and_apis_are_paths_on_the_server() {
        let e = HttpEndpoints::new("http://127.0.0.1:9000/", None);
        assert_eq!(
            e.function_url("abc"),
            "http://127.0.0.1:9000/lambda-url/abc/"
        );
        assert_eq!(e.api_endpoint("a1"), "http://127.0.0.1:9000/execute-api/a1");
        assert_eq!(
            e.target(Some("127.0.0.1:9000"), "/lambda-url/abc/x/y"),
            Some(FrontTarget::FunctionUrl {
                id: "abc",
                path: "/x/y"
            })
        );
        assert_eq!(
            e.target(None, "/lambda-url/abc"),
            Some(FrontTarget::FunctionUrl {
                id: "abc",
                path: "/"
            })
        );
        assert_eq!(
            e.target(None, "/execute-api/a1/prod/items"),
            Some(FrontTarget::HttpApi {
                id: "a1",
                path: "/prod/items"
            })
        );
        assert_eq!(e.target(None, "/2015-03-31/functions"), None);
    }

    #[test]
    fn with_a_domain_the_host_names_the_url_or_api() {
        let e = HttpEndpoints::new("https://hearth.example:8443", Some("Example.com."));
        assert_eq!(
            e.function_url("abc"),
            "https://abc.lambda-url.us-east-1.example.com:8443/"
        );
        assert_eq!(
            e.api_endpoint("a1"),
            "https://a1.execute-api.us-east-1.example.com:8443"
        );
        assert_eq!(
            e.target(Some("abc.lambda-url.us-east-1.EXAMPLE.com:8443"), "/p"),
            Some(FrontTarget::FunctionUrl {
                id: "abc",
                path: "/p"
            })
        );
        assert_eq!(
            e.target(Some("a1.execute-api.us-east-1.example.com"), "/"),
            Some(FrontTarget::HttpApi {
                id: "a1",
                path: "/"
            })
        );
        // Another region, another domain, or the server's own name: not a front.
        assert_eq!(
            e.target(Some("abc.lambda-url.eu-west-1.example.com"), "/"),
            None
        );
        assert_eq!(
            e.target(Some("abc.lambda-url.us-east-1.other.com"), "/"),
            None
        );
        assert_eq!(e.target(Some("hearth.example:8443"), "/"), None);
        // The path forms work with a domain too.
        assert_eq!(
            e.target(Some("hearth.example:8443"), "/lambda-url/abc/"),
            Some(FrontTarget::FunctionUrl {
                id: "abc",
                path: "/"
            })
        );
        let plain = HttpEndpoints::new("http://h", Some("d.test"));
        assert_eq!(
            plain.function_url("x"),
            "http://x.lambda-url.us-east-1.d.test/"
        );
    }
}
