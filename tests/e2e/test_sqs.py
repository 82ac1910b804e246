"""SQS on Hearth's endpoint, driven by boto3 (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.*`) and
the AWS CLI: every operation, errors compared whole with what AWS answers, long polling
that wakes as soon as a message arrives, visibility timeouts and receipt handles,
redrive to a dead-letter queue and back (message move tasks), FIFO order and
deduplication, and the batch rules. The checksums AWS answers (MD5OfMessageBody,
MD5OfMessageAttributes) are recomputed here as AWS documents them."""

import hashlib
import json
import threading
import time

import boto3
import pytest
from botocore.config import Config

import hearth_e2e as h
from sqs_md5 import md5_of_attributes

pytestmark = pytest.mark.sandbox_neutral

answer, failure = h.answer, h.failure


@pytest.fixture(scope="module")
def sqs(server):
    return boto3.session.Session().client(
        "sqs", region_name=h.REGION, endpoint_url=server.endpoint, **h.key_args(server.endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def url_of(server, name):
    return f"{server.endpoint}/{h.ACCOUNT}/{name}"


def arn_of(name):
    return f"arn:aws:sqs:{h.REGION}:{h.ACCOUNT}:{name}"


def no_queue():
    return {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue",
                      "Message": "The specified queue does not exist.",
                      "QueryErrorCode": "QueueDoesNotExist", "Type": "Sender"},
            "ResponseMetadata": {"HTTPStatusCode": 400}}


def test_queue_lifecycle_and_attributes(sqs, server):
    name = h.unique_name("life")
    made = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"},
                            tags={"team": "a"})
    assert made["QueueUrl"] == url_of(server, name)
    # Idempotent for the same attributes; a different value is refused.
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"] \
        == made["QueueUrl"]
    err = failure(sqs.create_queue, QueueName=name, Attributes={"VisibilityTimeout": "46"})
    assert err["Error"]["Code"] == "QueueAlreadyExists"
    assert err["Error"]["QueryErrorCode"] == "QueueNameExists"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == made["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=made["QueueUrl"], AttributeNames=["All"])["Attributes"]
    created = attrs.pop("CreatedTimestamp")
    modified = attrs.pop("LastModifiedTimestamp")
    assert abs(int(created) - time.time()) < 60 and modified == created
    assert attrs == {
        "QueueArn": arn_of(name), "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0",
        "VisibilityTimeout": "45", "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600", "DelaySeconds": "0",
        "ReceiveMessageWaitTimeSeconds": "0", "SqsManagedSseEnabled": "true"}
    sqs.set_queue_attributes(QueueUrl=made["QueueUrl"], Attributes={"DelaySeconds": "2"})
    got = sqs.get_queue_attributes(QueueUrl=made["QueueUrl"], AttributeNames=["DelaySeconds"])
    assert got["Attributes"] == {"DelaySeconds": "2"}
    err = failure(sqs.set_queue_attributes, QueueUrl=made["QueueUrl"],
                  Attributes={"VisibilityTimeout": "43201"})
    assert err["Error"]["Code"] == "InvalidAttributeValue"
    assert err["Error"]["Message"] == "Invalid value for the parameter VisibilityTimeout."
    err = failure(sqs.get_queue_attributes, QueueUrl=made["QueueUrl"], AttributeNames=["Nope"])
    assert err["Error"]["Code"] == "InvalidAttributeName"
    # Tags.
    assert sqs.list_queue_tags(QueueUrl=made["QueueUrl"])["Tags"] == {"team": "a"}
    sqs.tag_queue(QueueUrl=made["QueueUrl"], Tags={"b": "2"})
    sqs.untag_queue(QueueUrl=made["QueueUrl"], TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=made["QueueUrl"])["Tags"] == {"b": "2"}
    sqs.delete_queue(QueueUrl=made["QueueUrl"])
    assert failure(sqs.get_queue_url, QueueName=name) == no_queue()
    assert failure(sqs.send_message, QueueUrl=made["QueueUrl"], MessageBody="x") == no_queue()


def test_names_and_listing(sqs):
    prefix = h.unique_name("ls")
    for i in range(3):
        sqs.create_queue(QueueName=f"{prefix}-{i}")
    err = failure(sqs.create_queue, QueueName="bad name")
    assert err["Error"]["Code"] == "InvalidParameterValue"
    assert err["Error"]["Message"] == ("Can only include alphanumeric characters, hyphens, or "
                                       "underscores. 1 to 80 in length")
    listed = sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]
    assert [u.rsplit("/", 1)[1] for u in listed] == [f"{prefix}-{i}" for i in range(3)]
    first = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert len(first["QueueUrls"]) == 2 and "NextToken" in first
    rest = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=first["NextToken"])
    assert rest["QueueUrls"] == listed[2:] and "NextToken" not in rest
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="nothing-has-this")


def test_send_receive_delete_with_attributes_and_checksums(sqs):
    q = sqs.create_queue(QueueName=h.unique_name("msgs"))["QueueUrl"]
    attrs = {"s": {"DataType": "String", "StringValue": "héllo"},
             "n": {"DataType": "Number", "StringValue": "12.5"},
             "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}}
    body = "body ✓"
    sent = sqs.send_message(QueueUrl=q, MessageBody=body, MessageAttributes=attrs,
                            MessageSystemAttributes={"AWSTraceHeader": {
                                "DataType": "String", "StringValue": "Root=1-abc"}})
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}})
    got = sqs.receive_message(QueueUrl=q, MessageAttributeNames=["All"],
                              MessageSystemAttributeNames=["All"])["Messages"]
    assert len(got) == 1
    m = got[0]
    assert (m["MessageId"], m["Body"], m["MD5OfBody"]) == (sent["MessageId"], body,
                                                           sent["MD5OfMessageBody"])
    assert m["MessageAttributes"] == attrs
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    a = m["Attributes"]
    assert a["ApproximateReceiveCount"] == "1" and a["AWSTraceHeader"] == "Root=1-abc"
    assert set(a) == {"SenderId", "SentTimestamp", "ApproximateReceiveCount",
                      "ApproximateFirstReceiveTimestamp", "AWSTraceHeader"}
    # Only the attributes asked for, and the checksum of those.
    sqs.change_message_visibility(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"],
                                  VisibilityTimeout=0)
    some = sqs.receive_message(QueueUrl=q, MessageAttributeNames=["s"])["Messages"][0]
    assert some["MessageAttributes"] == {"s": attrs["s"]}
    assert some["MD5OfMessageAttributes"] == md5_of_attributes({"s": attrs["s"]})
    assert "Attributes" not in some
    sqs.delete_message(QueueUrl=q, ReceiptHandle=some["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=q)
    err = failure(sqs.delete_message, QueueUrl=q, ReceiptHandle="garbage")
    assert err["Error"]["Code"] == "ReceiptHandleIsInvalid"
    err = failure(sqs.send_message, QueueUrl=q, MessageBody="bad \x01")
    assert err["Error"]["Code"] == "InvalidMessageContents"
    # 1 MiB by default (AWS's most since 2025); a queue's MaximumMessageSize lowers it.
    big = sqs.send_message(QueueUrl=q, MessageBody="x" * 1048576)
    got = sqs.receive_message(QueueUrl=q)["Messages"][0]
    assert (got["MessageId"], len(got["Body"])) == (big["MessageId"], 1048576)
    sqs.delete_message(QueueUrl=q, ReceiptHandle=got["ReceiptHandle"])
    err = failure(sqs.send_message, QueueUrl=q, MessageBody="x" * 1048577)
    assert err["Error"]["Message"] == ("One or more parameters are invalid. Reason: Message must "
                                       "be shorter than 1048576 bytes.")
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"MaximumMessageSize": "262144"})
    err = failure(sqs.send_message, QueueUrl=q, MessageBody="x" * 262145)
    assert err["Error"]["Message"] == ("One or more parameters are invalid. Reason: Message must "
                                       "be shorter than 262144 bytes.")
    err = failure(sqs.receive_message, QueueUrl=q, MaxNumberOfMessages=11)
    assert err["Error"]["Message"] == ("Value 11 for parameter MaxNumberOfMessages is invalid. "
                                       "Reason: Must be between 1 and 10, if provided.")


def test_visibility_and_receipt_handles(sqs):
    q = sqs.create_queue(QueueName=h.unique_name("vis"))["QueueUrl"]
    sqs.send_message(QueueUrl=q, MessageBody="m")
    first = sqs.receive_message(QueueUrl=q, VisibilityTimeout=1)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=q)
    counts = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    time.sleep(1.2)
    second = sqs.receive_message(QueueUrl=q, VisibilityTimeout=30,
                                 AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    # The old receipt no longer deletes the message: SQS answers success and keeps it.
    sqs.delete_message(QueueUrl=q, ReceiptHandle=first["ReceiptHandle"])
    err = failure(sqs.change_message_visibility, QueueUrl=q,
                  ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.MessageNotInflight"
    sqs.change_message_visibility(QueueUrl=q, ReceiptHandle=second["ReceiptHandle"],
                                  VisibilityTimeout=0)
    third = sqs.receive_message(QueueUrl=q)["Messages"][0]
    sqs.delete_message(QueueUrl=q, ReceiptHandle=third["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=q, VisibilityTimeout=0)


def test_long_polling_wakes_when_a_message_arrives(sqs):
    q = sqs.create_queue(QueueName=h.unique_name("poll"))["QueueUrl"]
    result = {}

    def wait():
        start = time.monotonic()
        result["got"] = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=10)
        result["took"] = time.monotonic() - start

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.5)
    sqs.send_message(QueueUrl=q, MessageBody="wake")
    t.join(15)
    assert result["got"]["Messages"][0]["Body"] == "wake"
    assert result["took"] < 3, result
    # Nothing arrives: the wait lasts its whole time.
    start = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1)
    assert time.monotonic() - start >= 0.9


def test_delays_and_purge(sqs):
    q = sqs.create_queue(QueueName=h.unique_name("delay"))["QueueUrl"]
    sqs.send_message(QueueUrl=q, MessageBody="later", DelaySeconds=1)
    assert "Messages" not in sqs.receive_message(QueueUrl=q)
    attrs = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
    got = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=3)
    assert got["Messages"][0]["Body"] == "later"
    sqs.send_message(QueueUrl=q, MessageBody="gone")
    sqs.purge_queue(QueueUrl=q)
    assert "Messages" not in sqs.receive_message(QueueUrl=q, VisibilityTimeout=0)
    # 403, as SQS answers it (the query model's httpStatusCode).
    name = q.rsplit("/", 1)[1]
    assert failure(sqs.purge_queue, QueueUrl=q) == {
        "Error": {"Code": "AWS.SimpleQueueService.PurgeQueueInProgress", "Type": "Sender",
                  "QueryErrorCode": "PurgeQueueInProgress",
                  "Message": f"Only one PurgeQueue operation on {name} is allowed every 60 "
                             "seconds."},
        "ResponseMetadata": {"HTTPStatusCode": 403}}


def test_batches_and_their_rules(sqs):
    q = sqs.create_queue(QueueName=h.unique_name("batch"))["QueueUrl"]
    out = sqs.send_message_batch(QueueUrl=q, Entries=[
        {"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2", "DelaySeconds": 0},
        {"Id": "c", "MessageBody": "bad \x02"}])
    assert sorted(e["Id"] for e in out["Successful"]) == ["a", "b"]
    assert out["Failed"] == [{"Id": "c", "SenderFault": True, "Code": "InvalidMessageContents",
                              "Message": "Invalid characters found. Valid unicode characters "
                                         "are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to "
                                         "#xFFFD | #x10000 to #x10FFFF"}]
    err = failure(sqs.send_message_batch, QueueUrl=q, Entries=[
        {"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}])
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    assert err["Error"]["Message"] == "Id x repeated."
    err = failure(sqs.send_message_batch, QueueUrl=q,
                  Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(11)])
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    err = failure(sqs.send_message_batch, QueueUrl=q, Entries=[{"Id": "a b", "MessageBody": "m"}])
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.InvalidBatchEntryId"
    msgs = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert sorted(m["Body"] for m in msgs) == ["1", "2"]
    vis = sqs.change_message_visibility_batch(QueueUrl=q, Entries=[
        {"Id": "v", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 60}])
    assert vis["Successful"] == [{"Id": "v"}]
    gone = sqs.delete_message_batch(QueueUrl=q, Entries=[
        {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)] + [
        {"Id": "bad", "ReceiptHandle": "nope"}])
    assert sorted(e["Id"] for e in gone["Successful"]) == ["d0", "d1"]
    assert gone["Failed"][0]["Id"] == "bad"
    assert gone["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"


def test_dead_letter_redrive_and_move_back(sqs):
    dlq = sqs.create_queue(QueueName=h.unique_name("dlq"))["QueueUrl"]
    src_name = h.unique_name("src")
    policy = json.dumps({"deadLetterTargetArn": arn_of(dlq.rsplit("/", 1)[1]),
                         "maxReceiveCount": "2"})
    src = sqs.create_queue(QueueName=src_name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=src)
    moved = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"],
                                VisibilityTimeout=0)["Messages"][0]
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(src_name)
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]
    err = failure(sqs.create_queue, QueueName=h.unique_name("src"), Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn_of("no-such-queue"),
                                     "maxReceiveCount": 1})})
    assert err["Error"]["Code"] == "InvalidParameterValue"
    # Moved back to where it came from.
    task = sqs.start_message_move_task(SourceArn=arn_of(dlq.rsplit("/", 1)[1]))
    assert task["TaskHandle"]
    deadline = time.time() + 10
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=arn_of(dlq.rsplit("/", 1)[1]))["Results"]
        if tasks[0]["Status"] == "COMPLETED" or time.time() > deadline:
            break
        time.sleep(0.1)
    assert tasks[0]["Status"] == "COMPLETED"
    assert tasks[0]["ApproximateNumberOfMessagesMoved"] == 1
    back = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=2)["Messages"][0]
    assert back["Body"] == "poison"


def test_fifo_order_group_lock_and_deduplication(sqs):
    name = h.unique_name("order") + ".fifo"
    err = failure(sqs.create_queue, QueueName=h.unique_name("nofifo"),
                  Attributes={"FifoQueue": "true"})
    assert err["Error"]["Code"] == "InvalidParameterValue"
    q = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true",
                                                     "ContentBasedDeduplication": "true"})["QueueUrl"]
    seqs = []
    for i in range(3):
        for g in ("a", "b"):
            r = sqs.send_message(QueueUrl=q, MessageBody=f"{g}{i}", MessageGroupId=g)
            seqs.append(int(r["SequenceNumber"]))
    assert seqs == sorted(seqs)
    dup = sqs.send_message(QueueUrl=q, MessageBody="a0", MessageGroupId="a")
    assert int(dup["SequenceNumber"]) == seqs[0], "deduplicated by content"
    err = failure(sqs.send_message, QueueUrl=q, MessageBody="x")
    assert err["Error"]["Message"] == "The request must contain the parameter MessageGroupId."
    first = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=2,
                                AttributeNames=["MessageGroupId"])["Messages"]
    assert [m["Body"] for m in first] == ["a0", "b0"]
    # Both groups are locked while their messages are in flight.
    assert "Messages" not in sqs.receive_message(QueueUrl=q)
    sqs.delete_message(QueueUrl=q, ReceiptHandle=first[0]["ReceiptHandle"])
    nxt = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in nxt] == ["a1", "a2"]
    # A retried receive with the same attempt id gets the same messages and receipts.
    sqs.delete_message(QueueUrl=q, ReceiptHandle=first[1]["ReceiptHandle"])
    tries = [sqs.receive_message(QueueUrl=q, ReceiveRequestAttemptId="try-1")["Messages"]
             for _ in range(2)]
    assert [m["Body"] for m in tries[0]] == ["b1"]
    assert tries[0][0]["ReceiptHandle"] == tries[1][0]["ReceiptHandle"]
    explicit = h.unique_name("d")
    one = sqs.send_message(QueueUrl=q, MessageBody="p", MessageGroupId="c",
                           MessageDeduplicationId=explicit)
    two = sqs.send_message(QueueUrl=q, MessageBody="q", MessageGroupId="c",
                           MessageDeduplicationId=explicit)
    assert one["MessageId"] == two["MessageId"]


def test_permissions_and_queue_policy(sqs, server, tmp_path):
    name = h.unique_name("perm")
    q = sqs.create_queue(QueueName=name)["QueueUrl"]
    other = "111111111111"
    key = h.user_key(server, tmp_path, other, "sender",
                     [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}])
    theirs = boto3.session.Session().client(
        "sqs", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    err = failure(theirs.send_message, QueueUrl=q, MessageBody="x")
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["Error"]["Code"] == "AccessDenied"
    sqs.add_permission(QueueUrl=q, Label="let-in", AWSAccountIds=[other],
                       Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["Policy"])
                        ["Attributes"]["Policy"])
    assert policy["Statement"][0]["Sid"] == "let-in"
    theirs.send_message(QueueUrl=q, MessageBody="from another account")
    err = failure(theirs.receive_message, QueueUrl=q)
    assert err["Error"]["Code"] == "AccessDenied"
    got = sqs.receive_message(QueueUrl=q, AttributeNames=["SenderId"])["Messages"][0]
    assert got["Body"] == "from another account"
    sqs.remove_permission(QueueUrl=q, Label="let-in")
    assert failure(theirs.send_message, QueueUrl=q, MessageBody="x")["Error"]["Code"] == \
        "AccessDenied"


def test_a_deny_in_the_queue_policy_binds_the_owner_too(sqs):
    name = h.unique_name("deny")
    q = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage",
            "Resource": arn_of(name)}]})})
    err = failure(sqs.send_message, QueueUrl=q, MessageBody="x")
    assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]) == (403, "AccessDenied")
    assert "explicit deny" in err["Error"]["Message"]
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"Policy": ""})
    sqs.send_message(QueueUrl=q, MessageBody="x")


def test_validation_errors_whole(sqs):
    q = sqs.create_queue(QueueName=h.unique_name("val"))["QueueUrl"]
    assert failure(sqs.receive_message, QueueUrl=q, WaitTimeSeconds=21) == {
        "Error": {"Code": "InvalidParameterValue", "Type": "Sender",
                  "QueryErrorCode": "InvalidParameterValueException",
                  "Message": "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must "
                             "be >= 0 and <= 20, if provided."},
        "ResponseMetadata": {"HTTPStatusCode": 400}}
    assert failure(sqs.create_queue, QueueName=h.unique_name("v"),
                   Attributes={"MessageRetentionPeriod": "59"}) == {
        "Error": {"Code": "InvalidAttributeValue", "Type": "Sender",
                  "QueryErrorCode": "InvalidAttributeValue",
                  "Message": "Invalid value for the parameter MessageRetentionPeriod."},
        # botocore adds a modeled error's members when its code names the shape.
        "message": "Invalid value for the parameter MessageRetentionPeriod.",
        "ResponseMetadata": {"HTTPStatusCode": 400}}
    # SQS knows FifoQueue only as `true` on a FIFO queue's creation.
    assert failure(sqs.create_queue, QueueName=h.unique_name("v"),
                   Attributes={"FifoQueue": "false"}) == {
        "Error": {"Code": "InvalidAttributeName", "Type": "Sender",
                  "QueryErrorCode": "InvalidAttributeName",
                  "Message": "Unknown Attribute FifoQueue."},
        "message": "Unknown Attribute FifoQueue.",
        "ResponseMetadata": {"HTTPStatusCode": 400}}


def test_a_standard_queue_keeps_a_message_group_id(sqs):
    # Fair queues: a standard queue takes MessageGroupId (the tenant) with FIFO's rules
    # and answers it back, no order or lock comes with it, and one tenant's backlog does
    # not hold back another's message.
    q = sqs.create_queue(QueueName=h.unique_name("fair"))["QueueUrl"]
    for body in ("t1", "t2"):
        sqs.send_message(QueueUrl=q, MessageBody=body, MessageGroupId="tenant-a")
    got = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10,
                              MessageSystemAttributeNames=["MessageGroupId"])["Messages"]
    assert sorted((m["Body"], m["Attributes"]) for m in got) == [
        ("t1", {"MessageGroupId": "tenant-a"}), ("t2", {"MessageGroupId": "tenant-a"})]
    sqs.send_message_batch(QueueUrl=q, Entries=[
        {"Id": str(i), "MessageBody": f"noisy{i}", "MessageGroupId": "noisy"} for i in range(10)])
    sqs.send_message_batch(QueueUrl=q, Entries=[
        {"Id": str(i), "MessageBody": f"noisy{i}", "MessageGroupId": "noisy"}
        for i in range(10, 15)])
    sqs.send_message(QueueUrl=q, MessageBody="quiet", MessageGroupId="quiet")
    got = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=3)["Messages"]
    assert [m["Body"] for m in got] == ["noisy0", "quiet", "noisy1"]
    err = failure(sqs.send_message, QueueUrl=q, MessageBody="x", MessageGroupId="no spaces")
    assert err["Error"]["Message"] == (
        "Value no spaces for parameter MessageGroupId is invalid. Reason: MessageGroupId can "
        "only include alphanumeric and punctuation characters. 1 to 128 in length.")


def deleted_recently():
    message = ("You must wait 60 seconds after deleting a queue before you can create another "
               "with the same name.")
    return {"Error": {"Code": "AWS.SimpleQueueService.QueueDeletedRecently", "Type": "Sender",
                      "QueryErrorCode": "QueueDeletedRecently", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400}}


def sqs_client(server):
    return boto3.session.Session().client(
        "sqs", region_name=h.REGION, endpoint_url=server.endpoint, **h.key_args(server.endpoint),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def test_a_deleted_queues_name_waits_60_seconds_even_across_a_restart(own_server):
    sqs = sqs_client(own_server)
    name = h.unique_name("again")
    q = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=q)
    assert failure(sqs.create_queue, QueueName=name) == deleted_recently()
    own_server.restart()
    sqs = sqs_client(own_server)
    assert failure(sqs.create_queue, QueueName=name) == deleted_recently()
    # Another name is not held back.
    sqs.create_queue(QueueName=name + "-2")


def wait_task(sqs, source, status, timeout=30):
    deadline = time.time() + timeout
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source, MaxResults=10)["Results"]
        if tasks and tasks[0]["Status"] == status or time.time() > deadline:
            assert tasks and tasks[0]["Status"] == status, tasks
            return tasks
        time.sleep(0.2)


def dead_letter_pipe(sqs, n):
    """A queue whose dead-letter queue holds `n` messages moved there by receives; the
    DLQ's ARN and URL, and the source's URL."""
    dlq = sqs.create_queue(QueueName=h.unique_name("mt-dlq"))["QueueUrl"]
    dlq_arn = arn_of(dlq.rsplit("/", 1)[1])
    src = sqs.create_queue(QueueName=h.unique_name("mt-src"), Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})[
        "QueueUrl"]
    for i in range(n):
        sqs.send_message(QueueUrl=src, MessageBody=f"m{i}")
    deadline = time.time() + 20
    while int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessages"]) < n and time.time() < deadline:
        sqs.receive_message(QueueUrl=src, VisibilityTimeout=0, MaxNumberOfMessages=10)
    return dlq_arn, dlq, src


def test_a_running_move_task_resumes_after_a_restart(own_server):
    sqs = sqs_client(own_server)
    dlq_arn, dlq, _ = dead_letter_pipe(sqs, 12)
    dest = sqs.create_queue(QueueName=h.unique_name("mt-dest"))["QueueUrl"]
    dest_arn = arn_of(dest.rsplit("/", 1)[1])
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn,
                                MaxNumberOfMessagesPerSecond=1)
    running = wait_task(sqs, dlq_arn, "RUNNING")[0]
    assert running["ApproximateNumberOfMessagesToMove"] == 12 and running["TaskHandle"]
    own_server.restart()
    sqs = sqs_client(own_server)
    listed = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    # One a second: the restart came in the middle.
    assert listed[0]["Status"] == "RUNNING", listed
    assert 0 < listed[0]["ApproximateNumberOfMessagesMoved"] < 12, listed
    assert listed[0]["TaskHandle"] == running["TaskHandle"]
    done = wait_task(sqs, dlq_arn, "COMPLETED")[0]
    assert done["ApproximateNumberOfMessagesMoved"] == 12, done
    assert "TaskHandle" not in done
    got = []
    while True:
        msgs = sqs.receive_message(QueueUrl=dest, MaxNumberOfMessages=10,
                                   VisibilityTimeout=60).get("Messages", [])
        if not msgs:
            break
        got += [m["Body"] for m in msgs]
    assert sorted(got) == sorted(f"m{i}" for i in range(12))
    # Listed again after another restart, as it ended.
    own_server.restart()
    sqs = sqs_client(own_server)
    again = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert again == done


def test_move_task_errors_and_a_destination_deleted_under_a_task(sqs):
    assert failure(sqs.cancel_message_move_task, TaskHandle="foobared") == {
        "Error": {"Code": "InvalidParameterValue", "Type": "Sender",
                  "QueryErrorCode": "InvalidParameterValueException",
                  "Message": "Value for parameter TaskHandle is invalid."},
        "ResponseMetadata": {"HTTPStatusCode": 400}}
    import base64
    gone = base64.b64encode(json.dumps({
        "taskId": "10f57157-fc38-4da9-a113-4de7e12d05dd",
        "sourceArn": arn_of("no-such-queue")}).encode()).decode()
    err = failure(sqs.cancel_message_move_task, TaskHandle=gone)
    assert (err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"],
            err["Error"]["Message"]) == (
        404, "ResourceNotFoundException",
        "The resource that you specified for the SourceArn parameter doesn't exist.")
    dlq_arn, dlq, _ = dead_letter_pipe(sqs, 5)
    dest = sqs.create_queue(QueueName=h.unique_name("mt-gone"))["QueueUrl"]
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(dest.rsplit("/", 1)[1]),
                                MaxNumberOfMessagesPerSecond=1)
    sqs.delete_queue(QueueUrl=dest)
    failed = wait_task(sqs, dlq_arn, "FAILED")[0]
    assert failed["FailureReason"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert failed["ApproximateNumberOfMessagesMoved"] < 5
    assert sqs.receive_message(QueueUrl=dlq)["Messages"], "the rest stay in the DLQ"


def test_fifo_high_throughput_and_deduplication_scope(sqs):
    high = sqs.create_queue(QueueName=h.unique_name("ht") + ".fifo", Attributes={
        "FifoQueue": "true", "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId"})["QueueUrl"]
    normal = sqs.create_queue(QueueName=h.unique_name("nt") + ".fifo",
                              Attributes={"FifoQueue": "true"})["QueueUrl"]
    for q in (high, normal):
        for body, group in (("a1", "a"), ("b1", "b"), ("a2", "a")):
            sqs.send_message(QueueUrl=q, MessageBody=body, MessageGroupId=group,
                             MessageDeduplicationId="same")

    def bodies(q):
        got = []
        while True:
            msgs = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10,
                                       VisibilityTimeout=60).get("Messages", [])
            if not msgs:
                return sorted(got)
            got += [m["Body"] for m in msgs]

    # Per group: the same id in another group is another message; per queue it is not.
    assert bodies(high) == ["a1", "b1"]
    assert bodies(normal) == ["a1"]
    attrs = sqs.get_queue_attributes(QueueUrl=high, AttributeNames=["All"])["Attributes"]
    assert (attrs["DeduplicationScope"], attrs["FifoThroughputLimit"]) == \
        ("messageGroup", "perMessageGroupId")
    # perMessageGroupId needs messageGroup, whichever request sets either.
    for call, kw in ((sqs.set_queue_attributes, {"QueueUrl": normal, "Attributes": {
            "FifoThroughputLimit": "perMessageGroupId"}}),
            (sqs.set_queue_attributes, {"QueueUrl": high, "Attributes": {
                "DeduplicationScope": "queue"}})):
        err = failure(call, **kw)
        assert err["Error"]["Code"] == "InvalidAttributeValue", err
        assert "DeduplicationScope is messageGroup" in err["Error"]["Message"]
    message = "You can specify the DeduplicationScope only when FifoQueue is set to true."
    assert failure(sqs.create_queue, QueueName=h.unique_name("std"),
                   Attributes={"DeduplicationScope": "queue"}) == {
        "Error": {"Code": "InvalidAttributeName", "Type": "Sender",
                  "QueryErrorCode": "InvalidAttributeName", "Message": message},
        "message": message, "ResponseMetadata": {"HTTPStatusCode": 400}}


def test_server_side_encryption_attributes_as_sqs_keeps_them(sqs):
    """SSE-SQS on by default; a KMS key turns it off (and shows its data key reuse period);
    removing the key leaves the queue unencrypted; one kind at a time. Hearth encrypts no
    queue itself (messages are protected as the store protects everything): these are kept
    and shown as AWS shows them (LocalStack's recordings of AWS)."""
    q = sqs.create_queue(QueueName=h.unique_name("sse"))["QueueUrl"]
    names = ["KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"]

    def sse():
        return sqs.get_queue_attributes(QueueUrl=q, AttributeNames=names)["Attributes"]

    assert sse() == {"SqsManagedSseEnabled": "true"}
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"KmsMasterKeyId": "testKeyId",
                                                     "KmsDataKeyReusePeriodSeconds": "6000"})
    assert sse() == {"KmsMasterKeyId": "testKeyId", "KmsDataKeyReusePeriodSeconds": "6000",
                     "SqsManagedSseEnabled": "false"}
    sqs.set_queue_attributes(QueueUrl=q, Attributes={"KmsMasterKeyId": "",
                                                     "KmsDataKeyReusePeriodSeconds": "300"})
    assert sse() == {"SqsManagedSseEnabled": "false"}
    message = ("You can use one type of server-side encryption (SSE) at one time. You can "
               "either enable KMS SSE or SQS SSE.")
    err = failure(sqs.set_queue_attributes, QueueUrl=q, Attributes={
        "KmsMasterKeyId": "testKeyId", "SqsManagedSseEnabled": "true"})
    assert (err["Error"]["Code"], err["Error"]["Message"]) == ("InvalidAttributeName", message)
    err = failure(sqs.set_queue_attributes, QueueUrl=q,
                  Attributes={"KmsDataKeyReusePeriodSeconds": "59"})
    assert (err["Error"]["Code"], err["Error"]["Message"]) == (
        "InvalidAttributeValue", "Invalid value for the parameter KmsDataKeyReusePeriodSeconds.")
    kms = sqs.create_queue(QueueName=h.unique_name("kms"),
                           Attributes={"KmsMasterKeyId": "alias/aws/sqs"})["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=kms, AttributeNames=names)["Attributes"] == {
        "KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "300",
        "SqsManagedSseEnabled": "false"}


def test_json_error_shapes_and_query_codes(server, sqs, tmp_path):
    """Errors of SQS's model are `com.amazonaws.sqs#<Shape>`, the others its framework's
    (`com.amazon.coral.service#...`); the code SDKs expose is `x-amzn-query-error`'s."""
    q = sqs.create_queue(QueueName=h.unique_name("shapes"))["QueueUrl"]

    def call(op, body, credentials=None):
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0",
                   "X-Amz-Target": f"AmazonSQS.{op}"}
        signed = h.sign_headers(server.endpoint + "/", "POST", data, headers,
                                credentials=credentials, service="sqs")
        status, headers, raw = h.http_request(server.endpoint + "/", "POST", data, signed)
        return status, headers["x-amzn-query-error"], json.loads(raw)["__type"]

    assert call("ReceiveMessage", {"QueueUrl": q, "WaitTimeSeconds": 21}) == (
        400, "InvalidParameterValue;Sender", "com.amazon.coral.service#InvalidParameterValueException")
    assert call("GetQueueUrl", {"QueueName": "no-such-queue"}) == (
        400, "AWS.SimpleQueueService.NonExistentQueue;Sender", "com.amazonaws.sqs#QueueDoesNotExist")
    key = h.user_key(server, tmp_path, "111111111111", "shapes",
                     [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}])
    assert call("SendMessage", {"QueueUrl": q, "MessageBody": "x"}, credentials=key) == (
        403, "AccessDenied;Sender", "com.amazon.coral.service#AccessDeniedException")


def test_aws_cli(server, tmp_path):
    env = h.aws_env(tmp_path, server.endpoint)
    cmd = h._aws_command()

    def aws(*args):
        return h.run(cmd + ["sqs", *args, "--endpoint-url", server.endpoint, "--region",
                            h.REGION, "--output", "json"], env=env).json

    name = h.unique_name("cli")
    url = aws("create-queue", "--queue-name", name)["QueueUrl"]
    assert url == url_of(server, name)
    sent = aws("send-message", "--queue-url", url, "--message-body", "from the cli")
    got = aws("receive-message", "--queue-url", url, "--wait-time-seconds", "1")
    assert got["Messages"][0]["MessageId"] == sent["MessageId"]
    h.run(cmd + ["sqs", "delete-message", "--queue-url", url, "--receipt-handle",
                 got["Messages"][0]["ReceiptHandle"], "--endpoint-url", server.endpoint,
                 "--region", h.REGION], env=env)
    attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"
