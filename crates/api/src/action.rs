//! The IAM action each operation is authorised as (`lambda:<Operation>`), declared
//! beside its handler and attached to its route as a request extension
//! ([`Operation`]), so that the IAM layer (request signing, issue 14) can read which
//! action a request needs instead of guessing it from the path.

/// An operation and the IAM action that authorises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operation {
    /// The operation's name in botocore's model.
    pub name: &'static str,
    /// The IAM action, e.g. `lambda:TagResource`.
    pub action: &'static str,
}

impl Operation {
    pub(crate) const fn new(name: &'static str, action: &'static str) -> Self {
        Self { name, action }
    }
}

/// Every operation the modules that declare theirs handle.
#[cfg(test)]
pub(crate) fn declared() -> Vec<Operation> {
    [
        crate::tags::OPERATIONS,
        crate::policy::OPERATIONS,
        crate::function_settings::OPERATIONS,
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_is_lambda_and_its_operation() {
        let ops = declared();
        assert!(!ops.is_empty());
        for op in ops {
            assert_eq!(op.action, format!("lambda:{}", op.name), "{op:?}");
        }
    }
}
