//! STS on Hearth's one endpoint (the query protocol, `Version=2011-06-15`):
//! GetCallerIdentity and AssumeRole. AssumeRole checks the request, finds the role and
//! has the policy crate decide, through the engine, whether the caller may assume it: the
//! role's trust policy, with the request's condition keys (`sts:ExternalId`,
//! `aws:SourceIp`, ...), and the caller's identity policies (a root needs none) combined
//! as AWS combines them. The credentials themselves come from a [`SessionIssuer`], which
//! the server provides when it can verify what it issues.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use hearth_engine::IamError;
use hearth_iam_policy::{ASSUME_ROLE, SET_SOURCE_IDENTITY, TAG_SESSION};
use hearth_model::caller::{Caller, CallerKind};
use hearth_model::iam::{self, Tag};
use hearth_model::violations::Violations;

use crate::authorize::Access;
use crate::query::{integer, required, Protocol, QueryError, QueryRequest, Xml};
use crate::AppState;

pub(crate) const PROTOCOL: Protocol = Protocol {
    namespace: "https://sts.amazonaws.com/doc/2011-06-15/",
    version: "2011-06-15",
};

/// What an AssumeRole grants: the session the issuer makes credentials for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGrant {
    /// The account of the role (the session's principal's account).
    pub account: String,
    /// `arn:aws:iam::ACCOUNT:role/PATH/NAME`.
    pub role_arn: String,
    /// The role's `AROA...` id.
    pub role_id: String,
    pub role_name: String,
    pub session_name: String,
    /// How long the credentials last (900 s up to the role's `MaxSessionDuration`).
    pub duration: Duration,
    /// The session policy (`Policy`), which narrows the role's permissions.
    pub session_policy: Option<String>,
    /// Managed policy ARNs given as session policies (`PolicyArns`).
    pub session_policy_arns: Vec<String>,
    /// Session tags (`Tags`), in the order given.
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
}

/// Temporary credentials, as AssumeRole answers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: DateTime<Utc>,
}

/// Why an issuer could not issue credentials (for the log; the client sees a fault).
pub type IssueError = Box<dyn std::error::Error + Send + Sync>;

/// Mints the temporary credentials of a session that Hearth will verify and authorize
/// as the role's. Provided by the authentication layer (`--auth sigv4`); without one,
/// AssumeRole answers that the service is unavailable.
pub trait SessionIssuer: Send + Sync {
    fn issue(&self, grant: &SessionGrant) -> Result<SessionCredentials, IssueError>;
}

/// The issuer a server may have.
pub type Issuer = Option<Arc<dyn SessionIssuer>>;

/// One STS request, answered.
pub(crate) fn dispatch(
    s: &AppState,
    access: &Access,
    req: &QueryRequest,
    request_id: &str,
) -> Response {
    let result = match req.action.as_str() {
        "GetCallerIdentity" => Ok(caller_identity(&access.caller)),
        "AssumeRole" => assume_role(s, access, req),
        other => Err(QueryError::invalid_action(other, PROTOCOL.version)),
    };
    match result {
        Ok(x) => PROTOCOL.answer(&req.action, request_id, Some(x)),
        Err(e) => PROTOCOL.error(&e, request_id),
    }
}

fn caller_identity(caller: &Caller) -> Xml {
    let mut x = Xml::default();
    x.leaf("UserId", &caller.user_id)
        .leaf("Account", &caller.account)
        .leaf("Arn", &caller.arn);
    x
}

fn invalid_parameter(message: &str) -> QueryError {
    QueryError::sender(StatusCode::BAD_REQUEST, "InvalidParameterValue", message)
}

/// `RoleArn` as STS reads it: an ARN of six parts whose partition, service and
/// resource are not empty ("X is invalid" otherwise), then an IAM role's ARN (account
/// and name), which otherwise names no role the caller could assume.
fn role_arn(arn: &str) -> Result<Option<(&str, &str)>, QueryError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let well_formed = parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && !parts[5].is_empty();
    if !well_formed {
        return Err(QueryError::validation(format!("{arn} is invalid")));
    }
    Ok(iam::parse_role_arn(arn))
}

/// The request's members, checked as STS's model and front end check them.
struct AssumeRequest<'a> {
    role_arn: &'a str,
    session_name: &'a str,
    duration: Option<i64>,
    policy: Option<&'a str>,
    policy_arns: Vec<String>,
    tags: Vec<Tag>,
    transitive: Vec<String>,
    source_identity: Option<&'a str>,
    external_id: Option<&'a str>,
}

fn parse(req: &QueryRequest) -> Result<AssumeRequest<'_>, QueryError> {
    let role_arn = required(req, "RoleArn")?;
    let session_name = required(req, "RoleSessionName")?;
    let duration = integer(req, "DurationSeconds", "durationSeconds")?;
    let policy = req.get("Policy");
    let mut v = Violations::new();
    v.length(role_arn, "roleArn", 20, 2048);
    v.length(session_name, "roleSessionName", 2, 64);
    v.pattern(
        session_name,
        "roleSessionName",
        session_name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@-".contains(c)),
        r"[\w+=,.@-]*",
    );
    if let Some(d) = duration {
        v.range(d, "durationSeconds", Some(900), Some(43200));
    }
    if let Some(p) = policy {
        v.length(p, "policy", 1, 2048);
    }
    let source_identity = req.get("SourceIdentity");
    if let Some(si) = source_identity {
        v.length(si, "sourceIdentity", 2, 64);
    }
    let external_id = req.get("ExternalId");
    if let Some(x) = external_id {
        v.length(x, "externalId", 2, 1224);
        v.pattern(
            x,
            "externalId",
            x.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@:/-".contains(c)),
            r"[\w+=,.@:\/-]*",
        );
    }
    let tags = crate::iam::tags_of(req);
    if tags.len() > iam::MAX_TAGS {
        v.value(
            "[...]",
            "tags",
            &format!(
                "Member must have length less than or equal to {}",
                iam::MAX_TAGS
            ),
        );
    }
    let vio = v.into_error().map(|e| QueryError::validation(e.message));
    if let Some(e) = vio {
        return Err(e);
    }
    let mut seen = HashSet::new();
    if !tags.iter().all(|t| seen.insert(t.key.to_lowercase())) {
        return Err(invalid_parameter(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
        ));
    }
    let transitive: Vec<String> = req
        .list("TransitiveTagKeys")
        .into_iter()
        .map(str::to_string)
        .collect();
    if transitive.iter().any(|k| !seen.contains(&k.to_lowercase())) {
        return Err(invalid_parameter(
            "The specified transitive tag key must be included in the requested tags.",
        ));
    }
    let policy_arns = req
        .structs("PolicyArns")
        .into_iter()
        .filter_map(|p| p.get("arn").map(|a| a.to_string()))
        .collect();
    Ok(AssumeRequest {
        role_arn,
        session_name,
        duration,
        policy,
        policy_arns,
        tags,
        transitive,
        source_identity,
        external_id,
    })
}

/// STS's answer to an account's root asking for a role.
const ROOT_CANNOT_ASSUME: &str = "Roles may not be assumed by root accounts.";

fn assume_role(s: &AppState, access: &Access, req: &QueryRequest) -> Result<Xml, QueryError> {
    let caller = &access.caller;
    let r = parse(req)?;
    // Before the root's refusal: with authentication off every caller is a root, and
    // this says why no role can be assumed then.
    let Some(issuer) = s.options.session_issuer.as_ref() else {
        return Err(QueryError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "ServiceUnavailable".into(),
            message: "Hearth issues temporary credentials only with SigV4 authentication on (--auth sigv4).".into(),
            sender: false,
        });
    };
    if caller.kind == CallerKind::Root {
        // STS refuses every AssumeRole by an account's root, whatever the trust policy
        // says: a role is for principals the account made (users, other roles).
        return Err(QueryError::sender(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            ROOT_CANNOT_ASSUME,
        ));
    }
    let denied_to = |action: &str| {
        QueryError::sender(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: {action} on resource: {}",
                caller.arn, r.role_arn
            ),
        )
    };
    let denied = || denied_to(ASSUME_ROLE);
    let Some((account, name)) = role_arn(r.role_arn)? else {
        return Err(denied());
    };
    // The keys AssumeRole adds to the request's context, for the trust policy's
    // conditions (`sts:ExternalId` is how a third party is made to name its customer).
    let mut ctx = access.context();
    ctx.set("sts:RoleSessionName", r.session_name);
    if let Some(x) = r.external_id {
        ctx.set("sts:ExternalId", x);
    }
    if let Some(si) = r.source_identity {
        ctx.set("sts:SourceIdentity", si);
    }
    if let Some(d) = r.duration {
        ctx.set("sts:DurationSeconds", &d.to_string());
    }
    let identity = s
        .options
        .authorizer
        .identity_policies(caller)
        .map_err(|m| QueryError::internal(&m))?;
    // A tagged session also needs sts:TagSession, a source identity
    // sts:SetSourceIdentity, from the same trust policy (AWS's session-tag rules).
    let mut also = Vec::new();
    if !r.tags.is_empty() || !r.transitive.is_empty() {
        also.push(TAG_SESSION);
    }
    if r.source_identity.is_some() {
        also.push(SET_SOURCE_IDENTITY);
    }
    let role = match s
        .engine
        .role_to_assume(account, name, &ctx, &identity, &also)
    {
        Ok(role) => role,
        Err(IamError::AssumeDenied { action }) => return Err(denied_to(action)),
        Err(e) => return Err(e.into()),
    };
    let duration = r.duration.unwrap_or(3600);
    if duration > i64::from(role.max_session_duration) {
        return Err(QueryError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let grant = SessionGrant {
        account: role.account.clone(),
        role_arn: role.arn(),
        role_id: role.id.clone(),
        role_name: role.name.clone(),
        session_name: r.session_name.into(),
        duration: Duration::from_secs(duration.unsigned_abs()),
        session_policy: r.policy.map(str::to_string),
        session_policy_arns: r.policy_arns,
        tags: r.tags.into_iter().map(|t| (t.key, t.value)).collect(),
        transitive_tag_keys: r.transitive,
        source_identity: r.source_identity.map(str::to_string),
    };
    let creds = issuer.issue(&grant).map_err(|e| QueryError::internal(&e))?;
    let mut x = Xml::default();
    x.element("Credentials", |x| {
        x.leaf("AccessKeyId", &creds.access_key_id)
            .leaf("SecretAccessKey", &creds.secret_access_key)
            .leaf("SessionToken", &creds.session_token)
            .leaf(
                "Expiration",
                &creds.expiration.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            );
    });
    x.element("AssumedRoleUser", |x| {
        x.leaf(
            "AssumedRoleId",
            &format!("{}:{}", grant.role_id, grant.session_name),
        )
        .leaf(
            "Arn",
            &format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                grant.account, grant.role_name, grant.session_name
            ),
        );
    });
    // `PackedPolicySize` (how much of AWS's packed limit the session policy and tags
    // take) is left out: Hearth does not pack them.
    x.leaf_opt("SourceIdentity", grant.source_identity.as_deref());
    Ok(x)
}

/// The server's issuer: hearth-auth's stateless sessions, verified by any server with
/// the same server key.
impl SessionIssuer for hearth_auth::Sessions {
    fn issue(&self, grant: &SessionGrant) -> Result<SessionCredentials, IssueError> {
        let c = self.issue_session(
            &hearth_auth::SessionGrant {
                account: grant.account.clone(),
                role_arn: grant.role_arn.clone(),
                session_name: grant.session_name.clone(),
                role_id: Some(grant.role_id.clone()),
                duration: grant.duration,
            },
            std::time::SystemTime::now(),
        )?;
        Ok(SessionCredentials {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            session_token: c.session_token,
            expiration: DateTime::<Utc>::from(c.expiration),
        })
    }
}
