"""Hearth's example function: greets the caller and shows what the environment looks like."""

import os
import time

# Module-level state survives between invocations of a warm environment.
COLD_START = time.time()
INVOCATIONS = 0


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    print(f"greeting {name} (invocation {INVOCATIONS} of this environment)")
    return {
        "message": f"Hello, {name}!",
        "function": context.function_name,
        "requestId": context.aws_request_id,
        "memoryLimitInMB": int(context.memory_limit_in_mb),
        "runtime": os.environ.get("AWS_EXECUTION_ENV"),
        "warm": INVOCATIONS > 1,
        "environmentAgeSeconds": round(time.time() - COLD_START, 3),
    }
