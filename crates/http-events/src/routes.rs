//! HTTP APIs' route keys (`GET /items/{id}`, `ANY /{proxy+}`, `$default`) and how a
//! request picks one, as API Gateway's "Routing API requests" describes it: a route that
//! matches the whole path (literal segments before path variables, segment by segment)
//! first, then the route whose greedy variable (`{name+}`, last segment only) covers the
//! longest prefix, then `$default`; at equal paths, a route of the request's method
//! before an `ANY` one. The path parameters the chosen route binds come back with it.

use std::collections::BTreeMap;

use http::Method;

/// The methods a route key may name (`ANY` aside).
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// One segment of a route's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    /// `{name}`: one whole segment.
    Variable(String),
    /// `{name+}`: the rest of the path, one segment or more.
    Greedy(String),
}

/// A parsed route key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKey {
    /// `$default`: whatever no other route matches.
    Default,
    /// `METHOD /path`; `method` is `None` for `ANY`.
    Route {
        method: Option<Method>,
        segments: Vec<Segment>,
    },
}

/// Why a route key is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteKeyError {
    #[error("the route key has no method and path")]
    Shape,
    #[error("unknown method {0}")]
    Method(String),
    #[error("the path must start with /")]
    Path,
    #[error("a greedy path variable must be the last segment")]
    GreedyNotLast,
    #[error("the path segment {0} is not valid")]
    Segment(String),
}

impl RouteKey {
    /// Parses `$default` or `METHOD /path`.
    pub fn parse(key: &str) -> Result<Self, RouteKeyError> {
        if key == "$default" {
            return Ok(Self::Default);
        }
        let (method, path) = key.split_once(' ').ok_or(RouteKeyError::Shape)?;
        let method = match method {
            "ANY" => None,
            m if METHODS.contains(&m) => Some(
                Method::from_bytes(m.as_bytes()).map_err(|_| RouteKeyError::Method(m.into()))?,
            ),
            m => return Err(RouteKeyError::Method(m.into())),
        };
        let rest = path.strip_prefix('/').ok_or(RouteKeyError::Path)?;
        let mut segments = Vec::new();
        if !rest.is_empty() {
            let parts: Vec<&str> = rest.split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => match name.strip_suffix('+') {
                        Some(greedy) if i + 1 == parts.len() && valid_name(greedy) => {
                            Segment::Greedy(greedy.into())
                        }
                        Some(greedy) if valid_name(greedy) => {
                            return Err(RouteKeyError::GreedyNotLast)
                        }
                        None if valid_name(name) => Segment::Variable(name.into()),
                        _ => return Err(RouteKeyError::Segment((*part).into())),
                    },
                    None if !part.is_empty() && !part.contains(['{', '}', ' ']) => {
                        Segment::Literal((*part).into())
                    }
                    None => return Err(RouteKeyError::Segment((*part).into())),
                };
                let name = match &segment {
                    Segment::Variable(n) | Segment::Greedy(n) => Some(n),
                    Segment::Literal(_) => None,
                };
                if let Some(n) = name {
                    let taken = segments.iter().any(|s: &Segment| {
                        matches!(s, Segment::Variable(o) | Segment::Greedy(o) if o == n)
                    });
                    if taken {
                        return Err(RouteKeyError::Segment((*part).into()));
                    }
                }
                segments.push(segment);
            }
        }
        Ok(Self::Route { method, segments })
    }

    /// The key's path (`/items/{id}`), `$default` for the default route: what a 1.0
    /// event's `resource` and `resourcePath` say.
    pub fn resource(&self) -> String {
        match self {
            Self::Default => "$default".into(),
            Self::Route { segments, .. } => {
                let mut out = String::new();
                for s in segments {
                    out.push('/');
                    match s {
                        Segment::Literal(l) => out.push_str(l),
                        Segment::Variable(v) => {
                            out.push('{');
                            out.push_str(v);
                            out.push('}');
                        }
                        Segment::Greedy(g) => {
                            out.push('{');
                            out.push_str(g);
                            out.push_str("+}");
                        }
                    }
                }
                if out.is_empty() {
                    out.push('/');
                }
                out
            }
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// The route a request chose, by its index in the routes given, and its path parameters
/// (percent-decoded; a greedy variable's value is the rest of the path without its
/// leading `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub index: usize,
    pub path_parameters: BTreeMap<String, String>,
}

/// How specific a matching route is; the smallest wins.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    /// 0: the whole path, 1: a greedy prefix, 2: `$default`.
    tier: u8,
    /// For greedy routes, fewer segments before the variable rank later.
    shorter_prefix: usize,
    /// Per segment, 0 for a literal and 1 for a variable: literals first, from the left.
    segments: Vec<u8>,
    /// 0 for the request's method, 1 for `ANY`.
    any: u8,
}

/// The route of `routes` that a request for `method` and `path` (the path after the
/// stage, `/`-led, still percent-encoded) takes, if any.
pub fn match_route(routes: &[RouteKey], method: &Method, path: &str) -> Option<Matched> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let request: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    let mut best: Option<(Rank, Matched)> = None;
    for (index, route) in routes.iter().enumerate() {
        let Some((rank, path_parameters)) = rank(route, method, &request) else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _)| rank < *b) {
            best = Some((
                rank,
                Matched {
                    index,
                    path_parameters,
                },
            ));
        }
    }
    best.map(|(_, m)| m)
}

fn rank(
    route: &RouteKey,
    method: &Method,
    request: &[&str],
) -> Option<(Rank, BTreeMap<String, String>)> {
    let (route_method, segments) = match route {
        RouteKey::Default => {
            let rank = Rank {
                tier: 2,
                shorter_prefix: 0,
                segments: Vec::new(),
                any: 0,
            };
            return Some((rank, BTreeMap::new()));
        }
        RouteKey::Route { method, segments } => (method, segments),
    };
    let any = match route_method {
        None => 1,
        Some(m) if m == method => 0,
        Some(_) => return None,
    };
    let mut params = BTreeMap::new();
    let mut kinds = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let tail = request.get(i..).filter(|t| !t.is_empty())?;
                if tail.iter().all(|s| s.is_empty()) {
                    return None;
                }
                params.insert(name.clone(), percent_decode(&tail.join("/")));
                let rank = Rank {
                    tier: 1,
                    shorter_prefix: usize::MAX - i,
                    segments: kinds,
                    any,
                };
                return Some((rank, params));
            }
            Segment::Literal(l) => {
                if request.get(i) != Some(&l.as_str()) {
                    return None;
                }
                kinds.push(0);
            }
            Segment::Variable(name) => {
                let value = request.get(i).filter(|v| !v.is_empty())?;
                params.insert(name.clone(), percent_decode(value));
                kinds.push(1);
            }
        }
    }
    if request.len() != segments.len() {
        return None;
    }
    let rank = Rank {
        tier: 0,
        shorter_prefix: 0,
        segments: kinds,
        any,
    };
    Some((rank, params))
}

/// `%XX` escapes decoded; a malformed escape or invalid UTF-8 is kept as it came.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Vec<RouteKey> {
        list.iter()
            .map(|k| RouteKey::parse(k).expect("a valid key"))
            .collect()
    }

    fn chosen(
        routes: &[&str],
        method: Method,
        path: &str,
    ) -> Option<(String, Vec<(String, String)>)> {
        let parsed = keys(routes);
        match_route(&parsed, &method, path).map(|m| {
            (
                routes[m.index].to_string(),
                m.path_parameters.into_iter().collect(),
            )
        })
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    /// The example of API Gateway's "Routing API requests" page.
    #[test]
    fn the_documented_precedence() {
        let routes = [
            "GET /pets/dog/1",
            "GET /pets/dog/{id}",
            "GET /pets/{proxy+}",
            "ANY /{proxy+}",
            "$default",
        ];
        assert_eq!(
            chosen(&routes, Method::GET, "/pets/dog/1"),
            Some(("GET /pets/dog/1".into(), vec![]))
        );
        assert_eq!(
            chosen(&routes, Method::GET, "/pets/dog/2"),
            Some(("GET /pets/dog/{id}".into(), vec![p("id", "2")]))
        );
        assert_eq!(
            chosen(&routes, Method::GET, "/pets/cat/1"),
            Some(("GET /pets/{proxy+}".into(), vec![p("proxy", "cat/1")]))
        );
        assert_eq!(
            chosen(&routes, Method::POST, "/pets/cat/1"),
            Some(("ANY /{proxy+}".into(), vec![p("proxy", "pets/cat/1")]))
        );
        // A greedy variable needs at least one segment: the root is $default's.
        assert_eq!(
            chosen(&routes, Method::GET, "/"),
            Some(("$default".into(), vec![]))
        );
    }

    #[test]
    fn a_method_route_beats_any_and_nothing_matches_without_default() {
        let routes = ["ANY /items/{id}", "GET /items/{id}", "POST /items"];
        assert_eq!(
            chosen(&routes, Method::GET, "/items/7").map(|c| c.0),
            Some("GET /items/{id}".into())
        );
        assert_eq!(
            chosen(&routes, Method::DELETE, "/items/7").map(|c| c.0),
            Some("ANY /items/{id}".into())
        );
        assert_eq!(chosen(&routes, Method::GET, "/items"), None);
        assert_eq!(chosen(&routes, Method::GET, "/items/7/x"), None);
        assert_eq!(chosen(&routes, Method::GET, "/other"), None);
    }

    #[test]
    fn literals_win_from_the_left_and_longer_greedy_prefixes_win() {
        let routes = [
            "GET /{a}/b",
            "GET /a/{b}",
            "ANY /{proxy+}",
            "ANY /a/{proxy+}",
        ];
        assert_eq!(
            chosen(&routes, Method::GET, "/a/b"),
            Some(("GET /a/{b}".into(), vec![p("b", "b")]))
        );
        assert_eq!(
            chosen(&routes, Method::GET, "/a/x/y"),
            Some(("ANY /a/{proxy+}".into(), vec![p("proxy", "x/y")]))
        );
        assert_eq!(
            chosen(&routes, Method::GET, "/z/x/y"),
            Some(("ANY /{proxy+}".into(), vec![p("proxy", "z/x/y")]))
        );
    }

    #[test]
    fn path_parameters_are_decoded() {
        assert_eq!(
            chosen(&["GET /files/{name}"], Method::GET, "/files/a%20b%2Fc"),
            Some(("GET /files/{name}".into(), vec![p("name", "a b/c")]))
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn route_keys_are_checked() {
        assert_eq!(RouteKey::parse("$default"), Ok(RouteKey::Default));
        assert_eq!(
            RouteKey::parse("GET /items/{id}").map(|k| k.resource()),
            Ok("/items/{id}".into())
        );
        assert_eq!(
            RouteKey::parse("ANY /{proxy+}").map(|k| k.resource()),
            Ok("/{proxy+}".into())
        );
        assert_eq!(
            RouteKey::parse("GET /").map(|k| k.resource()),
            Ok("/".into())
        );
        assert_eq!(RouteKey::parse("GET"), Err(RouteKeyError::Shape));
        assert_eq!(
            RouteKey::parse("FETCH /x"),
            Err(RouteKeyError::Method("FETCH".into()))
        );
        assert_eq!(RouteKey::parse("GET x"), Err(RouteKeyError::Path));
        assert_eq!(
            RouteKey::parse("GET /{proxy+}/x"),
            Err(RouteKeyError::GreedyNotLast)
        );
        assert!(matches!(
            RouteKey::parse("GET /a//b"),
            Err(RouteKeyError::Segment(_))
        ));
        assert!(matches!(
            RouteKey::parse("GET /{id}/{id}"),
            Err(RouteKeyError::Segment(_))
        ));
        assert!(matches!(
            RouteKey::parse("GET /{}"),
            Err(RouteKeyError::Segment(_))
        ));
    }
}
