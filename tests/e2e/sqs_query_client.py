"""Run by test_sqs_query.py with an older botocore first on sys.path (one that speaks SQS's
query protocol): a scenario against Hearth, printed as one JSON document of what the
client saw. Usage: sqs_query_client.py ENDPOINT ACCESS_KEY SECRET."""

import hashlib
import json
import sys

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError
from sqs_md5 import md5_of_attributes

endpoint, key, secret = sys.argv[1:4]
sqs = boto3.session.Session().client(
    "sqs", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id=key,
    aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))
seen = {"botocore": botocore.__version__, "protocol": sqs.meta.service_model.protocol}


def error(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return {"status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "error": e.response["Error"]}
    return None


name = sys.argv[4]
url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "40"},
                       tags={"t": "1"})["QueueUrl"]
seen["url"] = url
seen["get_url"] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
seen["listed"] = sqs.list_queues(QueueNamePrefix=name)["QueueUrls"]
seen["attributes"] = sqs.get_queue_attributes(
    QueueUrl=url, AttributeNames=["VisibilityTimeout", "QueueArn"])["Attributes"]
attrs = {"s": {"DataType": "String", "StringValue": "a & <b>"},
         "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}
body = "line one\r\nline <two> & ✓"
sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
seen["md5_ok"] = (sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
                  and sent["MD5OfMessageAttributes"] == md5_of_attributes(attrs))
got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"],
                          AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
seen["received"] = {"body_ok": got["Body"] == body, "attributes": got["Attributes"],
                    "message_attributes_ok": got["MessageAttributes"] == attrs,
                    "md5_ok": got["MD5OfMessageAttributes"] == md5_of_attributes(attrs)}
sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"],
                              VisibilityTimeout=0)
again = sqs.receive_message(QueueUrl=url)["Messages"][0]
sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
batch = sqs.send_message_batch(QueueUrl=url, Entries=[
    {"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2"}])
seen["batch_ids"] = sorted(e["Id"] for e in batch["Successful"])
msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
    {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
seen["deleted"] = sorted(e["Id"] for e in deleted.get("Successful", []))
seen["duplicate_ids"] = error(sqs.send_message_batch, QueueUrl=url, Entries=[
    {"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}])
sqs.tag_queue(QueueUrl=url, Tags={"u": "2"})
seen["tags"] = sqs.list_queue_tags(QueueUrl=url)["Tags"]
fifo = sqs.create_queue(QueueName=name + ".fifo", Attributes={
    "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
for i in range(3):
    sqs.send_message(QueueUrl=fifo, MessageBody=f"m{i}", MessageGroupId="g")
seen["fifo"] = [m["Body"] for m in sqs.receive_message(
    QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]]
sqs.delete_queue(QueueUrl=url)
seen["missing"] = error(sqs.get_queue_url, QueueName=name)
seen["bad_attribute"] = error(sqs.set_queue_attributes, QueueUrl=fifo,
                              Attributes={"DelaySeconds": "901"})
print(json.dumps(seen))
