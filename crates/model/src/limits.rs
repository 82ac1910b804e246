//! Lambda's documented quotas, in one place.

pub const MEMORY_MIN_MB: i64 = 128;
pub const MEMORY_MAX_MB: i64 = 10_240;
pub const MEMORY_DEFAULT_MB: i64 = 128;
pub const TIMEOUT_MIN_S: i64 = 1;
pub const TIMEOUT_MAX_S: i64 = 900;
pub const TIMEOUT_DEFAULT_S: i64 = 3;
pub const EPHEMERAL_MIN_MB: i64 = 512;
pub const EPHEMERAL_MAX_MB: i64 = 10_240;
pub const EPHEMERAL_DEFAULT_MB: i64 = 512;
pub const DESCRIPTION_MAX: usize = 256;
pub const HANDLER_MAX: usize = 128;
pub const FUNCTION_NAME_MAX: usize = 64;
/// Total size of the environment variables map (keys plus values), in bytes.
pub const ENV_VARS_MAX_BYTES: usize = 4 * 1024;
/// Zipped deployment package uploaded directly in the request.
pub const ZIP_MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Unzipped code (including layers, when they arrive).
pub const UNZIPPED_MAX_BYTES: u64 = 250 * 1024 * 1024;
/// Synchronous invoke request payload.
pub const SYNC_REQUEST_MAX_BYTES: usize = 6 * 1024 * 1024;
/// Synchronous response payload posted by the runtime (Lambda's exact figure).
pub const SYNC_RESPONSE_MAX_BYTES: usize = 6_291_556;
/// A streamed response (Lambda's documented maximum for response streaming, 200 MB).
pub const STREAM_RESPONSE_MAX_BYTES: u64 = 200 * 1024 * 1024;
/// `X-Amz-Client-Context` header, base64 as sent.
pub const CLIENT_CONTEXT_MAX_BYTES: usize = 3583;
/// Tail of the invocation log returned in `X-Amz-Log-Result`.
pub const LOG_TAIL_BYTES: usize = 4 * 1024;
/// Account concurrency limit and the share that always stays unreserved.
pub const ACCOUNT_CONCURRENCY: i64 = 1000;
pub const UNRESERVED_MIN: i64 = 100;
/// Total code storage per account (75 GB).
pub const TOTAL_CODE_SIZE: i64 = 80_530_636_800;
