"""A Python function that prints a lot, for the tests of log limits.

  {"action": "flood", "seconds": S, "line": N}   print N-byte lines as fast as it can for S seconds
  {"action": "bytes", "count": C, "line": N}     print C bytes of N-byte lines (newline included)
  {"action": "daemon", "line": N}                start a thread that prints N-byte lines forever,
                                                 then answer at once (output while idle)
  {"action": "long", "size": N}                  print one line of N bytes
Every action answers {"written": bytes printed}.
"""

import os
import threading
import time


def _write_all(data):
    view = memoryview(data)
    while view:
        n = os.write(1, view)
        view = view[n:]


def _block(line):
    body = b"x" * max(line - 1, 0) + b"\n"
    return body * max(1, 65536 // len(body))


def _forever(line):
    block = _block(line)
    while True:
        _write_all(block)


def handler(event, context):
    action = event.get("action")
    line = int(event.get("line", 100))
    if action == "flood":
        block = _block(line)
        end = time.monotonic() + float(event["seconds"])
        written = 0
        while time.monotonic() < end:
            _write_all(block)
            written += len(block)
        return {"written": written}
    if action == "bytes":
        count = int(event["count"])
        block = _block(line)
        written = 0
        while written + len(block) <= count:
            _write_all(block)
            written += len(block)
        rest = (b"y" * (line - 1) + b"\n") * ((count - written) // line)
        _write_all(rest)
        return {"written": written + len(rest)}
    if action == "daemon":
        threading.Thread(target=_forever, args=(line,), daemon=True).start()
        return {"written": 0}
    if action == "long":
        size = int(event["size"])
        _write_all(b"L" * size + b"\n")
        return {"written": size + 1}
    return {"error": "unknown action"}
