//! The audit trail: one record per authenticated write (who, what, on which resource,
//! from where, with which outcome), stored by the store and read back in CloudTrail's
//! `LookupEvents` shape or by `hearth audit`.

use serde::{Deserialize, Serialize};

/// One recorded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// A UUID (CloudTrail's `EventId`).
    pub event_id: String,
    /// When the request was answered, Unix milliseconds.
    pub time_ms: i64,
    /// The caller's account.
    pub account: String,
    /// The caller's ARN (`arn:aws:iam::ACCOUNT:root`, `...:user/NAME`, ...).
    pub principal_arn: String,
    /// The caller's IAM unique id.
    pub principal_id: String,
    /// `Root`, `IAMUser` or `AssumedRole` (CloudTrail's `userIdentity.type`).
    pub principal_type: String,
    /// The name CloudTrail shows as `Username` (root, a user's name, a role session).
    pub user_name: String,
    /// The access key that signed the request, if any.
    pub access_key_id: Option<String>,
    /// The service's host name, e.g. `lambda.amazonaws.com`.
    pub event_source: String,
    /// CloudTrail's event name: the operation's, e.g. `PutRetentionPolicy`, with the API's
    /// date for the Lambda operations CloudTrail names so (`CreateFunction20150331`), or
    /// `METHOD /path` for one without a name.
    pub event_name: String,
    /// The IAM action it is authorised as, when declared (`lambda:CreateFunction`).
    pub action: Option<String>,
    /// The resource's ARN, when the request names one.
    pub resource_arn: Option<String>,
    /// The account that owns the resource, when it is not the caller's: the event is in
    /// that account's trail too, as CloudTrail delivers a cross-account call to both
    /// (absent in events recorded before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_account: Option<String>,
    /// CloudTrail's resource type, e.g. `AWS::Lambda::Function`.
    pub resource_type: Option<String>,
    /// The client's address.
    pub source_ip: String,
    pub user_agent: Option<String>,
    /// The response's `x-amzn-RequestId`.
    pub request_id: String,
    /// The AWS region the server answers as.
    pub region: String,
    /// Whether the request came over TLS.
    pub secure: bool,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The error code of a failed request (`ResourceNotFoundException`, ...).
    pub error_code: Option<String>,
    /// CloudTrail's `requestParameters`: the request's parameters, sensitive ones hidden
    /// (absent in events recorded before they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<serde_json::Value>,
}

/// The one attribute a lookup may filter on (CloudTrail's `LookupAttributeKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAttribute {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

impl AuditAttribute {
    pub fn parse(key: &str) -> Option<Self> {
        Some(match key {
            "EventId" => Self::EventId,
            "EventName" => Self::EventName,
            "ReadOnly" => Self::ReadOnly,
            "Username" => Self::Username,
            "ResourceType" => Self::ResourceType,
            "ResourceName" => Self::ResourceName,
            "EventSource" => Self::EventSource,
            "AccessKeyId" => Self::AccessKeyId,
            _ => return None,
        })
    }
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Events at or after this time (Unix ms).
    pub start_ms: Option<i64>,
    /// Events at or before this time (Unix ms).
    pub end_ms: Option<i64>,
    /// An attribute and the value it must equal.
    pub attribute: Option<(AuditAttribute, String)>,
    /// The caller's ARN or user name (`hearth audit --principal`).
    pub principal: Option<String>,
    /// The event name, the IAM action, or the action's operation (`DeleteFunction` finds
    /// `lambda:DeleteFunction`) (`hearth audit --action`).
    pub action: Option<String>,
    /// Only this account's events: those its principals made, and those others made on
    /// its resources (CloudTrail's LookupEvents reads the caller's trail); every
    /// account's with `None` (the server's administrator).
    pub account: Option<String>,
    /// Events older than the one at this position (the previous page's last).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: usize,
}

/// A page of events, newest first, with the position to continue from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Present when more events may follow.
    pub next: Option<i64>,
}

/// How long events are kept and how many at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRetention {
    pub days: u32,
    pub max_events: u64,
}

impl Default for AuditRetention {
    /// CloudTrail's event history keeps 90 days.
    fn default() -> Self {
        Self {
            days: 90,
            max_events: 1_000_000,
        }
    }
}
