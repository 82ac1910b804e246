//! The JSONPath subset EventBridge evaluates for a target's `InputPath` and the values of an
//! `InputTransformer`'s `InputPathsMap`: `$`, then any number of `.name`, `['name']` (or
//! `["name"]`), `[n]`, `.*` and `[*]`.
//!
//! AWS's user guide ("Amazon EventBridge input transformation") lists what it supports: dot
//! notation, dashes, underscores, alphanumeric characters, array indices, wildcards (`*`) and
//! forward slashes. A dot-notation name is therefore made of letters, digits, `-`, `_` and `/`;
//! any other key is reached with bracket notation. Deep scan (`..`), filters (`[?(...)]`),
//! slices, unions, negative indices and functions are refused with a reason. The guide does
//! not say how a wildcard's matches are delivered; like Jayway JsonPath (which the shape of
//! AWS's error messages suggests EventBridge runs on), a path with a wildcard yields the array
//! of its matches, skipping branches where the rest of the path is missing.

use crate::json::Json;
use thiserror::Error;

/// A compiled path.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    Wildcard,
}

/// Why a path was refused: what, and where (a character offset into the path).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{reason} at position {position}")]
pub struct PathError {
    pub reason: &'static str,
    pub position: usize,
}

impl JsonPath {
    /// Compiles `text`, refusing anything outside the subset.
    pub fn parse(text: &str) -> Result<JsonPath, PathError> {
        let chars: Vec<char> = text.chars().collect();
        let fail = |reason, position| Err(PathError { reason, position });
        if chars.first() != Some(&'$') {
            return fail("a path must start with $", 0);
        }
        let mut steps = Vec::new();
        let mut i = 1;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    match chars.get(i) {
                        Some('.') => return fail("deep scan (..) is not supported", i - 1),
                        Some('*') => {
                            steps.push(Step::Wildcard);
                            i += 1;
                        }
                        _ => {
                            let start = i;
                            while i < chars.len() && is_name_char(chars[i]) {
                                i += 1;
                            }
                            if i == start {
                                return fail("expected a name after .", start);
                            }
                            steps.push(Step::Key(chars[start..i].iter().collect()));
                        }
                    }
                }
                '[' => {
                    let (step, next) = parse_bracket(&chars, i)?;
                    steps.push(step);
                    i = next;
                }
                _ => return fail("expected . or [", i),
            }
        }
        Ok(JsonPath {
            text: text.to_owned(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path selects at most one value (it has no wildcard).
    pub fn is_definite(&self) -> bool {
        !self.steps.contains(&Step::Wildcard)
    }

    /// The value the path selects in `doc`: for a definite path the value, `None` when it
    /// is missing; for a path with a wildcard, the array of every match (possibly empty).
    pub fn evaluate(&self, doc: &Json) -> Option<Json> {
        let mut found = Vec::new();
        collect(&self.steps, doc, &mut found);
        if self.is_definite() {
            found.pop().cloned()
        } else {
            Some(Json::Array(found.into_iter().cloned().collect()))
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_' || c == '/'
}

/// Parses the bracket step opening at `open`; returns it and the index after its `]`.
fn parse_bracket(chars: &[char], open: usize) -> Result<(Step, usize), PathError> {
    let fail = |reason, position| Err(PathError { reason, position });
    let mut i = open + 1;
    let step = match chars.get(i) {
        Some('*') => {
            i += 1;
            Step::Wildcard
        }
        Some(&quote @ ('\'' | '"')) => {
            i += 1;
            let mut name = String::new();
            loop {
                match chars.get(i) {
                    None => return fail("unterminated quoted name", open),
                    Some('\\') => match chars.get(i + 1) {
                        Some(&c) if c == quote || c == '\\' => {
                            name.push(c);
                            i += 2;
                        }
                        _ => return fail("unsupported escape in quoted name", i),
                    },
                    Some(&c) if c == quote => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        name.push(c);
                        i += 1;
                    }
                }
            }
            Step::Key(name)
        }
        Some(c) if c.is_ascii_digit() => {
            let start = i;
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            match digits.parse::<usize>() {
                Ok(n) => Step::Index(n),
                Err(_) => return fail("array index too large", start),
            }
        }
        Some('?') | Some('(') => return fail("filters and expressions are not supported", i),
        Some('-') => return fail("negative array indices are not supported", i),
        Some(':') => return fail("array slices are not supported", i),
        None => return fail("unterminated [", open),
        Some(_) => return fail("expected an index, * or a quoted name after [", i),
    };
    match chars.get(i) {
        Some(']') => Ok((step, i + 1)),
        Some(',') => fail("unions are not supported", i),
        Some(':') => fail("array slices are not supported", i),
        None => fail("unterminated [", open),
        Some(_) => fail("expected ]", i),
    }
}

fn collect<'a>(steps: &[Step], node: &'a Json, found: &mut Vec<&'a Json>) {
    let Some((step, rest)) = steps.split_first() else {
        found.push(node);
        return;
    };
    match (step, node) {
        (Step::Key(key), Json::Object(_)) => {
            if let Some(child) = node.get(key) {
                collect(rest, child, found);
            }
        }
        (Step::Index(n), Json::Array(items)) => {
            if let Some(child) = items.get(*n) {
                collect(rest, child, found);
            }
        }
        (Step::Wildcard, Json::Array(items)) => {
            for child in items {
                collect(rest, child, found);
            }
        }
        (Step::Wildcard, Json::Object(members)) => {
            for (_, child) in members {
                collect(rest, child, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"version":"0","detail-type":"T","resources":["r0","r1"],
        "detail":{"instance-id":"i-1","items":[{"id":1,"tags":["a"]},{"id":2},{"id":3,"tags":[]}],
        "a/b":{"c_d":true},"odd key":"v","it's":1,"q\"k":2,"n":null,"emptyo":{},"ünï":"u"}}"#;

    fn event() -> Json {
        Json::parse(EVENT).expect("valid test event")
    }

    #[test]
    fn evaluates_supported_paths() {
        let cases: &[(&str, Option<&str>)] = &[
            ("$", None), // the whole event, checked below
            ("$.version", Some(r#""0""#)),
            ("$.detail-type", Some(r#""T""#)),
            ("$.detail.instance-id", Some(r#""i-1""#)),
            ("$.resources[0]", Some(r#""r0""#)),
            ("$.resources[1]", Some(r#""r1""#)),
            ("$.resources[2]", None),
            ("$.detail.items[0]", Some(r#"{"id":1,"tags":["a"]}"#)),
            ("$.detail.items[1].id", Some("2")),
            ("$.detail.items[0].tags[0]", Some(r#""a""#)),
            ("$.detail.a/b.c_d", Some("true")),
            ("$['detail']['odd key']", Some(r#""v""#)),
            ("$.detail[\"odd key\"]", Some(r#""v""#)),
            (r"$.detail['it\'s']", Some("1")),
            (r#"$.detail["q\"k"]"#, Some("2")),
            ("$.detail.n", Some("null")),
            ("$.detail.emptyo", Some("{}")),
            ("$.detail.ünï", Some(r#""u""#)),
            ("$.detail.missing", None),
            ("$.detail.instance-id.deeper", None),
            ("$.version[0]", None),
            ("$.resources.r0", None),
            ("$.detail.items[*].id", Some("[1,2,3]")),
            ("$.detail.items[*].tags", Some(r#"[["a"],[]]"#)),
            ("$.detail.items.*.id", Some("[1,2,3]")),
            ("$.resources[*]", Some(r#"["r0","r1"]"#)),
            ("$.detail.items[*].missing", Some("[]")),
            ("$.version.*", Some("[]")),
            ("$.detail.a/b.*", Some("[true]")),
        ];
        let doc = event();
        for (text, want) in cases {
            let path = JsonPath::parse(text).expect(text);
            assert_eq!(path.as_str(), *text);
            let got = path.evaluate(&doc).map(|v| v.to_text());
            match (text, want) {
                (&"$", _) => assert_eq!(got, Some(doc.to_text())),
                _ => assert_eq!(got.as_deref(), *want, "for {text}"),
            }
        }
    }

    #[test]
    fn definiteness() {
        let cases = [
            ("$", true),
            ("$.a[0]['b']", true),
            ("$.a[*]", false),
            ("$.*.b", false),
        ];
        for (text, want) in cases {
            assert_eq!(
                JsonPath::parse(text).expect(text).is_definite(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_outside_the_subset() {
        let cases: &[(&str, &str, usize)] = &[
            ("", "a path must start with $", 0),
            ("detail", "a path must start with $", 0),
            (".detail", "a path must start with $", 0),
            ("$detail", "expected . or [", 1),
            ("$.", "expected a name after .", 2),
            ("$.a.", "expected a name after .", 4),
            ("$..a", "deep scan (..) is not supported", 1),
            ("$.a b", "expected . or [", 3),
            ("$.a$", "expected . or [", 3),
            ("$.a:b", "expected . or [", 3),
            ("$[", "unterminated [", 1),
            ("$[0", "unterminated [", 1),
            ("$['a'", "unterminated [", 1),
            ("$['a", "unterminated quoted name", 1),
            ("$['a\\n']", "unsupported escape in quoted name", 4),
            ("$[-1]", "negative array indices are not supported", 2),
            ("$[0:2]", "array slices are not supported", 3),
            ("$[:2]", "array slices are not supported", 2),
            ("$[0,1]", "unions are not supported", 3),
            ("$['a','b']", "unions are not supported", 5),
            ("$[?(@.a)]", "filters and expressions are not supported", 2),
            (
                "$[(@.length-1)]",
                "filters and expressions are not supported",
                2,
            ),
            ("$[a]", "expected an index, * or a quoted name after [", 2),
            ("$[1x]", "expected ]", 3),
            ("$[99999999999999999999999]", "array index too large", 2),
            ("$.a.length()", "expected . or [", 10),
        ];
        for (text, reason, position) in cases {
            let err = JsonPath::parse(text).expect_err(text);
            assert_eq!(
                err,
                PathError {
                    reason,
                    position: *position
                },
                "for {text:?}"
            );
        }
        assert_eq!(
            JsonPath::parse("$..a").expect_err("deep scan").to_string(),
            "deep scan (..) is not supported at position 1"
        );
    }
}
