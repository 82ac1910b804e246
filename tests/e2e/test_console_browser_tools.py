"""The console's browser-test tools (console_browser.py) work, without a hearth server: the
system Chromium driven by Playwright loads, fills and clicks pages that a local HTTP server
serves, axe-core passes an accessible page (even under a Content-Security-Policy that forbids
inline scripts, as the console's may) and finds the serious violations of another, each test
gets a fresh context, and screenshots are PNG files."""

from __future__ import annotations

import http.server
import threading

import pytest

import console_browser as cb

pytestmark = pytest.mark.sandbox_neutral

browser = cb.browser_fixture()
page = cb.page_fixture()

# No violation of any impact: a language, a title, landmarks, one <h1>, labelled controls.
ACCESSIBLE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Functions - Hearth</title>
<script src="/app.js" defer></script></head>
<body>
<header><p>Hearth</p></header>
<nav aria-label="Sections"><ul><li><a href="/accessible">Functions</a></li></ul></nav>
<main>
  <h1>Functions</h1>
  <form id="search">
    <label for="name">Function name</label>
    <input id="name" name="name" type="text">
    <button type="submit">Search</button>
  </form>
  <p id="result" aria-live="polite"></p>
</main>
<footer><p>Self-hosted</p></footer>
</body>
</html>
"""

# The page's own script, from its own origin, as the policy below allows.
APP_JS = """document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  document.getElementById("result").textContent =
    "Searched for " + document.getElementById("name").value;
});
"""

# Three critical violations (image-alt, label, button-name) and otherwise well-formed.
INACCESSIBLE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Broken - Hearth</title></head>
<body>
<main>
  <h1>Broken</h1>
  <img src="/logo.png" id="logo">
  <input id="unlabelled" type="text">
  <button id="nameless"></button>
</main>
</body>
</html>
"""

# Only a moderate violation (page-has-heading-one): not serious, not critical.
MODERATE_ONLY = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>No heading - Hearth</title></head>
<body><main><p>Nothing to see.</p></main></body>
</html>
"""

ROUTES = {
    "/accessible": ("text/html; charset=utf-8", ACCESSIBLE),
    "/app.js": ("text/javascript", APP_JS),
    "/inaccessible": ("text/html; charset=utf-8", INACCESSIBLE),
    "/moderate": ("text/html; charset=utf-8", MODERATE_ONLY),
}


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        content_type, body = ROUTES.get(self.path, ("text/plain", "not found"))
        data = body.encode()
        self.send_response(200 if self.path in ROUTES else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", "default-src 'self'")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    """The pages above on 127.0.0.1, with a policy that allows only the site's own scripts."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_chromium_fills_and_clicks_and_the_accessible_page_passes(page, site):
    page.goto(f"{site}/accessible")
    assert page.title() == "Functions - Hearth"
    page.get_by_label("Function name").fill("hello-python")
    page.get_by_role("button", name="Search").click()
    page.wait_for_function("document.getElementById('result').textContent !== ''")
    assert page.evaluate("document.getElementById('result').textContent") == \
        "Searched for hello-python"
    cb.assert_accessible(page)
    assert cb.axe_violations(page, impacts=cb.ALL_IMPACTS) == []


def test_serious_violations_are_found_and_fail_the_check(page, site):
    page.goto(f"{site}/inaccessible")
    found = {v["id"]: v for v in cb.axe_violations(page)}
    assert {"image-alt", "label", "button-name"} <= set(found), found
    assert found["image-alt"]["impact"] == "critical"
    assert [n["target"] for n in found["image-alt"]["nodes"]] == ["#logo"]
    assert [n["target"] for n in found["label"]["nodes"]] == ["#unlabelled"]
    with pytest.raises(AssertionError) as failed:
        cb.assert_accessible(page)
    message = str(failed.value)
    assert f"{site}/inaccessible: axe-core {cb.axe_version()} found" in message
    assert "- image-alt (critical): Images must have alternative text" in message
    assert "#nameless" in message and "<button id=\"nameless\"></button>" in message


def test_the_check_reports_only_the_impacts_asked_for(page, site):
    page.goto(f"{site}/moderate")
    cb.assert_accessible(page)
    assert [v["id"] for v in cb.axe_violations(page, impacts=("moderate",))] == \
        ["page-has-heading-one"]
    with pytest.raises(ValueError, match="unknown axe impacts"):
        cb.axe_violations(page, impacts=("severe",))


@pytest.mark.parametrize("visit", ["first", "second"])
def test_each_test_starts_without_cookies(page, site, visit):
    page.goto(f"{site}/accessible")
    assert page.context.cookies() == []
    page.evaluate("document.cookie = 'session=' + %r + '; path=/'" % visit)
    assert [c["value"] for c in page.context.cookies()] == [visit]


def test_a_screenshot_is_a_png_under_target(page, site):
    page.goto(f"{site}/accessible")
    path = cb.screenshot(page, "browser-tools-accessible")
    assert path == cb.h.REPO / "target" / "console-screenshots" / "browser-tools-accessible.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError):
        cb.screenshot(page, "../escape")


def test_missing_tools_name_the_command_that_installs_them(monkeypatch, tmp_path):
    monkeypatch.setattr(cb, "AXE_JS", tmp_path / "axe.min.js")
    with pytest.raises(pytest.fail.Exception, match="axe-core is not installed.*"
                       r"bash scripts/setup\.sh --deps-only"):
        cb.axe_source()
    monkeypatch.setattr(cb.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed.*"
                       r"bash scripts/setup\.sh --deps-only"):
        cb.chromium_path()
