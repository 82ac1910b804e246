"""Python test function for Hearth's end-to-end suite.

`app.handler` echoes the event with the invocation context and the environment it ran in.
The event's "action" field selects a failure mode instead:
  {"action": "raise", "message": M}   raise HearthTestError(M)
  {"action": "sleep", "seconds": N}   sleep N seconds, then echo
  {"action": "exit", "code": N}       os._exit(N) without answering
  {"action": "kill"}                  SIGKILL itself
  {"action": "big", "size": N}        return a string of N bytes (default: over the 6 MB limit)
  {"action": "log", "line": L}        print L to stdout, then echo
  {"action": "logging", "line": L}    log L through the `logging` module at INFO and at
                                      WARNING (the runtime client formats it), then echo
With HEARTH_TEST_INIT_SLEEP=N in the function's environment, init (the import) takes N
seconds more, so tests can see whether cold starts overlap. With HEARTH_TEST_PRINT_EVENT set,
every event is printed as one line `EVENT <json>` (async destinations are read that way).
"""

import json
import logging
import os
import signal
import time

ENV_NAMES = [
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_RUNTIME_API",
    "_HANDLER",
    "LAMBDA_TASK_ROOT",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "TZ",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
]

# Module globals survive between invocations of one warm environment.
COUNT = 0
# build-functions.sh writes version.txt so that tests can tell two builds of this code apart.
try:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "version.txt")) as _f:
        CODE_VERSION = _f.read().strip()
except OSError:
    CODE_VERSION = None
if os.environ.get("HEARTH_TEST_INIT_SLEEP"):
    time.sleep(float(os.environ["HEARTH_TEST_INIT_SLEEP"]))
LOADED_AT = time.time()


class HearthTestError(Exception):
    pass


def _marker_path(event):
    token = str(event.get("marker", "default")) if isinstance(event, dict) else "default"
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "unknown")
    return "/tmp/hearth-e2e-marker-%s-%s" % (name, token)


def handler(event, context):
    global COUNT
    COUNT += 1
    if os.environ.get("HEARTH_TEST_PRINT_EVENT"):
        print("EVENT " + json.dumps(event), flush=True)

    action = event.get("action") if isinstance(event, dict) else None
    if action == "raise":
        raise HearthTestError(event.get("message", "boom"))
    if action == "sleep":
        time.sleep(float(event.get("seconds", 5)))
    if action == "exit":
        os._exit(int(event.get("code", 1)))
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "big":
        return "x" * int(event.get("size", 6291556 + 1024))
    if action == "log":
        print(event.get("line", "hearth-e2e log line"), flush=True)
    if action == "logging":
        line = event.get("line", "hearth-e2e log line")
        logging.getLogger().info("info %s", line)
        logging.getLogger().warning("warning %s", line)

    marker = _marker_path(event)
    tmp_marker = os.path.exists(marker)
    with open(marker, "w") as f:
        f.write("seen")

    env = {name: os.environ.get(name) for name in ENV_NAMES}
    for name in event.get("env", []) if isinstance(event, dict) else []:
        env[name] = os.environ.get(name)

    return {
        "python": True,
        "code_version": CODE_VERSION,
        "event": event,
        "context": {
            "request_id": context.aws_request_id,
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "function_version": context.function_version,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
        },
        "env": env,
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        # One log stream per execution environment, whatever the sandbox's PID namespace.
        "env_id": context.log_stream_name,
        "task_files": sorted(os.listdir(os.environ.get("LAMBDA_TASK_ROOT", "."))),
        "count": COUNT,
        "tmp_marker": tmp_marker,
        "loaded_at": LOADED_AT,
        "returned_at": time.time(),
    }
