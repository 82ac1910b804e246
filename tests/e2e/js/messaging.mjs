// Drives Hearth's SQS and SNS with the AWS SDK for JavaScript v3 (@aws-sdk/client-sqs,
// which speaks AWS JSON 1.0, and @aws-sdk/client-sns, the query protocol), through the
// flow of test_sdk_messaging.py, and prints one JSON line per call for the test to compare
// whole. crates/sdk-probe does the same flow with the AWS SDK for Rust, line for line.
//
//   node messaging.mjs ENDPOINT PREFIX    (credentials and region from AWS_* variables)
//
// The SDK checks what it can itself (the MD5 of every message body sent and received);
// the test checks the rest (the attributes' MD5s, the envelopes).

import {
  SQSClient, CreateQueueCommand, GetQueueUrlCommand, SendMessageCommand,
  SendMessageBatchCommand, ReceiveMessageCommand, ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand, GetQueueAttributesCommand, SetQueueAttributesCommand,
  DeleteQueueCommand, DeleteMessageCommand, TagQueueCommand, UntagQueueCommand, ListQueueTagsCommand,
  ChangeMessageVisibilityBatchCommand, PurgeQueueCommand, ListDeadLetterSourceQueuesCommand,
  StartMessageMoveTaskCommand, ListMessageMoveTasksCommand, paginateListQueues,
} from "@aws-sdk/client-sqs";
import {
  SNSClient, CreateTopicCommand, SubscribeCommand, PublishCommand, PublishBatchCommand,
  ListSubscriptionsByTopicCommand, GetTopicAttributesCommand, SetTopicAttributesCommand,
  DeleteTopicCommand, GetSubscriptionAttributesCommand, SetSubscriptionAttributesCommand,
  UnsubscribeCommand, TagResourceCommand, UntagResourceCommand, ListTagsForResourceCommand,
  paginateListTopics,
} from "@aws-sdk/client-sns";

const [endpoint, prefix] = process.argv.slice(2);
const config = { endpoint, region: process.env.AWS_REGION, maxAttempts: 1 };
const sqs = new SQSClient(config);
const sns = new SNSClient(config);

const print = (op, fields) => console.log(JSON.stringify({ op, ...fields }));
const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const sorted = (o) => Object.fromEntries(Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));

// The SDK's view of an error: its class name, the code and fault it read, the HTTP status.
async function failure(op, call) {
  try {
    await call();
    print(op, { error: null });
  } catch (e) {
    print(op, {
      error: {
        name: e.name,
        code: e.Code ?? e.Error?.Code ?? null,
        status: e.$metadata?.httpStatusCode,
        message: e.message,
      },
    });
  }
}

function messageAttributes(attrs) {
  return sorted(Object.fromEntries(Object.entries(attrs ?? {}).map(([k, v]) => [k, {
    DataType: v.DataType,
    ...(v.StringValue !== undefined ? { StringValue: v.StringValue } : {}),
    ...(v.BinaryValue !== undefined ? { BinaryValue: b64(v.BinaryValue) } : {}),
  }])));
}

function received(m) {
  return {
    Body: m.Body,
    MD5OfBody: m.MD5OfBody,
    MessageId: m.MessageId,
    ...(m.MD5OfMessageAttributes ? { MD5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    MessageAttributes: messageAttributes(m.MessageAttributes),
    Attributes: sorted(m.Attributes),
  };
}

// Receives until `n` messages came (each once), long-polling a second at a time.
async function receiveAll(QueueUrl, n, extra = {}) {
  const got = [];
  for (let i = 0; i < 20 && got.length < n; i++) {
    const out = await sqs.send(new ReceiveMessageCommand({
      QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, ...extra,
    }));
    got.push(...(out.Messages ?? []));
  }
  return got;
}

// Receives and deletes until `n` messages came: a FIFO queue hands out the next of a group
// only once the one before is gone.
async function drain(QueueUrl, n, extra = {}) {
  const got = [];
  for (let i = 0; i < 20 && got.length < n; i++) {
    const batch = await receiveAll(QueueUrl, 1, extra);
    for (const m of batch) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
    got.push(...batch);
  }
  return got;
}

const byBody = (a, b) => (a.Body < b.Body ? -1 : 1);
const TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";

// --- SQS -------------------------------------------------------------------------------

const work = (await sqs.send(new CreateQueueCommand({
  QueueName: `${prefix}-work`,
  Attributes: { VisibilityTimeout: "30", MessageRetentionPeriod: "3600" },
  tags: { suite: "sdk" },
}))).QueueUrl;
print("CreateQueue", { QueueUrl: work });

const order = (await sqs.send(new CreateQueueCommand({
  QueueName: `${prefix}-order.fifo`,
  Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" },
}))).QueueUrl;
print("CreateQueue", { QueueUrl: order });

print("GetQueueUrl", (({ QueueUrl }) => ({ QueueUrl }))(
  await sqs.send(new GetQueueUrlCommand({ QueueName: `${prefix}-work` }))));

const sent = await sqs.send(new SendMessageCommand({
  QueueUrl: work,
  MessageBody: "héllo from the SDK ✓",
  MessageAttributes: {
    text: { DataType: "String", StringValue: "ünïcode ✓" },
    count: { DataType: "Number", StringValue: "42" },
    blob: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 254, 255]) },
    kind: { DataType: "String.custom", StringValue: "x" },
  },
  MessageSystemAttributes: {
    AWSTraceHeader: { DataType: "String", StringValue: TRACE },
  },
}));
print("SendMessage", {
  MessageId: sent.MessageId,
  MD5OfMessageBody: sent.MD5OfMessageBody,
  MD5OfMessageAttributes: sent.MD5OfMessageAttributes,
  MD5OfMessageSystemAttributes: sent.MD5OfMessageSystemAttributes,
});

const batch = await sqs.send(new SendMessageBatchCommand({
  QueueUrl: work,
  Entries: [
    { Id: "b1", MessageBody: "batch one" },
    {
      Id: "b2", MessageBody: "batch two", DelaySeconds: 0,
      MessageAttributes: { n: { DataType: "Number.int", StringValue: "7" } },
    },
    { Id: "b3", MessageBody: "" },
  ],
}));
print("SendMessageBatch", {
  Successful: (batch.Successful ?? []).sort((a, b) => (a.Id < b.Id ? -1 : 1)).map((s) => ({
    Id: s.Id,
    MessageId: s.MessageId,
    MD5OfMessageBody: s.MD5OfMessageBody,
    ...(s.MD5OfMessageAttributes ? { MD5OfMessageAttributes: s.MD5OfMessageAttributes } : {}),
  })),
  Failed: batch.Failed ?? [],
});

const system = ["SenderId", "ApproximateReceiveCount", "AWSTraceHeader"];
let msgs = (await receiveAll(work, 3, {
  MessageAttributeNames: ["All"], MessageSystemAttributeNames: system,
})).sort(byBody);
print("ReceiveMessage", { Messages: msgs.map(received) });

// The first back in the queue at once, received a second time.
await sqs.send(new ChangeMessageVisibilityCommand({
  QueueUrl: work, ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 0,
}));
print("ChangeMessageVisibility", {});
const again = await receiveAll(work, 1, { MessageSystemAttributeNames: ["ApproximateReceiveCount"] });
print("ReceiveMessage", { Messages: again.map(received) });

const handles = new Map(msgs.map((m) => [m.MessageId, m.ReceiptHandle]));
for (const m of again) handles.set(m.MessageId, m.ReceiptHandle);
const deleted = await sqs.send(new DeleteMessageBatchCommand({
  QueueUrl: work,
  Entries: [...handles.values()].map((ReceiptHandle, i) => ({ Id: `d${i}`, ReceiptHandle }))
    .concat([{ Id: "bogus", ReceiptHandle: "not-a-handle" }]),
}));
print("DeleteMessageBatch", {
  Successful: (deleted.Successful ?? []).map((s) => s.Id).sort(),
  Failed: deleted.Failed ?? [],
});

const attrs = await sqs.send(new GetQueueAttributesCommand({
  QueueUrl: work, AttributeNames: ["All"],
}));
print("GetQueueAttributes", { Attributes: sorted(attrs.Attributes) });

await sqs.send(new TagQueueCommand({ QueueUrl: work, Tags: { team: "queues", gone: "soon" } }));
await sqs.send(new UntagQueueCommand({ QueueUrl: work, TagKeys: ["gone"] }));
print("ListQueueTags", {
  Tags: sorted((await sqs.send(new ListQueueTagsCommand({ QueueUrl: work }))).Tags),
});

// One queue a page, through the SDK's paginator.
const pages = [];
for await (const page of paginateListQueues({ client: sqs, pageSize: 1 }, { QueueNamePrefix: prefix })) {
  pages.push(page.QueueUrls ?? []);
}
print("ListQueues", { Pages: pages });

// FIFO: one group in order, a duplicate body deduplicated by its content.
const fifoSent = [];
for (const body of ["first", "second", "first"]) {
  const s = await sqs.send(new SendMessageCommand({
    QueueUrl: order, MessageBody: body, MessageGroupId: "g",
  }));
  fifoSent.push({ MessageId: s.MessageId, SequenceNumber: s.SequenceNumber });
}
print("SendMessage", { Fifo: fifoSent });
const fifoGot = await receiveAll(order, 2, {
  MessageSystemAttributeNames: ["MessageGroupId", "SequenceNumber", "MessageDeduplicationId"],
});
print("ReceiveMessage", { Messages: fifoGot.map(received) });
const changed = await sqs.send(new ChangeMessageVisibilityBatchCommand({
  QueueUrl: order,
  Entries: fifoGot.map((m, i) => ({ Id: `c${i}`, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 60 })),
}));
print("ChangeMessageVisibilityBatch", {
  Successful: (changed.Successful ?? []).map((s) => s.Id).sort(), Failed: changed.Failed ?? [],
});
await sqs.send(new PurgeQueueCommand({ QueueUrl: order }));
print("PurgeQueue", {});

// A dead-letter queue: its source listed, and a move task back.
const dead = (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-dead` }))).QueueUrl;
const deadArn = (await sqs.send(new GetQueueAttributesCommand({
  QueueUrl: dead, AttributeNames: ["QueueArn"],
}))).Attributes.QueueArn;
await sqs.send(new SetQueueAttributesCommand({
  QueueUrl: work,
  Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadArn, maxReceiveCount: 3 }) },
}));
print("ListDeadLetterSourceQueues", (({ queueUrls }) => ({ queueUrls }))(
  await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dead }))));
await sqs.send(new SendMessageCommand({ QueueUrl: dead, MessageBody: "back again" }));
const task = await sqs.send(new StartMessageMoveTaskCommand({
  SourceArn: deadArn, DestinationArn: attrs.Attributes.QueueArn,
}));
print("StartMessageMoveTask", { TaskHandle: task.TaskHandle });
const moved = await receiveAll(work, 1);
let tasks;
for (let i = 0; i < 50; i++) {
  tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: deadArn }));
  if (tasks.Results[0]?.Status !== "RUNNING") break;
  await new Promise((r) => setTimeout(r, 100));
}
print("ListMessageMoveTasks", {
  Moved: moved.map((m) => m.Body),
  Results: tasks.Results.map((t) => sorted({
    ...t, StartedTimestamp: typeof t.StartedTimestamp,
  })),
});

await failure("GetQueueUrl", () => sqs.send(new GetQueueUrlCommand({ QueueName: `${prefix}-missing` })));
await failure("SendMessage", () => sqs.send(new SendMessageCommand({
  QueueUrl: work, MessageBody: "x", DelaySeconds: 901,
})));

// --- SNS -------------------------------------------------------------------------------

const topic = (await sns.send(new CreateTopicCommand({
  Name: `${prefix}-news`, Tags: [{ Key: "suite", Value: "sdk" }],
}))).TopicArn;
print("CreateTopic", { TopicArn: topic });

const inbox = (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-inbox` }))).QueueUrl;
const inboxArn = (await sqs.send(new GetQueueAttributesCommand({
  QueueUrl: inbox, AttributeNames: ["QueueArn"],
}))).Attributes.QueueArn;
const allowTopic = (queueArn, topicArn) => JSON.stringify({
  Version: "2012-10-17",
  Statement: [{
    Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage",
    Resource: queueArn, Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
  }],
});
await sqs.send(new SetQueueAttributesCommand({
  QueueUrl: inbox, Attributes: { Policy: allowTopic(inboxArn, topic) },
}));
print("SetQueueAttributes", {});

const sub = await sns.send(new SubscribeCommand({
  TopicArn: topic, Protocol: "sqs", Endpoint: inboxArn, ReturnSubscriptionArn: true,
}));
print("Subscribe", { SubscriptionArn: sub.SubscriptionArn });

const published = await sns.send(new PublishCommand({
  TopicArn: topic, Subject: "Headline", Message: "news ✓",
  MessageAttributes: {
    kind: { DataType: "String", StringValue: "alert" },
    level: { DataType: "Number", StringValue: "3" },
    raw: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 3]) },
    tags: { DataType: "String.Array", StringValue: '["a","b"]' },
  },
}));
print("Publish", { MessageId: published.MessageId });

const pb = await sns.send(new PublishBatchCommand({
  TopicArn: topic,
  PublishBatchRequestEntries: [
    { Id: "p1", Message: "batch news one" },
    {
      Id: "p2", Message: "batch news two",
      MessageAttributes: { kind: { DataType: "String", StringValue: "digest" } },
    },
  ],
}));
print("PublishBatch", {
  Successful: (pb.Successful ?? []).sort((a, b) => (a.Id < b.Id ? -1 : 1))
    .map((s) => ({ Id: s.Id, MessageId: s.MessageId })),
  Failed: pb.Failed ?? [],
});

const subs = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic }));
print("ListSubscriptionsByTopic", {
  Subscriptions: subs.Subscriptions.map((s) => ({
    SubscriptionArn: s.SubscriptionArn, Owner: s.Owner, Protocol: s.Protocol,
    Endpoint: s.Endpoint, TopicArn: s.TopicArn,
  })),
});

await sns.send(new SetTopicAttributesCommand({
  TopicArn: topic, AttributeName: "DisplayName", AttributeValue: "The News",
}));
const topicAttrs = await sns.send(new GetTopicAttributesCommand({ TopicArn: topic }));
print("GetTopicAttributes", {
  Attributes: sorted(Object.fromEntries(Object.entries(topicAttrs.Attributes)
    .filter(([k]) => ["TopicArn", "Owner", "SubscriptionsConfirmed", "DisplayName"].includes(k)))),
});

const notes = (await receiveAll(inbox, 3)).sort(byBody);
print("ReceiveMessage", {
  Notifications: notes.map((m) => JSON.parse(m.Body)).sort((a, b) => (a.Message < b.Message ? -1 : 1)),
});

await sns.send(new SetSubscriptionAttributesCommand({
  SubscriptionArn: sub.SubscriptionArn, AttributeName: "FilterPolicy",
  AttributeValue: JSON.stringify({ kind: ["alert"] }),
}));
const subAttrs = await sns.send(new GetSubscriptionAttributesCommand({
  SubscriptionArn: sub.SubscriptionArn,
}));
print("GetSubscriptionAttributes", {
  Attributes: sorted(Object.fromEntries(Object.entries(subAttrs.Attributes)
    .filter(([k]) => ["FilterPolicy", "FilterPolicyScope", "Protocol", "RawMessageDelivery",
      "PendingConfirmation", "Endpoint"].includes(k)))),
});

await sns.send(new TagResourceCommand({
  ResourceArn: topic, Tags: [{ Key: "team", Value: "topics" }, { Key: "gone", Value: "soon" }],
}));
await sns.send(new UntagResourceCommand({ ResourceArn: topic, TagKeys: ["gone"] }));
print("ListTagsForResource", {
  Tags: (await sns.send(new ListTagsForResourceCommand({ ResourceArn: topic }))).Tags
    .sort((a, b) => (a.Key < b.Key ? -1 : 1)),
});

await sns.send(new UnsubscribeCommand({ SubscriptionArn: sub.SubscriptionArn }));
print("Unsubscribe", {
  Subscriptions: ((await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic })))
    .Subscriptions ?? []).length,
});

await failure("Publish", () => sns.send(new PublishCommand({
  TopicArn: `${topic}-missing`, Message: "nobody",
})));
await failure("Subscribe", () => sns.send(new SubscribeCommand({
  TopicArn: topic, Protocol: "carrier-pigeon", Endpoint: "coop",
})));

// A FIFO topic into a FIFO queue.
const feed = (await sns.send(new CreateTopicCommand({
  Name: `${prefix}-feed.fifo`,
  Attributes: { FifoTopic: "true", ContentBasedDeduplication: "true" },
}))).TopicArn;
const feedQueue = (await sqs.send(new CreateQueueCommand({
  QueueName: `${prefix}-feed.fifo`, Attributes: { FifoQueue: "true" },
}))).QueueUrl;
const feedQueueArn = (await sqs.send(new GetQueueAttributesCommand({
  QueueUrl: feedQueue, AttributeNames: ["QueueArn"],
}))).Attributes.QueueArn;
await sqs.send(new SetQueueAttributesCommand({
  QueueUrl: feedQueue, Attributes: { Policy: allowTopic(feedQueueArn, feed) },
}));
await sns.send(new SubscribeCommand({
  TopicArn: feed, Protocol: "sqs", Endpoint: feedQueueArn,
  Attributes: { RawMessageDelivery: "true" },
}));
const fifoPublished = [];
for (const Message of ["tick", "tock"]) {
  const p = await sns.send(new PublishCommand({
    TopicArn: feed, Message, MessageGroupId: "clock",
    MessageAttributes: { beat: { DataType: "String", StringValue: Message.toUpperCase() } },
  }));
  fifoPublished.push({ MessageId: p.MessageId, SequenceNumber: p.SequenceNumber });
}
print("Publish", { Fifo: fifoPublished });
const ticks = await drain(feedQueue, 2, {
  MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["MessageGroupId", "AWSTraceHeader"],
});
print("ReceiveMessage", { Messages: ticks.map(received) });

const topics = [];
for await (const page of paginateListTopics({ client: sns }, {})) {
  topics.push(...(page.Topics ?? []).map((t) => t.TopicArn).filter((a) => a.includes(`:${prefix}-`)));
}
print("ListTopics", { Topics: topics.sort() });

for (const url of [work, order, dead, inbox, feedQueue]) {
  await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
}
for (const arn of [topic, feed]) {
  await sns.send(new DeleteTopicCommand({ TopicArn: arn }));
}
print("Done", {});
