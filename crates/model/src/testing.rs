//! Records for tests (of this crate and, through the `testing` feature, of the crates
//! over it): one sample function, written once.

use crate::arn::LATEST;
use crate::function::CodeRef;
use crate::{FunctionConfig, LastUpdateStatus, State};

/// A reference to code named `hex` (its base64 digest is `hex` too; nothing reads it).
pub fn code(hex: &str) -> CodeRef {
    CodeRef {
        sha256_hex: hex.into(),
        sha256_b64: hex.into(),
        size: 1,
        unzipped_size: 1,
    }
}

/// The `$LATEST` of an `Active` `provided.al2023` function `name` with its last update
/// `Successful`, and code `00`.
pub fn function(name: &str) -> FunctionConfig {
    FunctionConfig {
        name: name.into(),
        version: LATEST.into(),
        runtime: "provided.al2023".into(),
        handler: "bootstrap".into(),
        role: "arn:aws:iam::000000000000:role/r".into(),
        description: String::new(),
        timeout: 3,
        memory_size: 128,
        ephemeral_storage: 512,
        environment: Default::default(),
        architectures: vec!["x86_64".into()],
        code: code("00"),
        last_modified: "t".into(),
        revision_id: "r".into(),
        state: State::Active,
        state_reason: None,
        state_reason_code: None,
        last_update_status: LastUpdateStatus::Successful,
        last_update_status_reason: None,
        last_update_status_reason_code: None,
        tags: Default::default(),
        dead_letter_target_arn: None,
        previous_code: None,
        environment_set: false,
        logging: Default::default(),
        tracing: Default::default(),
        vpc: None,
        runtime_version: None,
        published_description: None,
        environment_revision: None,
        kms_key_arn: None,
    }
}
