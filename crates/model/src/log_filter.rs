//! CloudWatch Logs' filter patterns for unstructured events (FilterLogEvents'
//! `filterPattern`): terms that must all appear (`ERROR timeout`), `"quoted phrases"`,
//! `?ALTERNATIVES` (any one of them), `-exclusions`, and the JSON form
//! `{ $.field = "value" }` with `=`, `!=`, `<`, `<=`, `>`, `>=` on one field, `&&` and `||`.
//! Terms match case-sensitively, as CloudWatch's do; `*` alone or an empty pattern matches
//! everything.

use serde_json::Value;

/// A parsed `filterPattern`.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterPattern {
    /// Every event.
    All,
    /// `required` all present, `excluded` none present; with `any`, at least one of them.
    Terms {
        required: Vec<String>,
        any: Vec<String>,
        excluded: Vec<String>,
    },
    /// A JSON pattern over events whose message is a JSON object.
    Json(JsonExpr),
}

/// `{ ... }`.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonExpr {
    Compare {
        path: Vec<String>,
        op: Op,
        value: Literal,
    },
    And(Box<JsonExpr>, Box<JsonExpr>),
    Or(Box<JsonExpr>, Box<JsonExpr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string, where `*` matches any run of characters.
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// Why a pattern was refused (CloudWatch answers InvalidParameterException).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid filter pattern: {0}")]
pub struct PatternError(pub String);

impl FilterPattern {
    /// Parses `pattern` as CloudWatch reads it.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let p = pattern.trim();
        if p.is_empty() || p == "*" {
            return Ok(Self::All);
        }
        if p.starts_with('{') {
            let inner = p
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .ok_or_else(|| PatternError("unbalanced braces".into()))?;
            let mut parser = JsonParser {
                s: inner.as_bytes(),
                i: 0,
            };
            let expr = parser.or()?;
            parser.skip_ws();
            if parser.i != parser.s.len() {
                return Err(PatternError(format!(
                    "unexpected text at {:?}",
                    &inner[parser.i..]
                )));
            }
            return Ok(Self::Json(expr));
        }
        let (mut required, mut any, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
        for (kind, term) in terms(p)? {
            match kind {
                '?' => any.push(term),
                '-' => excluded.push(term),
                _ => required.push(term),
            }
        }
        Ok(Self::Terms {
            required,
            any,
            excluded,
        })
    }

    /// Whether an event's message matches.
    pub fn matches(&self, message: &str) -> bool {
        match self {
            Self::All => true,
            Self::Terms {
                required,
                any,
                excluded,
            } => {
                required.iter().all(|t| message.contains(t.as_str()))
                    && (any.is_empty() || any.iter().any(|t| message.contains(t.as_str())))
                    && !excluded.iter().any(|t| message.contains(t.as_str()))
            }
            Self::Json(expr) => match json_of(message) {
                Some(v) => expr.eval(&v),
                None => false,
            },
        }
    }
}

/// The JSON object in a message: the whole line, or (as a Lambda runtime's text line
/// may carry it) from its first `{`.
fn json_of(message: &str) -> Option<Value> {
    let start = message.find('{')?;
    serde_json::from_str::<Value>(message[start..].trim_end())
        .ok()
        .filter(Value::is_object)
}

/// The space-separated terms of a pattern, each with its prefix (`?`, `-` or none).
fn terms(p: &str) -> Result<Vec<(char, String)>, PatternError> {
    let mut out = Vec::new();
    let mut chars = p.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&c) = chars.peek() else { break };
        let kind = if c == '?' || c == '-' {
            chars.next();
            c
        } else {
            ' '
        };
        let mut term = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => term.extend(chars.next()),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => term.push(c),
                }
            }
            if !closed {
                return Err(PatternError("unterminated quoted phrase".into()));
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                term.push(c);
            }
        }
        if !term.is_empty() {
            out.push((kind, term));
        }
    }
    Ok(out)
}

impl JsonExpr {
    fn eval(&self, v: &Value) -> bool {
        match self {
            Self::And(a, b) => a.eval(v) && b.eval(v),
            Self::Or(a, b) => a.eval(v) || b.eval(v),
            Self::Compare { path, op, value } => {
                let mut at = v;
                for key in path {
                    match key.parse::<usize>() {
                        Ok(i) if at.is_array() => match at.get(i) {
                            Some(x) => at = x,
                            None => return false,
                        },
                        _ => match at.get(key) {
                            Some(x) => at = x,
                            None => return false,
                        },
                    }
                }
                compare(at, *op, value)
            }
        }
    }
}

fn compare(field: &Value, op: Op, lit: &Literal) -> bool {
    match (lit, field) {
        (Literal::Num(n), Value::Number(f)) => {
            let Some(f) = f.as_f64() else { return false };
            match op {
                Op::Eq => f == *n,
                Op::Ne => f != *n,
                Op::Lt => f < *n,
                Op::Le => f <= *n,
                Op::Gt => f > *n,
                Op::Ge => f >= *n,
            }
        }
        (Literal::Str(s), Value::String(f)) => match op {
            Op::Eq => glob(s, f),
            Op::Ne => !glob(s, f),
            _ => false,
        },
        (Literal::Bool(b), Value::Bool(f)) => match op {
            Op::Eq => f == b,
            Op::Ne => f != b,
            _ => false,
        },
        (Literal::Null, Value::Null) => op == Op::Eq,
        (Literal::Null, _) => op == Op::Ne,
        // A field of another type never equals; `!=` holds for it.
        _ => op == Op::Ne,
    }
}

/// `pattern` with `*` as any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.s[self.i..].starts_with(token.as_bytes()) {
            self.i += token.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<JsonExpr, PatternError> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = JsonExpr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<JsonExpr, PatternError> {
        let mut left = self.primary()?;
        while self.eat("&&") {
            left = JsonExpr::And(Box::new(left), Box::new(self.primary()?));
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<JsonExpr, PatternError> {
        if self.eat("(") {
            let e = self.or()?;
            if !self.eat(")") {
                return Err(PatternError("missing ')'".into()));
            }
            return Ok(e);
        }
        if !self.eat("$") {
            return Err(PatternError("a JSON pattern compares a $.field".into()));
        }
        let path = self.path()?;
        let op = [
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("=", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .into_iter()
        .find(|(t, _)| self.eat(t))
        .map(|(_, op)| op)
        .ok_or_else(|| PatternError("expected a comparison operator".into()))?;
        let value = self.literal()?;
        Ok(JsonExpr::Compare { path, op, value })
    }

    /// `.a.b[0].c` after the `$`.
    fn path(&mut self) -> Result<Vec<String>, PatternError> {
        let mut path = Vec::new();
        loop {
            match self.s.get(self.i) {
                Some(b'.') => {
                    self.i += 1;
                    let start = self.i;
                    while self
                        .s
                        .get(self.i)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || b"_-@".contains(b))
                    {
                        self.i += 1;
                    }
                    if start == self.i {
                        return Err(PatternError("empty field name".into()));
                    }
                    path.push(String::from_utf8_lossy(&self.s[start..self.i]).into_owned());
                }
                Some(b'[') => {
                    self.i += 1;
                    let start = self.i;
                    while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                        self.i += 1;
                    }
                    let index = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                    if index.is_empty() || self.s.get(self.i) != Some(&b']') {
                        return Err(PatternError("bad array index".into()));
                    }
                    self.i += 1;
                    path.push(index);
                }
                _ => break,
            }
        }
        if path.is_empty() {
            return Err(PatternError("a JSON pattern compares a $.field".into()));
        }
        Ok(path)
    }

    fn literal(&mut self) -> Result<Literal, PatternError> {
        self.skip_ws();
        if self.s.get(self.i) == Some(&b'"') {
            self.i += 1;
            let start = self.i;
            while self.s.get(self.i).is_some_and(|&b| b != b'"') {
                self.i += 1;
            }
            if self.i >= self.s.len() {
                return Err(PatternError("unterminated string".into()));
            }
            let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
            self.i += 1;
            return Ok(Literal::Str(text));
        }
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| !b.is_ascii_whitespace() && !b"&|)".contains(b))
        {
            self.i += 1;
        }
        let word = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        match word.as_str() {
            "" => Err(PatternError("expected a value".into())),
            "true" => Ok(Literal::Bool(true)),
            "false" => Ok(Literal::Bool(false)),
            "NULL" | "null" => Ok(Literal::Null),
            w => Ok(w
                .parse::<f64>()
                .map(Literal::Num)
                .unwrap_or_else(|_| Literal::Str(w.to_string()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, line: &str) -> bool {
        FilterPattern::parse(p).expect("parses").matches(line)
    }

    #[test]
    fn terms_phrases_alternatives_and_exclusions() {
        assert!(m("", "anything"));
        assert!(m("ERROR", "an ERROR here"));
        assert!(!m("ERROR", "an error here"));
        assert!(m("ERROR timeout", "timeout: ERROR"));
        assert!(!m("ERROR timeout", "ERROR only"));
        assert!(m(
            "\"Task timed out\"",
            "x Task timed out after 3.00 seconds"
        ));
        assert!(!m("\"Task timed out\"", "Task out timed"));
        assert!(m("?ERROR ?WARN", "WARN disk"));
        assert!(!m("?ERROR ?WARN", "INFO disk"));
        assert!(m("ERROR -retry", "ERROR fatal"));
        assert!(!m("ERROR -retry", "ERROR will retry"));
        assert!(m("-\"two words\"", "one word"));
    }

    #[test]
    fn json_patterns() {
        let line = r#"{"level":"ERROR","n":5,"ok":false,"user":{"id":"u-12"},"xs":[1,2]}"#;
        assert!(m(r#"{ $.level = "ERROR" }"#, line));
        assert!(!m(r#"{ $.level = "INFO" }"#, line));
        assert!(m(r#"{ $.level != "INFO" }"#, line));
        assert!(m("{ $.n > 4 && $.n <= 5 }", line));
        assert!(m("{ $.n = 1 || $.ok = false }", line));
        assert!(m(r#"{ $.user.id = "u-*" }"#, line));
        assert!(m("{ $.xs[1] = 2 }", line));
        assert!(!m("{ $.missing = 1 }", line));
        assert!(!m(r#"{ $.level = "ERROR" }"#, "ERROR not json"));
        assert!(m(
            r#"{ $.level = "ERROR" }"#,
            r#"2024-01-01T00:00:00Z id {"level":"ERROR"}"#
        ));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(FilterPattern::parse("\"open").is_err());
        assert!(FilterPattern::parse("{ $.a = }").is_err());
        assert!(FilterPattern::parse("{ level = 1 }").is_err());
        assert!(FilterPattern::parse("{ $.a = 1").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("a*c", "abbc"));
        assert!(glob("*", ""));
        assert!(!glob("a*c", "ab"));
        assert!(glob("*b*", "abc"));
    }
}
