//! An `InputTemplate` split into text and `<name>` placeholders, and filled in the way the
//! EventBridge user guide ("Amazon EventBridge input transformation") describes. AWS fills a
//! template by text substitution (the examples keep the template's own spacing), and what a
//! value becomes depends on where its placeholder stands:
//!
//! - inside a JSON string (`"… <name> …"`): a string value without quotes; an object or
//!   array as JSON with every `"` removed ("Detail is {key1:value1}": the guide: "EventBridge
//!   removes any internal quotes to ensure a valid string"); numbers, booleans and `null` as
//!   their JSON text;
//! - outside a string, in a JSON template (one whose first non-blank character is `{` or
//!   `[`): the value as JSON, a string getting quotes added ("EventBridge automatically adds
//!   quotes to string variable values");
//! - outside a string in any other template (plain text such as `<instance> is in state
//!   <status>`, the API reference's example): a string as is, anything else as JSON.
//!
//! A variable whose path selects nothing is an empty string: recorded from AWS (LocalStack's
//! validated snapshots) as `"… from detail "` in a string template and `"command": ""` for an
//! unquoted placeholder in a JSON template. String values are not escaped ("EventBridge
//! doesn't escape values extracted by Input Path"), so a value holding `"` or `\` gives text
//! that is not valid JSON, as on AWS. A placeholder name is letters, digits, `_`, `-` and `.`
//! (the key pattern of `InputPathsMap` plus the dots of the predefined names); any other `<`
//! is text ("The characters < and > cannot be escaped").

use crate::json::Json;

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Text(String),
    Placeholder { name: String, in_string: bool },
}

/// A parsed template: its segments and whether it is a JSON template.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Template {
    json: bool,
    segments: Vec<Segment>,
}

impl Template {
    pub(crate) fn parse(text: &str) -> Template {
        let json = matches!(text.trim_start().chars().next(), Some('{' | '['));
        let chars: Vec<char> = text.chars().collect();
        let mut segments = Vec::new();
        let mut current = String::new();
        let (mut in_string, mut escaped) = (false, false);
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '<' && !escaped {
                if let Some(len) = placeholder_len(&chars[i + 1..]) {
                    if !current.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut current)));
                    }
                    segments.push(Segment::Placeholder {
                        name: chars[i + 1..i + 1 + len].iter().collect(),
                        in_string,
                    });
                    i += len + 2;
                    continue;
                }
            }
            current.push(c);
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_string = false;
                }
            } else if c == '"' {
                in_string = true;
            }
            i += 1;
        }
        if !current.is_empty() {
            segments.push(Segment::Text(current));
        }
        Template { json, segments }
    }

    /// Whether the template is JSON (starts with `{` or `[`) rather than text.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// The names of its placeholders, in order, repeats included.
    pub(crate) fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Placeholder { name, .. } => Some(name.as_str()),
            Segment::Text(_) => None,
        })
    }

    /// The template filled with `value_of(name)`; `None` is a variable whose path selected
    /// nothing.
    pub(crate) fn render(&self, value_of: impl Fn(&str) -> Option<Json>) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Placeholder { name, in_string } => {
                    let value = value_of(name);
                    match (value, *in_string, self.json) {
                        (None, true, _) | (None, false, false) => {}
                        (None, false, true) => out.push_str("\"\""),
                        (Some(Json::String(s)), false, true) => {
                            out.push('"');
                            out.push_str(&s);
                            out.push('"');
                        }
                        (Some(Json::String(s)), _, _) => out.push_str(&s),
                        (Some(other), true, _) => {
                            out.extend(other.to_text().chars().filter(|&c| c != '"'))
                        }
                        (Some(other), false, _) => other.write(&mut out),
                    }
                }
            }
        }
        out
    }

    /// The template with every placeholder replaced by a stand-in of its kind and its
    /// length (`x`s inside a string, `0` and spaces outside), for checking that a JSON
    /// template is valid JSON: a parser's error position is then the template's.
    pub(crate) fn with_stand_ins(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Placeholder { name, in_string } => {
                    let width = name.len() + 2;
                    match in_string {
                        true => out.extend(std::iter::repeat_n('x', width)),
                        false => {
                            out.push('0');
                            out.extend(std::iter::repeat_n(' ', width - 1));
                        }
                    }
                }
            }
        }
        out
    }
}

/// The length of the placeholder name at the start of `rest` (just after a `<`), if `rest`
/// holds a name closed by `>`.
fn placeholder_len(rest: &[char]) -> Option<usize> {
    let len = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .count();
    (len > 0 && rest.get(len) == Some(&'>')).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &Template) -> Vec<&str> {
        t.placeholders().collect()
    }

    #[test]
    fn splits_placeholders_and_knows_their_place() {
        let t = Template::parse(r#"{"a": <x>, "b": "say \"<y>\" <z>", "c": "\\", "d": <w>}"#);
        assert!(t.is_json());
        assert_eq!(names(&t), ["x", "y", "z", "w"]);
        assert_eq!(
            t.with_stand_ins(),
            r#"{"a": 0  , "b": "say \"xxx\" xxx", "c": "\\", "d": 0  }"#
        );
        let t = Template::parse(r#"  ["<a>", <b>]"#);
        assert!(t.is_json());
        assert_eq!(t.with_stand_ins(), r#"  ["xxx", 0  ]"#);
    }

    #[test]
    fn text_that_is_not_a_placeholder_stays() {
        let cases = [
            ("a < b > c", "a < b > c"),
            ("<>", "<>"),
            ("<a b>", "<a b>"),
            ("<$.detail>", "<$.detail>"),
            ("<<x>>", "<v>"),
            ("<x", "<x"),
            ("x>", "x>"),
            ("<x><x>", "vv"),
            ("é<x>é", "évé"),
        ];
        for (text, want) in cases {
            let t = Template::parse(text);
            assert!(!t.is_json());
            assert_eq!(
                t.render(|_| Some(Json::String("v".into()))),
                want,
                "for {text}"
            );
        }
    }

    #[test]
    fn renders_by_position_and_kind() {
        let value = |name: &str| match name {
            "s" => Some(Json::String("RUNNING".into())),
            "q" => Some(Json::String("say \"hi\"".into())),
            "n" => Some(Json::Number(9.into())),
            "t" => Some(Json::Bool(true)),
            "z" => Some(Json::Null),
            "o" => Json::parse(r#"{"key1":"value1","k":[1,"two"]}"#).ok(),
            "a" => Json::parse(r#"["x",2]"#).ok(),
            _ => None,
        };
        let cases = [
            // JSON template, outside strings.
            (r#"{"v": <s>}"#, r#"{"v": "RUNNING"}"#),
            (r#"{"v": <q>}"#, r#"{"v": "say "hi""}"#),
            (r#"{"v": <n>}"#, r#"{"v": 9}"#),
            (r#"{"v": <t>}"#, r#"{"v": true}"#),
            (r#"{"v": <z>}"#, r#"{"v": null}"#),
            (r#"{"v": <o>}"#, r#"{"v": {"key1":"value1","k":[1,"two"]}}"#),
            (r#"{"v": <a>}"#, r#"{"v": ["x",2]}"#),
            (r#"{"v": <missing>}"#, r#"{"v": ""}"#),
            // JSON template, inside strings.
            (r#"{"v": "<s>"}"#, r#"{"v": "RUNNING"}"#),
            (
                r#"{"v": "<n> and <t> and <z>"}"#,
                r#"{"v": "9 and true and null"}"#,
            ),
            (
                r#"{"v": "Detail is <o>"}"#,
                r#"{"v": "Detail is {key1:value1,k:[1,two]}"}"#,
            ),
            (r#"{"v": "<a>"}"#, r#"{"v": "[x,2]"}"#),
            (r#"{"v": "[<missing>]"}"#, r#"{"v": "[]"}"#),
            // String templates.
            (r#""state <s>""#, r#""state RUNNING""#),
            (
                r#""Detail is <o>""#,
                r#""Detail is {key1:value1,k:[1,two]}""#,
            ),
            (r#""from <missing>""#, r#""from ""#),
            // Plain text templates.
            ("<s> is <n>", "RUNNING is 9"),
            ("obj <o>", r#"obj {"key1":"value1","k":[1,"two"]}"#),
            ("x [<missing>]", "x []"),
            ("[<missing>]", r#"[""]"#),
            (r#"is "<s>""#, r#"is "RUNNING""#),
        ];
        for (text, want) in cases {
            assert_eq!(Template::parse(text).render(value), want, "for {text}");
        }
    }
}
