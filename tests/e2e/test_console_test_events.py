"""The console's Test tab keeps saved events as Lambda's shareable test events: examples of
the function's schema `_<function>-schema` in the EventBridge Schemas registry
`lambda-testevent-schemas` (docs/schemas.md), so what the page saves boto3 reads, what
boto3 (or `sam remote test-event`) saves the page offers, and a key that may not use the
schemas is told so."""

import json

import pytest
from botocore.exceptions import ClientError

import console_browser as cb
import hearth_e2e as h

pytestmark = pytest.mark.sandbox_neutral

browser = cb.browser_fixture()
page = cb.page_fixture()
REGISTRY = "lambda-testevent-schemas"


@pytest.fixture(scope="module")
def schemas(server):
    return h.service_client(server.endpoint, "schemas")


def examples(schemas, name):
    described = schemas.describe_schema(RegistryName=REGISTRY, SchemaName=f"_{name}-schema")
    doc = json.loads(described["Content"])
    assert described["Type"] == "OpenApi3"
    return doc["components"]["examples"], described["SchemaVersion"]


def option(page, event):
    return page.locator("select[name=saved-event] option", has_text=event)


def test_saved_events_are_the_functions_shareable_events(page, server, client, schemas):
    name = h.unique_name("cons-events")
    h.create_function(client, name)
    cb.sign_in(page, server)
    cb.open_tab(page, server, name, "test")

    # Saved in the page: the schema's example, as Lambda's console keeps it.
    first = {"action": "echo", "n": 1}
    page.get_by_label("Event name").fill("first")
    page.get_by_label("Event JSON").fill(json.dumps(first))
    page.get_by_role("button", name="Save event").click()
    page.get_by_text("Saved the shareable event first.").wait_for()
    saved, version = examples(schemas, name)
    assert saved == {"first": {"value": first}}
    assert version == "1"
    assert schemas.describe_registry(RegistryName=REGISTRY)["RegistryName"] == REGISTRY

    # Saved again with another body: a new version of the same schema.
    changed = {"action": "echo", "n": 2}
    page.get_by_label("Event JSON").fill(json.dumps(changed))
    page.get_by_role("button", name="Save event").click()
    page.get_by_text("Saved the shareable event first.").wait_for()
    h.wait_until(lambda: examples(schemas, name)[1] == "2", timeout=5)
    assert examples(schemas, name) == ({"first": {"value": changed}}, "2")

    # Saved with boto3 (as `sam remote test-event put` does): offered by the page, and
    # invoking it sends it.
    doc = json.loads(schemas.describe_schema(RegistryName=REGISTRY,
                                             SchemaName=f"_{name}-schema")["Content"])
    outside = {"from": "boto3", "list": [1, 2]}
    doc["components"]["examples"]["from-boto3"] = {"value": outside}
    schemas.update_schema(RegistryName=REGISTRY, SchemaName=f"_{name}-schema",
                          Type="OpenApi3", Content=json.dumps(doc))
    # Another tab, then back: the Test tab reads the schema again.
    cb.open_tab(page, server, name, "config")
    cb.open_tab(page, server, name, "test")
    option(page, "from-boto3").wait_for(state="attached")
    assert page.locator("select[name=saved-event] option").all_inner_texts() == \
        ["—", "first", "from-boto3"]
    page.get_by_label("Saved event").select_option("from-boto3")
    assert json.loads(page.get_by_label("Event JSON").input_value()) == outside
    assert page.get_by_label("Event name").input_value() == "from-boto3"
    page.get_by_role("button", name="Invoke").click()
    page.locator("#invoke-response").wait_for()
    assert json.loads(page.locator("#invoke-response").inner_text())["event"] == outside
    cb.assert_accessible(page)
    cb.screenshot(page, "test-events")

    # Deleted: gone from the schema, the other kept; the last one's delete deletes the
    # schema, as Lambda's console and SAM CLI do.
    page.get_by_label("Saved event").select_option("first")
    page.get_by_role("button", name="Delete event").click()
    page.get_by_text("Deleted the shareable event first.").wait_for()
    assert examples(schemas, name)[0] == {"from-boto3": {"value": outside}}
    assert option(page, "first").count() == 0
    page.get_by_label("Saved event").select_option("from-boto3")
    page.get_by_role("button", name="Delete event").click()
    page.get_by_text("Deleted the shareable event from-boto3.").wait_for()
    with pytest.raises(ClientError) as gone:
        schemas.describe_schema(RegistryName=REGISTRY, SchemaName=f"_{name}-schema")
    assert h.error_of(gone.value)[:2] == (404, "NotFoundException")
    cb.assert_accessible(page)


def test_a_key_that_may_not_use_schemas_is_told_so(page, server, client, tmp_path):
    name = h.unique_name("cons-noevents")
    h.create_function(client, name)
    key = h.user_key(server, tmp_path, h.ACCOUNT, "console-no-schemas", [
        {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}])
    cb.sign_in(page, server, key=key)
    cb.open_tab(page, server, name, "test")
    page.get_by_text("Your key may not use shareable test events").wait_for()
    # Invoking still works.
    page.get_by_label("Event JSON").fill(json.dumps({"still": "works"}))
    page.get_by_role("button", name="Invoke").click()
    page.locator("#invoke-response").wait_for()
    assert json.loads(page.locator("#invoke-response").inner_text())["event"] == {"still": "works"}
    page.get_by_label("Event name").fill("nope")
    page.get_by_role("button", name="Save event").click()
    page.get_by_text(
        "Your key may not use shareable test events").first.wait_for()
    assert "schemas:" in page.locator("[role=tabpanel] .alert.bad").first.inner_text()
    cb.assert_accessible(page)
