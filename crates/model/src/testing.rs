//! Records for tests (of this crate and, through the `testing` feature, of the crates
//! over it): one sample function and one sample event-source mapping, each written once.

use crate::arn::{function_arn, key_account, LATEST};
use crate::event_source_mapping::{EventSourceMapping, MappingState, SQS_DEFAULT_BATCH};
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
        layers: Vec::new(),
        fresh_env: false,
    }
}

/// The SQS mapping `uuid` of the function whose key is `function` to the queue `queue`,
/// as CreateEventSourceMapping writes it: `Creating`, enabled, batches of 10 with no
/// window, and no filters, item-failure reports, scaling or tags.
pub fn mapping(uuid: &str, function: &str, queue: &str) -> EventSourceMapping {
    EventSourceMapping {
        uuid: uuid.into(),
        account: key_account(function).into(),
        function: function.into(),
        qualifier: None,
        function_arn: function_arn(function, None),
        event_source_arn: queue.into(),
        state: MappingState::Creating,
        enabled: true,
        state_transition_reason: "USER_INITIATED".into(),
        last_modified_ms: 1,
        last_processing_result: None,
        batch_size: SQS_DEFAULT_BATCH,
        maximum_batching_window: 0,
        filters: None,
        function_response_types: vec![],
        maximum_concurrency: None,
        on_failure: None,
        metrics: None,
        tags: Default::default(),
    }
}
