//! Receiving as the flows do: until a number of messages came (long-polling a second at a
//! time, bounded), or deleting each as it comes (a FIFO queue's next of a group waits for
//! the one before), and a received message as the lines show it.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use aws_sdk_sqs::Client;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::errors::OrFail;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A received message as the line shows it: attributes sorted, binary values in base64.
pub(crate) fn received(m: &Message) -> Value {
    let mut o = Map::new();
    o.insert("Body".into(), json!(m.body()));
    o.insert("MD5OfBody".into(), json!(m.md5_of_body()));
    o.insert("MessageId".into(), json!(m.message_id()));
    if let Some(md5) = m.md5_of_message_attributes() {
        o.insert("MD5OfMessageAttributes".into(), json!(md5));
    }
    let attrs: BTreeMap<&str, Value> = m
        .message_attributes()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let mut a = Map::new();
            a.insert("DataType".into(), json!(v.data_type()));
            if let Some(s) = v.string_value() {
                a.insert("StringValue".into(), json!(s));
            }
            if let Some(b) = v.binary_value() {
                a.insert("BinaryValue".into(), json!(b64(b.as_ref())));
            }
            (k.as_str(), Value::Object(a))
        })
        .collect();
    o.insert("MessageAttributes".into(), json!(attrs));
    let system: BTreeMap<&str, &str> = m
        .attributes()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    o.insert("Attributes".into(), json!(system));
    Value::Object(o)
}

/// What to ask for when receiving.
#[derive(Default)]
pub(crate) struct Wanted<'a> {
    pub message_attributes: &'a [&'a str],
    pub system_attributes: &'a [MessageSystemAttributeName],
}

/// Receives until `n` messages came, long-polling a second at a time (20 tries at most).
pub(crate) async fn receive_all(
    sqs: &Client,
    url: &str,
    n: usize,
    wanted: &Wanted<'_>,
) -> anyhow::Result<Vec<Message>> {
    let mut got = Vec::new();
    for _ in 0..20 {
        if got.len() >= n {
            break;
        }
        let mut call = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1);
        for name in wanted.message_attributes {
            call = call.message_attribute_names(*name);
        }
        for name in wanted.system_attributes {
            call = call.message_system_attribute_names(name.clone());
        }
        let out = call.send().await.or_fail("ReceiveMessage")?;
        got.extend(out.messages.unwrap_or_default());
    }
    Ok(got)
}

/// Receives and deletes until `n` messages came: a FIFO queue hands out the next of a
/// group only once the one before is gone.
pub(crate) async fn drain(
    sqs: &Client,
    url: &str,
    n: usize,
    wanted: &Wanted<'_>,
) -> anyhow::Result<Vec<Message>> {
    let mut got = Vec::new();
    for _ in 0..20 {
        if got.len() >= n {
            break;
        }
        let batch = receive_all(sqs, url, 1, wanted).await?;
        for m in &batch {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .or_fail("DeleteMessage")?;
        }
        got.extend(batch);
    }
    Ok(got)
}
