#!/usr/bin/env python3
"""Writes crates/api/src/cloudwatch/model.json: botocore's CloudWatch model trimmed to the
operations Hearth serves and the shapes reachable from them (inputs, outputs, errors),
documentation dropped. The wire codecs of crates/api/src/cloudwatch/ are driven by it.

Run from the repository root: python3 scripts/cloudwatch-model.py
"""
import gzip
import json
import os
import sys

import botocore

OPERATIONS = [
    "GetMetricData", "GetMetricStatistics", "ListMetrics", "PutMetricData",
    "PutMetricAlarm", "DescribeAlarms", "DescribeAlarmsForMetric", "DescribeAlarmHistory",
    "DeleteAlarms", "SetAlarmState", "EnableAlarmActions", "DisableAlarmActions",
    "TagResource", "UntagResource", "ListTagsForResource",
]
METADATA = ["apiVersion", "awsQueryCompatible", "endpointPrefix", "jsonVersion", "protocol",
            "protocols", "serviceId", "targetPrefix", "xmlNamespace"]
OUT = os.path.join("crates", "api", "src", "cloudwatch", "model.json")


def strip(node):
    """`node` without its documentation strings, at any depth."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "documentation"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    path = os.path.join(os.path.dirname(botocore.__file__),
                        "data", "cloudwatch", "2010-08-01", "service-2.json.gz")
    with gzip.open(path) as f:
        model = json.load(f)
    shapes = model["shapes"]
    keep = set()

    def reach(name):
        if name in keep:
            return
        keep.add(name)
        shape = shapes[name]
        for m in shape.get("members", {}).values():
            reach(m["shape"])
        for key in ("member", "key", "value"):
            if key in shape:
                reach(shape[key]["shape"])

    operations = {}
    for op in OPERATIONS:
        o = strip(model["operations"][op])
        o.pop("http", None)
        operations[op] = o
        for key in ("input", "output"):
            if key in o:
                reach(o[key]["shape"])
        for e in o.get("errors", []):
            reach(e["shape"])
    out = {
        "botocore": botocore.__version__,
        "metadata": {k: model["metadata"][k] for k in METADATA},
        "operations": operations,
        "shapes": {k: strip(shapes[k]) for k in sorted(keep)},
    }
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{OUT}: {len(operations)} operations, {len(keep)} shapes, botocore {botocore.__version__}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
