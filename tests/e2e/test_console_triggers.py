"""The console's triggers tab (crates/api/console/triggers.js) in a real browser: a function's
URLs, event-source mappings, EventBridge rules, EventBridge Scheduler schedules and SNS
subscriptions, made with boto3 and shown as the services list them; mappings, rules and
schedules disabled and enabled from the page, checked with boto3; a key denied some of the
services sees those sections refused and the others listed.
"""

import json

import pytest

import console_browser as cb
import hearth_e2e as h

pytestmark = pytest.mark.sandbox_neutral

browser = cb.browser_fixture()
page = cb.page_fixture()

SQS_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
               "sqs:ChangeMessageVisibility"]
OFF = {"Mode": "OFF"}
# A daily slot: the schedules never fire while the test runs.
DAILY = "cron(0 3 * * ? *)"


@pytest.fixture(scope="module", autouse=True)
def role_may_poll(server):
    """The functions' execution role may poll queues (CreateEventSourceMapping checks it)."""
    h.allow_role(server.endpoint, SQS_ACTIONS)


@pytest.fixture(scope="module")
def clients(server):
    return {s: h.service_client(server.endpoint, s) for s in ("sqs", "events", "scheduler", "sns")}


def region(page, name):
    return page.get_by_role("region", name=name, exact=True)


def loaded(page):
    """Waits until every section of the tab has its listing (or its error): the tab shows
    its Refresh button then."""
    page.get_by_role("button", name="Refresh triggers").wait_for()
    assert page.locator("section.triggers").count() == 5


def focused_label(page):
    return page.evaluate(
        "document.activeElement && document.activeElement.getAttribute('aria-label')")


def no_times(d):
    return {k: v for k, v in d.items()
            if k not in ("LastModificationDate", "State", "ResponseMetadata")}


def test_every_trigger_is_listed_and_mappings_rules_schedules_are_switched(page, server, client,
                                                                            clients):
    sqs, events, scheduler, sns = (clients[s] for s in ("sqs", "events", "scheduler", "sns"))
    name = h.unique_name("trig")
    arn = h.create_function(client, name)["FunctionArn"]
    client.publish_version(FunctionName=name)
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    live = h.function_arn(name, "live")

    url = client.create_function_url_config(
        FunctionName=name, AuthType="NONE",
        Cors={"AllowOrigins": ["https://example.com"], "AllowMethods": ["GET"]})["FunctionUrl"]

    queue = h.unique_name("trig-q")
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    mapping = client.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name,
                                                 BatchSize=7)["UUID"]
    h.wait_mapping_state(client, mapping, "Enabled")

    rule, bus_rule, bus = h.unique_name("trig-r"), h.unique_name("trig-br"), h.unique_name("trig-b")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["console.test"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": arn}])
    events.create_event_bus(Name=bus)
    events.put_rule(Name=bus_rule, EventBusName=bus, EventPattern=json.dumps({"source": ["x"]}))
    events.put_targets(Rule=bus_rule, EventBusName=bus, Targets=[{"Id": "fn", "Arn": live}])
    # A rule of another function is not this one's.
    other_rule = h.unique_name("trig-other")
    events.put_rule(Name=other_rule, EventPattern=json.dumps({"source": ["y"]}))
    events.put_targets(Rule=other_rule, Targets=[{"Id": "fn", "Arn": h.function_arn("another")}])

    sched, live_sched, other_sched = (h.unique_name(p) for p in ("trig-s", "trig-ls", "trig-os"))
    scheduler.create_schedule(Name=sched, ScheduleExpression=DAILY, FlexibleTimeWindow=OFF,
                              Description="nightly", Target={"Arn": arn, "RoleArn": h.ROLE,
                                                             "Input": '{"from": "schedule"}'})
    scheduler.create_schedule(Name=live_sched, ScheduleExpression=DAILY, FlexibleTimeWindow=OFF,
                              Target={"Arn": live, "RoleArn": h.ROLE})
    scheduler.create_schedule(Name=other_sched, ScheduleExpression=DAILY, FlexibleTimeWindow=OFF,
                              Target={"Arn": h.function_arn("another"), "RoleArn": h.ROLE})

    topic = sns.create_topic(Name=h.unique_name("trig-t"))["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)["SubscriptionArn"]
    other_sub = sns.subscribe(TopicArn=topic, Protocol="lambda",
                              Endpoint=h.function_arn(name + "-not"))["SubscriptionArn"]

    cb.sign_in(page, server)
    cb.open_tab(page, server, name, "triggers")
    loaded(page)

    urls = region(page, "Function URLs")
    assert urls.get_by_role("link", name=url).get_attribute("href") == url
    urls_text = urls.inner_text()
    assert "NONE" in urls_text and "Origins: https://example.com" in urls_text \
        and "Methods: GET" in urls_text

    mappings = region(page, "Event-source mappings")
    row = mappings.get_by_role("row").filter(has_text=queue_arn)
    assert "Enabled" in row.inner_text() and "7" in row.inner_text().split()

    rules = region(page, "EventBridge rules")
    rule_row = rules.get_by_role("row").filter(has_text=rule)
    assert "ENABLED" in rule_row.inner_text() and "console.test" in rule_row.inner_text()
    bus_row = rules.get_by_role("row").filter(has_text=bus_rule)
    assert bus in bus_row.inner_text() and "live" in bus_row.inner_text()
    assert other_rule not in rules.inner_text()

    schedules = region(page, "EventBridge Scheduler schedules")
    assert "ENABLED" in schedules.get_by_role("row").filter(has_text=sched).inner_text()
    assert "live" in schedules.get_by_role("row").filter(has_text=live_sched).inner_text()
    assert other_sched not in schedules.inner_text()

    subscriptions = region(page, "SNS subscriptions")
    assert sub in subscriptions.inner_text() and topic in subscriptions.inner_text()
    assert other_sub not in subscriptions.inner_text()
    assert "no enabled or disabled state" in subscriptions.inner_text()
    assert subscriptions.get_by_role("button").count() == 0

    cb.assert_accessible(page)
    cb.screenshot(page, "triggers")

    # The mapping: disabled (Disabling until its poller settles, which the page follows).
    mappings.get_by_role("button", name=f"Disable event-source mapping from {queue}").click()
    mappings.get_by_text(f"The event-source mapping from {queue} is Disabl").wait_for()
    assert client.get_event_source_mapping(UUID=mapping)["State"] in ("Disabling", "Disabled")
    mappings.get_by_text(f"The event-source mapping from {queue} is Disabled.").wait_for()
    assert client.get_event_source_mapping(UUID=mapping)["State"] == "Disabled"
    assert "Disabled" in row.inner_text()

    # The rule.
    rules.get_by_role("button", name=f"Disable rule {rule}").click()
    rules.get_by_text(f"The rule {rule} is DISABLED.").wait_for()
    assert events.describe_rule(Name=rule)["State"] == "DISABLED"
    assert events.describe_rule(Name=bus_rule, EventBusName=bus)["State"] == "ENABLED"
    assert "DISABLED" in rule_row.inner_text()
    # The focus is on the same rule's button, now the other way round.
    assert focused_label(page) == f"Enable rule {rule}"

    # The schedule: UpdateSchedule sent back whole, only its state changed.
    before = scheduler.get_schedule(Name=sched)
    schedules.get_by_role("button", name=f"Disable schedule {sched}").click()
    schedules.get_by_text(f"The schedule {sched} is DISABLED.").wait_for()
    after = scheduler.get_schedule(Name=sched)
    assert after["State"] == "DISABLED"
    assert no_times(after) == no_times(before)
    assert scheduler.get_schedule(Name=live_sched)["State"] == "ENABLED"

    # Enabled back: the rule, and the mapping once it has settled.
    rules.get_by_role("button", name=f"Enable rule {rule}").click()
    rules.get_by_text(f"The rule {rule} is ENABLED.").wait_for()
    assert events.describe_rule(Name=rule)["State"] == "ENABLED"
    mappings.get_by_role("button", name=f"Enable event-source mapping from {queue}").click()
    mappings.get_by_text(f"The event-source mapping from {queue} is Enabled.").wait_for()
    assert client.get_event_source_mapping(UUID=mapping)["State"] == "Enabled"
    cb.assert_accessible(page)

    # A change made elsewhere shows after a refresh.
    events.disable_rule(Name=bus_rule, EventBusName=bus)
    page.get_by_role("button", name="Refresh triggers").click()
    rules.get_by_role("row").filter(has_text=bus_rule).filter(has_text="DISABLED").wait_for()
    enable = rules.get_by_role("button", name=f"Enable rule {bus_rule} on event bus {bus}")
    assert enable.is_visible()


def test_a_denied_service_is_refused_in_its_own_section_only(page, server, client, clients,
                                                              tmp_path):
    events = clients["events"]
    name = h.unique_name("trig-deny")
    arn = h.create_function(client, name)["FunctionArn"]
    rule = h.unique_name("trig-dr")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["z"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": arn}])
    # Lambda and EventBridge allowed; Scheduler and SNS not (no statement allows them).
    key = h.user_key(server, tmp_path, h.ACCOUNT, h.unique_name("trig-viewer"), [
        {"Effect": "Allow", "Action": ["lambda:*", "events:*"], "Resource": "*"},
    ])
    cb.sign_in(page, server, key)
    cb.open_tab(page, server, name, "triggers")
    loaded(page)

    schedules = region(page, "EventBridge Scheduler schedules").get_by_role("alert")
    assert schedules.inner_text().startswith("AccessDeniedException: User: arn:aws:iam::")
    assert "scheduler:ListSchedules" in schedules.inner_text()
    subscriptions = region(page, "SNS subscriptions").get_by_role("alert")
    assert subscriptions.inner_text().startswith("AuthorizationError: ")
    assert "SNS:ListSubscriptions" in subscriptions.inner_text()
    # The others are listed: the rule, and the empty states of the rest.
    rules = region(page, "EventBridge rules")
    assert "ENABLED" in rules.get_by_role("row").filter(has_text=rule).inner_text()
    assert region(page, "Function URLs").get_by_text("No function URL.").is_visible()
    assert region(page, "Event-source mappings").get_by_text(
        "No event-source mapping invokes this function.").is_visible()
    assert region(page, "Function URLs").get_by_role("alert").count() == 0
    assert rules.get_by_role("alert").count() == 0
    cb.assert_accessible(page)
