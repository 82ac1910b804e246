//! SNS on Hearth's one endpoint (the query protocol, `Version=2010-03-31`, answers in
//! `http://sns.amazonaws.com/doc/2010-03-31/`): each operation of [`OPERATIONS`] is
//! authorised as its IAM action on its topic (the topic's `Policy` is its resource
//! policy; another is answered `InvalidAction` before anything else), parsed
//! from the form, run by the typed service (`hearth-sns`) and answered in XML. The
//! signing certificate is served at `/SimpleNotificationService-{id}.pem`, and the
//! `SubscribeURL`/`UnsubscribeURL` links of SNS's messages (`GET /?Action=...`) work
//! unsigned, as AWS's do.

mod shapes;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hearth_sns::{BatchEntry, PublishInput, Sns, SnsError};

use crate::authorize::{Access, Refused};
use crate::query::{required, Protocol, QueryError, QueryRequest, Xml};
use crate::AppState;

pub(crate) const PROTOCOL: Protocol = Protocol {
    namespace: "http://sns.amazonaws.com/doc/2010-03-31/",
    version: "2010-03-31",
};

/// Every operation Hearth's SNS serves and the IAM action that authorises it (SNS's
/// actions are its operations' names; AWS writes them `SNS:<Operation>` in denials and
/// policies, and matching ignores case).
pub(crate) const OPERATIONS: &[(&str, &str)] = &[
    ("AddPermission", "SNS:AddPermission"),
    ("ConfirmSubscription", "SNS:ConfirmSubscription"),
    ("CreateTopic", "SNS:CreateTopic"),
    ("DeleteTopic", "SNS:DeleteTopic"),
    ("GetSubscriptionAttributes", "SNS:GetSubscriptionAttributes"),
    ("GetTopicAttributes", "SNS:GetTopicAttributes"),
    ("ListSubscriptions", "SNS:ListSubscriptions"),
    ("ListSubscriptionsByTopic", "SNS:ListSubscriptionsByTopic"),
    ("ListTagsForResource", "SNS:ListTagsForResource"),
    ("ListTopics", "SNS:ListTopics"),
    ("Publish", "SNS:Publish"),
    ("PublishBatch", "SNS:Publish"),
    ("RemovePermission", "SNS:RemovePermission"),
    ("SetSubscriptionAttributes", "SNS:SetSubscriptionAttributes"),
    ("SetTopicAttributes", "SNS:SetTopicAttributes"),
    ("Subscribe", "SNS:Subscribe"),
    ("TagResource", "SNS:TagResource"),
    ("Unsubscribe", "SNS:Unsubscribe"),
    ("UntagResource", "SNS:UntagResource"),
];

/// The path prefix of the signing certificate.
pub(crate) const CERT_PREFIX: &str = "/SimpleNotificationService-";

/// Whether an unsigned request is one of the links SNS puts in its messages, which
/// subscribers open without credentials (`GET /?Action=ConfirmSubscription&...` and
/// `GET /?Action=Unsubscribe&...`), or the signing certificate.
pub(crate) fn open_link(method: &axum::http::Method, uri: &axum::http::Uri) -> bool {
    if method != axum::http::Method::GET {
        return false;
    }
    if uri.path().starts_with(CERT_PREFIX) {
        return true;
    }
    if uri.path() != "/" {
        return false;
    }
    // Read as the dispatcher reads it (a later duplicate wins), so that what is let through
    // unsigned is what runs: SNS's two link operations, and nothing of another service.
    let req = QueryRequest::parse(uri.query().unwrap_or("").as_bytes());
    matches!(req.action.as_str(), "ConfirmSubscription" | "Unsubscribe")
        && req.version.as_deref().is_none_or(|v| v == PROTOCOL.version)
}

/// The certificate's route (declared in `action.rs`; `auth.rs` lets it through unsigned).
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new().route("/SimpleNotificationService-{file}", get(certificate))
}

async fn certificate(State(s): State<AppState>, Path(file): Path<String>) -> Response {
    let found = match (&s.options.sns, file.strip_suffix(".pem")) {
        (Some(sns), Some(id)) => sns.certificate(id).await,
        _ => None,
    };
    match found {
        Some(pem) => ([("content-type", "application/x-x509-ca-cert")], pem).into_response(),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

fn error_of(e: SnsError) -> QueryError {
    match e {
        SnsError::Client {
            code,
            status,
            message,
        } => QueryError::sender(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            message,
        ),
        other => {
            tracing::error!(error = %other, "SNS failed");
            QueryError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "InternalError".into(),
                message: "Internal Error".into(),
                sender: false,
            }
        }
    }
}

/// One SNS request, authorised and answered.
pub(crate) fn dispatch(
    s: &AppState,
    access: &Access,
    headers: &HeaderMap,
    req: &QueryRequest,
    request_id: &str,
) -> Response {
    let Some(sns) = s.options.sns.as_ref() else {
        return PROTOCOL.error(
            &QueryError::invalid_action(&req.action, PROTOCOL.version),
            request_id,
        );
    };
    let signed = headers.contains_key("authorization") || req.get("X-Amz-Signature").is_some();
    let trace = headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    let result =
        authorize(s, sns, access, req, signed).and_then(|()| run(sns, access, req, signed, trace));
    match result {
        Ok(result) => PROTOCOL.answer(&req.action, request_id, result),
        Err(e) => PROTOCOL.error(&e, request_id),
    }
}

/// The topic an operation acts on, if it names one.
fn topic_of(sns: &Sns, req: &QueryRequest, account: &str) -> Option<String> {
    match req.action.as_str() {
        "CreateTopic" => req
            .get("Name")
            .map(|n| hearth_sns::arn::topic_arn(account, n)),
        "TagResource" | "UntagResource" | "ListTagsForResource" => {
            req.get("ResourceArn").map(str::to_string)
        }
        "Unsubscribe" | "GetSubscriptionAttributes" | "SetSubscriptionAttributes" => req
            .get("SubscriptionArn")
            .and_then(|a| sns.subscription_topic(a)),
        "Publish" => req
            .get("TopicArn")
            .or(req.get("TargetArn"))
            .map(str::to_string),
        _ => req.get("TopicArn").map(str::to_string),
    }
}

/// `sns:<Operation>` on the operation's topic (`*` for the listings), the topic's
/// `Policy` taking part as its resource policy. ConfirmSubscription is authorised by its
/// token, and an unsigned Unsubscribe (the `UnsubscribeURL`) by the subscription.
fn authorize(
    s: &AppState,
    sns: &Sns,
    access: &Access,
    req: &QueryRequest,
    signed: bool,
) -> Result<(), QueryError> {
    let Some((_, action)) = OPERATIONS.iter().find(|(op, _)| *op == req.action) else {
        return Err(QueryError::invalid_action(&req.action, PROTOCOL.version));
    };
    if req.action == "ConfirmSubscription" || (req.action == "Unsubscribe" && !signed) {
        return Ok(());
    }
    let account = &access.caller.account;
    let resource = topic_of(sns, req, account).unwrap_or_else(|| "*".to_string());
    let owner = hearth_model::arn::arn_account(&resource).unwrap_or(account);
    let policy = sns.topic_policy(&resource).ok().flatten().and_then(|p| {
        hearth_iam_policy::parse(&p, hearth_iam_policy::PolicyKind::Resource)
            .ok()
            .map(std::sync::Arc::new)
    });
    access
        .check_with_policy(s, action, &resource, owner, policy)
        .map_err(|refused| match refused {
            Refused::Denied(m) => {
                QueryError::sender(StatusCode::FORBIDDEN, "AuthorizationError", m)
            }
            Refused::Failed(m) => QueryError::internal(&m),
        })
}

/// A publish's fields (an entry's, in a batch), and the request's trace header (which the
/// SDKs send from inside a Lambda function) for the topic to pass through.
fn publish_input<'a>(
    get: impl Fn(&str) -> Option<&'a str> + Copy,
    prefix: &str,
    trace: Option<&str>,
) -> Result<PublishInput, QueryError> {
    let field = |f: &str| get(&format!("{prefix}{f}")).map(str::to_string);
    Ok(PublishInput {
        message: field("Message").unwrap_or_default(),
        subject: field("Subject"),
        message_structure: field("MessageStructure"),
        attributes: shapes::message_attributes(get, &format!("{prefix}MessageAttributes."))?,
        group_id: field("MessageGroupId"),
        dedup_id: field("MessageDeduplicationId"),
        trace_header: trace.map(str::to_string),
    })
}

fn run(
    sns: &Sns,
    access: &Access,
    req: &QueryRequest,
    signed: bool,
    trace: Option<&str>,
) -> Result<Option<Xml>, QueryError> {
    let account = access.caller.account.as_str();
    let mut x = Xml::default();
    match req.action.as_str() {
        "CreateTopic" => {
            let name = required(req, "Name")?;
            let arn = sns
                .create_topic(
                    account,
                    name,
                    shapes::attributes(req, "Attributes"),
                    shapes::tags(req),
                )
                .map_err(error_of)?;
            x.leaf("TopicArn", &arn);
        }
        "DeleteTopic" => {
            sns.delete_topic(required(req, "TopicArn")?)
                .map_err(error_of)?;
            return Ok(None);
        }
        "ListTopics" => {
            let (arns, next) = sns
                .list_topics(account, req.get("NextToken"))
                .map_err(error_of)?;
            x.element("Topics", |x| {
                for a in &arns {
                    x.element("member", |x| {
                        x.leaf("TopicArn", a);
                    });
                }
            });
            x.leaf_opt("NextToken", next.as_deref());
        }
        "GetTopicAttributes" => {
            let attrs = sns
                .get_topic_attributes(required(req, "TopicArn")?)
                .map_err(error_of)?;
            shapes::write_attributes(&mut x, &attrs);
        }
        "SetTopicAttributes" => {
            sns.set_topic_attributes(
                required(req, "TopicArn")?,
                required(req, "AttributeName")?,
                req.get("AttributeValue"),
            )
            .map_err(error_of)?;
            return Ok(None);
        }
        "Subscribe" => {
            let arn = sns
                .subscribe(
                    account,
                    required(req, "TopicArn")?,
                    required(req, "Protocol")?,
                    req.get("Endpoint"),
                    shapes::attributes(req, "Attributes"),
                    req.get("ReturnSubscriptionArn") == Some("true"),
                )
                .map_err(error_of)?;
            x.leaf("SubscriptionArn", &arn);
        }
        "ConfirmSubscription" => {
            let arn = sns
                .confirm_subscription(
                    required(req, "TopicArn")?,
                    required(req, "Token")?,
                    signed && req.get("AuthenticateOnUnsubscribe") == Some("true"),
                )
                .map_err(error_of)?;
            x.leaf("SubscriptionArn", &arn);
        }
        "Unsubscribe" => {
            sns.unsubscribe(required(req, "SubscriptionArn")?, signed)
                .map_err(error_of)?;
            return Ok(None);
        }
        "ListSubscriptions" => {
            let (subs, next) = sns
                .list_subscriptions(account, req.get("NextToken"))
                .map_err(error_of)?;
            shapes::write_subscriptions(&mut x, &subs, next.as_deref());
        }
        "ListSubscriptionsByTopic" => {
            let (subs, next) = sns
                .list_subscriptions_by_topic(required(req, "TopicArn")?, req.get("NextToken"))
                .map_err(error_of)?;
            shapes::write_subscriptions(&mut x, &subs, next.as_deref());
        }
        "GetSubscriptionAttributes" => {
            let attrs = sns
                .get_subscription_attributes(required(req, "SubscriptionArn")?)
                .map_err(error_of)?;
            shapes::write_attributes(&mut x, &attrs);
        }
        "SetSubscriptionAttributes" => {
            sns.set_subscription_attributes(
                required(req, "SubscriptionArn")?,
                required(req, "AttributeName")?,
                req.get("AttributeValue"),
            )
            .map_err(error_of)?;
            return Ok(None);
        }
        "Publish" => {
            let topic = match (req.get("TopicArn"), req.get("TargetArn")) {
                (Some(t), _) | (None, Some(t)) => t,
                (None, None) if req.get("PhoneNumber").is_some() => {
                    return Err(error_of(SnsError::invalid(
                        "PhoneNumber Reason: Hearth does not send SMS messages",
                    )))
                }
                (None, None) => {
                    return Err(error_of(SnsError::invalid(
                        "TopicArn or TargetArn Reason: no value for required parameter",
                    )))
                }
            };
            required(req, "Message")?;
            let input = publish_input(|k| req.get(k), "", trace)?;
            let p = sns.publish(topic, input).map_err(error_of)?;
            x.leaf("MessageId", &p.message_id);
            x.leaf_opt("SequenceNumber", p.sequence_number.as_deref());
        }
        "PublishBatch" => {
            let topic = required(req, "TopicArn")?;
            let raw = req.structs("PublishBatchRequestEntries");
            let mut entries = Vec::with_capacity(raw.len());
            for e in &raw {
                entries.push(BatchEntry {
                    id: e.get("Id").copied().unwrap_or("").to_string(),
                    input: publish_input(shapes::lookup(e), "", trace)?,
                });
            }
            let (ok, failed) = sns.publish_batch(topic, entries).map_err(error_of)?;
            x.element("Successful", |x| {
                for (id, p) in &ok {
                    x.element("member", |x| {
                        x.leaf("Id", id)
                            .leaf("MessageId", &p.message_id)
                            .leaf_opt("SequenceNumber", p.sequence_number.as_deref());
                    });
                }
            });
            x.element("Failed", |x| {
                for f in &failed {
                    x.element("member", |x| {
                        x.leaf("Id", &f.id)
                            .leaf("Code", &f.code)
                            .leaf("Message", &f.message)
                            .leaf("SenderFault", if f.sender_fault { "true" } else { "false" });
                    });
                }
            });
        }
        "AddPermission" => {
            sns.add_permission(
                required(req, "TopicArn")?,
                required(req, "Label")?,
                &req.list("AWSAccountId"),
                &req.list("ActionName"),
            )
            .map_err(error_of)?;
            return Ok(None);
        }
        "RemovePermission" => {
            sns.remove_permission(required(req, "TopicArn")?, required(req, "Label")?)
                .map_err(error_of)?;
            return Ok(None);
        }
        "TagResource" => {
            sns.tag_resource(required(req, "ResourceArn")?, &shapes::tags(req))
                .map_err(error_of)?;
        }
        "UntagResource" => {
            sns.untag_resource(required(req, "ResourceArn")?, &req.list("TagKeys"))
                .map_err(error_of)?;
        }
        "ListTagsForResource" => {
            let tags = sns
                .list_tags(required(req, "ResourceArn")?)
                .map_err(error_of)?;
            x.element("Tags", |x| {
                for t in &tags {
                    x.element("member", |x| {
                        x.leaf("Key", &t.key).leaf("Value", &t.value);
                    });
                }
            });
        }
        other => return Err(QueryError::invalid_action(other, PROTOCOL.version)),
    }
    Ok(Some(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_snss_links_pass_unsigned() {
        let get = axum::http::Method::GET;
        let open = |uri: &str| open_link(&get, &uri.parse().expect("uri"));
        assert!(open("/?Action=ConfirmSubscription&TopicArn=a&Token=t"));
        assert!(open(
            "/?Action=Unsubscribe&SubscriptionArn=a&Version=2010-03-31"
        ));
        assert!(open("/SimpleNotificationService-abc.pem"));
        assert!(!open("/?Action=Unsubscribe&Version=2010-05-08"));
        assert!(!open(
            "/?Action=ConfirmSubscription&Action=DeleteRole&Version=2010-05-08"
        ));
        assert!(!open("/?Action=Publish&TopicArn=a&Message=m"));
        assert!(!open("/x?Action=Unsubscribe"));
        assert!(!open_link(
            &axum::http::Method::POST,
            &"/?Action=Unsubscribe".parse().expect("uri")
        ));
    }
}
