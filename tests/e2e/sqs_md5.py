"""SQS's MD5 of message attributes, computed apart from Hearth as AWS documents it, for the
tests that check what Hearth answers (test_sqs.py, and sqs_query_client.py under an older
botocore: this module needs nothing but the standard library)."""

import hashlib
import struct


def md5_of_attributes(attrs: dict) -> str:
    """AWS's documented encoding: per attribute by name, length-prefixed name, type, a
    transport byte (1 string, 2 binary) and the length-prefixed value."""
    buf = b""
    for name in sorted(attrs):
        v = attrs[name]
        for part in (name.encode(), v["DataType"].encode()):
            buf += struct.pack(">I", len(part)) + part
        if "BinaryValue" in v:
            buf += b"\x02" + struct.pack(">I", len(v["BinaryValue"])) + v["BinaryValue"]
        else:
            s = v["StringValue"].encode()
            buf += b"\x01" + struct.pack(">I", len(s)) + s
    return hashlib.md5(buf).hexdigest()
