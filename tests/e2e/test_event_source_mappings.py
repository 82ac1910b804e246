"""Event-source mappings (SQS): the control plane (Create/Get/Update/Delete/List with
Lambda's shapes, states, validation and errors, the queue's existence and visibility
timeout, the execution role's SQS permissions, no change while another is in progress,
mappings surviving a restart) and delivery (Python and Node functions consuming a queue
with partial batch failures, the queue's redrive policy to a dead-letter queue, filters,
a version's own role, a server serving HTTPS, another SQS endpoint).

The queues are Hearth's own SQS service's, which the pollers call in-process."""

import io
import json
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

import hearth_e2e as h
from hearth_fleet import fleet, postgres  # noqa: F401 (fixtures)

pytestmark = pytest.mark.sandbox_neutral

SQS_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
               "sqs:ChangeMessageVisibility"]


def queue_arn(name):
    return f"arn:aws:sqs:{h.REGION}:{h.ACCOUNT}:{name}"


def error(call, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    return h.error_of(e.value)


def strip(resp):
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def wait_gone(client, uuid, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = client.get_event_source_mapping(UUID=uuid)
        except ClientError as e:
            assert h.error_of(e)[1] == "ResourceNotFoundException"
            return
        assert got["State"] == "Deleting"
        assert time.monotonic() < deadline, "the deleted mapping stayed"
        time.sleep(0.2)


def sqs_client(endpoint, verify=None):
    return h.service_client(endpoint, "sqs", verify=verify)


@pytest.fixture(scope="module")
def sqs(server):
    return sqs_client(server.endpoint)


def new_queue(sqs, prefix="q", **attributes):
    """A queue of a unique name with `attributes`, and its ARN."""
    url = sqs.create_queue(QueueName=h.unique_name(prefix),
                           Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


@pytest.fixture(scope="module", autouse=True)
def role_may_poll(server):
    """The test functions' execution role may poll queues (Lambda checks it at create)."""
    h.allow_role(server.endpoint, SQS_ACTIONS)


def test_create_get_list_update_delete(client, sqs):
    name = h.unique_name("esm")
    h.create_function(client, name)
    arn = new_queue(sqs)
    made = client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 202
    uuid = made["UUID"]
    assert h.UUID_RE.match(uuid)
    assert strip(made) == {
        "UUID": uuid,
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 0,
        "EventSourceArn": arn,
        "FunctionArn": h.function_arn(name),
        "LastModified": made["LastModified"],
        "State": "Creating",
        "StateTransitionReason": "USER_INITIATED",
        "FunctionResponseTypes": [],
        "EventSourceMappingArn":
            f"arn:aws:lambda:{h.REGION}:{h.ACCOUNT}:event-source-mapping:{uuid}",
    }
    assert abs(made["LastModified"].timestamp() - time.time()) < 60
    got = h.wait_mapping_state(client, uuid, "Enabled")
    assert got["FunctionArn"] == h.function_arn(name)

    listed = client.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [uuid]
    by_source = client.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
    assert [m["UUID"] for m in by_source] == [uuid]

    updated = client.update_event_source_mapping(
        UUID=uuid, BatchSize=50, MaximumBatchingWindowInSeconds=2,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        ScalingConfig={"MaximumConcurrency": 3},
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["a"]}})}]})
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert updated["State"] == "Updating"
    assert updated["BatchSize"] == 50
    assert updated["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert updated["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert updated["FilterCriteria"] == {
        "Filters": [{"Pattern": json.dumps({"body": {"kind": ["a"]}})}]}
    h.wait_mapping_state(client, uuid, "Enabled")

    disabled = client.update_event_source_mapping(UUID=uuid, Enabled=False)
    assert disabled["State"] == "Disabling"
    h.wait_mapping_state(client, uuid, "Disabled")
    enabled = client.update_event_source_mapping(UUID=uuid, Enabled=True)
    assert enabled["State"] == "Enabling"
    h.wait_mapping_state(client, uuid, "Enabled")

    deleted = client.delete_event_source_mapping(UUID=uuid)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["State"] == "Deleting"
    wait_gone(client, uuid)
    assert client.list_event_source_mappings(FunctionName=name)["EventSourceMappings"] == []


def test_created_disabled_and_paged(client, sqs):
    name = h.unique_name("esm-page")
    h.create_function(client, name)
    uuids = []
    for i in range(3):
        m = client.create_event_source_mapping(
            EventSourceArn=new_queue(sqs, f"q{i}"), FunctionName=name, Enabled=False)
        uuids.append(m["UUID"])
    h.wait_mapping_state(client, uuids[0], "Disabled")
    seen, marker = [], None
    while True:
        kw = {"Marker": marker} if marker else {}
        page = client.list_event_source_mappings(FunctionName=name, MaxItems=2, **kw)
        assert len(page["EventSourceMappings"]) <= 2
        seen += [m["UUID"] for m in page["EventSourceMappings"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert sorted(seen) == sorted(uuids)


def test_errors_as_lambda_gives_them(client, raw_client, sqs):
    name = h.unique_name("esm-err")
    h.create_function(client, name)
    arn = new_queue(sqs)

    # A batch over 10 needs a batching window.
    assert error(client.create_event_source_mapping, EventSourceArn=arn, FunctionName=name,
                 BatchSize=100) == (
        400, "InvalidParameterValueException",
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
        "greater than 10")
    status, code, message = error(raw_client.create_event_source_mapping, EventSourceArn=arn,
                                  FunctionName=name, BatchSize=0)
    assert (status, code) == (400, "ValidationException")
    assert "Value '0' at 'batchSize' failed to satisfy constraint: Member must have value " \
           "greater than or equal to 1" in message
    status, code, message = error(raw_client.create_event_source_mapping, EventSourceArn=arn,
                                  FunctionName=name, ScalingConfig={"MaximumConcurrency": 1})
    assert (status, code) == (400, "ValidationException")
    assert "at 'scalingConfig.maximumConcurrency'" in message
    # SQS mappings take no stream settings nor destinations.
    assert error(client.create_event_source_mapping, EventSourceArn=arn, FunctionName=name,
                 DestinationConfig={"OnFailure": {"Destination": queue_arn("dlq")}}) == (
        400, "InvalidParameterValueException",
        "Unsupported DestinationConfig parameter for given event source mapping type.")
    assert error(client.create_event_source_mapping, EventSourceArn=arn, FunctionName=name,
                 FilterCriteria={"Filters": [{"Pattern": "not json"}]}) == (
        400, "InvalidParameterValueException", "Invalid filter pattern definition.")
    # A FIFO queue takes no batching window.
    fifo = sqs.create_queue(QueueName=h.unique_name("q") + ".fifo",
                            Attributes={"FifoQueue": "true"})["QueueUrl"]
    fifo_arn = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    assert error(client.create_event_source_mapping, EventSourceArn=fifo_arn,
                 FunctionName=name, BatchSize=100, MaximumBatchingWindowInSeconds=5) == (
        400, "InvalidParameterValueException", "Batching window is not supported for FIFO queues")
    # The function must exist: Lambda's words for a mapping, not GetFunction's.
    assert error(client.create_event_source_mapping, EventSourceArn=arn,
                 FunctionName=name + "-missing") == (
        400, "InvalidParameterValueException", "Function does not exist")

    made = client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    assert error(client.create_event_source_mapping, EventSourceArn=arn,
                 FunctionName=name) == (
        409, "ResourceConflictException",
        f"An event source mapping with SQS arn (\" {arn} \") and function (\" {name} \") "
        f"already exists. Please update or delete the existing mapping with UUID "
        f"{made['UUID']}")
    # BatchSize over 10 on update too, unless the window comes with it.
    h.wait_mapping_state(client, made["UUID"], "Enabled")
    assert error(client.update_event_source_mapping, UUID=made["UUID"], BatchSize=20)[1] == \
        "InvalidParameterValueException"

    unknown = "a1b2c3d4-5678-90ab-cdef-111111111111"
    for call in (client.get_event_source_mapping, client.delete_event_source_mapping):
        assert error(call, UUID=unknown) == (
            404, "ResourceNotFoundException", "The resource you requested does not exist.")
    assert error(client.update_event_source_mapping, UUID=unknown, BatchSize=5)[:2] == (
        404, "ResourceNotFoundException")
    client.delete_event_source_mapping(UUID=made["UUID"])


def test_the_role_must_be_allowed_to_poll(client, server):
    role = "hearth-e2e-no-sqs"
    h.make_execution_role(server.endpoint, role=role)
    name = h.unique_name("esm-role")
    h.create_function(client, name, Role=f"arn:aws:iam::{h.ACCOUNT}:role/{role}")
    assert error(client.create_event_source_mapping, EventSourceArn=queue_arn("q"),
                 FunctionName=name) == (
        400, "InvalidParameterValueException",
        "The provided execution role does not have permissions to call ReceiveMessage on SQS")


def test_mappings_survive_a_restart(own_server):
    h.allow_role(own_server.endpoint, SQS_ACTIONS)
    client = h.lambda_client(own_server.endpoint)
    name = h.unique_name("esm-restart")
    h.create_function(client, name)
    made = client.create_event_source_mapping(
        EventSourceArn=new_queue(sqs_client(own_server.endpoint)), FunctionName=name,
        BatchSize=7)
    h.wait_mapping_state(client, made["UUID"], "Enabled")
    own_server.restart()
    client = h.lambda_client(own_server.endpoint)
    got = client.get_event_source_mapping(UUID=made["UUID"])
    assert (got["State"], got["BatchSize"]) == ("Enabled", 7)


def test_mappings_are_tagged_by_their_arn(client, sqs):
    name = h.unique_name("esm-tags")
    h.create_function(client, name)
    made = client.create_event_source_mapping(EventSourceArn=new_queue(sqs),
                                              FunctionName=name, Tags={"team": "a"})
    arn = made["EventSourceMappingArn"]
    assert client.list_tags(Resource=arn)["Tags"] == {"team": "a"}
    client.tag_resource(Resource=arn, Tags={"stage": "prod"})
    client.untag_resource(Resource=arn, TagKeys=["team"])
    assert client.list_tags(Resource=arn)["Tags"] == {"stage": "prod"}
    h.wait_mapping_state(client, made["UUID"], "Enabled")
    client.delete_event_source_mapping(UUID=made["UUID"])
    wait_gone(client, made["UUID"])
    assert error(client.list_tags, Resource=arn)[:2] == (404, "ResourceNotFoundException")


def test_iam_scopes_mappings_by_function_and_by_arn(client, server, sqs, tmp_path):
    """Create and List act on `*` with the condition key `lambda:FunctionArn`; Get, Update
    and Delete on the mapping's ARN (and the same key, of the mapping's function)."""
    allowed, other = h.unique_name("esm-iam"), h.unique_name("esm-iam-other")
    h.create_function(client, allowed)
    h.create_function(client, other)
    key = h.user_key(server, tmp_path, h.ACCOUNT, h.unique_name("esm-user"), [
        {"Effect": "Allow", "Resource": "*",
         "Action": ["lambda:CreateEventSourceMapping", "lambda:ListEventSourceMappings",
                    "lambda:GetEventSourceMapping"],
         "Condition": {"StringEquals": {"lambda:FunctionArn": h.function_arn(allowed)}}},
    ])
    user = h.lambda_client(server.endpoint, credentials=key)
    made = user.create_event_source_mapping(EventSourceArn=new_queue(sqs),
                                            FunctionName=allowed)
    assert user.get_event_source_mapping(UUID=made["UUID"])["UUID"] == made["UUID"]
    assert [m["UUID"] for m in user.list_event_source_mappings(
        FunctionName=allowed)["EventSourceMappings"]] == [made["UUID"]]
    assert error(user.create_event_source_mapping, EventSourceArn=queue_arn("q-other"),
                 FunctionName=other)[:2] == (403, "AccessDeniedException")
    assert error(user.list_event_source_mappings, FunctionName=other)[:2] == (
        403, "AccessDeniedException")
    # Not allowed to delete, whatever the function.
    assert error(user.delete_event_source_mapping, UUID=made["UUID"])[:2] == (
        403, "AccessDeniedException")
    mine = client.create_event_source_mapping(EventSourceArn=new_queue(sqs),
                                              FunctionName=other)
    assert error(user.get_event_source_mapping, UUID=mine["UUID"])[:2] == (
        403, "AccessDeniedException")


def polls(node, uuid) -> bool:
    return any("polling" in line and uuid in line
               for line in node.stderr_tail().splitlines())


def serving_sqs(nodes):
    """The node of a fleet that serves SQS (holds the `sqs` lease)."""
    def serving():
        for n in nodes:
            try:
                sqs_client(n.endpoint).list_queues()
                return n
            except ClientError:
                pass
        return None
    return wait_until(serving, what="a node serving SQS")


def mapped_fleet(fleet):
    """Two nodes, a function and a mapping of it polled by one of them: the nodes, the
    mapping's UUID and the node polling it."""
    first = fleet.add()
    second = fleet.add()
    h.allow_role(first.endpoint, SQS_ACTIONS)
    node = serving_sqs([first, second])
    client = h.lambda_client(node.endpoint)
    name = h.unique_name("esm-fleet")
    h.create_function(client, name)
    made = client.create_event_source_mapping(
        EventSourceArn=new_queue(sqs_client(node.endpoint)), FunctionName=name)
    uuid = made["UUID"]
    h.wait_mapping_state(h.lambda_client(second.endpoint), uuid, "Enabled")
    wait_until(lambda: polls(first, uuid) or polls(second, uuid), what="a node polling")
    holder = first if polls(first, uuid) else second
    return (first, second), uuid, holder


def test_one_node_of_a_fleet_polls_a_mapping_and_another_takes_over(fleet):
    """Each mapping's pollers run on the one node holding its lease; when that node dies,
    another takes the lease once it lapses."""
    (first, second), uuid, _ = mapped_fleet(fleet)
    time.sleep(3)
    holders = [n for n in (first, second) if polls(n, uuid)]
    assert len(holders) == 1, "both nodes poll the mapping"
    survivor = second if holders[0] is first else first
    holders[0].kill()
    wait_until(lambda: polls(survivor, uuid), timeout=60, what="the other node taking over")


def test_mappings_polled_by_nodes_without_sqs_deliver_through_the_holder(fleet):
    """A mapping's poller on a node that does not serve SQS receives and deletes through the
    holder of the `sqs` lease (docs/sqs.md#on-a-fleet), as one on the holder does. Which
    node takes each mapping's lease is the fleet's choice: of three mappings on three
    nodes, each is delivered wherever it is polled (the log says where)."""
    first = fleet.add()
    wait_until(lambda: "this node serves SQS" in first.stderr_tail(), what="SQS served")
    others = [fleet.add(), fleet.add()]
    h.allow_role(first.endpoint, SQS_ACTIONS)
    client = h.lambda_client(others[0].endpoint)
    name = h.unique_name("esm-relay")
    h.create_function(client, name)
    sqs = sqs_client(others[1].endpoint)
    mapped = []
    for _ in range(3):
        arn = new_queue(sqs, "relay")
        uuid = client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)["UUID"]
        mapped.append((uuid, sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]))
    for uuid, url in mapped:
        h.wait_mapping_state(client, uuid, "Enabled")
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"to": uuid}))

    def drained(url):
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return a["ApproximateNumberOfMessages"] == a["ApproximateNumberOfMessagesNotVisible"] \
            == "0"
    for uuid, url in mapped:
        wait_until(lambda: drained(url), timeout=60, what=f"mapping {uuid} delivering")
    pollers = {uuid: [n for n in (first, *others) if polls(n, uuid)] for uuid, _ in mapped}
    assert all(len(p) == 1 for p in pollers.values()), pollers


def test_a_change_is_refused_until_the_last_one_is_in_effect(fleet):
    """A change's transitional state lasts until the node holding the mapping has applied
    it; meanwhile Lambda refuses another Update or Delete (ResourceInUseException). With
    the holder killed its lease stands for up to 15 s, so the state observably stays."""
    nodes, uuid, holder = mapped_fleet(fleet)
    survivor = nodes[1] if holder is nodes[0] else nodes[0]
    holder.kill()
    client = h.lambda_client(survivor.endpoint)
    updated = client.update_event_source_mapping(UUID=uuid, BatchSize=5)
    assert (updated["State"], updated["BatchSize"]) == ("Updating", 5)
    assert error(client.update_event_source_mapping, UUID=uuid, BatchSize=6) == (
        400, "ResourceInUseException",
        "Cannot update the event source mapping because it is in use.")
    assert error(client.delete_event_source_mapping, UUID=uuid) == (
        400, "ResourceInUseException",
        "Cannot delete the event source mapping because it is in use.")
    got = client.get_event_source_mapping(UUID=uuid)
    assert (got["State"], got["BatchSize"]) == ("Updating", 5)
    # Once the lease lapses, the survivor applies the change and settles it.
    h.wait_mapping_state(client, uuid, "Enabled", timeout=60)
    assert polls(survivor, uuid)
    assert client.delete_event_source_mapping(UUID=uuid)["State"] == "Deleting"
    assert error(client.delete_event_source_mapping, UUID=uuid)[1] == "ResourceInUseException"
    wait_gone(client, uuid)


# ---------------------------------------------------------------------------------------------
# Delivery, through Hearth's own SQS


PY_HANDLER = """
import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
    failed = [{"itemIdentifier": r["messageId"]} for r in event["Records"]
              if r["body"].startswith("fail")]
    return {"batchItemFailures": failed}
"""

NODE_HANDLER = """
export const handler = async (event) => {
  console.log("EVENT " + JSON.stringify(event));
  return { batchItemFailures: event.Records
    .filter((r) => r.body.startsWith("fail"))
    .map((r) => ({ itemIdentifier: r.messageId })) };
};
"""


def zipped(filename, source):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(filename, source)
    return buf.getvalue()


def consumer(client, runtime, timeout=10, **kw):
    name = h.unique_name("esm-consumer")
    if runtime == h.PYTHON:
        h.create_function(client, name, zip_file=zipped("app.py", PY_HANDLER),
                          handler="app.handler", Timeout=timeout, **kw)
    else:
        h.create_function(client, name, runtime=h.NODE,
                          zip_file=zipped("index.mjs", NODE_HANDLER),
                          handler="index.handler", Timeout=timeout, **kw)
    return name


def records_seen(server, name):
    out = []
    for e in h.log_events(server, name):
        msg = e.get("message", "")
        if "EVENT " in msg:
            out += json.loads(msg.split("EVENT ", 1)[1])["Records"]
    return out


def wait_until(check, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def queue_with_dlq(sqs, max_receives=2, visibility=5):
    dlq = sqs.create_queue(QueueName=h.unique_name("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    q = sqs.create_queue(QueueName=h.unique_name("src"), Attributes={
        "VisibilityTimeout": str(visibility),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": str(max_receives)})})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return q, arn, dlq


def test_a_mapping_needs_a_queue_that_hides_messages_as_long_as_the_function_runs(
        client, sqs):
    """CreateEventSourceMapping asks the queue (GetQueueAttributes): it must exist, and its
    visibility timeout must not be shorter than the function's timeout, or a message
    would be received again while the function still runs on it."""
    name = consumer(client, h.PYTHON, timeout=60)
    missing = queue_arn(h.unique_name("missing"))
    assert error(client.create_event_source_mapping, EventSourceArn=missing,
                 FunctionName=name) == (
        400, "InvalidParameterValueException",
        "Error occurred while ReceiveMessage. SQS Error Code: "
        "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does "
        "not exist.")
    short = new_queue(sqs)
    assert error(client.create_event_source_mapping, EventSourceArn=short,
                 FunctionName=name) == (
        400, "InvalidParameterValueException",
        "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds")
    assert client.list_event_source_mappings(FunctionName=name)["EventSourceMappings"] == []
    enough = new_queue(sqs, VisibilityTimeout=60)
    made = client.create_event_source_mapping(EventSourceArn=enough, FunctionName=name)
    assert made["State"] == "Creating"
    # Pointing a mapping at a function that runs longer is refused the same way.
    slow = consumer(client, h.PYTHON, timeout=90)
    h.wait_mapping_state(client, made["UUID"], "Enabled")
    assert error(client.update_event_source_mapping, UUID=made["UUID"], FunctionName=slow) == (
        400, "InvalidParameterValueException",
        "Queue visibility timeout: 60 seconds is less than Function timeout: 90 seconds")


@pytest.mark.parametrize("runtime", [h.PYTHON, h.NODE])
def test_partial_batch_failures_reach_the_dead_letter_queue(client, server, sqs, runtime):
    name = consumer(client, runtime, timeout=5)
    q, arn, dlq = queue_with_dlq(sqs, visibility=5)
    sqs.send_message(QueueUrl=q, MessageBody="ok-1",
                     MessageAttributes={"team": {"DataType": "String", "StringValue": "a"}})
    sqs.send_message(QueueUrl=q, MessageBody="fail-1")
    made = client.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"])
    h.wait_mapping_state(client, made["UUID"], "Enabled")
    records = wait_until(lambda: [r for r in records_seen(server, name)
                                  if r["body"] == "ok-1"], what="ok-1 delivered")
    r = records[0]
    assert r["eventSource"] == "aws:sqs"
    assert r["eventSourceARN"] == arn
    assert r["awsRegion"] == h.REGION
    assert set(r["attributes"]) >= {"ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                     "ApproximateFirstReceiveTimestamp"}
    assert r["messageAttributes"] == {"team": {"stringValue": "a", "stringListValues": [],
                                               "binaryListValues": [], "dataType": "String"}}
    assert r["md5OfBody"] and r["receiptHandle"] and r["messageId"]
    # The failed message is received again until the redrive policy moves it.
    moved = wait_until(lambda: sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get(
        "Messages"), timeout=90, what="the failed message in the DLQ")
    assert [m["Body"] for m in moved] == ["fail-1"]
    assert len([r for r in records_seen(server, name) if r["body"] == "ok-1"]) == 1
    assert len([r for r in records_seen(server, name) if r["body"] == "fail-1"]) >= 2
    got = client.get_event_source_mapping(UUID=made["UUID"])
    assert got["LastProcessingResult"] == "OK"
    client.delete_event_source_mapping(UUID=made["UUID"])


def test_filtered_out_messages_are_deleted_unseen(client, server, sqs):
    name = consumer(client, h.PYTHON)
    q = sqs.create_queue(QueueName=h.unique_name("filtered"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    made = client.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["keep"]}})}]})
    h.wait_mapping_state(client, made["UUID"], "Enabled")
    sqs.send_message(QueueUrl=q, MessageBody=json.dumps({"kind": "drop"}))
    sqs.send_message(QueueUrl=q, MessageBody=json.dumps({"kind": "keep"}))
    wait_until(lambda: records_seen(server, name), what="the kept message")
    wait_until(lambda: sqs.get_queue_attributes(
        QueueUrl=q, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessagesNotVisible"] == "0", what="both messages deleted")
    attrs = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert [json.loads(r["body"]) for r in records_seen(server, name)] == [{"kind": "keep"}]
    client.delete_event_source_mapping(UUID=made["UUID"])


def test_a_mapping_of_a_version_polls_with_that_versions_role(client, server, sqs):
    """Lambda polls with the execution role of the version (or alias) the mapping names:
    version 1's role may poll the queue, the role $LATEST has since been given may not."""
    h.make_execution_role(server.endpoint, role="hearth-e2e-no-sqs")
    name = consumer(client, h.PYTHON, Publish=True)
    h.update_config(client, name, Role=f"arn:aws:iam::{h.ACCOUNT}:role/hearth-e2e-no-sqs")
    q = sqs.create_queue(QueueName=h.unique_name("versioned"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    # $LATEST's role may not poll; version 1's may.
    assert error(client.create_event_source_mapping, EventSourceArn=arn, FunctionName=name)[
        2] == "The provided execution role does not have permissions to call ReceiveMessage on SQS"
    made = client.create_event_source_mapping(EventSourceArn=arn, FunctionName=f"{name}:1")
    assert made["FunctionArn"] == h.function_arn(name) + ":1"
    h.wait_mapping_state(client, made["UUID"], "Enabled")
    sqs.send_message(QueueUrl=q, MessageBody="to-version-1")
    wait_until(lambda: [r for r in records_seen(server, name) if r["body"] == "to-version-1"],
               what="the message delivered to version 1")
    wait_until(lambda: sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])[
        "Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0",
        what="the message deleted")
    assert client.get_event_source_mapping(UUID=made["UUID"])["LastProcessingResult"] == "OK"
    client.delete_event_source_mapping(UUID=made["UUID"])


def test_mappings_deliver_when_the_server_serves_https(tmp_path_factory, runtimes_dir, zips):
    """The pollers call the server's queues in-process: a server that serves HTTPS
    (--tls-self-signed) delivers as one serving HTTP does."""
    srv = h.start_self_signed(tmp_path_factory.mktemp("hearth-esm-tls"), runtimes_dir)
    try:
        verify = str(srv.ca_bundle)
        h.allow_role(srv.endpoint, SQS_ACTIONS, verify=verify)
        client = h.lambda_client(srv.endpoint, verify=verify)
        tls_sqs = sqs_client(srv.endpoint, verify=verify)
        name = consumer(client, h.PYTHON)
        q = tls_sqs.create_queue(QueueName=h.unique_name("tls"))["QueueUrl"]
        # The queue's URL is the server's own: https, on the port the client used.
        assert q.startswith(srv.endpoint + "/"), (q, srv.endpoint)
        arn = tls_sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        made = client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
        h.wait_mapping_state(client, made["UUID"], "Enabled")
        tls_sqs.send_message(QueueUrl=q, MessageBody="over-tls")
        wait_until(lambda: [r for r in records_seen(srv, name) if r["body"] == "over-tls"],
                   what="the message delivered")
        wait_until(lambda: tls_sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])[
            "Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0",
            what="the message deleted")
        assert client.get_event_source_mapping(UUID=made["UUID"])["LastProcessingResult"] == "OK"
    finally:
        srv.stop_cleanly()


def test_a_mapping_polls_another_sqs_endpoint(server_with_env):
    """`--sqs-endpoint` points the queues of one region and account at another
    SQS-compatible endpoint (here a second Hearth), signed with the credentials given;
    CreateEventSourceMapping asks that endpoint whether the queue exists."""
    other = server_with_env()
    key_id, secret = h.credentials_for(other.endpoint)
    this = server_with_env(
        "--sqs-endpoint", f"{h.REGION}/{h.ACCOUNT}={other.endpoint}",
        "--sqs-endpoint-credentials", f"{h.REGION}/{h.ACCOUNT}={key_id}:{secret}")
    h.allow_role(this.endpoint, SQS_ACTIONS)
    client = h.lambda_client(this.endpoint)
    remote = sqs_client(other.endpoint)
    name = consumer(client, h.PYTHON)
    # A queue of this server's own is not where the mapping would poll.
    local = new_queue(sqs_client(this.endpoint))
    assert error(client.create_event_source_mapping, EventSourceArn=local,
                 FunctionName=name)[2].startswith(
        "Error occurred while ReceiveMessage. SQS Error Code: "
        "AWS.SimpleQueueService.NonExistentQueue.")
    q = remote.create_queue(QueueName=h.unique_name("remote"))["QueueUrl"]
    arn = remote.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    made = client.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    h.wait_mapping_state(client, made["UUID"], "Enabled")
    remote.send_message(QueueUrl=q, MessageBody="from-afar")
    wait_until(lambda: [r for r in records_seen(this, name) if r["body"] == "from-afar"],
               what="the remote message delivered")
    wait_until(lambda: remote.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])[
        "Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0",
        what="the remote message deleted")
