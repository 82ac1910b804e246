//! The SQS half of the flow, call for call as tests/e2e/js/messaging.mjs makes it: queues
//! (standard and FIFO), messages with every kind of attribute, batches with a failing
//! entry, receiving with attribute names, visibility, tags, paginated listings, a
//! dead-letter queue (dead_letters.rs), and two errors.

use std::collections::BTreeMap;

use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
    MessageSystemAttributeNameForSends, MessageSystemAttributeValue, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use serde_json::{json, Map, Value};

use crate::dead_letters::dead_letters;
use crate::errors::{print_failure, OrFail};
use crate::print;
use crate::receive::{receive_all, received, Wanted};

const TRACE: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";

fn string_attribute(data_type: &str, value: &str) -> anyhow::Result<MessageAttributeValue> {
    Ok(MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()?)
}

fn failed(list: &[BatchResultErrorEntry]) -> Value {
    list.iter()
        .map(|f| {
            json!({"Id": f.id(), "SenderFault": f.sender_fault(), "Code": f.code(),
                   "Message": f.message()})
        })
        .collect()
}

fn by_body(list: &mut [Message]) {
    list.sort_by(|a, b| a.body().cmp(&b.body()));
}

pub(crate) async fn flow(sqs: &Client, prefix: &str) -> anyhow::Result<()> {
    let work = sqs
        .create_queue()
        .queue_name(format!("{prefix}-work"))
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .attributes(QueueAttributeName::MessageRetentionPeriod, "3600")
        .tags("suite", "sdk")
        .send()
        .await
        .or_fail("CreateQueue")?
        .queue_url
        .unwrap_or_default();
    print("CreateQueue", json!({ "QueueUrl": work }));

    let order = sqs
        .create_queue()
        .queue_name(format!("{prefix}-order.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await
        .or_fail("CreateQueue")?
        .queue_url
        .unwrap_or_default();
    print("CreateQueue", json!({ "QueueUrl": order }));

    let got = sqs
        .get_queue_url()
        .queue_name(format!("{prefix}-work"))
        .send()
        .await
        .or_fail("GetQueueUrl")?;
    print("GetQueueUrl", json!({ "QueueUrl": got.queue_url() }));

    let sent = sqs
        .send_message()
        .queue_url(&work)
        .message_body("héllo from the SDK ✓")
        .message_attributes("text", string_attribute("String", "ünïcode ✓")?)
        .message_attributes("count", string_attribute("Number", "42")?)
        .message_attributes(
            "blob",
            MessageAttributeValue::builder()
                .data_type("Binary")
                .binary_value(Blob::new(vec![0u8, 1, 2, 254, 255]))
                .build()?,
        )
        .message_attributes("kind", string_attribute("String.custom", "x")?)
        .message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(TRACE)
                .build()?,
        )
        .send()
        .await
        .or_fail("SendMessage")?;
    print(
        "SendMessage",
        json!({
            "MessageId": sent.message_id(),
            "MD5OfMessageBody": sent.md5_of_message_body(),
            "MD5OfMessageAttributes": sent.md5_of_message_attributes(),
            "MD5OfMessageSystemAttributes": sent.md5_of_message_system_attributes(),
        }),
    );

    let batch = sqs
        .send_message_batch()
        .queue_url(&work)
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("b1")
                .message_body("batch one")
                .build()?,
        )
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("b2")
                .message_body("batch two")
                .delay_seconds(0)
                .message_attributes("n", string_attribute("Number.int", "7")?)
                .build()?,
        )
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("b3")
                .message_body("")
                .build()?,
        )
        .send()
        .await
        .or_fail("SendMessageBatch")?;
    let mut ok: Vec<_> = batch.successful().iter().collect();
    ok.sort_by_key(|s| s.id());
    let successful: Vec<Value> = ok
        .iter()
        .map(|s| {
            let mut o = Map::new();
            o.insert("Id".into(), json!(s.id()));
            o.insert("MessageId".into(), json!(s.message_id()));
            o.insert("MD5OfMessageBody".into(), json!(s.md5_of_message_body()));
            if let Some(m) = s.md5_of_message_attributes() {
                o.insert("MD5OfMessageAttributes".into(), json!(m));
            }
            Value::Object(o)
        })
        .collect();
    print(
        "SendMessageBatch",
        json!({"Successful": successful, "Failed": failed(batch.failed())}),
    );

    let system = [
        MessageSystemAttributeName::SenderId,
        MessageSystemAttributeName::ApproximateReceiveCount,
        MessageSystemAttributeName::AwsTraceHeader,
    ];
    let all = Wanted {
        message_attributes: &["All"],
        system_attributes: &system,
    };
    let mut msgs = receive_all(sqs, &work, 3, &all).await?;
    by_body(&mut msgs);
    print(
        "ReceiveMessage",
        json!({"Messages": msgs.iter().map(received).collect::<Vec<_>>()}),
    );
    let first = msgs
        .first()
        .ok_or_else(|| anyhow::anyhow!("no message received"))?;

    sqs.change_message_visibility()
        .queue_url(&work)
        .receipt_handle(first.receipt_handle().unwrap_or_default())
        .visibility_timeout(0)
        .send()
        .await
        .or_fail("ChangeMessageVisibility")?;
    print("ChangeMessageVisibility", json!({}));
    let count = Wanted {
        system_attributes: &[MessageSystemAttributeName::ApproximateReceiveCount],
        ..Wanted::default()
    };
    let again = receive_all(sqs, &work, 1, &count).await?;
    print(
        "ReceiveMessage",
        json!({"Messages": again.iter().map(received).collect::<Vec<_>>()}),
    );

    // The newest receipt handle of each message, in the order first received.
    let mut handles: Vec<(String, String)> = msgs
        .iter()
        .map(|m| {
            (
                m.message_id().unwrap_or_default().to_string(),
                m.receipt_handle().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for m in &again {
        if let Some(h) = handles
            .iter_mut()
            .find(|(id, _)| Some(id.as_str()) == m.message_id())
        {
            h.1 = m.receipt_handle().unwrap_or_default().to_string();
        }
    }
    let mut delete = sqs.delete_message_batch().queue_url(&work);
    for (i, (_, handle)) in handles.iter().enumerate() {
        delete = delete.entries(
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(handle)
                .build()?,
        );
    }
    let deleted = delete
        .entries(
            DeleteMessageBatchRequestEntry::builder()
                .id("bogus")
                .receipt_handle("not-a-handle")
                .build()?,
        )
        .send()
        .await
        .or_fail("DeleteMessageBatch")?;
    let mut ids: Vec<&str> = deleted.successful().iter().map(|s| s.id()).collect();
    ids.sort_unstable();
    print(
        "DeleteMessageBatch",
        json!({"Successful": ids, "Failed": failed(deleted.failed())}),
    );

    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&work)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .or_fail("GetQueueAttributes")?;
    let attrs: BTreeMap<&str, &str> = attrs
        .attributes()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    print("GetQueueAttributes", json!({ "Attributes": attrs }));
    let work_arn = attrs
        .get("QueueArn")
        .map(|a| a.to_string())
        .unwrap_or_default();

    sqs.tag_queue()
        .queue_url(&work)
        .tags("team", "queues")
        .tags("gone", "soon")
        .send()
        .await
        .or_fail("TagQueue")?;
    sqs.untag_queue()
        .queue_url(&work)
        .tag_keys("gone")
        .send()
        .await
        .or_fail("UntagQueue")?;
    let tags = sqs
        .list_queue_tags()
        .queue_url(&work)
        .send()
        .await
        .or_fail("ListQueueTags")?;
    let tags: BTreeMap<&str, &str> = tags
        .tags()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    print("ListQueueTags", json!({ "Tags": tags }));

    // One queue a page, through the SDK's paginator.
    let mut pages = Vec::new();
    let mut stream = sqs
        .list_queues()
        .queue_name_prefix(prefix)
        .max_results(1)
        .into_paginator()
        .send();
    while let Some(page) = stream.next().await {
        pages.push(page.or_fail("ListQueues")?.queue_urls.unwrap_or_default());
    }
    print("ListQueues", json!({ "Pages": pages }));

    // FIFO: one group in order, a duplicate body deduplicated by its content.
    let mut fifo_sent = Vec::new();
    for body in ["first", "second", "first"] {
        let s = sqs
            .send_message()
            .queue_url(&order)
            .message_body(body)
            .message_group_id("g")
            .send()
            .await
            .or_fail("SendMessage")?;
        fifo_sent.push(json!({"MessageId": s.message_id(), "SequenceNumber": s.sequence_number()}));
    }
    print("SendMessage", json!({ "Fifo": fifo_sent }));
    let fifo = Wanted {
        system_attributes: &[
            MessageSystemAttributeName::MessageGroupId,
            MessageSystemAttributeName::SequenceNumber,
            MessageSystemAttributeName::MessageDeduplicationId,
        ],
        ..Wanted::default()
    };
    let fifo_got = receive_all(sqs, &order, 2, &fifo).await?;
    print(
        "ReceiveMessage",
        json!({"Messages": fifo_got.iter().map(received).collect::<Vec<_>>()}),
    );
    let mut change = sqs.change_message_visibility_batch().queue_url(&order);
    for (i, m) in fifo_got.iter().enumerate() {
        change = change.entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(format!("c{i}"))
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .visibility_timeout(60)
                .build()?,
        );
    }
    let changed = change
        .send()
        .await
        .or_fail("ChangeMessageVisibilityBatch")?;
    let mut ids: Vec<&str> = changed.successful().iter().map(|s| s.id()).collect();
    ids.sort_unstable();
    print(
        "ChangeMessageVisibilityBatch",
        json!({"Successful": ids, "Failed": failed(changed.failed())}),
    );
    sqs.purge_queue()
        .queue_url(&order)
        .send()
        .await
        .or_fail("PurgeQueue")?;
    print("PurgeQueue", json!({}));

    let dead = dead_letters(sqs, prefix, &work, &work_arn).await?;

    print_failure(
        "GetQueueUrl",
        sqs.get_queue_url()
            .queue_name(format!("{prefix}-missing"))
            .send()
            .await,
    );
    print_failure(
        "SendMessage",
        sqs.send_message()
            .queue_url(&work)
            .message_body("x")
            .delay_seconds(901)
            .send()
            .await,
    );
    for url in [&work, &order, &dead] {
        sqs.delete_queue()
            .queue_url(url)
            .send()
            .await
            .or_fail("DeleteQueue")?;
    }
    Ok(())
}

/// The ARN of the queue at `url` (GetQueueAttributes).
pub(crate) async fn queue_arn(sqs: &Client, url: &str) -> anyhow::Result<String> {
    Ok(sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .or_fail("GetQueueAttributes")?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .unwrap_or_default())
}
