//! The SNS half of the flow, call for call as tests/e2e/js/messaging.mjs makes it: a topic
//! with an SQS queue subscribed (the queue's policy letting the topic send), a message with
//! every kind of attribute and a batch published, the subscription listed, the envelopes
//! SNS delivered read back from the queue, two errors, and a FIFO topic into a FIFO queue
//! with raw delivery.

use std::collections::BTreeMap;

use aws_sdk_sns::primitives::Blob;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry, Tag};
use aws_sdk_sns::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{json, Value};

use crate::errors::{print_failure, OrFail};
use crate::print;
use crate::receive::{drain, receive_all, received, Wanted};

fn string_attribute(data_type: &str, value: &str) -> anyhow::Result<MessageAttributeValue> {
    Ok(MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()?)
}

/// A queue for a topic to deliver to: its URL and ARN, its policy letting `topic` send.
async fn queue_for(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    fifo: bool,
    topic: &str,
) -> anyhow::Result<(String, String)> {
    let mut create = sqs.create_queue().queue_name(name);
    if fifo {
        create = create.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let url = create
        .send()
        .await
        .or_fail("CreateQueue")?
        .queue_url
        .unwrap_or_default();
    let arn = crate::sqs::queue_arn(sqs, &url).await?;
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .or_fail("SetQueueAttributes")?;
    Ok((url, arn))
}

/// A filter policy set and read back, the topic's tags changed and listed, and the
/// subscription ended.
async fn subscription_and_tags(sns: &Client, topic: &str, sub: &str) -> anyhow::Result<()> {
    sns.set_subscription_attributes()
        .subscription_arn(sub)
        .attribute_name("FilterPolicy")
        .attribute_value(json!({"kind": ["alert"]}).to_string())
        .send()
        .await
        .or_fail("SetSubscriptionAttributes")?;
    let attrs = sns
        .get_subscription_attributes()
        .subscription_arn(sub)
        .send()
        .await
        .or_fail("GetSubscriptionAttributes")?;
    let shown = [
        "FilterPolicy",
        "FilterPolicyScope",
        "Protocol",
        "RawMessageDelivery",
        "PendingConfirmation",
        "Endpoint",
    ];
    let attrs: BTreeMap<&str, &str> = attrs
        .attributes()
        .into_iter()
        .flatten()
        .filter(|(k, _)| shown.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    print("GetSubscriptionAttributes", json!({ "Attributes": attrs }));

    sns.tag_resource()
        .resource_arn(topic)
        .tags(Tag::builder().key("team").value("topics").build()?)
        .tags(Tag::builder().key("gone").value("soon").build()?)
        .send()
        .await
        .or_fail("TagResource")?;
    sns.untag_resource()
        .resource_arn(topic)
        .tag_keys("gone")
        .send()
        .await
        .or_fail("UntagResource")?;
    let tags = sns
        .list_tags_for_resource()
        .resource_arn(topic)
        .send()
        .await
        .or_fail("ListTagsForResource")?;
    let mut tags: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    tags.sort_unstable();
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    print("ListTagsForResource", json!({ "Tags": tags }));

    sns.unsubscribe()
        .subscription_arn(sub)
        .send()
        .await
        .or_fail("Unsubscribe")?;
    let left = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
        .or_fail("ListSubscriptionsByTopic")?;
    print(
        "Unsubscribe",
        json!({ "Subscriptions": left.subscriptions().len() }),
    );
    Ok(())
}

pub(crate) async fn flow(
    sns: &Client,
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
) -> anyhow::Result<()> {
    let topic = sns
        .create_topic()
        .name(format!("{prefix}-news"))
        .tags(Tag::builder().key("suite").value("sdk").build()?)
        .send()
        .await
        .or_fail("CreateTopic")?
        .topic_arn
        .unwrap_or_default();
    print("CreateTopic", json!({ "TopicArn": topic }));

    let (inbox, inbox_arn) = queue_for(sqs, &format!("{prefix}-inbox"), false, &topic).await?;
    print("SetQueueAttributes", json!({}));

    let sub = sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&inbox_arn)
        .return_subscription_arn(true)
        .send()
        .await
        .or_fail("Subscribe")?;
    print(
        "Subscribe",
        json!({ "SubscriptionArn": sub.subscription_arn() }),
    );

    let published = sns
        .publish()
        .topic_arn(&topic)
        .subject("Headline")
        .message("news ✓")
        .message_attributes("kind", string_attribute("String", "alert")?)
        .message_attributes("level", string_attribute("Number", "3")?)
        .message_attributes(
            "raw",
            MessageAttributeValue::builder()
                .data_type("Binary")
                .binary_value(Blob::new(vec![1u8, 2, 3]))
                .build()?,
        )
        .message_attributes("tags", string_attribute("String.Array", r#"["a","b"]"#)?)
        .send()
        .await
        .or_fail("Publish")?;
    print("Publish", json!({ "MessageId": published.message_id() }));

    let batch = sns
        .publish_batch()
        .topic_arn(&topic)
        .publish_batch_request_entries(
            PublishBatchRequestEntry::builder()
                .id("p1")
                .message("batch news one")
                .build()?,
        )
        .publish_batch_request_entries(
            PublishBatchRequestEntry::builder()
                .id("p2")
                .message("batch news two")
                .message_attributes("kind", string_attribute("String", "digest")?)
                .build()?,
        )
        .send()
        .await
        .or_fail("PublishBatch")?;
    let mut ok: Vec<_> = batch.successful().iter().collect();
    ok.sort_by_key(|s| s.id());
    let failed: Vec<Value> = batch
        .failed()
        .iter()
        .map(|f| {
            json!({"Id": f.id(), "Code": f.code(), "Message": f.message(),
                   "SenderFault": f.sender_fault()})
        })
        .collect();
    print(
        "PublishBatch",
        json!({
            "Successful": ok.iter().map(|s| json!({"Id": s.id(), "MessageId": s.message_id()}))
                .collect::<Vec<_>>(),
            "Failed": failed,
        }),
    );

    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .or_fail("ListSubscriptionsByTopic")?;
    let subs: Vec<Value> = subs
        .subscriptions()
        .iter()
        .map(|s| {
            json!({"SubscriptionArn": s.subscription_arn(), "Owner": s.owner(),
                   "Protocol": s.protocol(), "Endpoint": s.endpoint(), "TopicArn": s.topic_arn()})
        })
        .collect();
    print("ListSubscriptionsByTopic", json!({ "Subscriptions": subs }));

    sns.set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("DisplayName")
        .attribute_value("The News")
        .send()
        .await
        .or_fail("SetTopicAttributes")?;
    let attrs = sns
        .get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .or_fail("GetTopicAttributes")?;
    let shown = ["TopicArn", "Owner", "SubscriptionsConfirmed", "DisplayName"];
    let attrs: BTreeMap<&str, &str> = attrs
        .attributes()
        .into_iter()
        .flatten()
        .filter(|(k, _)| shown.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    print("GetTopicAttributes", json!({ "Attributes": attrs }));

    let notes = receive_all(sqs, &inbox, 3, &Wanted::default()).await?;
    let mut notes = notes
        .iter()
        .map(|m| serde_json::from_str::<Value>(m.body().unwrap_or_default()))
        .collect::<Result<Vec<_>, _>>()?;
    notes.sort_by(|a, b| a["Message"].as_str().cmp(&b["Message"].as_str()));
    print("ReceiveMessage", json!({ "Notifications": notes }));

    subscription_and_tags(sns, &topic, sub.subscription_arn().unwrap_or_default()).await?;

    print_failure(
        "Publish",
        sns.publish()
            .topic_arn(format!("{topic}-missing"))
            .message("nobody")
            .send()
            .await,
    );
    print_failure(
        "Subscribe",
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("carrier-pigeon")
            .endpoint("coop")
            .send()
            .await,
    );

    // A FIFO topic into a FIFO queue, delivered raw.
    let feed = sns
        .create_topic()
        .name(format!("{prefix}-feed.fifo"))
        .attributes("FifoTopic", "true")
        .attributes("ContentBasedDeduplication", "true")
        .send()
        .await
        .or_fail("CreateTopic")?
        .topic_arn
        .unwrap_or_default();
    let (feed_queue, feed_queue_arn) =
        queue_for(sqs, &format!("{prefix}-feed.fifo"), true, &feed).await?;
    sns.subscribe()
        .topic_arn(&feed)
        .protocol("sqs")
        .endpoint(&feed_queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .or_fail("Subscribe")?;
    let mut fifo_published = Vec::new();
    for message in ["tick", "tock"] {
        let p = sns
            .publish()
            .topic_arn(&feed)
            .message(message)
            .message_group_id("clock")
            .message_attributes("beat", string_attribute("String", &message.to_uppercase())?)
            .send()
            .await
            .or_fail("Publish")?;
        fifo_published
            .push(json!({"MessageId": p.message_id(), "SequenceNumber": p.sequence_number()}));
    }
    print("Publish", json!({ "Fifo": fifo_published }));
    let group = Wanted {
        message_attributes: &["All"],
        system_attributes: &[
            MessageSystemAttributeName::MessageGroupId,
            MessageSystemAttributeName::AwsTraceHeader,
        ],
    };
    let ticks = drain(sqs, &feed_queue, 2, &group).await?;
    print(
        "ReceiveMessage",
        json!({"Messages": ticks.iter().map(received).collect::<Vec<_>>()}),
    );

    let mut topics = Vec::new();
    let mut pages = sns.list_topics().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.or_fail("ListTopics")?;
        topics.extend(
            page.topics()
                .iter()
                .filter_map(|t| t.topic_arn())
                .filter(|a| a.contains(&format!(":{prefix}-")))
                .map(str::to_string),
        );
    }
    topics.sort();
    print("ListTopics", json!({ "Topics": topics }));

    for url in [&inbox, &feed_queue] {
        sqs.delete_queue()
            .queue_url(url)
            .send()
            .await
            .or_fail("DeleteQueue")?;
    }
    for arn in [&topic, &feed] {
        sns.delete_topic()
            .topic_arn(arn)
            .send()
            .await
            .or_fail("DeleteTopic")?;
    }
    Ok(())
}
