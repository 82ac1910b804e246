"""Browser tests of the web console: Playwright (PyPI `playwright`, its sync API) driving
Debian's Chromium headless, axe-core's accessibility check, and screenshots.

Playwright's own browser builds are never downloaded (`playwright install` is not run): it
launches the system's Chromium (`chromium`, or `chromium-browser`), which scripts/setup.sh
installs with apt. axe-core comes from npm at the version tests/console/package-lock.json locks
(`bash scripts/setup.sh --deps-only` runs `npm ci` there), Playwright from tests/requirements.txt.

One browser per test module, a fresh context (no cookies, no storage) for each test:

    import console_browser as cb

    browser = cb.browser_fixture()          # module-scoped: one Chromium for the module
    page = cb.page_fixture()                # function-scoped: a page in a fresh context

    def test_the_functions_page(page, server):
        page.goto(f"{server.endpoint}/console/")
        cb.assert_accessible(page)          # no serious or critical axe-core findings
        cb.screenshot(page, "functions")    # target/console-screenshots/functions.png

Outside pytest, `with cb.browser() as b, cb.new_page(b) as page: ...` does the same.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import urllib.request
import urllib.error
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import hearth_e2e as h

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

INSTALL_HINT = "bash scripts/setup.sh --deps-only"
CONSOLE_TESTS_DIR = h.REPO / "tests" / "console"
AXE_DIR = CONSOLE_TESTS_DIR / "node_modules" / "axe-core"
AXE_JS = AXE_DIR / "axe.min.js"
SCREENSHOTS_DIR = h.REPO / "target" / "console-screenshots"

# Playwright itself already passes most of these (and --no-sandbox, which root needs, unless
# chromium_sandbox=True); they are named here so that this suite does not depend on its
# defaults: no GPU, no network of the browser's own (updates, sync, field trials), no first-run UI.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

DEFAULT_IMPACTS = ("serious", "critical")
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")


def chromium_path() -> str:
    """The system Chromium's executable; fails the test, naming the install command, without one."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(f"chromium is not installed (neither `chromium` nor `chromium-browser` is on "
                    f"PATH): {INSTALL_HINT}", pytrace=False)
    return path


def axe_source() -> str:
    """axe.min.js (tests/console/node_modules/axe-core); fails the test, naming the install
    command, when it is not installed."""
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is not installed ({AXE_JS} is missing): {INSTALL_HINT}",
                    pytrace=False)
    return AXE_JS.read_text(encoding="utf-8")


def axe_version() -> str:
    """The installed axe-core's version ("4.14.1")."""
    axe_source()
    return json.loads((AXE_DIR / "package.json").read_text(encoding="utf-8"))["version"]


@contextlib.contextmanager
def browser(**launch_options: Any) -> Iterator[Browser]:
    """Playwright with the system Chromium, headless, for the `with` block; closed after it.
    `launch_options` go to `chromium.launch` (`slow_mo=`, `timeout=`, more `args=`)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is not installed: "
                    "python3 -m pip install -r tests/requirements.txt (scripts/test.sh does)",
                    pytrace=False)
    executable = chromium_path()
    args = [*CHROMIUM_ARGS, *launch_options.pop("args", ())]
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=args, **launch_options)
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def new_page(browser: Browser, **context_options: Any) -> Iterator[Page]:
    """A page in a new browser context (its own cookies and storage), closed after the
    `with` block. `context_options` go to `browser.new_context` (`base_url=`, `viewport=`,
    `http_credentials=`, `locale=`...)."""
    context = browser.new_context(**context_options)
    try:
        yield context.new_page()
    finally:
        context.close()


def browser_fixture(scope: str = "module"):
    """A pytest fixture giving one headless system Chromium, by default for the whole module
    (its launch is most of a short module's time): `browser = browser_fixture()` in the module."""

    @pytest.fixture(scope=scope)
    def _browser():
        with browser() as launched:
            yield launched

    return _browser


def page_fixture(**context_options: Any):
    """A pytest fixture giving each test a page in a fresh context (no cookies or storage left
    by another test) of the module's fixture `browser` (see browser_fixture):
    `page = page_fixture()` in the module. `context_options` as for new_page."""

    @pytest.fixture
    def _page(browser):
        with new_page(browser, **context_options) as fresh:
            yield fresh

    return _page


# Runs in the page once axe is in it: its findings, reduced to what a failure message shows.
_RUN_AXE = """async (options) => {
  const results = await axe.run(document, options);
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    help_url: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target, html: n.html, impact: n.impact})),
  }));
}"""


def _target_text(target: list) -> str:
    """An axe node target as one selector string: its parts are frames' selectors (joined with
    " >> ") and, inside a shadow root, lists of selectors (joined with " >>> ")."""
    return " >> ".join(part if isinstance(part, str) else " >>> ".join(part) for part in target)


def _inject_axe(page: Page) -> None:
    """Puts axe into the page's main frame, once per document. Evaluated over the DevTools
    protocol rather than added as a <script> (page.add_script_tag): a page whose
    Content-Security-Policy allows no inline script, as the console's may, would refuse that."""
    if page.evaluate("typeof window.axe === 'undefined'"):
        page.evaluate(axe_source() + "\n;undefined")


def axe_violations(page: Page, impacts: Iterable[str] = DEFAULT_IMPACTS, *,
                   options: dict | None = None) -> list[dict]:
    """axe-core's violations in the page's document as it is now, those of the given impacts
    ("minor", "moderate", "serious", "critical"), each a dict:
    {"id": "image-alt", "impact": "critical", "help": ..., "help_url": ...,
     "nodes": [{"target": "img[src$=\\"logo.png\\"]", "html": "<img ...>", "impact": ...}]}.
    `options` go to axe.run (say {"rules": {"color-contrast": {"enabled": False}}}).
    Only the main frame is checked: an <iframe>'s document is not."""
    wanted = set(impacts)
    unknown = wanted - set(ALL_IMPACTS)
    if unknown:
        raise ValueError(f"unknown axe impacts {sorted(unknown)}: use some of {ALL_IMPACTS}")
    _inject_axe(page)
    run_options = {"resultTypes": ["violations"], **(options or {})}
    found = page.evaluate(_RUN_AXE, run_options)
    violations = []
    for v in found:
        if v["impact"] not in wanted:
            continue
        v["nodes"] = [{**n, "target": _target_text(n["target"])} for n in v["nodes"]]
        violations.append(v)
    return violations


def format_violations(violations: list[dict]) -> str:
    """Violations as axe_violations gives them, one rule a paragraph, for a failure message."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}  <{v['help_url']}>")
        for node in v["nodes"]:
            html = node["html"] if len(node["html"]) <= 160 else node["html"][:157] + "..."
            lines.append(f"    {node['target']}    {html}")
    return "\n".join(lines)


def assert_accessible(page: Page, impacts: Iterable[str] = DEFAULT_IMPACTS, *,
                      options: dict | None = None) -> None:
    """Fails (AssertionError) when axe-core finds violations of these impacts (by default
    serious or critical) in the page, listing each rule with the elements that break it."""
    impacts = tuple(impacts)
    violations = axe_violations(page, impacts, options=options)
    if violations:
        raise AssertionError(
            f"{page.url}: axe-core {axe_version()} found {len(violations)} accessibility "
            f"violation(s) of impact {'/'.join(impacts)}:\n{format_violations(violations)}")


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Saves a PNG of the page as target/console-screenshots/<name>.png (the folder made when
    missing), the whole page by default, and returns its path. `name` is a plain file name:
    letters, digits, '.', '_' and '-'."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ValueError(f"screenshot name {name!r}: use letters, digits, '.', '_' and '-'")
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, type="png")
    return path


# ---------------------------------------------------------------------------------------------
# The console's own steps (tests/e2e/test_console*.py)


def admin(server) -> tuple:
    return server.credentials[0], server.credentials[1]


def sign_in(page, server, key: tuple | None = None, expect: str = "Functions"):
    """Signs in on the console's own form (with the administrator key by default)."""
    akid, secret = key or admin(server)
    page.goto(f"{server.endpoint}/console/")
    page.get_by_label("Access key ID").fill(akid)
    page.get_by_label("Secret access key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name=expect, exact=True).wait_for()


def open_tab(page, server, name: str, tab: str):
    """Opens tab `tab` (its id in the address: config, code, test, versions, ...) of
    function `name`'s page and waits until the tab's panel has drawn."""
    page.goto(f"{server.endpoint}/console/#/functions/{name}/{tab}")
    page.wait_for_selector(f"#tab-{tab}[aria-selected=true]")
    page.wait_for_selector("[role=tabpanel] :is(button, .alert)")


def session_cookie(server, key: tuple | None = None) -> tuple[str, str]:
    """Signs in over HTTP: (the session cookie's `name=value`, its CSRF token)."""
    akid, secret = key or admin(server)
    body = json.dumps({"AccessKeyId": akid, "SecretAccessKey": secret}).encode()
    req = urllib.request.Request(f"{server.endpoint}/console/session", data=body,
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        cookie = resp.headers["Set-Cookie"].split(";")[0]
        return cookie, json.load(resp)["CsrfToken"]


def console_call(server, method: str, path: str, cookie: str | None, csrf: str | None = None,
                 body: bytes | None = None) -> tuple[int, str, dict]:
    """(status, x-amzn-ErrorType, JSON body) of a call of /console/api."""
    headers = {"Content-Type": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    if csrf:
        headers["X-Hearth-Csrf"] = csrf
    req = urllib.request.Request(f"{server.endpoint}/console/api{path}", data=body,
                                 method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, "", json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("x-amzn-errortype", ""), json.loads(e.read() or b"{}")
