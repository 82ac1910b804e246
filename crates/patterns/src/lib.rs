//! The one content-filtering matcher of Hearth: AWS's event-pattern grammar (exact values,
//! `prefix`, `suffix`, `anything-but` and its forms, `numeric`, `exists`,
//! `equals-ignore-case`, `wildcard`, `cidr`, `$or`, array semantics), compiled once with
//! [`Pattern::parse`] and evaluated against JSON documents with [`Pattern::matches`].
//!
//! One grammar serves four users, each a [`Dialect`] with AWS's own differences and
//! validation messages: EventBridge rules, SNS subscription filter policies (both scopes)
//! and Lambda event-source-mapping filters. The document a pattern is matched against is
//! built by the caller; [`sns_attributes_document`], [`sns_body_document`] and
//! [`lambda_sqs_document`] build it the way SNS and Lambda do. Pure logic, no I/O.
//! `docs/event-patterns.md` describes the grammar and the dialects.

mod cidr;
mod dialect;
mod errors;
mod lambda;
mod matcher;
mod numeric;
mod parse;
mod sns;
mod wildcard;

pub use dialect::Dialect;
pub use errors::PatternError;
pub use lambda::lambda_sqs_document;
pub use sns::{sns_attributes_document, sns_body_document};

use matcher::ObjectPattern;
use serde_json::Value;

/// A compiled event pattern (or filter policy): parse once, match many documents.
#[derive(Clone, Debug)]
pub struct Pattern {
    root: ObjectPattern,
    dialect: Dialect,
}

impl Pattern {
    /// Compiles `text` by the rules of `dialect`, refusing it with that dialect's message.
    pub fn parse(text: &str, dialect: Dialect) -> Result<Pattern, PatternError> {
        let root = parse::parse(text, dialect)?;
        Ok(Pattern { root, dialect })
    }

    /// Whether `doc` (an event, a record, or the document built from SNS attributes or body)
    /// matches the pattern.
    pub fn matches(&self, doc: &Value) -> bool {
        self.root.matches(Some(doc))
    }

    /// The dialect the pattern was compiled for.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assert_send_sync_clone<T: Send + Sync + Clone + std::fmt::Debug>() {}

    #[test]
    fn pattern_is_shareable() {
        assert_send_sync_clone::<Pattern>();
    }

    #[test]
    fn dialect_is_kept() {
        let p = Pattern::parse(r#"{"a":["b"]}"#, Dialect::SnsMessageBody).expect("valid");
        assert_eq!(p.dialect(), Dialect::SnsMessageBody);
        assert!(p.matches(&json!({"a": "b"})));
        assert!(!p.matches(&json!({"a": "c"})));
    }
}
