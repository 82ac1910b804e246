"""A function that calls Hearth's own AWS API with boto3, as a function on Lambda calls AWS.

The zip (tests/build-functions.sh: sdk.zip) bundles boto3 and botocore (with only the
lambda, logs and sqs models) from the pip-installed copies, since Hearth's Python runtime does
not include boto3. The SDK finds the endpoint in AWS_ENDPOINT_URL and signs with the
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN the environment has.

  {"action": "invoke", "target": NAME, "payload": P}  Invoke NAME with P; its answer
  {"action": "streams", "group": G}                   DescribeLogStreams of G
  {"action": "credentials"}                           the environment's AWS credentials
  {"action": "get", "url": U}                          a plain GET of U: status and body, or
                                                       the connection error's name
  {"action": "trace"}                                  prints and answers _X_AMZN_TRACE_ID
  an SQS batch ({"Records": [...]})                    the recursive loop of test_trace_flow.py:
                                                       for each record {"n": N}, prints
                                                       `LOOP n=N+1 trace=<_X_AMZN_TRACE_ID>` and,
                                                       below LOOP_LIMIT, sends {"n": N+1} to the
                                                       queue named LOOP_QUEUE (boto3 adds the
                                                       trace header, as on Lambda)
"""

import json
import os
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

CONFIG = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60)
ENDPOINT_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS")


def loop(event):
    sqs = boto3.client("sqs", config=CONFIG)
    url = sqs.get_queue_url(QueueName=os.environ["LOOP_QUEUE"])["QueueUrl"]
    for record in event["Records"]:
        n = json.loads(record["body"]).get("n", 0) + 1
        print(f"LOOP n={n} trace={os.environ.get('_X_AMZN_TRACE_ID')}", flush=True)
        if n < int(os.environ.get("LOOP_LIMIT", "0")):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    return {}


def handler(event, context):
    if "Records" in event:
        return loop(event)
    action = event.get("action")
    if action == "trace":
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        print(f"TRACE {trace}", flush=True)
        return {"trace": trace}
    endpoints = {name: os.environ.get(name) for name in ENDPOINT_VARS}
    if action == "invoke":
        client = boto3.client("lambda", config=CONFIG)
        resp = client.invoke(FunctionName=event["target"],
                             Payload=json.dumps(event.get("payload", {})))
        return {
            "StatusCode": resp["StatusCode"],
            "ExecutedVersion": resp.get("ExecutedVersion"),
            "FunctionError": resp.get("FunctionError"),
            "Payload": json.loads(resp["Payload"].read()),
            "endpoints": endpoints,
        }
    if action == "streams":
        client = boto3.client("logs", config=CONFIG)
        resp = client.describe_log_streams(logGroupName=event["group"])
        return {"streams": [s["logStreamName"] for s in resp["logStreams"]],
                "endpoints": endpoints}
    if action == "credentials":
        return {k: os.environ.get(k) for k in
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    if action == "get":
        try:
            with urllib.request.urlopen(event["url"], timeout=5) as r:
                return {"status": r.status, "body": r.read().decode(errors="replace")}
        except urllib.error.HTTPError as e:
            return {"status": e.code, "body": e.read().decode(errors="replace")}
        except (OSError, urllib.error.URLError) as e:
            reason = getattr(e, "reason", e)
            return {"error": type(reason).__name__, "message": str(reason)}
    return {"endpoints": endpoints}
