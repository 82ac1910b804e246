"""The console's platform pages (crates/api/console/platform.js) in a real browser: queues,
topics, event buses and rules, schedules, the fleet's nodes and the audit trail. Each page's
resources are made with boto3 and what the page shows is checked against what the services
answer; what is done from a page (a test message sent, a queue purged, a message published,
an event pattern tested) is checked with boto3 too. The schedules' next fire times are
Hearth's own GetScheduleFireTimes (`GET /schedules/{Name}/fire-times`, IAM action
`hearth:GetScheduleFireTimes` on the schedule), compared with the server's answer and the
schedule's expression, never with a clock.
"""

import json
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

import console_browser as cb
import hearth_e2e as h

pytestmark = pytest.mark.sandbox_neutral

browser = cb.browser_fixture()
page = cb.page_fixture()

SCHEDULER_ROLE = f"arn:aws:iam::{h.ACCOUNT}:role/hearth-scheduler"
OFF = {"Mode": "OFF"}


@pytest.fixture(scope="module")
def clients(server):
    return {s: h.service_client(server.endpoint, s)
            for s in ("sqs", "sns", "events", "scheduler", "cloudtrail")}


def sign_in(page, server, key=None):
    """Signs in and waits until the functions page it lands on has drawn its list (which
    would otherwise be drawn over the page opened next)."""
    cb.sign_in(page, server, key)
    page.locator("main .loading").wait_for(state="detached")


def goto(page, server, where: str, heading: str):
    """Opens `#/<where>` and waits until its page has drawn (its heading, no "Loading…")."""
    page.goto(f"{server.endpoint}/console/#/{where}")
    page.get_by_role("heading", name=heading, exact=True, level=1).wait_for()
    page.locator("main .loading").wait_for(state="detached")


def row(page, table_id: str, name: str):
    """The row of table `table_id` whose row header is `name`."""
    return page.locator(f"#{table_id} tbody tr").filter(
        has=page.get_by_role("rowheader", name=name, exact=True))


def cells(locator) -> list[str]:
    return [t.strip() for t in locator.locator("th, td").all_inner_texts()]


def counts(sqs, url) -> tuple[int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def fire_times(server, cookie, name: str, count: int, group: str = "default") -> list[dict]:
    status, _, body = cb.console_call(
        server, "GET", f"/schedules/{name}/fire-times?groupName={group}&MaxResults={count}",
        cookie)
    assert status == 200, body
    return body["FireTimes"]


def iso(seconds: float) -> str:
    """Epoch seconds as the page's <time datetime> writes them (ISO 8601, milliseconds)."""
    ms = round(seconds * 1000)
    whole = datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{ms % 1000:03d}Z"


def shown_times(locator) -> list[str]:
    return [t.get_attribute("datetime") for t in locator.locator("time").all()]


def test_queues_show_their_counts_and_a_test_message_and_a_purge_change_them(page, server,
                                                                             clients):
    sqs = clients["sqs"]
    name = h.unique_name("cons-q")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
    # One received: in flight until its visibility timeout ends.
    assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]) == 1
    assert counts(sqs, url) == (2, 1)

    sign_in(page, server)
    goto(page, server, "queues", "Queues")
    queue_row = row(page, "queues-table", name)
    assert cells(queue_row)[:4] == [name, "2", "1", "0"]
    listed = sqs.list_queues()["QueueUrls"]
    assert page.locator("#queues-table tbody tr").count() == len(listed)
    cb.assert_accessible(page)
    cb.screenshot(page, "queues")

    queue_row.get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name, level=1).wait_for()
    page.locator("#queue-available").wait_for()
    assert page.locator("#queue-available").inner_text() == "2"
    assert page.locator("#queue-in-flight").inner_text() == "1"
    cb.assert_accessible(page)
    cb.screenshot(page, "queue")

    body = json.dumps({"from": "the console", "id": h.unique_name("msg")})
    page.get_by_label("Message body").fill(body)
    page.get_by_role("button", name="Send test message").click()
    sent = page.get_by_text("Sent message ")
    sent.wait_for()
    assert counts(sqs, url) == (3, 1)
    expect(page.locator("#queue-available")).to_have_text("3")
    # The message is the one typed (received with no visibility timeout: it stays available).
    bodies = []
    for _ in range(5):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        bodies += [m["Body"] for m in got.get("Messages", [])]
        if body in bodies:
            break
    assert body in bodies
    message_id = sent.inner_text().removeprefix("Sent message ").removesuffix(".")
    assert len(message_id) == 36

    # Purge asks first; Escape takes the question back, and the focus with it.
    page.get_by_role("button", name="Purge queue…").click()
    confirm = page.get_by_role("button", name=f"Delete every message in {name}")
    assert page.evaluate("document.activeElement.textContent") == f"Delete every message in {name}"
    assert counts(sqs, url)[0] == 3
    page.keyboard.press("Escape")
    assert not confirm.is_visible()
    assert page.evaluate("document.activeElement.textContent") == "Purge queue…"
    assert page.get_by_role("button", name="Purge queue…").get_attribute("aria-expanded") == "false"
    assert counts(sqs, url)[0] == 3

    # By keyboard: Enter on the question, Enter on the answer.
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.textContent") == f"Delete every message in {name}"
    page.keyboard.press("Enter")
    page.get_by_text(f"Purged {name}:").wait_for()
    assert counts(sqs, url) == (0, 0)
    assert page.locator("#queue-available").inner_text() == "0"
    assert page.locator("#queue-in-flight").inner_text() == "0"
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []

    # SQS allows one purge a minute: the second is refused with its own message.
    page.get_by_role("button", name="Purge queue…").click()
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("PurgeQueueInProgress: ")


def test_a_topic_lists_its_subscriptions_and_a_published_message_reaches_its_queue(page, server,
                                                                                    clients):
    sns, sqs = clients["sns"], clients["sqs"]
    name = h.unique_name("cons-t")
    topic = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=h.unique_name("cons-sub"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    # The topic may send to the queue, as SNS-to-SQS subscriptions need on AWS.
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]

    sign_in(page, server)
    goto(page, server, "topics", "Topics")
    assert cells(row(page, "topics-table", name))[:4] == [
        name, attrs["SubscriptionsConfirmed"], attrs["SubscriptionsPending"], topic]
    assert attrs["SubscriptionsConfirmed"] == "1"
    cb.assert_accessible(page)
    cb.screenshot(page, "topics")

    row(page, "topics-table", name).get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name, level=1).wait_for()
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    shown = [cells(r) for r in page.locator("#subscriptions-table tbody tr").all()]
    assert shown == [[s["Protocol"], s["Endpoint"], s["SubscriptionArn"], s["Owner"]]
                     for s in listed]
    assert shown[0][1:3] == [queue_arn, sub]
    cb.assert_accessible(page)
    cb.screenshot(page, "topic")

    text = h.unique_name("published")
    page.get_by_label("Subject").fill("From the console")
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Publish test message").click()
    done = page.get_by_text("Published message ")
    done.wait_for()
    message_id = done.inner_text().split()[2]

    received = []
    for _ in range(5):
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, MaxNumberOfMessages=10)
        received += [json.loads(m["Body"]) for m in got.get("Messages", [])]
        if received:
            break
    assert len(received) == 1
    envelope = received[0]
    assert (envelope["Type"], envelope["TopicArn"], envelope["MessageId"]) == \
        ("Notification", topic, message_id)
    assert (envelope["Subject"], envelope["Message"]) == ("From the console", text)


def test_a_bus_lists_its_rules_and_tests_an_event_pattern(page, server, clients):
    events = clients["events"]
    bus = h.unique_name("cons-bus")
    events.create_event_bus(Name=bus)
    pattern = {"source": ["console.test"], "detail": {"n": [{"numeric": [">", 5]}]}}
    events.put_rule(Name="big-orders", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_rule(Name="all-orders", EventBusName=bus, State="DISABLED",
                    EventPattern=json.dumps({"source": ["console.test"]}),
                    Description="every order")

    sign_in(page, server)
    goto(page, server, "buses", "Event buses")
    listed = events.list_event_buses()["EventBuses"]
    assert page.locator("#buses-table tbody tr").count() == len(listed)
    mine = next(b for b in listed if b["Name"] == bus)
    rules = events.list_rules(EventBusName=bus)["Rules"]
    assert cells(row(page, "buses-table", bus)) == [bus, str(len(rules)), mine["Arn"]]
    cb.assert_accessible(page)
    cb.screenshot(page, "buses")

    row(page, "buses-table", bus).get_by_role("link", name=bus).click()
    page.get_by_role("heading", name=bus, level=1).wait_for()
    for rule in rules:
        shown = cells(row(page, "rules-table", rule["Name"]))
        assert shown[:2] == [rule["Name"], rule["State"]]
        assert json.loads(shown[2].split("Test this pattern")[0]) == json.loads(rule["EventPattern"])
        assert shown[3] == rule.get("Description", "")
    cb.assert_accessible(page)
    cb.screenshot(page, "bus")

    # A rule's pattern is taken into the test form, and the focus goes there.
    row(page, "rules-table", "big-orders").get_by_role("button", name="Test this pattern").click()
    assert page.evaluate("document.activeElement.name") == "event-pattern"
    assert json.loads(page.get_by_label("Event pattern", exact=True).input_value()) == pattern

    def event(n):
        return json.dumps({"version": "0", "id": "1d3ed0cc-8f0f-4a3c-b2aa-4f1ab8b0c0a1",
                           "detail-type": "Order", "source": "console.test",
                           "account": h.ACCOUNT, "time": "2024-05-01T12:00:00Z",
                           "region": h.REGION, "resources": [], "detail": {"n": n}})

    result = page.locator("#pattern-result")
    for n, matches in ((7, True), (3, False)):
        assert events.test_event_pattern(EventPattern=json.dumps(pattern),
                                         Event=event(n))["Result"] is matches
        page.get_by_label("Sample event", exact=True).fill(event(n))
        page.get_by_role("button", name="Test pattern").click()
        expected = "Match: the event matches the pattern." if matches \
            else "No match: the event does not match the pattern."
        expect(result).to_have_text(expected)
    cb.assert_accessible(page)

    page.get_by_label("Event pattern", exact=True).fill('{"source": "not a list"}')
    page.get_by_role("button", name="Test pattern").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("InvalidEventPatternException: ")


def test_schedules_show_their_next_fire_times_as_the_server_computes_them(page, server, clients):
    sqs, scheduler = clients["sqs"], clients["scheduler"]
    queue = sqs.create_queue(QueueName=h.unique_name("cons-sched"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    rate, daily = h.unique_name("every7"), h.unique_name("off")
    target = {"Arn": queue_arn, "RoleArn": SCHEDULER_ROLE}
    scheduler.create_schedule(Name=rate, ScheduleExpression="rate(7 minutes)",
                              FlexibleTimeWindow=OFF, Target=target)
    scheduler.create_schedule(Name=daily, ScheduleExpression="cron(0 3 * * ? *)",
                              ScheduleExpressionTimezone="Europe/Paris", State="DISABLED",
                              FlexibleTimeWindow=OFF, Target=target)
    made = scheduler.get_schedule(Name=rate)
    anchor = made["LastModificationDate"].timestamp()
    cookie, _ = cb.session_cookie(server)

    sign_in(page, server)
    goto(page, server, "schedules", "Schedules")
    listed = scheduler.list_schedules()["Schedules"]
    assert page.locator("#schedules-table tbody tr").count() == len(listed)
    rate_row = row(page, "schedules-table", rate)
    shown = cells(rate_row)
    assert shown[1:3] == ["default", "ENABLED"]
    assert shown[3].split() == ["rate(7", "minutes)", "UTC"]
    assert shown[4] == queue_arn
    page_times = shown_times(rate_row)
    server_times = [iso(t["FireTime"]) for t in fire_times(server, cookie, rate, 3)]
    # The same slots (or, were one to pass between the two reads, the next ones).
    assert page_times == server_times or page_times[1:] == server_times[:2]
    # Consistent with the expression: every 7 minutes from the schedule's last write.
    seconds = [datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in page_times]
    assert len(seconds) == 3
    for t in seconds:
        assert (t - anchor) % 420 == pytest.approx(0, abs=0.002) or \
            (t - anchor) % 420 == pytest.approx(420, abs=0.002)
        assert t > anchor
    assert [b - a for a, b in zip(seconds, seconds[1:])] == [pytest.approx(420)] * 2
    disabled = cells(row(page, "schedules-table", daily))
    assert disabled[2:4] == ["DISABLED", "cron(0 3 * * ? *)\nEurope/Paris"]
    assert disabled[5] == "None while disabled"
    cb.assert_accessible(page)
    cb.screenshot(page, "schedules")

    rate_row.get_by_role("link", name=rate).click()
    page.get_by_role("heading", name=rate, level=1).wait_for()
    page.locator("#fire-times-table").wait_for()
    slots = [cells(r) for r in page.locator("#fire-times-table tbody tr").all()]
    assert len(slots) == 10
    answer = fire_times(server, cookie, rate, 11)
    scheduled = [iso(t["ScheduledTime"]) for t in answer]
    shown_scheduled = shown_times(page.locator("#fire-times-table tbody td:nth-child(2)"))
    assert shown_scheduled in (scheduled[:10], scheduled[1:11]) or \
        shown_scheduled[1:] == scheduled[:9]
    # The window is off: each slot fires at its time.
    assert shown_times(page.locator("#fire-times-table tbody td:nth-child(3)")) == shown_scheduled
    cb.assert_accessible(page)


def test_the_fire_times_endpoint_is_authorized_per_schedule(page, server, clients, tmp_path):
    scheduler = clients["scheduler"]
    shown, hidden = h.unique_name("seen"), h.unique_name("unseen")
    target = {"Arn": f"arn:aws:sqs:{h.REGION}:{h.ACCOUNT}:nowhere", "RoleArn": SCHEDULER_ROLE}
    for name in (shown, hidden):
        scheduler.create_schedule(Name=name, ScheduleExpression="cron(0 3 * * ? *)",
                                  FlexibleTimeWindow=OFF, Target=target)
    arn = f"arn:aws:scheduler:{h.REGION}:{h.ACCOUNT}:schedule/default/{shown}"
    key = h.user_key(server, tmp_path, h.ACCOUNT, h.unique_name("sched-reader"), [
        {"Effect": "Allow", "Action": ["scheduler:ListSchedules", "scheduler:GetSchedule"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": "hearth:GetScheduleFireTimes", "Resource": arn},
    ])
    cookie, _ = cb.session_cookie(server, key)
    status, code, body = cb.console_call(
        server, "GET", f"/schedules/{hidden}/fire-times", cookie)
    assert (status, code) == (403, "AccessDeniedException")
    assert "hearth:GetScheduleFireTimes" in body["Message"]
    status, _, body = cb.console_call(server, "GET", f"/schedules/{shown}/fire-times",
                                      cookie)
    assert status == 200 and len(body["FireTimes"]) == 5

    sign_in(page, server, key)
    goto(page, server, "schedules", "Schedules")
    assert len(shown_times(row(page, "schedules-table", shown))) == 3
    assert cells(row(page, "schedules-table", hidden))[5] == \
        "Not shown: needs hearth:GetScheduleFireTimes"
    # The fleet's nodes are the administrator's.
    goto(page, server, "nodes", "Nodes")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("AccessDeniedException: ")
    assert "GET /_hearth/nodes" in alert.inner_text()
    cb.assert_accessible(page)


def test_the_nodes_page_shows_this_server(page, server):
    cookie, _ = cb.session_cookie(server)
    status, _, body = cb.console_call(server, "GET", "/_hearth/nodes", cookie)
    assert status == 200
    (node,) = body["nodes"]
    assert node["thisNode"] and node["state"] == "alive"

    sign_in(page, server)
    goto(page, server, "nodes", "Nodes")
    shown = cells(page.locator("#nodes-table tbody tr").filter(has_text=node["id"]))
    assert shown[0] == f"{node['id']}\n(this node)"
    info = node["info"]
    assert shown[1:3] == [node["address"], "alive"]
    assert shown[4] == str(info["cpus"])
    assert shown[6] == f"{info['busyEnvironments']} / {info['maxConcurrency']}"
    assert shown[8] == ", ".join(info["runtimes"])
    assert shown[9] == info["version"]
    cb.assert_accessible(page)
    cb.screenshot(page, "nodes")


def test_the_audit_trail_shows_who_did_what_filtered_and_paged(page, server, clients, tmp_path):
    trail, sqs = clients["cloudtrail"], clients["sqs"]
    user = h.unique_name("auditee")
    key = h.user_key(server, tmp_path, h.ACCOUNT, user, [
        {"Effect": "Allow", "Action": ["lambda:*", "iam:PassRole"], "Resource": "*"},
    ])
    name = h.unique_name("cons-audit")
    h.create_function(h.lambda_client(server.endpoint, credentials=key), name)

    def lookup(key, value):
        events, token = [], None
        while True:
            kw = {"NextToken": token} if token else {}
            answer = trail.lookup_events(
                LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **kw)
            events += answer["Events"]
            token = answer.get("NextToken")
            if not token:
                return events

    def creation():
        return [e for e in lookup("Username", user)
                if json.loads(e["CloudTrailEvent"])["requestParameters"].get("functionName") == name]

    assert h.wait_until(lambda: len(creation()) == 1)
    (created,) = creation()
    record = json.loads(created["CloudTrailEvent"])
    user_arn = f"arn:aws:iam::{h.ACCOUNT}:user/{user}"
    assert record["userIdentity"]["arn"] == user_arn

    sign_in(page, server)
    goto(page, server, "audit", "Audit trail")
    page.locator("#audit-table").wait_for()
    newest = trail.lookup_events(MaxResults=1)["Events"][0]
    first = cells(page.locator("#audit-table tbody tr").first)
    assert first[1] == newest["EventName"]
    cb.assert_accessible(page)
    cb.screenshot(page, "audit")

    # By user: the CreateFunction made with that user's key, with the caller's ARN.
    page.get_by_label("Filter by").select_option("Username")
    page.get_by_label("Value").fill(user)
    page.get_by_role("button", name="Apply").click()
    status = page.locator("#audit-status")
    expect(status).to_contain_text(f"whose user name is {user}")
    rows = page.locator("#audit-table tbody tr")
    assert rows.count() == len(lookup("Username", user))
    mine = rows.filter(has=page.get_by_role("cell", name="CreateFunction20150331", exact=True))
    shown = cells(mine)
    assert shown[0] == datetime.fromtimestamp(created["EventTime"].timestamp(), timezone.utc) \
        .strftime("%Y-%m-%d %H:%M:%S UTC")
    assert shown[1] == created["EventName"] == "CreateFunction20150331"
    assert shown[2].split() == [user, user_arn]
    assert shown[3] == record["sourceIPAddress"]
    assert shown[4] == record.get("errorCode", "—")
    assert shown[6] == created["EventSource"]
    # The whole record, behind its disclosure.
    mine.locator("summary").click()
    assert json.loads(mine.locator("pre").inner_text()) == record

    # By event name, one page at a time: more events than one page of LookupEvents (50).
    url = sqs.create_queue(QueueName=h.unique_name("cons-audit"))["QueueUrl"]
    for n in range(53):
        sqs.tag_queue(QueueUrl=url, Tags={"n": str(n)})
    assert h.wait_until(lambda: len(lookup("EventName", "TagQueue")) == 53)
    page.get_by_label("Filter by").select_option("EventName")
    page.get_by_label("Value").fill("TagQueue")
    page.get_by_role("button", name="Apply").click()
    more = page.get_by_role("button", name="Load more")
    more.wait_for()
    assert rows.count() == 50
    assert set(r[1] for r in (cells(x) for x in rows.all())) == {"TagQueue"}
    more.click()
    total = len(lookup("EventName", "TagQueue"))
    expect(rows).to_have_count(total)
    assert not more.is_visible()
    assert status.inner_text().startswith(f"{total} events whose event name is TagQueue")
