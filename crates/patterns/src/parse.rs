//! From pattern text to a compiled [`ObjectPattern`]: the grammar's structure, each
//! operator's operands, and the dialect's restrictions, refused with the reasons
//! EventBridge's engine (Event Ruler) gives, which SNS repeats after `FilterPolicy:`.

use crate::cidr::Cidr;
use crate::matcher::{AnythingBut, FieldPattern, Literal, Matcher, ObjectPattern};
use crate::numeric::Range;
use crate::sns;
use crate::wildcard::Wildcard;
use crate::{Dialect, PatternError};
use serde_json::{Map, Value};

/// Ruler's reserved words (operator names and numeric comparisons), refused as field
/// names inside `$or`, where they would be ambiguous with a match expression.
const RESERVED_IN_OR: [&str; 14] = [
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
];

/// The largest magnitude of a number that `anything-but` can exclude (Ruler keeps the
/// excluded numbers in comparable form, whose range this is).
const ANYTHING_BUT_NUMBER_LIMIT: f64 = 5.0e9;

pub(crate) fn parse(text: &str, dialect: Dialect) -> Result<ObjectPattern, PatternError> {
    if dialect.is_sns() {
        sns::check_size(text, dialect)?;
        if text.trim().is_empty() {
            // SNS takes an empty FilterPolicy as "no filter".
            return Ok(ObjectPattern::default());
        }
    }
    // serde_json keeps the last of repeated keys, which is what EventBridge documents:
    // "if you include a key more than once the last reference will be the one used".
    let value: Value = serde_json::from_str(text).map_err(|e| {
        // AWS words the detail with its JSON parser's messages; serde_json's say the same
        // thing (what was unexpected, and where). SNS leads with "failed to parse JSON."
        if dialect.is_sns() {
            PatternError::new(dialect, format!("failed to parse JSON. {e}"))
        } else {
            PatternError::new(dialect, e.to_string())
        }
    })?;
    let Value::Object(map) = value else {
        return Err(PatternError::new(dialect, "Filter is not an object"));
    };
    if dialect.is_sns() {
        if map.is_empty() {
            // SNS takes `{}` as "no filter": every message is delivered.
            return Ok(ObjectPattern::default());
        }
        sns::check_key_count(&map, dialect)?;
    }
    let root = Parser { dialect }.object(&map, false)?;
    if dialect.is_sns() {
        sns::check_combinations(&map, dialect)?;
    }
    Ok(root)
}

struct Parser {
    dialect: Dialect,
}

impl Parser {
    fn err(&self, reason: impl Into<String>) -> PatternError {
        PatternError::new(self.dialect, reason)
    }

    fn object(&self, map: &Map<String, Value>, in_or: bool) -> Result<ObjectPattern, PatternError> {
        if map.is_empty() {
            return Err(self.err("Empty objects are not allowed"));
        }
        let mut pattern = ObjectPattern::default();
        for (name, value) in map {
            if name == "$or" {
                pattern.any_of.push(self.or(value)?);
                continue;
            }
            if in_or && RESERVED_IN_OR.contains(&name.as_str()) {
                return Err(self.err(format!(
                    "{name} is Ruler reserved fieldName which cannot be used inside $or."
                )));
            }
            let field = match value {
                Value::Object(inner) => {
                    if !self.dialect.allows_nesting() {
                        return Err(PatternError::unlabelled(
                            self.dialect,
                            "Filter policy scope MessageAttributes does not support nested filter policy",
                        ));
                    }
                    FieldPattern::Nested(self.object(inner, in_or)?)
                }
                Value::Array(items) => FieldPattern::Leaf(self.leaf(items)?),
                _ => return Err(self.err(format!("\"{name}\" must be an object or an array"))),
            };
            pattern.fields.push((name.clone(), field));
        }
        Ok(pattern)
    }

    fn or(&self, value: &Value) -> Result<Vec<ObjectPattern>, PatternError> {
        let Value::Array(items) = value else {
            return Err(self.err("It must be an Array followed with $or."));
        };
        let mut alternatives = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(map) = item else {
                return Err(self.err("Only JSON object is allowed in array of $or relationship."));
            };
            alternatives.push(self.object(map, true)?);
        }
        if alternatives.len() < 2 {
            return Err(self.err("There must have at least 2 Objects in $or relationship."));
        }
        Ok(alternatives)
    }

    fn leaf(&self, items: &[Value]) -> Result<Vec<Matcher>, PatternError> {
        if items.is_empty() {
            return Err(self.err("Empty arrays are not allowed"));
        }
        items
            .iter()
            .map(|item| match item {
                Value::Object(expr) => self.operator(expr),
                Value::Array(_) => {
                    Err(self.err("Match value must be String, number, true, false, or null"))
                }
                scalar => Ok(Matcher::Exact(literal(scalar).expect("a scalar"))),
            })
            .collect()
    }

    fn operator(&self, expr: &Map<String, Value>) -> Result<Matcher, PatternError> {
        let mut entries = expr.iter();
        let Some((name, value)) = entries.next() else {
            return Err(self.err("Match expression name not found"));
        };
        if entries.next().is_some() {
            return Err(self.err("Only one key allowed in match expression"));
        }
        match name.as_str() {
            "prefix" | "suffix" => {
                let (text, ignore_case) = self.affix(name, value)?;
                Ok(if name == "prefix" {
                    Matcher::Prefix { text, ignore_case }
                } else {
                    Matcher::Suffix { text, ignore_case }
                })
            }
            "equals-ignore-case" => match value {
                Value::String(s) => Ok(Matcher::EqualsIgnoreCase(s.to_lowercase())),
                _ => Err(self.err("equals-ignore-case match pattern must be a string")),
            },
            "wildcard" if self.dialect.allows_wildcard() => match value {
                Value::String(s) => Ok(Matcher::Wildcard(
                    Wildcard::parse(s).map_err(|r| self.err(r))?,
                )),
                _ => Err(self.err("wildcard match pattern must be a string")),
            },
            "numeric" => match value {
                Value::Array(items) => Ok(Matcher::Numeric(
                    Range::parse(items, self.dialect.numeric_limit()).map_err(|r| self.err(r))?,
                )),
                _ => Err(self.err("Value of numeric must be an array.")),
            },
            "exists" => match value {
                Value::Bool(b) => Ok(Matcher::Exists(*b)),
                _ => Err(self.err("exists match pattern must be either true or false.")),
            },
            "cidr" if self.dialect.allows_cidr() => match value {
                Value::String(s) => Ok(Matcher::Cidr(Cidr::parse(s).map_err(|r| self.err(r))?)),
                // Ruler's reason for a non-string CIDR names the prefix operator.
                _ => Err(self.err("prefix match pattern must be a string")),
            },
            "anything-but" => Ok(Matcher::AnythingBut(self.anything_but(value)?)),
            other => Err(self.err(format!("Unrecognized match type {other}"))),
        }
    }

    /// `"prefix": "text"` or `"prefix": {"equals-ignore-case": "text"}` (and the same for
    /// suffix); the ignore-case text is kept lowercased.
    fn affix(&self, name: &str, value: &Value) -> Result<(String, bool), PatternError> {
        match value {
            Value::String(s) => Ok((s.clone(), false)),
            Value::Object(inner) => {
                let mut entries = inner.iter();
                let Some((op, text)) = entries.next() else {
                    // "Prefix expression name not found", "Suffix expression name not found"
                    let mut capital = name.to_string();
                    capital[..1].make_ascii_uppercase();
                    return Err(self.err(format!("{capital} expression name not found")));
                };
                if op != "equals-ignore-case" {
                    return Err(self.err(format!("Unsupported {name} pattern: {op}")));
                }
                let Value::String(text) = text else {
                    return Err(self.err("equals-ignore-case match pattern must be a string"));
                };
                if entries.next().is_some() {
                    return Err(self.err("Only one key allowed in match expression"));
                }
                Ok((text.to_lowercase(), true))
            }
            _ => Err(self.err(format!("{name} match pattern must be a string"))),
        }
    }

    fn anything_but(&self, value: &Value) -> Result<AnythingBut, PatternError> {
        match value {
            Value::String(_) | Value::Number(_) => {
                let lit = literal(value).expect("a scalar");
                self.check_excluded_number(&lit)?;
                Ok(AnythingBut::Values(vec![lit]))
            }
            Value::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(_) | Value::Number(_) => {
                            let lit = literal(item).expect("a scalar");
                            self.check_excluded_number(&lit)?;
                            values.push(lit);
                        }
                        _ => {
                            return Err(self.err(
                                "Inside anything but list, start|null|boolean is not supported.",
                            ))
                        }
                    }
                }
                let strings = values
                    .iter()
                    .filter(|v| matches!(v, Literal::Str(_)))
                    .count();
                if values.is_empty() || (strings != 0 && strings != values.len()) {
                    return Err(self.err(
                        "Inside anything but list, either all values are number or string, mixed type is not supported",
                    ));
                }
                Ok(AnythingBut::Values(values))
            }
            Value::Object(expr) => self.anything_but_form(expr),
            _ => {
                Err(self
                    .err("Value of anything-but must be an array or single string/number value."))
            }
        }
    }

    fn anything_but_form(&self, expr: &Map<String, Value>) -> Result<AnythingBut, PatternError> {
        let mut entries = expr.iter();
        let Some((form, value)) = entries.next() else {
            return Err(self.err("Anything-But expression name not found"));
        };
        if !self.dialect.allows_anything_but_form(form) {
            return Err(self.err(format!("Unsupported anything-but pattern: {form}")));
        }
        if entries.next().is_some() {
            return Err(self.err("Only one key allowed in match expression"));
        }
        match form.as_str() {
            "prefix" | "suffix" => {
                // One text or a list of them, as Event Ruler takes them (EventBridge's
                // guide once said "only a single prefix"; the engine now takes lists).
                let texts = strings(value)
                    .ok_or_else(|| self.err("prefix/suffix match pattern must be a string"))?;
                if texts.iter().any(|t| t.is_empty()) {
                    return Err(self.err("Null prefix/suffix not allowed"));
                }
                let texts = texts.into_iter().map(str::to_string).collect();
                Ok(if form == "prefix" {
                    AnythingBut::Prefix(texts)
                } else {
                    AnythingBut::Suffix(texts)
                })
            }
            "equals-ignore-case" => {
                let texts = strings(value).ok_or_else(|| {
                    self.err("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
                })?;
                Ok(AnythingBut::IgnoreCase(
                    texts.iter().map(|s| s.to_lowercase()).collect(),
                ))
            }
            _ => {
                // "wildcard", the only other form a dialect allows.
                let texts = strings(value)
                    .ok_or_else(|| self.err("wildcard match pattern must be a string"))?;
                let wildcards = texts
                    .iter()
                    .map(|s| Wildcard::parse(s).map_err(|r| self.err(r)))
                    .collect::<Result<_, _>>()?;
                Ok(AnythingBut::Wildcard(wildcards))
            }
        }
    }

    fn check_excluded_number(&self, lit: &Literal) -> Result<(), PatternError> {
        if let Literal::Num(n) = lit {
            let f = n.as_f64().unwrap_or(f64::INFINITY);
            if !(-ANYTHING_BUT_NUMBER_LIMIT..=ANYTHING_BUT_NUMBER_LIMIT).contains(&f) {
                return Err(self.err("Value must be between -5.0E9 and 5.0E9, inclusive"));
            }
        }
        Ok(())
    }
}

fn literal(v: &Value) -> Option<Literal> {
    match v {
        Value::String(s) => Some(Literal::Str(s.clone())),
        Value::Number(n) => Some(Literal::Num(n.clone())),
        Value::Bool(b) => Some(Literal::Bool(*b)),
        Value::Null => Some(Literal::Null),
        _ => None,
    }
}

/// A string or a non-empty list of strings.
fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) if !items.is_empty() => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, Pattern};

    fn reason(text: &str, dialect: Dialect) -> String {
        Pattern::parse(text, dialect)
            .expect_err(text)
            .reason()
            .to_string()
    }

    #[test]
    fn structure_errors_carry_rulers_reasons() {
        let eb = Dialect::EventBridge;
        let cases = [
            ("[]", "Filter is not an object"),
            ("{}", "Empty objects are not allowed"),
            (r#"{"a": {}}"#, "Empty objects are not allowed"),
            (r#"{"a": "x"}"#, "\"a\" must be an object or an array"),
            (r#"{"a": []}"#, "Empty arrays are not allowed"),
            (r#"{"a": [[1]]}"#, "Match value must be String, number, true, false, or null"),
            (r#"{"a": [{}]}"#, "Match expression name not found"),
            (r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#, "Only one key allowed in match expression"),
            (r#"{"a": [{"contains": "x"}]}"#, "Unrecognized match type contains"),
            (r#"{"a": [{"prefix": 1}]}"#, "prefix match pattern must be a string"),
            (r#"{"a": [{"suffix": null}]}"#, "suffix match pattern must be a string"),
            (r#"{"a": [{"prefix": {}}]}"#, "Prefix expression name not found"),
            (r#"{"a": [{"suffix": {}}]}"#, "Suffix expression name not found"),
            (r#"{"a": [{"prefix": {"x": "y"}}]}"#, "Unsupported prefix pattern: x"),
            (r#"{"a": [{"suffix": {"equals-ignore-case": 1}}]}"#, "equals-ignore-case match pattern must be a string"),
            (r#"{"a": [{"equals-ignore-case": 1}]}"#, "equals-ignore-case match pattern must be a string"),
            (r#"{"a": [{"wildcard": 1}]}"#, "wildcard match pattern must be a string"),
            (r#"{"a": [{"wildcard": "a**"}]}"#, "Consecutive wildcard characters at pos 1"),
            (r#"{"a": [{"numeric": 1}]}"#, "Value of numeric must be an array."),
            (r#"{"a": [{"exists": "yes"}]}"#, "exists match pattern must be either true or false."),
            (r#"{"a": [{"cidr": 1}]}"#, "prefix match pattern must be a string"),
            (r#"{"a": [{"cidr": "1.2.3.4"}]}"#, "Malformed CIDR, one '/' required"),
            (r#"{"a": [{"anything-but": null}]}"#, "Value of anything-but must be an array or single string/number value."),
            (r#"{"a": [{"anything-but": [true]}]}"#, "Inside anything but list, start|null|boolean is not supported."),
            (r#"{"a": [{"anything-but": ["x", 1]}]}"#, "Inside anything but list, either all values are number or string, mixed type is not supported"),
            (r#"{"a": [{"anything-but": []}]}"#, "Inside anything but list, either all values are number or string, mixed type is not supported"),
            (r#"{"a": [{"anything-but": {}}]}"#, "Anything-But expression name not found"),
            (r#"{"a": [{"anything-but": {"numeric": [">", 1]}}]}"#, "Unsupported anything-but pattern: numeric"),
            (r#"{"a": [{"anything-but": {"prefix": ""}}]}"#, "Null prefix/suffix not allowed"),
            (r#"{"a": [{"anything-but": {"prefix": 1}}]}"#, "prefix/suffix match pattern must be a string"),
            (r#"{"a": [{"anything-but": 6e9}]}"#, "Value must be between -5.0E9 and 5.0E9, inclusive"),
            (r#"{"$or": {"a": [1]}}"#, "It must be an Array followed with $or."),
            (r#"{"$or": [{"a": [1]}]}"#, "There must have at least 2 Objects in $or relationship."),
            (r#"{"$or": [{"a": [1]}, 2]}"#, "Only JSON object is allowed in array of $or relationship."),
            (r#"{"$or": [{"a": [1]}, {"prefix": [2]}]}"#, "prefix is Ruler reserved fieldName which cannot be used inside $or."),
            (r#"{"$or": [{"a": [1]}, {"<=": [2]}]}"#, "<= is Ruler reserved fieldName which cannot be used inside $or."),
            (r#"{"a": [{"anything-but": {"suffix": ["x", ""]}}]}"#, "Null prefix/suffix not allowed"),
        ];
        for (text, want) in cases {
            assert_eq!(reason(text, eb), want, "{text}");
        }
        let bad_json = Pattern::parse("{not json", eb).expect_err("not JSON");
        assert!(bad_json
            .to_string()
            .starts_with("Event pattern is not valid. Reason: "));
    }

    #[test]
    fn dialects_restrict_operators() {
        let wildcard = r#"{"a": [{"wildcard": "x*"}]}"#;
        assert!(Pattern::parse(wildcard, Dialect::EventBridge).is_ok());
        assert_eq!(
            reason(wildcard, Dialect::SnsMessageBody),
            "Unrecognized match type wildcard"
        );
        assert!(Pattern::parse(wildcard, Dialect::LambdaFilter).is_err());

        let ab_prefix = r#"{"a": [{"anything-but": {"prefix": "x"}}]}"#;
        assert!(Pattern::parse(ab_prefix, Dialect::EventBridge).is_ok());
        assert!(Pattern::parse(ab_prefix, Dialect::SnsMessageAttributes).is_ok());
        let lambda = Pattern::parse(ab_prefix, Dialect::LambdaFilter).expect_err("pipes: no");
        assert_eq!(lambda.to_string(), "Invalid filter pattern definition.");

        let ab_ic = r#"{"a": [{"anything-but": {"equals-ignore-case": "x"}}]}"#;
        assert_eq!(
            reason(ab_ic, Dialect::SnsMessageBody),
            "Unsupported anything-but pattern: equals-ignore-case"
        );

        let cidr = r#"{"ip": [{"cidr": "10.0.0.0/8"}]}"#;
        assert!(Pattern::parse(cidr, Dialect::SnsMessageAttributes).is_ok());
        assert!(Pattern::parse(cidr, Dialect::LambdaFilter).is_err());

        let big = r#"{"n": [{"numeric": ["<", 2e9]}]}"#;
        assert!(Pattern::parse(big, Dialect::EventBridge).is_ok());
        assert_eq!(
            Pattern::parse(big, Dialect::SnsMessageBody)
                .expect_err("over 1e9")
                .to_string(),
            "Invalid parameter: FilterPolicy: Value must be between -1.0E9 and 1.0E9, inclusive"
        );
    }

    #[test]
    fn repeated_keys_keep_the_last() {
        let p = Pattern::parse(
            r#"{"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}"#,
            Dialect::EventBridge,
        )
        .expect("valid");
        assert!(p.matches(&serde_json::json!({"location": "eu-west"})));
        assert!(!p.matches(&serde_json::json!({"location": "us-east"})));
    }
}
