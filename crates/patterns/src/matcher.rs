//! A compiled pattern and its evaluation against a JSON document.
//!
//! Semantics (EventBridge's, which SNS and Lambda share):
//! - every field of a pattern object must match (AND); every `$or` group must have a
//!   matching alternative; the values listed for a field are alternatives (OR);
//! - a document array matches if ANY element matches; for a nested pattern object the
//!   element must match the whole object, so fields matched inside an array come from the
//!   same element (Event Ruler's array consistency); a pattern object that only says
//!   fields are absent must hold for every element (no element has the field);
//! - a field is missing when it is absent, when it is an object where a leaf value was
//!   expected (EventBridge: "exists matching only works on leaf nodes"), or an empty array;
//!   `null` is a value, distinct from `""`;
//! - a missing field matches only `{"exists": false}`; every other operator needs a value.

use crate::cidr::Cidr;
use crate::numeric::{numbers_equal, Range};
use crate::wildcard::Wildcard;
use serde_json::{Number, Value};

/// A pattern object: named fields, and `$or` groups of alternative objects.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectPattern {
    pub(crate) fields: Vec<(String, FieldPattern)>,
    pub(crate) any_of: Vec<Vec<ObjectPattern>>,
}

/// What a pattern says of one field: a nested object, or a leaf's alternatives.
#[derive(Clone, Debug)]
pub(crate) enum FieldPattern {
    Nested(ObjectPattern),
    Leaf(Vec<Matcher>),
}

/// An exact value of a pattern.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Num(Number),
    Bool(bool),
    Null,
}

/// One alternative of a leaf.
#[derive(Clone, Debug)]
pub(crate) enum Matcher {
    Exact(Literal),
    Prefix {
        text: String,
        ignore_case: bool,
    },
    Suffix {
        text: String,
        ignore_case: bool,
    },
    /// Kept lowercased.
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    Numeric(Range),
    Cidr(Cidr),
    Exists(bool),
    AnythingBut(AnythingBut),
}

/// The forms of `anything-but`.
#[derive(Clone, Debug)]
pub(crate) enum AnythingBut {
    /// Strings only or numbers only, as AWS requires of the list.
    Values(Vec<Literal>),
    Prefix(Vec<String>),
    Suffix(Vec<String>),
    /// Kept lowercased.
    IgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

impl ObjectPattern {
    /// Whether the (possibly missing) value at this pattern's place matches it.
    pub(crate) fn matches(&self, value: Option<&Value>) -> bool {
        match value {
            Some(Value::Object(map)) => {
                self.fields
                    .iter()
                    .all(|(name, field)| field.matches(map.get(name)))
                    && self
                        .any_of
                        .iter()
                        .all(|alternatives| alternatives.iter().any(|alt| alt.matches(value)))
            }
            Some(Value::Array(items)) if items.iter().any(is_container) => {
                let mut elements = items.iter().filter(|item| is_container(item));
                if self.only_absences() {
                    // "Has no field x" under an array means no element has it: Event Ruler
                    // checks an absence against every element when nothing else was
                    // matched under the array.
                    elements.all(|item| self.matches(Some(item)))
                } else {
                    elements.any(|item| self.matches(Some(item)))
                }
            }
            // A scalar, an empty array or nothing: every field below is missing.
            _ => {
                self.fields.iter().all(|(_, field)| field.matches(None))
                    && self
                        .any_of
                        .iter()
                        .all(|alternatives| alternatives.iter().any(|alt| alt.matches(None)))
            }
        }
    }
}

impl ObjectPattern {
    /// Whether the pattern says only that fields are absent (`{"exists": false}` leaves,
    /// possibly nested).
    fn only_absences(&self) -> bool {
        self.any_of.is_empty()
            && self.fields.iter().all(|(_, field)| match field {
                FieldPattern::Nested(inner) => inner.only_absences(),
                FieldPattern::Leaf(matchers) => {
                    matchers.iter().all(|m| matches!(m, Matcher::Exists(false)))
                }
            })
    }
}

fn is_container(v: &Value) -> bool {
    v.is_object() || v.is_array()
}

impl FieldPattern {
    fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            FieldPattern::Nested(object) => object.matches(value),
            FieldPattern::Leaf(matchers) => {
                let mut leaves = Vec::new();
                if let Some(v) = value {
                    collect_leaves(v, &mut leaves);
                }
                if leaves.is_empty() {
                    return matchers.iter().any(|m| matches!(m, Matcher::Exists(false)));
                }
                matchers.iter().any(|m| match m {
                    Matcher::Exists(present) => *present,
                    m => leaves.iter().any(|leaf| m.matches_leaf(leaf)),
                })
            }
        }
    }
}

/// The scalar values at a leaf's place: arrays (nested too) are flattened, objects are not
/// leaves.
fn collect_leaves<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_leaves(i, out)),
        Value::Object(_) => {}
        scalar => out.push(scalar),
    }
}

impl Literal {
    fn equals(&self, v: &Value) -> bool {
        match (self, v) {
            (Literal::Str(a), Value::String(b)) => a == b || same_ip_address(a, b),
            (Literal::Num(a), Value::Number(b)) => numbers_equal(a, b),
            (Literal::Bool(a), Value::Bool(b)) => a == b,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }
}

/// Event Ruler reads an exact string that is an IP address as that address, so that
/// `"2001:db8::1"` matches `"2001:0db8:0:0::1"`.
fn same_ip_address(a: &str, b: &str) -> bool {
    let looks_like_ip = |s: &str| s.contains(['.', ':']);
    looks_like_ip(a)
        && looks_like_ip(b)
        && matches!(
            (a.parse::<std::net::IpAddr>(), b.parse::<std::net::IpAddr>()),
            (Ok(x), Ok(y)) if x == y
        )
}

impl Matcher {
    fn matches_leaf(&self, v: &Value) -> bool {
        match self {
            Matcher::Exact(lit) => lit.equals(v),
            Matcher::Numeric(range) => range.contains(v),
            Matcher::Exists(present) => *present,
            Matcher::AnythingBut(ab) => ab.matches_leaf(v),
            // The string operators see only strings.
            other => match v.as_str() {
                Some(s) => other.matches_str(s),
                None => false,
            },
        }
    }

    fn matches_str(&self, s: &str) -> bool {
        match self {
            Matcher::Prefix { text, ignore_case } => {
                if *ignore_case {
                    s.to_lowercase().starts_with(text.as_str())
                } else {
                    s.starts_with(text.as_str())
                }
            }
            Matcher::Suffix { text, ignore_case } => {
                if *ignore_case {
                    s.to_lowercase().ends_with(text.as_str())
                } else {
                    s.ends_with(text.as_str())
                }
            }
            Matcher::EqualsIgnoreCase(text) => s.to_lowercase() == *text,
            Matcher::Wildcard(w) => w.matches(s),
            Matcher::Cidr(c) => c.contains(s),
            _ => false,
        }
    }
}

impl AnythingBut {
    /// `anything-but` needs a value, and matches any value that is not excluded; values
    /// of another type than the excluded ones (a number against a string list, `null`)
    /// are not excluded.
    fn matches_leaf(&self, v: &Value) -> bool {
        match self {
            AnythingBut::Values(excluded) => !excluded.iter().any(|lit| lit.equals(v)),
            AnythingBut::Prefix(excluded) => v
                .as_str()
                .is_none_or(|s| !excluded.iter().any(|p| s.starts_with(p.as_str()))),
            AnythingBut::Suffix(excluded) => v
                .as_str()
                .is_none_or(|s| !excluded.iter().any(|p| s.ends_with(p.as_str()))),
            AnythingBut::IgnoreCase(excluded) => v.as_str().is_none_or(|s| {
                let lower = s.to_lowercase();
                !excluded.contains(&lower)
            }),
            AnythingBut::Wildcard(excluded) => v
                .as_str()
                .is_none_or(|s| !excluded.iter().any(|w| w.matches(s))),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, Pattern};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn eb(pattern: Value) -> Pattern {
        Pattern::parse(&pattern.to_string(), Dialect::EventBridge).expect("valid pattern")
    }

    #[test]
    fn exact_values_by_type() {
        let p = eb(json!({"a": ["x", 5, true, null]}));
        for yes in [json!("x"), json!(5), json!(5.0), json!(true), json!(null)] {
            assert!(p.matches(&json!({ "a": yes })), "{yes}");
        }
        for no in [
            json!("5"),
            json!("true"),
            json!(false),
            json!("null"),
            json!(""),
            json!(6),
        ] {
            assert!(!p.matches(&json!({ "a": no })), "{no}");
        }
        assert!(!p.matches(&json!({})), "a missing field matches no value");
        assert!(
            !p.matches(&json!({"a": {"x": 1}})),
            "an object is not a leaf value"
        );
    }

    #[test]
    fn exact_ip_addresses_match_in_any_spelling() {
        let p = eb(json!({"ip": ["2001:db8::1", "10.0.0.1"]}));
        assert!(p.matches(&json!({"ip": "2001:0db8:0:0::1"})));
        assert!(p.matches(&json!({"ip": "10.0.0.1"})));
        assert!(!p.matches(&json!({"ip": "2001:db8::2"})));
    }

    #[test]
    fn every_field_must_match() {
        let p = eb(json!({"a": ["1"], "b": {"c": ["2"]}}));
        assert!(p.matches(&json!({"a": "1", "b": {"c": "2"}, "other": 0})));
        assert!(!p.matches(&json!({"a": "1", "b": {"c": "3"}})));
        assert!(!p.matches(&json!({"a": "1"})));
        assert!(!p.matches(&json!({"a": "1", "b": "2"})));
    }

    #[test]
    fn arrays_match_when_any_element_matches() {
        let p = eb(json!({"a": ["x"]}));
        assert!(p.matches(&json!({"a": ["y", "x"]})));
        assert!(p.matches(&json!({"a": [["x"]]})), "nested arrays flatten");
        assert!(!p.matches(&json!({"a": ["y", "z"]})));
        assert!(!p.matches(&json!({"a": []})));
        let nested = eb(json!({"r": {"k": ["v"]}}));
        assert!(nested.matches(&json!({"r": [{"k": "w"}, {"k": "v"}]})));
        assert!(!nested.matches(&json!({"r": [{"k": "w"}]})));
    }

    #[test]
    fn fields_under_an_array_come_from_one_element() {
        let p = eb(json!({"r": {"a": [1], "b": [2]}}));
        assert!(p.matches(&json!({"r": [{"a": 1, "b": 2}]})));
        assert!(!p.matches(&json!({"r": [{"a": 1, "b": 3}, {"a": 0, "b": 2}]})));
    }

    #[test]
    fn exists_on_leaves() {
        let yes = eb(json!({"d": {"s": [{"exists": true}]}}));
        let no = eb(json!({"d": {"s": [{"exists": false}]}}));
        for (doc, present) in [
            (json!({"d": {"s": "x"}}), true),
            (json!({"d": {"s": null}}), true),
            (json!({"d": {"s": ""}}), true),
            (json!({"d": {"s": [1]}}), true),
            (json!({"d": {"s": []}}), false),
            (json!({"d": {"s": {"c1": 100}}}), false),
            (json!({"d": {}}), false),
            (json!({}), false),
            (json!({"d": "scalar"}), false),
        ] {
            assert_eq!(yes.matches(&doc), present, "exists true on {doc}");
            assert_eq!(no.matches(&doc), !present, "exists false on {doc}");
        }
    }

    #[test]
    fn absence_under_an_array_means_no_element_has_the_field() {
        let absent = eb(json!({"r": {"a": [{"exists": false}]}}));
        assert!(!absent.matches(&json!({"r": [{"a": 1}, {"b": 2}]})));
        assert!(absent.matches(&json!({"r": [{"b": 1}, {"b": 2}]})));
        assert!(absent.matches(&json!({"r": []})));
        // Beside a field that must match, the absence is of the element that matched.
        let mixed = eb(json!({"r": {"b": [2], "z": [{"exists": false}]}}));
        assert!(mixed.matches(&json!({"r": [{"z": 1}, {"b": 2}]})));
        assert!(!mixed.matches(&json!({"r": [{"z": 1, "b": 2}]})));
    }

    #[test]
    fn string_operators_see_only_strings() {
        let p = eb(json!({"a": [{"prefix": "12"}]}));
        assert!(p.matches(&json!({"a": "123"})));
        assert!(!p.matches(&json!({"a": 123})));
        let s = eb(json!({"a": [{"suffix": {"equals-ignore-case": ".PNG"}}]}));
        assert!(s.matches(&json!({"a": "x.png"})));
        assert!(s.matches(&json!({"a": "x.PnG"})));
        assert!(!s.matches(&json!({"a": "x.jpg"})));
        let e = eb(json!({"a": [{"equals-ignore-case": "ÉTÉ"}]}));
        assert!(e.matches(&json!({"a": "été"})));
        assert!(!e.matches(&json!({"a": "ete"})));
        let pi = eb(json!({"a": [{"prefix": {"equals-ignore-case": "EventB"}}]}));
        assert!(pi.matches(&json!({"a": "eventbridge"})));
        assert!(!pi.matches(&json!({"a": "event"})));
        let empty = eb(json!({"a": [{"prefix": ""}]}));
        assert!(empty.matches(&json!({"a": "anything"})));
        assert!(!empty.matches(&json!({"a": 1})));
    }

    #[test]
    fn anything_but_needs_a_value() {
        let p = eb(json!({"a": [{"anything-but": ["x", "y"]}]}));
        assert!(p.matches(&json!({"a": "z"})));
        assert!(
            p.matches(&json!({"a": 5})),
            "a number is not an excluded string"
        );
        assert!(
            p.matches(&json!({"a": ["x", "z"]})),
            "any element not excluded"
        );
        assert!(!p.matches(&json!({"a": ["x", "y"]})));
        assert!(!p.matches(&json!({"a": "x"})));
        assert!(
            !p.matches(&json!({})),
            "a missing field is not 'anything but'"
        );
        let n = eb(json!({"a": [{"anything-but": [100, 200]}]}));
        assert!(!n.matches(&json!({"a": 100.0})), "numbers compare by value");
        assert!(n.matches(&json!({"a": 100.5})));
        let pre = eb(json!({"a": [{"anything-but": {"prefix": "init"}}]}));
        assert!(!pre.matches(&json!({"a": "initializing"})));
        assert!(pre.matches(&json!({"a": "running"})));
        let ic = eb(json!({"a": [{"anything-but": {"equals-ignore-case": ["Stopped", "x"]}}]}));
        assert!(!ic.matches(&json!({"a": "STOPPED"})));
        assert!(ic.matches(&json!({"a": "running"})));
        let wc = eb(json!({"a": [{"anything-but": {"wildcard": "*/lib/*"}}]}));
        assert!(!wc.matches(&json!({"a": "/usr/lib/x"})));
        assert!(wc.matches(&json!({"a": "/usr/bin/x"})));
        let pre_list = eb(json!({"a": [{"anything-but": {"prefix": ["init", "error"]}}]}));
        assert!(!pre_list.matches(&json!({"a": "error: disk"})));
        assert!(!pre_list.matches(&json!({"a": "initializing"})));
        assert!(pre_list.matches(&json!({"a": "running"})));
        let suf = eb(json!({"a": [{"anything-but": {"suffix": ".png"}}]}));
        assert!(!suf.matches(&json!({"a": "a.png"})));
        assert!(suf.matches(&json!({"a": "a.jpg"})));
    }

    #[test]
    fn or_groups_need_one_matching_alternative() {
        let p = eb(json!({
            "source": ["aws.ec2"],
            "$or": [{"a": [1]}, {"b": {"c": [2]}}]
        }));
        assert!(p.matches(&json!({"source": "aws.ec2", "a": 1})));
        assert!(p.matches(&json!({"source": "aws.ec2", "b": {"c": 2}})));
        assert!(!p.matches(&json!({"source": "aws.ec2", "a": 2})));
        assert!(!p.matches(&json!({"source": "aws.s3", "a": 1})));
        let nested = eb(json!({"d": {"$or": [{"x": [1]}, {"y": [{"exists": false}]}]}}));
        assert!(nested.matches(&json!({"d": {"x": 1, "y": 0}})));
        assert!(nested.matches(&json!({"d": {"x": 2}})));
        assert!(!nested.matches(&json!({"d": {"x": 2, "y": 0}})));
    }

    #[test]
    fn cidr_and_numeric_and_wildcard_leaves() {
        let p = eb(json!({"ip": [{"cidr": "10.0.0.0/24"}], "n": [{"numeric": [">=", 1]}]}));
        assert!(p.matches(&json!({"ip": "10.0.0.7", "n": 1})));
        assert!(!p.matches(&json!({"ip": "10.0.1.7", "n": 1})));
        assert!(!p.matches(&json!({"ip": "10.0.0.7", "n": "1"})));
        let w = eb(json!({"f": [{"wildcard": "dir/*.png"}]}));
        assert!(w.matches(&json!({"f": "dir/x.png"})));
        assert!(!w.matches(&json!({"f": "dir/x.jpg"})));
    }

    proptest! {
        /// Array semantics: a field holding a list matches exactly when one of its elements,
        /// put there alone, would.
        #[test]
        fn a_list_matches_iff_an_element_does(
            items in proptest::collection::vec(0i64..6, 0..6),
            wanted in proptest::collection::vec(0i64..6, 1..3),
        ) {
            let p = eb(json!({"a": wanted}));
            let whole = p.matches(&json!({"a": items}));
            let any = items.iter().any(|i| p.matches(&json!({"a": i})));
            prop_assert_eq!(whole, any);
        }

        #[test]
        fn integers_match_their_float_spelling(i in -1_000_000i64..1_000_000) {
            let p = eb(json!({"a": [i]}));
            let as_float = json!({"a": i as f64});
            let off = json!({"a": i as f64 + 0.5});
            prop_assert!(p.matches(&as_float));
            prop_assert!(!p.matches(&off));
            let n = eb(json!({"a": [{"numeric": ["=", i as f64]}]}));
            let as_int = json!({"a": i});
            prop_assert!(n.matches(&as_int));
        }

        #[test]
        fn anything_but_is_the_complement_for_present_strings(
            excluded in proptest::collection::vec("[a-c]{1,2}", 1..4), value in "[a-c]{1,2}"
        ) {
            let exact = eb(json!({"a": excluded}));
            let but = eb(json!({"a": [{"anything-but": excluded}]}));
            let doc = json!({"a": value});
            prop_assert_eq!(exact.matches(&doc), !but.matches(&doc));
        }
    }
}
