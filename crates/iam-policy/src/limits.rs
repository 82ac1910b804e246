//! IAM's policy size quotas. IAM counts characters without whitespace; a document over its
//! quota is refused with `LimitExceeded` ("Cannot exceed quota for PolicySize: 6144" for a
//! managed policy), which the service that stores the policy answers.

/// The quotas of IAM's documented "IAM and AWS STS quotas" page, in characters without
/// whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeLimit {
    /// A managed (customer) policy: 6,144.
    ManagedPolicy,
    /// All inline policies of one user together: 2,048.
    UserInline,
    /// All inline policies of one role together: 10,240.
    RoleInline,
    /// All inline policies of one group together: 5,120.
    GroupInline,
    /// A role's trust policy: 2,048 (the default quota).
    TrustPolicy,
}

impl SizeLimit {
    pub fn chars(self) -> usize {
        match self {
            Self::ManagedPolicy => 6144,
            Self::UserInline => 2048,
            Self::RoleInline => 10240,
            Self::GroupInline => 5120,
            Self::TrustPolicy => 2048,
        }
    }

    /// Whether `document` fits.
    pub fn allows(self, document: &str) -> bool {
        size_without_whitespace(document) <= self.chars()
    }
}

/// A document's size as IAM counts it: characters other than whitespace.
pub fn size_without_whitespace(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_free() {
        assert_eq!(size_without_whitespace(" { \"a\" :\n 1 } "), 7);
        assert!(SizeLimit::UserInline.allows(&" ".repeat(5000)));
        assert!(!SizeLimit::UserInline.allows(&"x".repeat(2049)));
    }
}
