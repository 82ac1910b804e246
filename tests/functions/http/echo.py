"""HTTP echo test function for Hearth's end-to-end tests of function URLs and HTTP APIs.

`echo.handler` answers a proxy response (payload 1.0 or 2.0) whose body is the event it
got, with the trace id it ran under in `x-seen-trace`, unless the request's JSON body
asks for something else:
  {"raise": true}        raise an error
  {"sleep": N}           sleep N seconds first
  {"big": N}             answer a string of N bytes
  {"respond": X}         answer X as it is
"""

import base64
import json
import os
import time


def handler(event, context):
    body = event.get("body")
    if body and event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    try:
        cmd = json.loads(body) if body else {}
    except ValueError:
        cmd = {}
    if not isinstance(cmd, dict):
        cmd = {}
    if "raise" in cmd:
        raise RuntimeError("boom")
    if "sleep" in cmd:
        time.sleep(cmd["sleep"])
    if "big" in cmd:
        return "x" * cmd["big"]
    if "respond" in cmd:
        return cmd["respond"]
    return {"statusCode": 200,
            "headers": {"content-type": "application/json",
                        "x-seen-trace": os.environ.get("_X_AMZN_TRACE_ID", "")},
            "body": json.dumps(event)}
