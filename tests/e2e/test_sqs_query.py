"""SQS's query protocol (`Action=...&Version=2012-11-05`, XML answers), as older SDKs still
speak it: an older botocore (1.30, the last before SQS moved to AWS JSON 1.0; installed
into target/old-botocore by scripts/setup.sh or by this module) runs a scenario in its
own process (sqs_query_client.py), and a raw form is POSTed to a queue's URL."""

import hashlib
import json
import subprocess
import sys
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

import hearth_e2e as h

pytestmark = pytest.mark.sandbox_neutral

OLD = h.REPO / "target" / "old-botocore"
NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"


@pytest.fixture(scope="module")
def old_botocore():
    if not (OLD / "botocore" / "__init__.py").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(OLD),
                        "botocore<1.31", "boto3<1.28"], check=True, timeout=600)
    return OLD


def test_an_older_botocore_speaks_the_query_protocol(server, old_botocore):
    check_scenario(server.endpoint, old_botocore)


def check_scenario(endpoint, old_botocore):
    """Runs sqs_query_client.py against `endpoint` (a fleet's node too) and checks what
    the older botocore saw."""
    name = h.unique_name("query")
    key = h.credentials_for(endpoint)
    proc = subprocess.run(
        [sys.executable, str(h.REPO / "tests" / "e2e" / "sqs_query_client.py"),
         endpoint, key[0], key[1], name],
        capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(old_botocore), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["protocol"] == "query", seen["botocore"]
    url = f"{endpoint}/{h.ACCOUNT}/{name}"
    assert seen["url"] == seen["get_url"] == url
    assert seen["listed"] == [url]
    assert seen["attributes"] == {"VisibilityTimeout": "40",
                                  "QueueArn": f"arn:aws:sqs:{h.REGION}:{h.ACCOUNT}:{name}"}
    assert seen["md5_ok"]
    assert seen["received"] == {"body_ok": True, "attributes": {"ApproximateReceiveCount": "1"},
                                "message_attributes_ok": True, "md5_ok": True}
    assert seen["batch_ids"] == ["a", "b"] and seen["deleted"] == ["d0", "d1"]
    assert seen["duplicate_ids"] == {"status": 400, "error": {
        "Type": "Sender", "Code": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        "Message": "Id x repeated."}}
    assert seen["tags"] == {"t": "1", "u": "2"}
    assert seen["fifo"] == ["m0", "m1", "m2"]
    assert seen["missing"] == {"status": 400, "error": {
        "Type": "Sender", "Code": "AWS.SimpleQueueService.NonExistentQueue",
        "Message": "The specified queue does not exist."}}
    assert seen["bad_attribute"] == {"status": 400, "error": {
        "Type": "Sender", "Code": "InvalidAttributeValue",
        "Message": "Invalid value for the parameter DelaySeconds."}}


def post_form(server, path, form):
    body = urllib.parse.urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    url = server.endpoint + path
    signed = h.sign_headers(url, "POST", body, headers, service="sqs")
    return h.http_request(url, "POST", body, signed)


def test_a_form_posted_to_the_queue_url(server):
    check_forms(server)


def check_forms(server):
    """Forms POSTed to `/` and to a queue's URL on `server` (a fleet's node too)."""
    name = h.unique_name("form")
    status, _, body = post_form(server, "/", {"Action": "CreateQueue", "Version": "2012-11-05",
                                              "QueueName": name})
    assert status == 200, body
    root = ET.fromstring(body)
    assert root.tag == f"{NS}CreateQueueResponse"
    url = root.find(f"{NS}CreateQueueResult/{NS}QueueUrl").text
    path = f"/{h.ACCOUNT}/{name}"
    assert url == server.endpoint + path
    status, _, body = post_form(server, path, {
        "Action": "SendMessage", "Version": "2012-11-05", "MessageBody": "to the URL",
        "MessageAttribute.1.Name": "k", "MessageAttribute.1.Value.DataType": "String",
        "MessageAttribute.1.Value.StringValue": "v"})
    assert status == 200, body
    result = ET.fromstring(body).find(f"{NS}SendMessageResult")
    assert result.find(f"{NS}MD5OfMessageBody").text == hashlib.md5(b"to the URL").hexdigest()
    status, _, body = post_form(server, path, {
        "Action": "ReceiveMessage", "Version": "2012-11-05", "MessageAttributeName.1": "All"})
    msg = ET.fromstring(body).find(f"{NS}ReceiveMessageResult/{NS}Message")
    assert msg.find(f"{NS}Body").text == "to the URL"
    attr = msg.find(f"{NS}MessageAttribute")
    assert attr.find(f"{NS}Name").text == "k"
    assert attr.find(f"{NS}Value/{NS}StringValue").text == "v"
    status, _, body = post_form(server, f"/{h.ACCOUNT}/no-such-queue", {
        "Action": "GetQueueAttributes", "Version": "2012-11-05", "AttributeName.1": "All"})
    assert status == 400
    err = ET.fromstring(body)
    assert err.tag == f"{NS}ErrorResponse"
    assert err.find(f"{NS}Error/{NS}Code").text == "AWS.SimpleQueueService.NonExistentQueue"
    assert err.find(f"{NS}Error/{NS}Type").text == "Sender"


def test_query_errors_of_deleted_queue_names_and_purges(server):
    """QueueDeletedRecently and PurgeQueueInProgress with the query protocol's codes and
    statuses (botocore 1.30's model: 400 and 403)."""
    name = h.unique_name("qdel")
    path = f"/{h.ACCOUNT}/{name}"
    assert post_form(server, "/", {"Action": "CreateQueue", "Version": "2012-11-05",
                                   "QueueName": name})[0] == 200
    assert post_form(server, path, {"Action": "PurgeQueue", "Version": "2012-11-05"})[0] == 200
    status, _, body = post_form(server, path, {"Action": "PurgeQueue", "Version": "2012-11-05"})
    err = ET.fromstring(body).find(f"{NS}Error")
    assert (status, err.find(f"{NS}Code").text, err.find(f"{NS}Type").text) == (
        403, "AWS.SimpleQueueService.PurgeQueueInProgress", "Sender")
    assert post_form(server, path, {"Action": "DeleteQueue", "Version": "2012-11-05"})[0] == 200
    status, _, body = post_form(server, "/", {"Action": "CreateQueue", "Version": "2012-11-05",
                                              "QueueName": name})
    err = ET.fromstring(body).find(f"{NS}Error")
    assert (status, err.find(f"{NS}Code").text, err.find(f"{NS}Type").text,
            err.find(f"{NS}Message").text) == (
        400, "AWS.SimpleQueueService.QueueDeletedRecently", "Sender",
        "You must wait 60 seconds after deleting a queue before you can create another with "
        "the same name.")
