"""CloudWatch's scenario, run through any client (boto3 on RPC v2 CBOR, on AWS JSON 1.0,
or an older botocore on the query protocol, which imports this module in its own process):
PutMetricData read back by GetMetricStatistics, GetMetricData and ListMetrics, an alarm's
life (PutMetricAlarm, DescribeAlarms, SetAlarmState, DeleteAlarms) and the errors the SDK
reads. Returns what the client saw as plain JSON values, for the tests to compare whole.
Uses only boto3's API as botocore 1.30 has it."""

import datetime

from botocore.exceptions import ClientError


def error(call, **kw):
    """The code and message of the error `call(**kw)` answers (None if it succeeds)."""
    try:
        call(**kw)
    except ClientError as e:
        return {"status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "code": e.response["Error"].get("Code"),
                "message": e.response["Error"].get("Message")}
    return None


def iso(value):
    """Datetimes as ISO 8601 text, everywhere in `value`."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, dict):
        return {k: iso(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [iso(v) for v in value]
    return value


def minute(epoch_seconds):
    """The minute (as an aware datetime) `epoch_seconds` falls in, five minutes back."""
    t = int(epoch_seconds) // 60 * 60 - 300
    return datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)


def run(cw, namespace, alarm, now):
    """The scenario on client `cw` in `namespace`, with alarm `alarm`; `now` is epoch
    seconds. Each step records its answer, or its error, so that one failing step does not
    hide the rest."""
    seen = {"protocol": cw.meta.service_model.protocol}
    t = minute(now)
    dims = [{"Name": "Fn", "Value": "f"}]

    def step(name, call, **kw):
        try:
            seen[name] = iso(call(**kw))
        except ClientError as e:
            seen[name] = {"error": e.response["Error"].get("Code"),
                          "message": e.response["Error"].get("Message")}

    step("put", cw.put_metric_data, Namespace=namespace, MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": t,
         "Values": [10.0, 20.0], "Counts": [1.0, 2.0], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": t, "Value": 30.0,
         "Unit": "Milliseconds"}])
    window = {"StartTime": t - datetime.timedelta(minutes=1),
              "EndTime": t + datetime.timedelta(minutes=1)}
    step("statistics", cw.get_metric_statistics, Namespace=namespace, MetricName="Latency",
         Dimensions=dims, Period=60,
         Statistics=["SampleCount", "Sum", "Minimum", "Maximum", "Average"], **window)
    step("data", cw.get_metric_data, MetricDataQueries=[
        {"Id": "s", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Latency",
                                              "Dimensions": dims},
                                   "Period": 60, "Stat": "Sum"}}], **window)
    step("metrics", cw.list_metrics, Namespace=namespace, MetricName="Latency")
    # A body past botocore's 10 KiB threshold, which botocore 1.43 sends gzip-compressed
    # (`Content-Encoding: gzip`, PutMetricData's `requestcompression`).
    step("bulk_put", cw.put_metric_data, Namespace=namespace, MetricData=[
        {"MetricName": "Bulk", "Timestamp": t, "Value": 1.0} for _ in range(500)])
    step("bulk", cw.get_metric_statistics, Namespace=namespace, MetricName="Bulk",
         Period=60, Statistics=["SampleCount", "Sum"], **window)
    step("put_alarm", cw.put_metric_alarm, AlarmName=alarm, Namespace=namespace,
         MetricName="Latency", Dimensions=dims, Statistic="Average", Period=60,
         EvaluationPeriods=1, Threshold=100.0, ComparisonOperator="GreaterThanThreshold",
         ActionsEnabled=False)
    step("alarms", cw.describe_alarms, AlarmNames=[alarm])
    step("set_state", cw.set_alarm_state, AlarmName=alarm, StateValue="ALARM",
         StateReason="set by the e2e test")
    step("alarms_after", cw.describe_alarms, AlarmNames=[alarm])
    step("delete", cw.delete_alarms, AlarmNames=[alarm])
    step("alarms_deleted", cw.describe_alarms, AlarmNames=[alarm])
    seen["aws_namespace"] = error(cw.put_metric_data, Namespace="AWS/EC2",
                                  MetricData=[{"MetricName": "m", "Value": 1.0}])
    seen["missing_alarm"] = error(cw.set_alarm_state, AlarmName=alarm + "-missing",
                                  StateValue="OK", StateReason="r")
    seen["unserved"] = unserved(cw)
    return seen


def unserved(cw):
    """The error of an operation CloudWatch has and Hearth does not serve."""
    return error(cw.list_dashboards)
