// Drives Hearth's EventBridge and EventBridge Scheduler with the AWS SDK for JavaScript v3
// (@aws-sdk/client-eventbridge, which speaks AWS JSON 1.1, and @aws-sdk/client-scheduler,
// REST-JSON), through the flow of test_sdk_events.py, and prints one JSON line per call for
// the test to compare whole. The test makes the queues and reads what arrives in them, so
// the flow comes in three steps, each its own run:
//
//   node events.mjs ENDPOINT PREFIX events QUEUE_ARN     a bus, a rule to the queue, events
//   node events.mjs ENDPOINT PREFIX schedule QUEUE_ARN   a group, a schedule to the queue
//   node events.mjs ENDPOINT PREFIX teardown             everything deleted, then missing
//
// (credentials and region from AWS_* variables). Timestamps print as the SDK parsed them:
// a Date becomes its ISO string, so a field the SDK failed to parse as one shows.

import {
  EventBridgeClient, CreateEventBusCommand, PutRuleCommand, PutTargetsCommand,
  ListTargetsByRuleCommand, PutEventsCommand, TestEventPatternCommand, RemoveTargetsCommand,
  DeleteRuleCommand, DeleteEventBusCommand,
} from "@aws-sdk/client-eventbridge";
import {
  SchedulerClient, CreateScheduleGroupCommand, CreateScheduleCommand, GetScheduleCommand,
  ListSchedulesCommand, DeleteScheduleCommand, DeleteScheduleGroupCommand,
} from "@aws-sdk/client-scheduler";

const [endpoint, prefix, step, queueArn] = process.argv.slice(2);
const config = { endpoint, region: process.env.AWS_REGION, maxAttempts: 1 };
const events = new EventBridgeClient(config);
const scheduler = new SchedulerClient(config);

// What the SDK handed back, minus its $metadata (the request id differs run to run; the
// status is printed where it says something).
const body = ({ $metadata, ...rest }) => rest;
const print = (op, fields) => console.log(JSON.stringify({ op, ...fields }));

// The SDK's view of an error: its class name, fault and HTTP status, and message (the SDK
// folds the body's `Message` member into `message` and drops it, so only that one shows).
async function failure(op, call) {
  try {
    await call();
    print(op, { error: null });
  } catch (e) {
    print(op, {
      error: {
        name: e.name,
        fault: e.$fault,
        status: e.$metadata?.httpStatusCode,
        message: e.message,
      },
    });
  }
}

const bus = `${prefix}-bus`;
const rule = `${prefix}-orders`;
const group = `${prefix}-group`;
const schedule = `${prefix}-tick`;
const PATTERN = { source: ["shop"], "detail-type": ["Order Placed"], detail: { total: [{ numeric: [">", 100] }] } };

if (step === "events") {
  print("CreateEventBus", body(await events.send(new CreateEventBusCommand({ Name: bus }))));
  print("PutRule", body(await events.send(new PutRuleCommand({
    Name: rule, EventBusName: bus, EventPattern: JSON.stringify(PATTERN),
    Description: "big orders",
  }))));
  print("PutTargets", body(await events.send(new PutTargetsCommand({
    Rule: rule, EventBusName: bus, Targets: [{ Id: "queue", Arn: queueArn }],
  }))));
  print("ListTargetsByRule", body(await events.send(new ListTargetsByRuleCommand({
    Rule: rule, EventBusName: bus,
  }))));
  // One event the rule matches, one it does not, and one whose detail is no JSON object.
  print("PutEvents", body(await events.send(new PutEventsCommand({
    Entries: [
      {
        EventBusName: bus, Source: "shop", DetailType: "Order Placed",
        Resources: ["arn:aws:shop:::order/1"], Detail: JSON.stringify({ total: 150, items: ["a", "ü"] }),
      },
      { EventBusName: bus, Source: "shop", DetailType: "Order Placed", Detail: JSON.stringify({ total: 5 }) },
      { EventBusName: bus, Source: "shop", DetailType: "Order Placed", Detail: "{not json" },
    ],
  }))));
  const event = (total) => JSON.stringify({
    version: "0", id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "Order Placed",
    source: "shop", account: "000000000000", time: "2026-01-01T00:00:00Z", region: "us-east-1",
    resources: [], detail: { total },
  });
  for (const total of [101, 100]) {
    print("TestEventPattern", body(await events.send(new TestEventPatternCommand({
      EventPattern: JSON.stringify(PATTERN), Event: event(total),
    }))));
  }
} else if (step === "schedule") {
  print("CreateScheduleGroup", body(await scheduler.send(new CreateScheduleGroupCommand({
    Name: group, Tags: [{ Key: "suite", Value: "sdk" }],
  }))));
  const sent = {
    Name: schedule, GroupName: group, ScheduleExpression: "rate(1 minute)",
    Description: "every minute", FlexibleTimeWindow: { Mode: "OFF" },
    Target: {
      Arn: queueArn, RoleArn: "arn:aws:iam::000000000000:role/hearth-scheduler",
      Input: JSON.stringify({ hello: "from the scheduler ✓" }),
    },
  };
  print("CreateSchedule", body(await scheduler.send(new CreateScheduleCommand(sent))));
  print("GetSchedule", {
    Sent: sent,
    Got: body(await scheduler.send(new GetScheduleCommand({ Name: schedule, GroupName: group }))),
  });
  print("ListSchedules", body(await scheduler.send(new ListSchedulesCommand({ GroupName: group }))));
} else if (step === "teardown") {
  const deleted = await scheduler.send(new DeleteScheduleCommand({ Name: schedule, GroupName: group }));
  print("DeleteSchedule", { status: deleted.$metadata.httpStatusCode, ...body(deleted) });
  await failure("GetSchedule", () => scheduler.send(new GetScheduleCommand({ Name: schedule, GroupName: group })));
  await scheduler.send(new DeleteScheduleGroupCommand({ Name: group }));
  print("DeleteScheduleGroup", {});
  print("RemoveTargets", body(await events.send(new RemoveTargetsCommand({
    Rule: rule, EventBusName: bus, Ids: ["queue"],
  }))));
  await events.send(new DeleteRuleCommand({ Name: rule, EventBusName: bus }));
  await events.send(new DeleteEventBusCommand({ Name: bus }));
  print("DeleteRule", {});
  await failure("PutRule", () => events.send(new PutRuleCommand({
    Name: rule, EventBusName: bus, EventPattern: JSON.stringify(PATTERN),
  })));
} else {
  throw new Error(`unknown step ${step}`);
}
print("Done", {});
