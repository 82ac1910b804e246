//! The four users of the grammar and what each allows: EventBridge is the reference; SNS
//! and Lambda accept subsets of it with their own limits (see `docs/event-patterns.md`).

/// Which service's rules a pattern is parsed and validated by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// EventBridge rule event patterns (`PutRule`, `TestEventPattern`).
    EventBridge,
    /// SNS filter policy with `FilterPolicyScope` `MessageAttributes` (the default): flat,
    /// matched against [`crate::sns_attributes_document`].
    SnsMessageAttributes,
    /// SNS filter policy with `FilterPolicyScope` `MessageBody`: nested, matched against the
    /// message parsed as a JSON object ([`crate::sns_body_document`]).
    SnsMessageBody,
    /// Lambda event-source-mapping `FilterCriteria.Filters[].Pattern`.
    LambdaFilter,
}

impl Dialect {
    pub(crate) fn is_sns(self) -> bool {
        matches!(
            self,
            Dialect::SnsMessageAttributes | Dialect::SnsMessageBody
        )
    }

    /// SNS's attribute scope is flat: AWS refuses nested keys there.
    pub(crate) fn allows_nesting(self) -> bool {
        self != Dialect::SnsMessageAttributes
    }

    /// Largest magnitude of a `numeric` operand. EventBridge (and Lambda, which filters with
    /// the same engine) document ±5.0e9; SNS documents ±1e9 ("Filter policy constraints").
    pub(crate) fn numeric_limit(self) -> f64 {
        if self.is_sns() {
            1.0e9
        } else {
            5.0e9
        }
    }

    /// `wildcard` is an EventBridge operator; SNS's and Lambda's operator lists do not
    /// include it.
    pub(crate) fn allows_wildcard(self) -> bool {
        self == Dialect::EventBridge
    }

    /// `cidr` (IP address matching) is documented for EventBridge and SNS, not for Lambda.
    pub(crate) fn allows_cidr(self) -> bool {
        self != Dialect::LambdaFilter
    }

    /// Which object forms `anything-but` takes. EventBridge's operator table marks the
    /// prefix, suffix, ignore-case and wildcard forms "event bus: yes, pipes: no"; Lambda
    /// filters share the pipes' support, so only values and lists. SNS documents the
    /// prefix and suffix forms.
    pub(crate) fn allows_anything_but_form(self, form: &str) -> bool {
        match self {
            Dialect::EventBridge => {
                matches!(
                    form,
                    "prefix" | "suffix" | "equals-ignore-case" | "wildcard"
                )
            }
            Dialect::SnsMessageAttributes | Dialect::SnsMessageBody => {
                matches!(form, "prefix" | "suffix")
            }
            Dialect::LambdaFilter => false,
        }
    }
}
