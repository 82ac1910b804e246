"""SQS and SNS driven by two more real clients: the AWS SDK for JavaScript v3
(@aws-sdk/client-sqs over AWS JSON 1.0, @aws-sdk/client-sns over the query protocol; the
flow is tests/e2e/js/messaging.mjs) and the AWS SDK for Rust (aws-sdk-sqs, aws-sdk-sns and
aws-config; the flow is crates/sdk-probe). Both make the same calls against one server and
print one JSON line per call, which are compared whole with what AWS answers: queues
standard and FIFO, messages with every kind of attribute (the SDKs check the body MD5s
themselves, the attributes' MD5s are recomputed here), batches with a failing entry,
visibility, tags, paginated listings, a dead-letter queue and a move task, errors as each
SDK types them, and a topic delivering AWS's notification envelope into a queue, and a
FIFO topic into a FIFO queue raw.

Both run as inside a Lambda function (AWS_LAMBDA_FUNCTION_NAME and _X_AMZN_TRACE_ID set),
where the SDKs send every request with an `X-Amzn-Trace-Id` header: SQS keeps it as the
`AWSTraceHeader` of each message sent without its own, and a topic passes a publish's on to
the messages it delivers into queues."""

import base64
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import hearth_e2e as h
from sqs_md5 import md5_of_attributes

pytestmark = pytest.mark.sandbox_neutral

PROBE = Path(os.environ.get("HEARTH_SDK_PROBE", h.REPO / "target" / "debug" / "hearth-sdk-probe"))
JS_PACKAGES = {"@aws-sdk/client-sqs": "3.1175.0", "@aws-sdk/client-sns": "3.1169.0"}

# The function's trace (the SDKs' header), and the one message that names its own.
LAMBDA_TRACE = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"
OWN_TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="module")
def js_sdk():
    return h.npm_packages(JS_PACKAGES)


def sdk_env(tmp_path, server) -> dict:
    env = h.aws_env(tmp_path, server.endpoint)
    env.update(AWS_REGION=h.REGION, AWS_LAMBDA_FUNCTION_NAME="sdk-probe",
               _X_AMZN_TRACE_ID=LAMBDA_TRACE)
    return env


def lines_of(out: h.Run) -> list:
    return [json.loads(line) for line in out.stdout.splitlines()]


class Masks:
    """Stands in for what differs from run to run, after checking its form: ids become
    `<id1>`, `<id2>`... in order of first appearance (keys in sorted order), so that the
    same id stays the same token wherever it appears (a message sent, then received);
    FIFO sequence numbers likewise; times, signatures and task handles a fixed word."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.ids: dict = {}
        self.seqs: dict = {}

    def _id(self, m) -> str:
        return self.ids.setdefault(m.group(0), f"<id{len(self.ids) + 1}>")

    def value(self, key, v):
        if isinstance(v, dict):
            return {k: self.value(k, v[k]) for k in sorted(v)}
        if isinstance(v, list):
            return [self.value(key, x) for x in v]
        if not isinstance(v, str):
            return v
        if key == "SequenceNumber":
            assert re.fullmatch(r"\d{20}", v), v
            return self.seqs.setdefault(v, f"<seq{len(self.seqs) + 1}>")
        if key == "Timestamp":
            assert ISO_MS.match(v), v
            return "<time>"
        if key in ("CreatedTimestamp", "LastModifiedTimestamp"):
            assert v.isdigit(), v
            return "<epoch>"
        if key == "Signature":
            assert len(base64.b64decode(v, validate=True)) == 256, v
            return "<signature>"
        if key == "SigningCertURL":
            assert re.fullmatch(re.escape(self.endpoint)
                                + r"/SimpleNotificationService-[0-9a-f]+\.pem", v), v
            return "<cert>"
        if key == "TaskHandle":
            assert base64.b64decode(v, validate=True), v
            return "<handle>"
        return re.sub(UUID, self._id, v)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def attr_md5(attrs: dict) -> str:
    return md5_of_attributes({k: {**v, "BinaryValue": base64.b64decode(v["BinaryValue"])}
                              if "BinaryValue" in v else v for k, v in attrs.items()})


SENT_ATTRS = {
    "blob": {"DataType": "Binary", "BinaryValue": "AAEC/v8="},
    "count": {"DataType": "Number", "StringValue": "42"},
    "kind": {"DataType": "String.custom", "StringValue": "x"},
    "text": {"DataType": "String", "StringValue": "ünïcode ✓"},
}
BATCH_ATTRS = {"n": {"DataType": "Number.int", "StringValue": "7"}}
HELLO = "héllo from the SDK ✓"


def expected(endpoint: str, prefix: str, sdk: str) -> list:
    """Every line of the flow, as AWS answers it (the errors as each SDK types them)."""
    acct = h.ACCOUNT
    queue = f"{endpoint}/{acct}/{prefix}"
    qarn = f"arn:aws:sqs:{h.REGION}:{acct}:{prefix}"
    tarn = f"arn:aws:sns:{h.REGION}:{acct}:{prefix}"
    sub = f"{tarn}-news:<id6>"
    mine = {"ApproximateReceiveCount": "1", "SenderId": acct}

    def msg(body, mid, attrs=None, system=None):
        m = {"Body": body, "MD5OfBody": md5(body), "MessageId": mid,
             "MessageAttributes": attrs or {}, "Attributes": system or {}}
        if attrs:
            m["MD5OfMessageAttributes"] = attr_md5(attrs)
        return m

    def fifo(body, mid, seq):
        return msg(body, mid, system={
            "MessageDeduplicationId": hashlib.sha256(body.encode()).hexdigest(),
            "MessageGroupId": "g", "SequenceNumber": seq})

    def note(message, mid, subject=None, attrs=None):
        n = {"Type": "Notification", "MessageId": mid, "TopicArn": f"{tarn}-news",
             "Message": message, "Timestamp": "<time>", "SignatureVersion": "1",
             "Signature": "<signature>", "SigningCertURL": "<cert>",
             "UnsubscribeURL": f"{endpoint}/?Action=Unsubscribe&SubscriptionArn="
                               + sub.replace(":", "%3A")}
        if subject:
            n["Subject"] = subject
        if attrs:
            n["MessageAttributes"] = attrs
        return n

    def error(name, code, status, message):
        return {"error": {"name": name, "code": code, "status": status, "message": message}}

    traced = {**mine, "AWSTraceHeader": LAMBDA_TRACE}
    lines = [
        ("CreateQueue", {"QueueUrl": f"{queue}-work"}),
        ("CreateQueue", {"QueueUrl": f"{queue}-order.fifo"}),
        ("GetQueueUrl", {"QueueUrl": f"{queue}-work"}),
        # The message's own trace attribute: its MD5 is of what the client sent.
        ("SendMessage", {"MessageId": "<id1>", "MD5OfMessageBody": md5(HELLO),
                         "MD5OfMessageAttributes": attr_md5(SENT_ATTRS),
                         "MD5OfMessageSystemAttributes": attr_md5(
                             {"AWSTraceHeader": {"DataType": "String",
                                                 "StringValue": OWN_TRACE}})}),
        # The empty body fails alone; the trace from the header adds no system MD5.
        ("SendMessageBatch", {
            "Successful": [
                {"Id": "b1", "MessageId": "<id2>", "MD5OfMessageBody": md5("batch one")},
                {"Id": "b2", "MessageId": "<id3>", "MD5OfMessageBody": md5("batch two"),
                 "MD5OfMessageAttributes": attr_md5(BATCH_ATTRS)}],
            "Failed": [{"Id": "b3", "SenderFault": True, "Code": "MissingParameter",
                        "Message": "The request must contain the parameter MessageBody."}]}),
        ("ReceiveMessage", {"Messages": [
            msg("batch one", "<id2>", system=traced),
            msg("batch two", "<id3>", BATCH_ATTRS, traced),
            msg(HELLO, "<id1>", SENT_ATTRS, {**mine, "AWSTraceHeader": OWN_TRACE})]}),
        ("ChangeMessageVisibility", {}),
        ("ReceiveMessage", {"Messages": [
            msg("batch one", "<id2>", system={"ApproximateReceiveCount": "2"})]}),
        ("DeleteMessageBatch", {
            "Successful": ["d0", "d1", "d2"],
            "Failed": [{"Id": "bogus", "SenderFault": True, "Code": "ReceiptHandleIsInvalid",
                        "Message": 'The input receipt handle "not-a-handle" is not a valid '
                                   'receipt handle.'}]}),
        ("GetQueueAttributes", {"Attributes": {
            "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesDelayed": "0",
            "ApproximateNumberOfMessagesNotVisible": "0", "CreatedTimestamp": "<epoch>",
            "DelaySeconds": "0", "LastModifiedTimestamp": "<epoch>",
            "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "3600",
            "QueueArn": f"{qarn}-work", "ReceiveMessageWaitTimeSeconds": "0",
            "SqsManagedSseEnabled": "true", "VisibilityTimeout": "30"}}),
        ("ListQueueTags", {"Tags": {"suite": "sdk", "team": "queues"}}),
        ("ListQueues", {"Pages": [[f"{queue}-order.fifo"], [f"{queue}-work"]]}),
        # Content-based deduplication: the repeated body answers the first one's id.
        ("SendMessage", {"Fifo": [{"MessageId": "<id4>", "SequenceNumber": "<seq1>"},
                                  {"MessageId": "<id5>", "SequenceNumber": "<seq2>"},
                                  {"MessageId": "<id4>", "SequenceNumber": "<seq1>"}]}),
        ("ReceiveMessage", {"Messages": [fifo("first", "<id4>", "<seq1>"),
                                         fifo("second", "<id5>", "<seq2>")]}),
        ("ChangeMessageVisibilityBatch", {"Successful": ["c0", "c1"], "Failed": []}),
        ("PurgeQueue", {}),
        ("ListDeadLetterSourceQueues", {"queueUrls": [f"{queue}-work"]}),
        ("StartMessageMoveTask", {"TaskHandle": "<handle>"}),
        ("ListMessageMoveTasks", {"Moved": ["back again"], "Results": [{
            "ApproximateNumberOfMessagesMoved": 1, "ApproximateNumberOfMessagesToMove": 1,
            "DestinationArn": f"{qarn}-work", "SourceArn": f"{qarn}-dead",
            "StartedTimestamp": "number", "Status": "COMPLETED"}]}),
        ("GetQueueUrl", error("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
                              400, "The specified queue does not exist.")),
        # A code the model has no type for: the JavaScript SDK names the error by it, the
        # Rust SDK's is `Unhandled`.
        ("SendMessage", error("InvalidParameterValue" if sdk == "js" else "Unhandled",
                              "InvalidParameterValue", 400,
                              "Value 901 for parameter DelaySeconds is invalid. Reason: "
                              "DelaySeconds must be >= 0 and <= 900.")),
        ("CreateTopic", {"TopicArn": f"{tarn}-news"}),
        ("SetQueueAttributes", {}),
        ("Subscribe", {"SubscriptionArn": sub}),
        ("Publish", {"MessageId": "<id7>"}),
        ("PublishBatch", {"Successful": [{"Id": "p1", "MessageId": "<id8>"},
                                         {"Id": "p2", "MessageId": "<id9>"}], "Failed": []}),
        ("ListSubscriptionsByTopic", {"Subscriptions": [{
            "SubscriptionArn": sub, "Owner": acct, "Protocol": "sqs",
            "Endpoint": f"{qarn}-inbox", "TopicArn": f"{tarn}-news"}]}),
        ("GetTopicAttributes", {"Attributes": {
            "DisplayName": "The News", "Owner": acct, "SubscriptionsConfirmed": "1",
            "TopicArn": f"{tarn}-news"}}),
        ("ReceiveMessage", {"Notifications": [
            note("batch news one", "<id8>"),
            note("batch news two", "<id9>",
                 attrs={"kind": {"Type": "String", "Value": "digest"}}),
            note("news ✓", "<id7>", "Headline", {
                "kind": {"Type": "String", "Value": "alert"},
                "level": {"Type": "Number", "Value": "3"},
                "raw": {"Type": "Binary", "Value": "AQID"},
                "tags": {"Type": "String.Array", "Value": '["a","b"]'}})]}),
        ("GetSubscriptionAttributes", {"Attributes": {
            "Endpoint": f"{qarn}-inbox", "FilterPolicy": '{"kind":["alert"]}',
            "FilterPolicyScope": "MessageAttributes", "PendingConfirmation": "false",
            "Protocol": "sqs", "RawMessageDelivery": "false"}}),
        ("ListTagsForResource", {"Tags": [{"Key": "suite", "Value": "sdk"},
                                          {"Key": "team", "Value": "topics"}]}),
        ("Unsubscribe", {"Subscriptions": 0}),
        ("Publish", error("NotFoundException", "NotFound", 404, "Topic does not exist")),
        ("Subscribe", error("InvalidParameterException", "InvalidParameter", 400,
                            "Invalid parameter: Amazon SNS does not support this protocol "
                            "string: carrier-pigeon")),
        ("Publish", {"Fifo": [{"MessageId": "<id10>", "SequenceNumber": "<seq3>"},
                              {"MessageId": "<id11>", "SequenceNumber": "<seq4>"}]}),
        # Raw delivery: the message's attributes become the queue message's; the
        # publisher's trace header passes through (TracingConfig PassThrough).
        ("ReceiveMessage", {"Messages": [
            msg(body, mid, {"beat": {"DataType": "String", "StringValue": body.upper()}},
                {"MessageGroupId": "clock", "AWSTraceHeader": LAMBDA_TRACE})
            for body, mid in (("tick", "<id12>"), ("tock", "<id13>"))]}),
        ("ListTopics", {"Topics": [f"{tarn}-feed.fifo", f"{tarn}-news"]}),
        ("Done", {}),
    ]
    return [{"op": op, **fields} for op, fields in lines]


def check(server, lines: list, prefix: str, sdk: str):
    masks = Masks(server.endpoint)
    got = [masks.value(None, line) for line in lines]
    want = expected(server.endpoint, prefix, sdk)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"line {i + 1} ({w['op']})"
    assert len(got) == len(want), [g["op"] for g in got]


def test_the_js_sdk_v3(server, js_sdk, tmp_path):
    prefix = h.unique_name("js")
    out = h.run(["node", h.js_script("messaging.mjs"), server.endpoint, prefix],
                env=sdk_env(tmp_path, server), timeout=300)
    check(server, lines_of(out), prefix, "js")


def test_the_rust_sdk(server, tmp_path):
    assert PROBE.exists(), f"{PROBE} is built by `cargo build` (crates/sdk-probe)"
    prefix = h.unique_name("rs")
    out = h.run([PROBE, "--endpoint-url", server.endpoint, "--prefix", prefix],
                env=sdk_env(tmp_path, server), timeout=300)
    check(server, lines_of(out), prefix, "rust")
