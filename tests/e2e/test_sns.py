"""SNS on Hearth's endpoint, driven by boto3 and the AWS CLI: every operation, errors
compared whole with AWS's answers (codes and messages as botocore's model and AWS's SNS
documentation give them, and as moto/LocalStack record them from AWS), and delivery:
a Lambda function invoked with the `Records[].Sns` event, and an HTTP subscriber (a
Python http.server here) that confirms its subscription through the SubscribeURL and
verifies every message's signature with the certificate Hearth serves, over AWS's
documented canonical strings."""

import base64
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

import hearth_e2e as h

answer, failure = h.answer, h.failure
neutral = pytest.mark.sandbox_neutral
TOPIC = f"arn:aws:sns:{h.REGION}:{h.ACCOUNT}"


def sns_client(endpoint, validate=True):
    return h.service_client(endpoint, "sns", validate)


@pytest.fixture(scope="module")
def sns(server):
    return sns_client(server.endpoint)


@pytest.fixture(scope="module")
def raw_sns(server):
    return sns_client(server.endpoint, validate=False)


def error(status, code, message):
    return {"Error": {"Type": "Sender", "Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status}}


def invalid(message):
    return error(400, "InvalidParameter", f"Invalid parameter: {message}")


@neutral
def test_topics_are_created_once_listed_in_pages_and_deleted(sns):
    arn = sns.create_topic(Name="t-basic")["TopicArn"]
    assert arn == f"{TOPIC}:t-basic"
    # Idempotent with the same attributes; refused with others, as AWS answers.
    assert sns.create_topic(Name="t-basic")["TopicArn"] == arn
    assert failure(sns.create_topic, Name="t-basic", Attributes={"DisplayName": "x"}) == \
        invalid("Attributes Reason: Topic already exists with different attributes")
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert set(attrs) == {"Policy", "Owner", "SubscriptionsPending", "TopicArn",
                          "EffectiveDeliveryPolicy", "SubscriptionsConfirmed", "DisplayName",
                          "SubscriptionsDeleted"}
    assert attrs["Owner"] == h.ACCOUNT and attrs["TopicArn"] == arn
    assert json.loads(attrs["Policy"])["Statement"][0]["Resource"] == arn
    assert json.loads(attrs["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"][
        "numRetries"] == 3
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Shown")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Shown"
    assert failure(sns.set_topic_attributes, TopicArn=arn, AttributeName="Bogus",
                   AttributeValue="x") == invalid("AttributeName")

    for i in range(105):
        sns.create_topic(Name=f"t-page-{i:03}")
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and "NextToken" in first
    second = sns.list_topics(NextToken=first["NextToken"])
    assert "NextToken" not in second
    names = [t["TopicArn"] for t in first["Topics"] + second["Topics"]]
    assert len(names) == len(set(names)) and arn in names
    paged = [t["TopicArn"] for p in sns.get_paginator("list_topics").paginate()
             for t in p["Topics"]]
    assert sorted(paged) == sorted(names)

    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)  # a topic that is gone: success, as AWS answers
    assert failure(sns.get_topic_attributes, TopicArn=arn) == \
        error(404, "NotFound", "Topic does not exist")


@neutral
def test_names_attributes_and_fifo_rules(sns):
    assert failure(sns.create_topic, Name="bad name") == invalid("Topic Name")
    assert failure(sns.create_topic, Name="a" * 257) == invalid("Topic Name")
    assert failure(sns.create_topic, Name="x.fifo") == invalid("Topic Name")
    assert failure(sns.create_topic, Name="plain", Attributes={"FifoTopic": "true"}) == invalid(
        "Fifo Topic names must end with .fifo and must be made up of only uppercase and "
        "lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and "
        "256 characters long.")
    fifo = sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    attrs = sns.get_topic_attributes(TopicArn=fifo)["Attributes"]
    assert attrs["FifoTopic"] == "true" and attrs["ContentBasedDeduplication"] == "false"
    assert failure(sns.publish, TopicArn=fifo, Message="m") == invalid(
        "The MessageGroupId parameter is required for FIFO topics")
    assert failure(sns.publish, TopicArn=fifo, Message="m", MessageGroupId="g") == invalid(
        "The topic should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly")
    one = sns.publish(TopicArn=fifo, Message="m", MessageGroupId="g", MessageDeduplicationId="d")
    again = sns.publish(TopicArn=fifo, Message="m2", MessageGroupId="g",
                        MessageDeduplicationId="d")
    assert again["MessageId"] == one["MessageId"]
    assert again["SequenceNumber"] == one["SequenceNumber"] and len(one["SequenceNumber"]) == 20
    sns.set_topic_attributes(TopicArn=fifo, AttributeName="ContentBasedDeduplication",
                             AttributeValue="true")
    a = sns.publish(TopicArn=fifo, Message="same", MessageGroupId="g")
    b = sns.publish(TopicArn=fifo, Message="same", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"]
    assert failure(sns.subscribe, TopicArn=fifo, Protocol="lambda",
                   Endpoint=f"arn:aws:lambda:{h.REGION}:{h.ACCOUNT}:function:f") == \
        invalid("Invalid protocol type: lambda")
    std = sns.create_topic(Name="std")["TopicArn"]
    assert failure(sns.publish, TopicArn=std, Message="m", MessageDeduplicationId="d") == invalid(
        "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter "
        "that is not valid for this topic type")
    assert failure(sns.set_topic_attributes, TopicArn=std,
                   AttributeName="ContentBasedDeduplication", AttributeValue="true") == invalid(
        "ContentBasedDeduplication Reason: Content based deduplication can only be set for "
        "FIFO topics")


@neutral
def test_publish_validation_as_aws_answers(sns, raw_sns):
    arn = sns.create_topic(Name="t-publish")["TopicArn"]
    assert failure(sns.publish, TopicArn=f"{TOPIC}:missing", Message="m") == \
        error(404, "NotFound", "Topic does not exist")
    assert failure(sns.publish, TopicArn="nope", Message="m") == invalid("TopicArn")
    assert failure(raw_sns.publish, TopicArn=arn, Message="") == invalid("Empty message")
    assert failure(sns.publish, TopicArn=arn, Message="x" * 262145) == \
        invalid("Message too long")
    assert failure(sns.publish, TopicArn=arn, Message="m", Subject="a\nb") == invalid("Subject")
    assert failure(sns.publish, TopicArn=arn, Message="nope", MessageStructure="json") == \
        invalid("Message Structure - JSON message body failed to parse")
    assert failure(sns.publish, TopicArn=arn, Message='{"sqs": "q"}',
                   MessageStructure="json") == \
        invalid("Message Structure - No default entry in JSON message body")
    attr = lambda t, **v: {"a": {"DataType": t, **v}}  # noqa: E731
    assert failure(sns.publish, TopicArn=arn, Message="m",
                   MessageAttributes=attr("Nope", StringValue="x")) == error(
        400, "ParameterValueInvalid",
        "The message attribute 'a' has an invalid message attribute type, the set of supported "
        "type prefixes is Binary, Number, and String.")
    assert failure(sns.publish, TopicArn=arn, Message="m",
                   MessageAttributes=attr("Number", StringValue="x")) == error(
        400, "ParameterValueInvalid", "Could not cast message attribute 'a' value to number.")
    assert failure(raw_sns.publish, TopicArn=arn, Message="m",
                   MessageAttributes=attr("String")) == error(
        400, "ParameterValueInvalid",
        "The message attribute 'a' with type 'String' must use field 'String'.")
    assert failure(sns.publish, TopicArn=arn, Message="m",
                   MessageAttributes=attr("String", StringValue="")) == error(
        400, "ParameterValueInvalid",
        "The message attribute 'a' must contain non-empty message attribute value for message "
        "attribute type 'String'.")
    assert failure(sns.publish, TopicArn=arn, Message="m",
                   MessageAttributes={"a b": {"DataType": "String", "StringValue": "x"}}) == error(
        400, "ParameterValueInvalid",
        "Invalid non-alphanumeric character '#x20' was found in the message attribute name. "
        "Can only include alphanumeric characters, hyphens, underscores, or dots.")
    # The message is checked before the topic is looked up.
    assert failure(raw_sns.publish, TopicArn=f"{TOPIC}:missing", Message="") == \
        invalid("Empty message")
    ok = sns.publish(TopicArn=arn, Message="m", Subject="s",
                     MessageAttributes=attr("Number.int", StringValue="12"))
    assert set(ok) == {"MessageId", "ResponseMetadata"}

    entries = [{"Id": f"e{i}", "Message": f"m{i}"} for i in range(3)]
    entries.append({"Id": "bad", "Message": "m", "Subject": "a\nb"})
    out = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
    assert [s["Id"] for s in out["Successful"]] == ["e0", "e1", "e2"]
    assert out["Failed"] == [{"Id": "bad", "Code": "InvalidParameter",
                              "Message": "Invalid parameter: Subject", "SenderFault": True}]
    assert failure(raw_sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[]) == error(
        400, "EmptyBatchRequest", "The batch request doesn't contain any entries.")
    assert failure(sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[
        {"Id": str(i), "Message": "m"} for i in range(11)]) == error(
        400, "TooManyEntriesInBatchRequest",
        "The batch request contains more entries than permissible.")
    assert failure(sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "m"}, {"Id": "a", "Message": "n"}]) == error(
        400, "BatchEntryIdsNotDistinct",
        "Two or more batch entries in the request have the same Id.")
    assert failure(sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[
        {"Id": "a b", "Message": "m"}]) == error(
        400, "InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long.")


@neutral
def test_subscriptions_tags_and_their_errors(sns):
    arn = sns.create_topic(Name="t-subs", Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
    fn = f"arn:aws:lambda:{h.REGION}:{h.ACCOUNT}:function:nothing"
    queue = f"arn:aws:sqs:{h.REGION}:{h.ACCOUNT}:q1"
    sub = sns.subscribe(TopicArn=arn, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    assert sns.subscribe(TopicArn=arn, Protocol="lambda", Endpoint=fn)["SubscriptionArn"] == sub
    qsub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue,
                         Attributes={"RawMessageDelivery": "true"},
                         ReturnSubscriptionArn=True)["SubscriptionArn"]
    pending = sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="http://127.0.0.1:9/x")
    assert pending["SubscriptionArn"] == "pending confirmation"
    listed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert sorted(listed, key=lambda s: s["Protocol"]) == [
        {"SubscriptionArn": "PendingConfirmation", "Owner": h.ACCOUNT, "Protocol": "http",
         "Endpoint": "http://127.0.0.1:9/x", "TopicArn": arn},
        {"SubscriptionArn": sub, "Owner": h.ACCOUNT, "Protocol": "lambda", "Endpoint": fn,
         "TopicArn": arn},
        {"SubscriptionArn": qsub, "Owner": h.ACCOUNT, "Protocol": "sqs", "Endpoint": queue,
         "TopicArn": arn},
    ]
    assert {s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]} >= {sub, qsub}
    attrs = sns.get_subscription_attributes(SubscriptionArn=qsub)["Attributes"]
    assert attrs == {"Owner": h.ACCOUNT, "RawMessageDelivery": "true", "TopicArn": arn,
                     "Endpoint": queue, "Protocol": "sqs", "PendingConfirmation": "false",
                     "ConfirmationWasAuthenticated": "true", "SubscriptionArn": qsub,
                     "SubscriptionPrincipal": f"arn:aws:iam::{h.ACCOUNT}:root"}
    sns.set_subscription_attributes(SubscriptionArn=qsub, AttributeName="FilterPolicy",
                                    AttributeValue='{"color": ["red"]}')
    sns.set_subscription_attributes(SubscriptionArn=qsub, AttributeName="RedrivePolicy",
                                    AttributeValue=json.dumps(
                                        {"deadLetterTargetArn": queue + "-dlq"}))
    attrs = sns.get_subscription_attributes(SubscriptionArn=qsub)["Attributes"]
    assert attrs["FilterPolicy"] == '{"color": ["red"]}'
    assert attrs["FilterPolicyScope"] == "MessageAttributes"
    assert failure(sns.set_subscription_attributes, SubscriptionArn=qsub,
                   AttributeName="FilterPolicy", AttributeValue="[") == \
        invalid("FilterPolicy: failed to parse JSON.")
    assert failure(sns.set_subscription_attributes, SubscriptionArn=sub,
                   AttributeName="RawMessageDelivery", AttributeValue="true") == invalid(
        "Attributes Reason: Delivery protocol [lambda] does not support raw message delivery.")
    assert failure(sns.subscribe, TopicArn=arn, Protocol="email", Endpoint="a@b.c") == \
        invalid("Amazon SNS does not support this protocol string: email")
    assert failure(sns.subscribe, TopicArn=arn, Protocol="lambda", Endpoint="f") == \
        invalid("Lambda endpoint ARN")
    assert failure(sns.subscribe, TopicArn=arn, Protocol="https", Endpoint="http://x") == \
        invalid("Endpoint must match the specified protocol")
    assert failure(sns.subscribe, TopicArn=f"{TOPIC}:missing", Protocol="sqs",
                   Endpoint=queue) == error(404, "NotFound", "Topic does not exist")
    sns.unsubscribe(SubscriptionArn=sub)
    assert failure(sns.get_subscription_attributes, SubscriptionArn=sub) == \
        error(404, "NotFound", "Subscription does not exist")
    sns.unsubscribe(SubscriptionArn=sub)  # gone already: success, as AWS answers

    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team",
                                                                     "Value": "a"}]
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"},
                                             {"Key": "team", "Value": "b"}])
    sns.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team",
                                                                     "Value": "b"}]
    assert failure(sns.list_tags_for_resource, ResourceArn=f"{TOPIC}:missing") == \
        error(404, "ResourceNotFound", "Resource does not exist")
    assert failure(sns.create_topic, Name="t-subs", Tags=[{"Key": "team", "Value": "z"}]) == \
        invalid("Tags Reason: Topic already exists with different tags")
    assert failure(sns.tag_resource, ResourceArn=arn, Tags=[{"Key": "k", "Value": "1"},
                                                            {"Key": "k", "Value": "2"}]) == \
        invalid("Duplicated keys are not allowed.")
    sns.delete_topic(TopicArn=arn)
    assert failure(sns.get_subscription_attributes, SubscriptionArn=qsub) == \
        error(404, "NotFound", "Subscription does not exist")


@neutral
def test_another_account_publishes_when_the_topic_policy_lets_it(server, sns, tmp_path):
    """sns:Publish across accounts needs the caller's identity policy AND the topic's
    Policy, as AWS evaluates it; a user of the topic's own account needs its own policy."""
    other = "111111111111"
    arn = sns.create_topic(Name="t-shared")["TopicArn"]
    key = h.user_key(server, tmp_path, other, "publisher", [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}])
    publisher = boto3.session.Session().client(
        "sns", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    denied = failure(publisher.publish, TopicArn=arn, Message="m")
    assert denied["Error"]["Code"] == "AuthorizationError"
    assert denied["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert denied["Error"]["Message"] == (
        f"User: arn:aws:iam::{other}:user/publisher is not authorized to perform: SNS:Publish "
        f"on resource: {arn} because no resource-based policy allows the SNS:Publish action")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2008-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"},
            "Action": "SNS:Publish", "Resource": arn}]}))
    assert "MessageId" in publisher.publish(TopicArn=arn, Message="m")
    # Only Publish: the policy does not let the other account delete the topic.
    assert failure(publisher.delete_topic, TopicArn=arn)["Error"]["Code"] == \
        "AuthorizationError"
    assert failure(sns.set_topic_attributes, TopicArn=arn, AttributeName="Policy",
                   AttributeValue="{") ["Error"]["Code"] == "InvalidParameter"
    # A topic policy names only the topic's own actions, as SNS checks.
    assert failure(sns.set_topic_attributes, TopicArn=arn, AttributeName="Policy",
                   AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": [{
                       "Effect": "Allow", "Principal": {"AWS": "*"},
                       "Action": ["sns:Publish", "sns:CreateTopic"], "Resource": arn}]})) == \
        invalid("Policy statement action out of service scope!")


@neutral
def test_add_and_remove_permission_edit_the_topic_policy(server, sns, tmp_path):
    """AddPermission writes a statement into the topic's Policy (AWS's default policy kept
    beside it) in AWS's shape — one account or action a string, several a list — that lets
    the other account in; RemovePermission takes it out; errors as AWS answers them (as
    recorded from AWS by LocalStack's validated tests)."""
    other = "111111111111"
    arn = sns.create_topic(Name=h.unique_name("t-perm"))["TopicArn"]
    key = h.user_key(server, tmp_path, other, "perm-publisher", [
        {"Effect": "Allow", "Action": "sns:*", "Resource": "*"}])
    theirs = boto3.session.Session().client(
        "sns", region_name=h.REGION, endpoint_url=server.endpoint,
        aws_access_key_id=key[0], aws_secret_access_key=key[1],
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
    assert failure(theirs.publish, TopicArn=arn, Message="m")["Error"]["Code"] == \
        "AuthorizationError"
    added = sns.add_permission(TopicArn=arn, Label="let-publish", AWSAccountId=[other],
                               ActionName=["Publish"])
    assert answer(added) == {"ResponseMetadata": {"HTTPStatusCode": 200}}
    sns.add_permission(TopicArn=arn, Label="two", AWSAccountId=[other, "222222222222"],
                       ActionName=["Publish", "Subscribe"])
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert policy["Id"] == "__default_policy_ID" and policy["Version"] == "2008-10-17"
    default, one, two = policy["Statement"]
    assert default["Sid"] == "__default_statement_ID"
    assert one == {"Sid": "let-publish", "Effect": "Allow",
                   "Principal": {"AWS": f"arn:aws:iam::{other}:root"},
                   "Action": "SNS:Publish", "Resource": arn}
    assert two["Principal"] == {"AWS": [f"arn:aws:iam::{other}:root",
                                        "arn:aws:iam::222222222222:root"]}
    assert two["Action"] == ["SNS:Publish", "SNS:Subscribe"]
    assert "MessageId" in theirs.publish(TopicArn=arn, Message="let in")
    # Publish only: the other account may not delete the topic.
    assert failure(theirs.delete_topic, TopicArn=arn)["Error"]["Code"] == "AuthorizationError"

    assert failure(sns.add_permission, TopicArn=arn, Label="let-publish",
                   AWSAccountId=[other], ActionName=["AddPermission"]) == \
        invalid("Statement already exists")
    assert failure(sns.add_permission, TopicArn=arn, Label="x", AWSAccountId=[other],
                   ActionName=["InvalidAction"]) == \
        invalid("Policy statement action out of service scope!")
    assert failure(sns.add_permission, TopicArn=f"{arn}-not-existing", Label="x",
                   AWSAccountId=[other], ActionName=["Publish"]) == \
        error(404, "NotFound", "Topic does not exist")
    assert failure(sns.remove_permission, TopicArn=f"{arn}-not-existing", Label="x") == \
        error(404, "NotFound", "Topic does not exist")

    sns.remove_permission(TopicArn=arn, Label="let-publish")
    sns.remove_permission(TopicArn=arn, Label="two")
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID"]
    assert failure(theirs.publish, TopicArn=arn, Message="m")["Error"]["Code"] == \
        "AuthorizationError"
    # Each is authorised as its own action: the other account, let do Publish only,
    # may not add a permission.
    sns.add_permission(TopicArn=arn, Label="p", AWSAccountId=[other], ActionName=["Publish"])
    denied = failure(theirs.add_permission, TopicArn=arn, Label="mine",
                     AWSAccountId=[other], ActionName=["DeleteTopic"])
    assert denied["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "SNS:AddPermission" in denied["Error"]["Message"]


@neutral
def test_the_aws_cli(server, tmp_path):
    env = h.aws_env(tmp_path, server.endpoint)

    def aws(*args):
        out = h.run(h._aws_command() + ["sns", *args, "--endpoint-url", server.endpoint,
                                        "--region", h.REGION, "--output", "json"], env=env)
        return json.loads(out.stdout) if out.stdout.strip() else None

    arn = aws("create-topic", "--name", "cli-topic")["TopicArn"]
    assert arn == f"{TOPIC}:cli-topic"
    assert arn in [t["TopicArn"] for t in aws("list-topics")["Topics"]]
    out = aws("publish", "--topic-arn", arn, "--message", "hello", "--subject", "s",
              "--message-attributes", '{"k": {"DataType": "String", "StringValue": "v"}}')
    assert set(out) == {"MessageId"}
    attrs = aws("get-topic-attributes", "--topic-arn", arn)["Attributes"]
    assert attrs["TopicArn"] == arn
    queue = f"arn:aws:sqs:{h.REGION}:{h.ACCOUNT}:cli-queue"
    sub = aws("subscribe", "--topic-arn", arn, "--protocol", "sqs", "--notification-endpoint",
              queue, "--attributes", '{"RawMessageDelivery": "true"}')["SubscriptionArn"]
    listed = aws("list-subscriptions-by-topic", "--topic-arn", arn)["Subscriptions"]
    assert listed == [{"SubscriptionArn": sub, "Owner": h.ACCOUNT, "Protocol": "sqs",
                       "Endpoint": queue, "TopicArn": arn}]
    aws("set-subscription-attributes", "--subscription-arn", sub, "--attribute-name",
        "FilterPolicy", "--attribute-value", '{"k": ["v"]}')
    assert aws("get-subscription-attributes", "--subscription-arn", sub)["Attributes"][
        "FilterPolicy"] == '{"k": ["v"]}'
    batch = aws("publish-batch", "--topic-arn", arn, "--publish-batch-request-entries",
                json.dumps([{"Id": "a", "Message": "one"}, {"Id": "b", "Message": "two"}]))
    assert [e["Id"] for e in batch["Successful"]] == ["a", "b"] and batch["Failed"] == []
    aws("tag-resource", "--resource-arn", arn, "--tags", "Key=team,Value=cli")
    assert aws("list-tags-for-resource", "--resource-arn", arn)["Tags"] == [
        {"Key": "team", "Value": "cli"}]
    aws("untag-resource", "--resource-arn", arn, "--tag-keys", "team")
    assert aws("list-tags-for-resource", "--resource-arn", arn)["Tags"] == []
    aws("add-permission", "--topic-arn", arn, "--label", "cli", "--aws-account-id",
        "111111111111", "--action-name", "Publish", "GetTopicAttributes")
    policy = json.loads(aws("get-topic-attributes", "--topic-arn", arn)["Attributes"]["Policy"])
    assert policy["Statement"][-1] == {
        "Sid": "cli", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
        "Action": ["SNS:Publish", "SNS:GetTopicAttributes"], "Resource": arn}
    aws("remove-permission", "--topic-arn", arn, "--label", "cli")
    policy = json.loads(aws("get-topic-attributes", "--topic-arn", arn)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID"]
    aws("unsubscribe", "--subscription-arn", sub)
    assert sub not in [x["SubscriptionArn"] for x in aws("list-subscriptions")["Subscriptions"]]
    aws("delete-topic", "--topic-arn", arn)
    assert arn not in [t["TopicArn"] for t in aws("list-topics")["Topics"]]


def verify(message: dict, cert_pem: bytes) -> None:
    """Verifies an SNS message as AWS documents it: the canonical string of its type,
    signed with SHA1withRSA (SignatureVersion 1) or SHA256withRSA (2)."""
    if message["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    canonical = "".join(f"{k}\n{message[k]}\n" for k in keys if message.get(k) is not None)
    cert = x509.load_pem_x509_certificate(cert_pem)
    digest = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()
    cert.public_key().verify(base64.b64decode(message["Signature"]), canonical.encode(),
                             padding.PKCS1v15(), digest)


class Subscriber:
    """An HTTP endpoint that records what SNS POSTs to it."""

    def __init__(self):
        self.received = []
        self.status = 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()},
                                      body.decode()))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/sns"

    def wait(self, n, timeout=30):
        assert h.wait_until(lambda: len(self.received) >= n, timeout=timeout), self.received
        return self.received[n - 1]


def fetch(url: str) -> tuple[int, bytes]:
    """An unsigned GET, as a subscriber opens SNS's links."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read()


@neutral
def test_an_http_subscriber_confirms_and_verifies_every_message(sns):
    endpoint = Subscriber()
    try:
        arn = sns.create_topic(Name="t-http")["TopicArn"]
        sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion",
                                 AttributeValue="2")
        assert sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint.url)[
            "SubscriptionArn"] == "pending confirmation"
        headers, body = endpoint.wait(1)
        confirm = json.loads(body)
        assert list(confirm) == ["Type", "MessageId", "Token", "TopicArn", "Message",
                                 "SubscribeURL", "Timestamp", "SignatureVersion", "Signature",
                                 "SigningCertURL"]
        assert confirm["Type"] == "SubscriptionConfirmation"
        assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
        assert headers["x-amz-sns-message-id"] == confirm["MessageId"]
        assert headers["x-amz-sns-topic-arn"] == arn
        assert headers["content-type"] == "text/plain; charset=UTF-8"
        assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
        assert confirm["Message"] == (
            f"You have chosen to subscribe to the topic {arn}.\nTo confirm the subscription, "
            "visit the SubscribeURL included in this message.")
        status, cert = fetch(confirm["SigningCertURL"])
        assert status == 200 and cert.startswith(b"-----BEGIN CERTIFICATE-----")
        verify(confirm, cert)
        # The link works unsigned, as a subscriber opens it.
        status, xml = fetch(confirm["SubscribeURL"])
        assert status == 200 and b"<SubscriptionArn>" + arn.encode() in xml
        subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        sub = subs[0]["SubscriptionArn"]
        assert sub.startswith(arn + ":")

        sns.publish(TopicArn=arn, Message="hello", Subject="greeting",
                    MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
        headers, body = endpoint.wait(2)
        note = json.loads(body)
        assert list(note) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                              "SignatureVersion", "Signature", "SigningCertURL",
                              "UnsubscribeURL", "MessageAttributes"]
        assert note["Message"] == "hello" and note["Subject"] == "greeting"
        assert note["SignatureVersion"] == "2"
        assert note["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
        assert headers["x-amz-sns-subscription-arn"] == sub
        verify(note, cert)
        # Version 1 (SHA1withRSA), AWS's default.
        sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion",
                                 AttributeValue="1")
        sns.publish(TopicArn=arn, Message="again")
        _, body = endpoint.wait(3)
        note = json.loads(body)
        assert note["SignatureVersion"] == "1" and "Subject" not in note
        verify(note, cert)
        tampered = dict(note, Message="other")
        with pytest.raises(Exception):
            verify(tampered, cert)

        status, _ = fetch(note["UnsubscribeURL"])
        assert status == 200
        headers, body = endpoint.wait(4)
        bye = json.loads(body)
        assert bye["Type"] == "UnsubscribeConfirmation"
        verify(bye, cert)
        assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    finally:
        endpoint.httpd.shutdown()


@neutral
def test_an_accepted_message_is_delivered_after_a_kill(own_server):
    """A Publish is durable: the server is killed (-9) while the endpoint fails, and the
    message is delivered after the restart, by the retry policy set on the subscription."""
    sns = sns_client(own_server.endpoint)
    endpoint = Subscriber()
    try:
        arn = sns.create_topic(Name="t-durable")["TopicArn"]
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint.url)
        _, body = endpoint.wait(1)
        sub = sns.confirm_subscription(TopicArn=arn, Token=json.loads(body)["Token"])[
            "SubscriptionArn"]
        sns.set_subscription_attributes(
            SubscriptionArn=sub, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(
                {"healthyRetryPolicy": {"numRetries": 100, "minDelayTarget": 1,
                                        "maxDelayTarget": 1}}))
        endpoint.status = 503
        message_id = sns.publish(TopicArn=arn, Message="survives")["MessageId"]
        endpoint.wait(3)  # the first attempt and a retry, both refused
        port = own_server.port
        own_server.kill()
        endpoint.status = 200
        seen = len(endpoint.received)
        own_server.start(port=port)
        headers, body = endpoint.wait(seen + 1)
        assert json.loads(body)["MessageId"] == message_id
        assert headers["x-amz-sns-subscription-arn"] == sub
        # Delivered: no more attempts follow.
        time.sleep(2.5)
        assert len(endpoint.received) == seen + 1
    finally:
        endpoint.httpd.shutdown()


VALIDATE_JS = """
const MessageValidator = require('sns-validator');
const messages = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const validator = new MessageValidator(/^127\\.0\\.0\\.1(:\\d+)?$/);
const results = [];
let left = messages.length;
messages.forEach((m, i) => validator.validate(m, (err) => {
  results[i] = err ? err.message : 'valid';
  if (--left === 0) console.log(JSON.stringify(results));
}));
"""


@pytest.fixture(scope="module")
def sns_validator(tmp_path_factory):
    """The npm package `sns-validator` (what Node subscribers verify SNS messages with),
    installed from the npm registry for this run."""
    import shutil
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are needed for sns-validator")
    where = tmp_path_factory.mktemp("sns-validator")
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(where),
                           "sns-validator@0.3.5"], capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        pytest.skip(f"cannot install sns-validator: {done.stderr[-500:]}")
    (where / "validate.js").write_text(VALIDATE_JS)
    return where


@neutral
def test_sns_validator_accepts_hearths_messages(tmp_path_factory, runtimes_dir, sns_validator):
    """sns-validator insists on an https SigningCertURL ending in .pem whose host matches a
    pattern: a server with a self-signed certificate, trusted by node, and the pattern
    allowing 127.0.0.1. Both signature versions and all three message types verify, and a
    changed message does not."""
    base = tmp_path_factory.mktemp("sns-tls")
    srv = h.start_self_signed(base, runtimes_dir)
    endpoint = Subscriber()
    try:
        sns = boto3.session.Session().client(
            "sns", region_name=h.REGION, endpoint_url=srv.endpoint, verify=str(srv.ca_bundle),
            **h.key_args(srv.endpoint))
        arn = sns.create_topic(Name="t-verified")["TopicArn"]
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint.url)
        _, body = endpoint.wait(1)
        sub = sns.confirm_subscription(TopicArn=arn, Token=json.loads(body)["Token"])[
            "SubscriptionArn"]
        sns.publish(TopicArn=arn, Message="signed with SHA1", Subject="one")
        sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion",
                                 AttributeValue="2")
        sns.publish(TopicArn=arn, Message="signed with SHA256")
        endpoint.wait(3)
        sns.unsubscribe(SubscriptionArn=sub)
        endpoint.wait(4)
        messages = [json.loads(b) for _, b in endpoint.received]
        assert [m["Type"] for m in messages] == ["SubscriptionConfirmation", "Notification",
                                                 "Notification", "UnsubscribeConfirmation"]
        assert messages[0]["SigningCertURL"].startswith("https://127.0.0.1:")
        # sns-validator signs an UnsubscribeConfirmation with a notification's keys (no
        # Token), unlike AWS's documentation and the AWS SDKs' validators, which Hearth
        # follows (`verify` checks it in the tests above): it is left out here.
        import ssl
        tls = ssl.create_default_context(cafile=str(srv.ca_bundle))
        with urllib.request.urlopen(messages[3]["SigningCertURL"], context=tls) as resp:
            verify(messages[3], resp.read())
        messages = messages[:3]
        tampered = [dict(m, Message=m["Message"] + "!") for m in messages]
        path = base / "messages.json"
        path.write_text(json.dumps(messages + tampered))
        out = subprocess.run(["node", str(sns_validator / "validate.js"), str(path)],
                             capture_output=True, text=True, timeout=60, cwd=sns_validator,
                             env=dict(os.environ, NODE_EXTRA_CA_CERTS=str(srv.ca_bundle)))
        assert out.returncode == 0, out.stderr
        results = json.loads(out.stdout)
        assert results == ["valid"] * 3 + ["The message signature is invalid."] * 3
    finally:
        endpoint.httpd.shutdown()
        srv.stop_cleanly()


@neutral
def test_only_the_links_work_unsigned(server, sns):
    """SubscribeURL and UnsubscribeURL are opened without credentials; nothing else is,
    however the query is dressed (a later duplicate Action is the one that would run)."""
    import urllib.error
    arn = sns.create_topic(Name="t-links")["TopicArn"]
    for query in ["Action=ListTopics&Version=2010-03-31",
                  f"Action=ConfirmSubscription&Action=DeleteTopic&TopicArn={arn}",
                  "Action=Unsubscribe&Action=ListRoles&Version=2010-05-08"]:
        with pytest.raises(urllib.error.HTTPError) as e:
            fetch(f"{server.endpoint}/?{query}")
        assert e.value.code == 403, query
    assert arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    with pytest.raises(urllib.error.HTTPError) as e:
        fetch(f"{server.endpoint}/?Action=ConfirmSubscription&TopicArn={arn}&Token=nope")
    assert e.value.code == 400
    assert b"<Code>InvalidParameter</Code>" in e.value.read()
    # A subscription confirmed by an authenticated call (lambda and sqs ones are, by their
    # Subscribe) is not removed by an unsigned link.
    queue = f"arn:aws:sqs:{h.REGION}:{h.ACCOUNT}:links"
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue)["SubscriptionArn"]
    with pytest.raises(urllib.error.HTTPError) as e:
        fetch(f"{server.endpoint}/?Action=Unsubscribe&SubscriptionArn={sub}")
    assert e.value.code == 403
    assert b"<Code>AuthorizationError</Code>" in e.value.read()
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["Endpoint"] == queue


@neutral
def test_filter_policies_and_raw_delivery_over_http(sns):
    """Only the messages a subscription's FilterPolicy matches reach it (attributes, or the
    body with FilterPolicyScope MessageBody), and RawMessageDelivery posts the message
    itself with x-amz-sns-rawdelivery."""
    by_attr, by_body = Subscriber(), Subscriber()
    try:
        arn = sns.create_topic(Name="t-filtered")["TopicArn"]
        for endpoint, attrs in [
            (by_attr, {"FilterPolicy": '{"color": ["red"]}', "RawMessageDelivery": "true"}),
            (by_body, {"FilterPolicy": '{"kind": ["order"]}',
                       "FilterPolicyScope": "MessageBody"}),
        ]:
            sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint.url, Attributes=attrs)
            _, body = endpoint.wait(1)
            sns.confirm_subscription(TopicArn=arn, Token=json.loads(body)["Token"])
        color = lambda c: {"color": {"DataType": "String", "StringValue": c}}  # noqa: E731
        sns.publish(TopicArn=arn, Message='{"kind": "refund"}', MessageAttributes=color("blue"))
        sns.publish(TopicArn=arn, Message='{"kind": "order"}', MessageAttributes=color("red"))
        headers, body = by_attr.wait(2)
        assert body == '{"kind": "order"}'
        assert headers["x-amz-sns-rawdelivery"] == "true"
        _, body = by_body.wait(2)
        assert json.loads(body)["Message"] == '{"kind": "order"}'
        time.sleep(1)
        assert len(by_attr.received) == 2 and len(by_body.received) == 2
    finally:
        by_attr.httpd.shutdown()
        by_body.httpd.shutdown()


@neutral
def test_fifo_deduplication_outlives_a_restart(own_server):
    sns = sns_client(own_server.endpoint)
    arn = sns.create_topic(Name="t-dedup.fifo", Attributes={
        "FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    first = sns.publish(TopicArn=arn, Message="once", MessageGroupId="g")
    own_server.restart(same_port=True)
    sns = sns_client(own_server.endpoint)
    again = sns.publish(TopicArn=arn, Message="once", MessageGroupId="g")
    assert (again["MessageId"], again["SequenceNumber"]) == \
        (first["MessageId"], first["SequenceNumber"])
    other = sns.publish(TopicArn=arn, Message="twice", MessageGroupId="g")
    assert other["MessageId"] != first["MessageId"]
    assert other["SequenceNumber"] > first["SequenceNumber"]


def test_a_function_receives_the_sns_event(server, client, sns):
    name = h.unique_name("sns-fn")
    fn = h.create_function(client, name, zip_file=h.recorder_zip())["FunctionArn"]
    arn = sns.create_topic(Name="t-lambda")["TopicArn"]
    sub = sns.subscribe(TopicArn=arn, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
    # Without a permission for SNS, the function is not invoked (SNS keeps retrying).
    sns.publish(TopicArn=arn, Message="denied")
    time.sleep(2)
    assert h.recorded(server, name) == []
    client.add_permission(FunctionName=name, StatementId="sns", Action="lambda:InvokeFunction",
                          Principal="sns.amazonaws.com", SourceArn=arn)
    published = sns.publish(TopicArn=arn, Message="hello", Subject="subj", MessageAttributes={
        "s": {"DataType": "String", "StringValue": "v"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    assert h.wait_until(lambda: len(h.recorded(server, name)) >= 2, timeout=60)
    events = h.recorded(server, name)
    by_message = {e["Records"][0]["Sns"]["Message"]: e for e in events}
    # The one published before the permission is delivered by a retry.
    assert set(by_message) == {"denied", "hello"}
    event = by_message["hello"]
    record = event["Records"][0]
    sns_part = record["Sns"]
    assert list(event) == ["Records"] and len(event["Records"]) == 1
    assert sorted(record) == ["EventSource", "EventSubscriptionArn", "EventVersion", "Sns"]
    assert (record["EventSource"], record["EventVersion"], record["EventSubscriptionArn"]) == \
        ("aws:sns", "1.0", sub)
    assert sorted(sns_part) == sorted([
        "Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
        "Signature", "SigningCertUrl", "UnsubscribeUrl", "MessageAttributes"])
    assert sns_part["Type"] == "Notification"
    assert sns_part["MessageId"] == published["MessageId"]
    assert (sns_part["TopicArn"], sns_part["Subject"]) == (arn, "subj")
    assert sns_part["MessageAttributes"] == {
        "s": {"Type": "String", "Value": "v"},
        "b": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()}}
    assert by_message["denied"]["Records"][0]["Sns"]["Subject"] is None
    _, cert = fetch(sns_part["SigningCertUrl"])
    verify(sns_part, cert)
