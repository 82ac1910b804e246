"""Parses responses Hearth's CloudWatch codecs wrote with botocore's own response parsers
(RpcV2CBORParser, JSONParser, QueryParser), as an SDK reads them. Run by the Rust tests
of crates/api/src/cloudwatch/tests.rs: reads a JSON list of
{"protocol", "operation", "status", "headers", "body_hex"} on stdin and prints, for each,
what botocore parsed (datetimes in ISO 8601), as one JSON list on stdout.
"""
import datetime
import json
import sys

import botocore.parsers
import botocore.session


def main():
    model = botocore.session.get_session().get_service_model("cloudwatch")
    out = []
    for r in json.load(sys.stdin):
        op = model.operation_model(r["operation"])
        parser = botocore.parsers.create_parser(r["protocol"])
        parsed = parser.parse(
            {"status_code": r["status"], "headers": r["headers"],
             "body": bytes.fromhex(r["body_hex"])},
            op.output_shape,
        )
        meta = parsed.pop("ResponseMetadata", {})
        parsed["RequestId"] = meta.get("RequestId")
        out.append(parsed)

    def iso(o):
        if isinstance(o, datetime.datetime):
            return o.isoformat()
        raise TypeError(repr(o))

    json.dump(out, sys.stdout, default=iso, sort_keys=True)


if __name__ == "__main__":
    main()
