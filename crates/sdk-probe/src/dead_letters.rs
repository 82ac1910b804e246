//! The dead-letter part of the SQS flow: a queue's `RedrivePolicy`, its source listed
//! (`ListDeadLetterSourceQueues`), and a message moved back by a move task
//! (`StartMessageMoveTask`, `ListMessageMoveTasks`).

use aws_sdk_sqs::types::{Message, QueueAttributeName};
use aws_sdk_sqs::Client;
use serde_json::{json, Map, Value};

use crate::errors::OrFail;
use crate::print;
use crate::receive::{receive_all, Wanted};
use crate::sqs::queue_arn;

/// A dead-letter queue for `work`: its source listed, and a move task from it back to
/// `work`. Answers the dead-letter queue's URL.
pub(crate) async fn dead_letters(
    sqs: &Client,
    prefix: &str,
    work: &str,
    work_arn: &str,
) -> anyhow::Result<String> {
    let dead = sqs
        .create_queue()
        .queue_name(format!("{prefix}-dead"))
        .send()
        .await
        .or_fail("CreateQueue")?
        .queue_url
        .unwrap_or_default();
    let dead_arn = queue_arn(sqs, &dead).await?;
    let redrive = json!({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 3});
    sqs.set_queue_attributes()
        .queue_url(work)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .or_fail("SetQueueAttributes")?;
    let sources = sqs
        .list_dead_letter_source_queues()
        .queue_url(&dead)
        .send()
        .await
        .or_fail("ListDeadLetterSourceQueues")?;
    print(
        "ListDeadLetterSourceQueues",
        json!({ "queueUrls": sources.queue_urls() }),
    );
    sqs.send_message()
        .queue_url(&dead)
        .message_body("back again")
        .send()
        .await
        .or_fail("SendMessage")?;
    let task = sqs
        .start_message_move_task()
        .source_arn(&dead_arn)
        .destination_arn(work_arn)
        .send()
        .await
        .or_fail("StartMessageMoveTask")?;
    print(
        "StartMessageMoveTask",
        json!({ "TaskHandle": task.task_handle() }),
    );
    let moved = receive_all(sqs, work, 1, &Wanted::default()).await?;
    let mut results = Vec::new();
    for _ in 0..50 {
        let tasks = sqs
            .list_message_move_tasks()
            .source_arn(&dead_arn)
            .send()
            .await
            .or_fail("ListMessageMoveTasks")?;
        results = tasks.results.unwrap_or_default();
        if results.first().and_then(|t| t.status()) != Some("RUNNING") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let results: Vec<Value> = results
        .iter()
        .map(|t| {
            let mut o = Map::new();
            let mut put = |k: &str, v: Value| {
                if !v.is_null() {
                    o.insert(k.into(), v);
                }
            };
            put(
                "ApproximateNumberOfMessagesMoved",
                json!(t.approximate_number_of_messages_moved()),
            );
            put(
                "ApproximateNumberOfMessagesToMove",
                json!(t.approximate_number_of_messages_to_move()),
            );
            put("DestinationArn", json!(t.destination_arn()));
            put("FailureReason", json!(t.failure_reason()));
            put(
                "MaxNumberOfMessagesPerSecond",
                json!(t.max_number_of_messages_per_second()),
            );
            put("SourceArn", json!(t.source_arn()));
            put(
                "StartedTimestamp",
                json!(if t.started_timestamp() > 0 {
                    "number"
                } else {
                    "none"
                }),
            );
            put("Status", json!(t.status()));
            put("TaskHandle", json!(t.task_handle()));
            Value::Object(o)
        })
        .collect();
    print(
        "ListMessageMoveTasks",
        json!({"Moved": moved.iter().map(Message::body).collect::<Vec<_>>(), "Results": results}),
    );
    Ok(dead)
}
