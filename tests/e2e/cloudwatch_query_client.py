"""Run by test_cloudwatch.py with the older botocore of target/old-botocore first on
sys.path (1.30, from before CloudWatch left the query protocol): the scenario of
cloudwatch_scenario.py over the query protocol, printed as one JSON document.
Usage: cloudwatch_query_client.py ENDPOINT ACCESS_KEY SECRET scenario NAMESPACE ALARM NOW,
or ... SECRET unserved (only the error of an operation Hearth does not serve)."""

import json
import sys

import boto3
import botocore
from botocore.config import Config

import cloudwatch_scenario

endpoint, key, secret, mode = sys.argv[1:5]
cw = boto3.session.Session().client(
    "cloudwatch", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id=key,
    aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))
if mode == "scenario":
    namespace, alarm, now = sys.argv[5:8]
    seen = cloudwatch_scenario.run(cw, namespace, alarm, float(now))
else:
    seen = {"protocol": cw.meta.service_model.protocol,
            "unserved": cloudwatch_scenario.unserved(cw)}
seen["botocore"] = botocore.__version__
json.dump(seen, sys.stdout)
