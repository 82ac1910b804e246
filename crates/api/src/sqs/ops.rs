//! Every SQS operation as a JSON-shaped request in, JSON-shaped result out (the AWS JSON
//! 1.0 shapes of botocore's `sqs/2012-11-05` model), over the typed [`Sqs`] handle. The
//! query protocol reaches these too: `form.rs` turns its form into this shape and the
//! result into XML.

use std::collections::BTreeMap;

use base64::Engine;
use hearth_sqs::{
    EntryResult, ErrorKind, MessageAttributeValue, OutgoingMessage, QueueId, ReceiveRequest,
    ReceivedMessage, SendRequest, SentMessage, Sqs, SqsError,
};
use serde_json::{json, Map, Value};

/// Who calls, and where their queue URLs point.
pub(crate) struct Caller<'a> {
    pub account: &'a str,
    pub sender_id: &'a str,
    /// `http://host:port`: the queue URLs answered start with it.
    pub base_url: &'a str,
    /// The request's `X-Amzn-Trace-Id` (which the SDKs send from inside a Lambda
    /// function): the `AWSTraceHeader` of every message sent without its own.
    pub trace_header: Option<&'a str>,
}

fn url(c: &Caller<'_>, id: &QueueId) -> String {
    format!("{}/{}/{}", c.base_url, id.account, id.name)
}

fn str_of<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

fn required<'a>(input: &'a Value, name: &str) -> Result<&'a str, SqsError> {
    str_of(input, name).ok_or_else(|| SqsError::missing(name))
}

/// An integer member: a JSON number, or the query protocol's text.
fn int_of(input: &Value, name: &str) -> Result<Option<i64>, SqsError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            SqsError::invalid(format!("Value {n} for parameter {name} is invalid."))
        }),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| SqsError::invalid(format!("Value {s} for parameter {name} is invalid."))),
        Some(v) => Err(SqsError::invalid(format!(
            "Value {v} for parameter {name} is invalid."
        ))),
    }
}

fn strings(input: &Value, name: &str) -> Vec<String> {
    input
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn string_map(input: &Value, name: &str) -> BTreeMap<String, String> {
    input
        .get(name)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn queue(input: &Value, c: &Caller<'_>) -> Result<QueueId, SqsError> {
    QueueId::parse(required(input, "QueueUrl")?, c.account)
}

fn attribute_values(
    input: &Value,
    name: &str,
) -> Result<BTreeMap<String, MessageAttributeValue>, SqsError> {
    let mut out = BTreeMap::new();
    let Some(m) = input.get(name).and_then(Value::as_object) else {
        return Ok(out);
    };
    for (k, v) in m {
        let binary = match str_of(v, "BinaryValue") {
            Some(b) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|_| {
                        SqsError::invalid(format!(
                            "The message attribute '{k}' has an invalid binary value."
                        ))
                    })?,
            ),
            None => None,
        };
        out.insert(
            k.clone(),
            MessageAttributeValue {
                data_type: str_of(v, "DataType").unwrap_or_default().to_string(),
                string_value: str_of(v, "StringValue").map(str::to_string),
                binary_value: binary,
            },
        );
    }
    Ok(out)
}

fn attribute_json(attrs: &BTreeMap<String, MessageAttributeValue>) -> Value {
    let mut m = Map::new();
    for (k, v) in attrs {
        let mut o = Map::new();
        if let Some(s) = &v.string_value {
            o.insert("StringValue".into(), json!(s));
        }
        if let Some(b) = &v.binary_value {
            o.insert(
                "BinaryValue".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(b)),
            );
        }
        o.insert("DataType".into(), json!(v.data_type));
        m.insert(k.clone(), Value::Object(o));
    }
    Value::Object(m)
}

fn send_request(input: &Value, c: &Caller<'_>) -> Result<SendRequest, SqsError> {
    let delay = int_of(input, "DelaySeconds")?;
    let delay = match delay {
        Some(d) if d < 0 => {
            return Err(SqsError::invalid_value(
                "DelaySeconds",
                &d.to_string(),
                "DelaySeconds must be >= 0 and <= 900.",
            ))
        }
        Some(d) => Some(u32::try_from(d).unwrap_or(u32::MAX)),
        None => None,
    };
    Ok(SendRequest {
        message: OutgoingMessage {
            body: str_of(input, "MessageBody").unwrap_or_default().to_string(),
            attributes: attribute_values(input, "MessageAttributes")?,
            group_id: str_of(input, "MessageGroupId").map(str::to_string),
            dedup_id: str_of(input, "MessageDeduplicationId").map(str::to_string),
            sender_id: c.sender_id.to_string(),
            delay_seconds: delay,
        },
        system_attributes: attribute_values(input, "MessageSystemAttributes")?,
    })
}

/// Sends with the request's trace header as the message's `AWSTraceHeader` system
/// attribute where the message has none (AWS: the attribute overrides the header). The
/// answer's `MD5OfMessageSystemAttributes` stays the digest of what the client sent: none,
/// when the attribute came from the header.
fn traced(mut req: SendRequest, c: &Caller<'_>) -> (SendRequest, bool) {
    let untold = match c.trace_header {
        Some(trace) if !req.system_attributes.contains_key(TRACE_ATTRIBUTE) => {
            req.system_attributes.insert(
                TRACE_ATTRIBUTE.into(),
                MessageAttributeValue {
                    data_type: "String".into(),
                    string_value: Some(trace.to_string()),
                    binary_value: None,
                },
            );
            true
        }
        _ => false,
    };
    (req, untold)
}

const TRACE_ATTRIBUTE: &str = "AWSTraceHeader";

fn sent_json(s: &SentMessage) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("MD5OfMessageBody".into(), json!(s.md5_of_body));
    if let Some(m) = &s.md5_of_attributes {
        o.insert("MD5OfMessageAttributes".into(), json!(m));
    }
    if let Some(m) = &s.md5_of_system_attributes {
        o.insert("MD5OfMessageSystemAttributes".into(), json!(m));
    }
    o.insert("MessageId".into(), json!(s.message_id));
    if let Some(n) = &s.sequence_number {
        o.insert("SequenceNumber".into(), json!(n));
    }
    o
}

fn received_json(m: &ReceivedMessage) -> Value {
    let mut o = Map::new();
    o.insert("MessageId".into(), json!(m.message_id));
    o.insert("ReceiptHandle".into(), json!(m.receipt_handle));
    o.insert("MD5OfBody".into(), json!(m.md5_of_body));
    o.insert("Body".into(), json!(m.body));
    if !m.attributes.is_empty() {
        o.insert("Attributes".into(), json!(m.attributes));
    }
    if let Some(md5) = &m.md5_of_message_attributes {
        o.insert("MD5OfMessageAttributes".into(), json!(md5));
        o.insert(
            "MessageAttributes".into(),
            attribute_json(&m.message_attributes),
        );
    }
    Value::Object(o)
}

/// The batch answer: `Successful` entries and `Failed` ones.
fn batch_json<T>(results: Vec<EntryResult<T>>, ok: impl Fn(&str, &T) -> Value) -> Value {
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for (id, r) in results {
        match r {
            Ok(v) => successful.push(ok(&id, &v)),
            Err(e) => failed.push(json!({
                "Id": id,
                "SenderFault": e.kind.sender(),
                "Code": e.kind.query_code(),
                "Message": e.message,
            })),
        }
    }
    json!({"Successful": successful, "Failed": failed})
}

fn entries(input: &Value) -> Vec<Value> {
    input
        .get("Entries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn entry_ids(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|e| str_of(e, "Id").unwrap_or_default().to_string())
        .collect()
}

/// Runs `op` with its JSON-shaped input.
pub(crate) async fn run(
    sqs: &Sqs,
    c: &Caller<'_>,
    op: &str,
    input: &Value,
) -> Result<Value, SqsError> {
    Ok(match op {
        "CreateQueue" => {
            let id = sqs
                .create_queue(
                    c.account,
                    required(input, "QueueName")?,
                    string_map(input, "Attributes"),
                    string_map(input, "tags"),
                )
                .await?;
            json!({"QueueUrl": url(c, &id)})
        }
        "GetQueueUrl" => {
            let id = sqs
                .get_queue(
                    c.account,
                    required(input, "QueueName")?,
                    str_of(input, "QueueOwnerAWSAccountId"),
                )
                .await?;
            json!({"QueueUrl": url(c, &id)})
        }
        "ListQueues" => {
            let (ids, token) = sqs
                .list_queues(
                    c.account,
                    str_of(input, "QueueNamePrefix"),
                    int_of(input, "MaxResults")?,
                    str_of(input, "NextToken"),
                )
                .await?;
            let mut o = Map::new();
            if !ids.is_empty() {
                let urls: Vec<String> = ids.iter().map(|i| url(c, i)).collect();
                o.insert("QueueUrls".into(), json!(urls));
            }
            if let Some(t) = token {
                o.insert("NextToken".into(), json!(t));
            }
            Value::Object(o)
        }
        "DeleteQueue" => {
            sqs.delete_queue(&queue(input, c)?).await?;
            json!({})
        }
        "GetQueueAttributes" => {
            let mut names = strings(input, "AttributeNames");
            if names.is_empty() {
                names.push("All".into());
            }
            let attrs = sqs.get_queue_attributes(&queue(input, c)?, &names).await?;
            if attrs.is_empty() {
                json!({})
            } else {
                json!({ "Attributes": attrs })
            }
        }
        "SetQueueAttributes" => {
            sqs.set_queue_attributes(&queue(input, c)?, string_map(input, "Attributes"))
                .await?;
            json!({})
        }
        "PurgeQueue" => {
            sqs.purge_queue(&queue(input, c)?).await?;
            json!({})
        }
        "TagQueue" => {
            sqs.tag_queue(&queue(input, c)?, string_map(input, "Tags"))
                .await?;
            json!({})
        }
        "UntagQueue" => {
            sqs.untag_queue(&queue(input, c)?, &strings(input, "TagKeys"))
                .await?;
            json!({})
        }
        "ListQueueTags" => {
            let tags = sqs.list_queue_tags(&queue(input, c)?).await?;
            if tags.is_empty() {
                json!({})
            } else {
                json!({ "Tags": tags })
            }
        }
        "ListDeadLetterSourceQueues" => {
            let (ids, token) = sqs
                .list_dead_letter_source_queues(
                    &queue(input, c)?,
                    int_of(input, "MaxResults")?,
                    str_of(input, "NextToken"),
                )
                .await?;
            let urls: Vec<String> = ids.iter().map(|i| url(c, i)).collect();
            let mut o = Map::new();
            o.insert("queueUrls".into(), json!(urls));
            if let Some(t) = token {
                o.insert("NextToken".into(), json!(t));
            }
            Value::Object(o)
        }
        "AddPermission" => {
            let label = required(input, "Label")?;
            let accounts = strings(input, "AWSAccountIds");
            let actions = strings(input, "Actions");
            if accounts.is_empty() {
                return Err(SqsError::missing("AWSAccountIds"));
            }
            if actions.is_empty() {
                return Err(SqsError::missing("Actions"));
            }
            sqs.add_permission(&queue(input, c)?, label, &accounts, &actions)
                .await?;
            json!({})
        }
        "RemovePermission" => {
            sqs.remove_permission(&queue(input, c)?, required(input, "Label")?)
                .await?;
            json!({})
        }
        "SendMessage" => {
            let id = queue(input, c)?;
            required(input, "MessageBody")?;
            let (req, untold) = traced(send_request(input, c)?, c);
            let mut sent = sqs.send_message(&id, req).await?;
            if untold {
                sent.md5_of_system_attributes = None;
            }
            Value::Object(sent_json(&sent))
        }
        "SendMessageBatch" => {
            let id = queue(input, c)?;
            let list = entries(input);
            let ids = entry_ids(&list);
            let mut reqs = Vec::new();
            let mut untold = Vec::new();
            let mut early: Vec<EntryResult<SentMessage>> = Vec::new();
            for (e, entry_id) in list.iter().zip(&ids) {
                match send_request(e, c) {
                    Ok(r) if !r.message.body.is_empty() => {
                        let (r, from_header) = traced(r, c);
                        if from_header {
                            untold.push(entry_id.clone());
                        }
                        reqs.push((entry_id.clone(), r));
                    }
                    Ok(_) => early.push((entry_id.clone(), Err(SqsError::missing("MessageBody")))),
                    Err(err) => early.push((entry_id.clone(), Err(err))),
                }
            }
            let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            hearth_sqs::check_batch(&id_refs, "SendMessageBatchRequestEntry")?;
            let mut results = if reqs.is_empty() {
                Vec::new()
            } else {
                sqs.send_message_batch(&id, reqs).await?
            };
            results.extend(early);
            for (entry, r) in &mut results {
                if let (Ok(sent), true) = (r, untold.contains(entry)) {
                    sent.md5_of_system_attributes = None;
                }
            }
            batch_json(results, |entry, s| {
                let mut o = sent_json(s);
                o.insert("Id".into(), json!(entry));
                Value::Object(o)
            })
        }
        "ReceiveMessage" => {
            let id = queue(input, c)?;
            let mut names = strings(input, "AttributeNames");
            names.extend(strings(input, "MessageSystemAttributeNames"));
            let msgs = sqs
                .receive_message(
                    &id,
                    ReceiveRequest {
                        max_messages: int_of(input, "MaxNumberOfMessages")?,
                        visibility_timeout: int_of(input, "VisibilityTimeout")?,
                        wait_seconds: int_of(input, "WaitTimeSeconds")?,
                        attribute_names: names,
                        message_attribute_names: strings(input, "MessageAttributeNames"),
                        attempt_id: str_of(input, "ReceiveRequestAttemptId").map(str::to_string),
                    },
                )
                .await?;
            if msgs.is_empty() {
                json!({})
            } else {
                json!({"Messages": msgs.iter().map(received_json).collect::<Vec<_>>()})
            }
        }
        "DeleteMessage" => {
            sqs.delete_message(&queue(input, c)?, required(input, "ReceiptHandle")?)
                .await?;
            json!({})
        }
        "DeleteMessageBatch" => {
            let id = queue(input, c)?;
            let list = entries(input);
            let pairs: Vec<(String, String)> = list
                .iter()
                .map(|e| {
                    (
                        str_of(e, "Id").unwrap_or_default().to_string(),
                        str_of(e, "ReceiptHandle").unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let results = sqs.delete_message_batch(&id, pairs).await?;
            batch_json(results, |entry, _| json!({"Id": entry}))
        }
        "ChangeMessageVisibility" => {
            let timeout = int_of(input, "VisibilityTimeout")?
                .ok_or_else(|| SqsError::missing("VisibilityTimeout"))?;
            sqs.change_message_visibility(
                &queue(input, c)?,
                required(input, "ReceiptHandle")?,
                timeout,
            )
            .await?;
            json!({})
        }
        "ChangeMessageVisibilityBatch" => {
            let id = queue(input, c)?;
            let list = entries(input);
            let mut triples = Vec::new();
            for e in &list {
                triples.push((
                    str_of(e, "Id").unwrap_or_default().to_string(),
                    str_of(e, "ReceiptHandle").unwrap_or_default().to_string(),
                    int_of(e, "VisibilityTimeout")?.unwrap_or(0),
                ));
            }
            let results = sqs.change_message_visibility_batch(&id, triples).await?;
            batch_json(results, |entry, _| json!({"Id": entry}))
        }
        "StartMessageMoveTask" => {
            let handle = sqs
                .start_message_move_task(
                    required(input, "SourceArn")?,
                    str_of(input, "DestinationArn"),
                    int_of(input, "MaxNumberOfMessagesPerSecond")?,
                )
                .await?;
            json!({ "TaskHandle": handle })
        }
        "ListMessageMoveTasks" => {
            let tasks = sqs
                .list_message_move_tasks(
                    required(input, "SourceArn")?,
                    int_of(input, "MaxResults")?,
                )
                .await?;
            let results: Vec<Value> = tasks
                .iter()
                .map(|t| {
                    let mut o = Map::new();
                    if !t.task_handle.is_empty() {
                        o.insert("TaskHandle".into(), json!(t.task_handle));
                    }
                    o.insert("Status".into(), json!(t.status));
                    o.insert("SourceArn".into(), json!(t.source_arn));
                    if let Some(d) = &t.destination_arn {
                        o.insert("DestinationArn".into(), json!(d));
                    }
                    if let Some(r) = t.max_per_second {
                        o.insert("MaxNumberOfMessagesPerSecond".into(), json!(r));
                    }
                    o.insert("ApproximateNumberOfMessagesMoved".into(), json!(t.moved));
                    o.insert("ApproximateNumberOfMessagesToMove".into(), json!(t.to_move));
                    if let Some(f) = &t.failure_reason {
                        o.insert("FailureReason".into(), json!(f));
                    }
                    o.insert("StartedTimestamp".into(), json!(t.started_ms));
                    Value::Object(o)
                })
                .collect();
            json!({ "Results": results })
        }
        "CancelMessageMoveTask" => {
            let moved = sqs
                .cancel_message_move_task(required(input, "TaskHandle")?)
                .await?;
            json!({ "ApproximateNumberOfMessagesMoved": moved })
        }
        other => {
            return Err(SqsError::new(
                ErrorKind::UnsupportedOperation,
                format!("The action {other} is not valid for this endpoint."),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(trace_header: Option<&str>) -> Caller<'_> {
        Caller {
            account: "000000000000",
            sender_id: "000000000000",
            base_url: "http://localhost",
            trace_header,
        }
    }

    fn trace_of(req: &SendRequest) -> Option<&str> {
        req.system_attributes
            .get(TRACE_ATTRIBUTE)
            .and_then(|v| v.string_value.as_deref())
    }

    #[test]
    fn the_trace_header_is_the_trace_of_a_message_without_its_own() {
        let plain = send_request(&json!({"MessageBody": "b"}), &caller(None)).expect("request");
        let header = Some("Root=1-a;Sampled=1");
        let (req, from_header) = traced(plain.clone(), &caller(header));
        assert!(from_header);
        assert_eq!(trace_of(&req), header);
        // The attribute overrides the header, as AWS documents.
        let own = json!({"MessageBody": "b", "MessageSystemAttributes": {
            "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-own"}}});
        let own = send_request(&own, &caller(header)).expect("request");
        let (req, from_header) = traced(own, &caller(header));
        assert!(!from_header);
        assert_eq!(trace_of(&req), Some("Root=1-own"));
        // No header, nothing added.
        let (req, from_header) = traced(plain, &caller(None));
        assert!(!from_header && req.system_attributes.is_empty());
    }
}
