"""Asynchronous invocation records and dead letters reach Hearth's own SQS queues and SNS
topics (issue 16, part 4): a failed event goes to the function's dead-letter queue (its
payload unchanged, with Lambda's RequestID/ErrorCode/ErrorMessage attributes) and to its
OnFailure queue (the destination record); a successful one is published to its OnSuccess
topic, which delivers it to a subscribed queue."""

import json

import hearth_e2e as h


def receive_one(sqs, url, timeout=30):
    got = []

    def arrived():
        out = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=1,
                                  MessageAttributeNames=["All"])
        got.extend(out.get("Messages", []))
        return bool(got)

    assert h.wait_until(arrived, timeout=timeout), f"nothing arrived on {url}"
    return got[0]


def test_records_and_dead_letters_are_delivered(server, client):
    h.allow_role(server.endpoint, ["lambda:InvokeFunction", "sqs:SendMessage", "sns:Publish"])
    sqs = h.service_client(server.endpoint, "sqs")
    sns = h.service_client(server.endpoint, "sns")
    name = h.unique_name("dest")
    urls = {q: sqs.create_queue(QueueName=f"{name}-{q}")["QueueUrl"]
            for q in ("dlq", "failures", "successes")}
    arns = {q: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"] for q, u in urls.items()}
    topic = sns.create_topic(Name=f"{name}-ok")["TopicArn"]
    # The topic may send to the queue, as SNS-to-SQS subscriptions need on AWS.
    sqs.set_queue_attributes(QueueUrl=urls["successes"], Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arns["successes"],
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arns["successes"],
                  Attributes={"RawMessageDelivery": "true"})

    h.create_function(client, name, DeadLetterConfig={"TargetArn": arns["dlq"]})
    client.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arns["failures"]},
                           "OnSuccess": {"Destination": topic}})

    failing = {"action": "raise", "message": "no good"}
    out = client.invoke(FunctionName=name, InvocationType="Event",
                        Payload=json.dumps(failing).encode())
    request_id = out["ResponseMetadata"]["RequestId"]

    letter = receive_one(sqs, urls["dlq"])
    assert json.loads(letter["Body"]) == failing
    attrs = {k: (v["DataType"], v["StringValue"]) for k, v in letter["MessageAttributes"].items()}
    assert attrs == {"RequestID": ("String", request_id), "ErrorCode": ("Number", "200"),
                     "ErrorMessage": ("String", "no good")}

    record = json.loads(receive_one(sqs, urls["failures"])["Body"])
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["functionArn"] == h.function_arn(name, "$LATEST")
    assert record["requestPayload"] == failing
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "no good"

    client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"ok": 1}')
    record = json.loads(receive_one(sqs, urls["successes"])["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"] == {"ok": 1}
    assert record["responseContext"]["statusCode"] == 200
