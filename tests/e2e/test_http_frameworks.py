"""Web frameworks deployed as functions, unchanged, served through Hearth (issue 15): the
Express app of examples/express-app (serverless-http) and the Flask app of
examples/flask-app (apig-wsgi), each through an HTTP API with payload format 1.0, one with
2.0, and a function URL, driven with plain urllib: status, content type and body bytes of
an HTML page, a JSON route with a path parameter and a query, a form post, a PNG, and two
cookies set and sent back. Then a Node function streaming through a URL whose InvokeMode
is RESPONSE_STREAM, and headless Chromium fetching a URL and an HTTP API from another
origin, with CORS configured to allow that origin or not.

The apps' dependencies are the real packages from npm and PyPI, installed once under
target/e2e-frameworks (keyed by the hash of package.json / requirements.txt)."""

import fcntl
import functools
import hashlib
import html
import http.client
import http.server
import io
import json
import re
import shutil
import subprocess
import threading
import urllib.parse
import zipfile
from pathlib import Path

import pytest

import hearth_e2e as h

# Not sandbox_neutral: each app loads a real dependency tree from its code directory
# (node_modules beside index.js; Flask from the task root under `python -S`), and the
# streaming function calls Hearth's AWS API from inside its environment: both are where
# the jail and the process sandbox differ.

EXAMPLES = h.REPO / "examples"
DEPS_DIR = h.REPO / "target" / "e2e-frameworks"
PNG = (EXAMPLES / "express-app" / "image.png").read_bytes()

APPS = ("express", "flask")
FRONTS = ("api-1.0", "api-2.0", "url")
FRAMEWORK = {"express": "Express", "flask": "Flask"}


# ---- the deployment packages ----------------------------------------------------------------


def _installed(name: str, manifest: Path, install) -> Path:
    """The directory `install(dir)` filled with the dependencies `manifest` names, made
    once (under a lock, for parallel workers) and kept under target/ while the manifest
    stays the same."""
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
    dest = DEPS_DIR / f"{name}-{digest}"
    DEPS_DIR.mkdir(parents=True, exist_ok=True)
    with open(DEPS_DIR / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (dest / ".installed").exists():
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir()
            done = install(dest)
            if done.returncode != 0:
                shutil.rmtree(dest, ignore_errors=True)
                pytest.fail(f"installing {name}'s dependencies failed:\n{done.stdout[-3000:]}"
                            f"\n{done.stderr[-3000:]}", pytrace=False)
            (dest / ".installed").write_text(digest)
    return dest


def _package(app_dir: Path, deps: Path, under: str = "") -> bytes:
    """A deployment zip: the app's own files (what a developer would zip: no README) and
    the installed dependencies in `deps`, placed at `under` in the zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(app_dir.iterdir()):
            if path.is_file() and path.name != "README.md":
                z.write(path, path.name)
        for path in sorted(deps.rglob("*")):
            rel = path.relative_to(deps)
            if path.is_file() and str(rel) != ".installed" and "__pycache__" not in rel.parts:
                z.write(path, str(Path(under) / rel))
    return buf.getvalue()


@pytest.fixture(scope="session")
def express_zip():
    """examples/express-app with node_modules beside index.js, where `require` finds it."""
    app = EXAMPLES / "express-app"

    def npm_install(dest):
        shutil.copy(app / "package.json", dest / "package.json")
        return subprocess.run(["npm", "install", "--omit=dev", "--no-audit", "--no-fund",
                               "--no-package-lock", "--prefix", str(dest)],
                              capture_output=True, text=True, timeout=600)

    deps = _installed("express", app / "package.json", npm_install)
    return _package(app, deps / "node_modules", under="node_modules")


@pytest.fixture(scope="session")
def flask_zip():
    """examples/flask-app with its requirements at the zip's root, as `pip install
    --target` lays them out for Lambda, by the interpreter the runtime runs (MarkupSafe's
    compiled module must match it)."""
    app = EXAMPLES / "flask-app"
    python = shutil.which(h.PYTHON)
    assert python, f"{h.PYTHON} is not on PATH"

    def pip_install(dest):
        return subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-compile",
                               "--disable-pip-version-check", "--target", str(dest),
                               "-r", str(app / "requirements.txt")],
                              capture_output=True, text=True, timeout=600)

    deps = _installed("flask", app / "requirements.txt", pip_install)
    return _package(app, deps)


# ---- functions, APIs and URLs ---------------------------------------------------------------


@pytest.fixture(scope="module")
def gw(server):
    return h.gateway_client(server.endpoint)


def public_url(client, fn: str, **config) -> str:
    """A function URL with AuthType NONE open to anyone (the resource-policy statement
    `lambda add-permission --principal '*' --function-url-auth-type NONE` adds); its base
    URL without the trailing slash."""
    made = client.create_function_url_config(FunctionName=fn, AuthType="NONE", **config)
    client.add_permission(FunctionName=fn, StatementId="public-url",
                          Action="lambda:InvokeFunctionUrl", Principal="*",
                          FunctionUrlAuthType="NONE")
    return made["FunctionUrl"].rstrip("/")


@pytest.fixture(scope="module")
def apps(client, express_zip, flask_zip):
    """The two example apps as functions, created together so their cold starts overlap."""
    names = {"express": h.unique_name("express"), "flask": h.unique_name("flask")}
    h.create_function(client, names["express"], runtime=h.NODE, handler="index.handler",
                      zip_file=express_zip, wait=False)
    h.create_function(client, names["flask"], runtime=h.PYTHON, handler="app.lambda_handler",
                      zip_file=flask_zip, wait=False)
    for name in names.values():
        h.wait_active(client, name)
    return names


@pytest.fixture(scope="module")
def fronts(apps, gw, client):
    """(app, front) -> the base URL the app is served at through that front."""
    out = {}
    for app, fn in apps.items():
        out[app, "api-1.0"] = h.http_api(gw, client, fn, "1.0")
        out[app, "api-2.0"] = h.http_api(gw, client, fn, "2.0")
        out[app, "url"] = public_url(client, fn)
    return out


def fetch(url: str, method: str = "GET", body: bytes | None = None,
          headers: dict | None = None):
    """(status, headers, body) as a plain HTTP client gets them: unsigned, no redirects
    followed, error statuses returned."""
    return h.http_request(url, method, body, headers, sign=False)


@pytest.fixture(params=[(app, front) for app in APPS for front in FRONTS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def served(request, fronts):
    """Each app through each front: (app, its base URL)."""
    return request.param[0], fronts[request.param]


# ---- the routes -----------------------------------------------------------------------------


def test_html_page(served):
    app, base = served
    status, headers, body = fetch(base + "/")
    assert status == 200, body
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert body.decode() == (
        "<!doctype html><title>Hearth example</title>"
        f"<h1>Hello from {FRAMEWORK[app]} on Hearth</h1>")


def test_path_parameter_and_query(served):
    _, base = served
    status, headers, body = fetch(base + "/items/42?q=caf%C3%A9%20%26%20more&other=1")
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"id": "42", "q": "café & more"}


def test_form_post(served):
    _, base = served
    form = urllib.parse.urlencode({"name": "Ada Lovelace", "note": "café au lait & more"})
    status, headers, body = fetch(base + "/form", "POST", form.encode(), {
        "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == {"name": "Ada Lovelace", "note": "café au lait & more"}


def test_binary_png_arrives_byte_for_byte(served):
    _, base = served
    status, headers, body = fetch(base + "/image.png")
    assert status == 200, body[:500]
    assert headers["Content-Type"] == "image/png"
    assert body == PNG, f"{len(body)} bytes, not the {len(PNG)} of image.png"


def test_two_cookies_set_and_sent_back(served):
    _, base = served
    status, headers, body = fetch(base + "/cookie", headers={"Cookie": "session=abc; theme=dark"})
    assert status == 200, body
    assert json.loads(body) == {"received": {"session": "abc", "theme": "dark"}}
    # Two Set-Cookie header lines, not one folded with commas (which browsers misread).
    cookies = headers.get_all("Set-Cookie")
    assert cookies is not None and len(cookies) == 2, cookies
    by_name = {c.split("=", 1)[0]: [p.strip() for p in c.split(";")] for c in cookies}
    assert by_name["flavour"][0] == "flavour=oat" and "Path=/" in by_name["flavour"]
    assert by_name["size"][0] == "size=large" and "HttpOnly" in by_name["size"]


# ---- response streaming through a URL --------------------------------------------------------

GATE_ROLE = "hearth-frameworks-gate"

# Writes a first chunk, then waits for the reader's go-ahead before writing the second: the
# alias `go` of this function, which the test makes once the first chunk has reached it.
# So the second chunk cannot be written before the first was read, and a URL that held the
# stream back until the end would show both together. It looks the alias up through
# Hearth's AWS API (AWS_ENDPOINT_URL) with its role's credentials, signed by hand (SigV4):
# the Node runtime carries no AWS SDK here.
STREAMER = r'''
import { createHash, createHmac } from "node:crypto";

const hmac = (key, text) => createHmac("sha256", key).update(text).digest();
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

async function signedGet(path) {
  const env = process.env;
  const url = new URL(path, env.AWS_ENDPOINT_URL);
  const stamp = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
  const scope = `${stamp.slice(0, 8)}/${env.AWS_REGION}/lambda/aws4_request`;
  const headers = { host: url.host, "x-amz-date": stamp,
                    "x-amz-security-token": env.AWS_SESSION_TOKEN };
  const names = Object.keys(headers).sort();
  const canonical = ["GET", url.pathname, "",
                     names.map((n) => `${n}:${headers[n]}\n`).join(""),
                     names.join(";"), sha256("")].join("\n");
  const toSign = ["AWS4-HMAC-SHA256", stamp, scope, sha256(canonical)].join("\n");
  let key = `AWS4${env.AWS_SECRET_ACCESS_KEY}`;
  for (const part of scope.split("/")) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  const { host, ...sent } = headers;
  sent.authorization = `AWS4-HMAC-SHA256 Credential=${env.AWS_ACCESS_KEY_ID}/${scope}, ` +
    `SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return fetch(url, { headers: sent });
}

async function goAhead(tries) {
  const path = `/2015-03-31/functions/${process.env.AWS_LAMBDA_FUNCTION_NAME}/aliases/go`;
  for (let i = 0; i < tries; i++) {
    const resp = await signedGet(path);
    if (resp.status === 200) return "given";
    if (resp.status !== 404) return `refused ${resp.status} ${await resp.text()}`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return "never given";
}

export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const body = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200,
    headers: { "content-type": "text/plain", "x-streamed": "yes" },
    cookies: ["streamed=1"],
  });
  body.write("first\n");
  const go = await goAhead(200);
  body.write(go === "given" ? "second\n" : `no second chunk: go-ahead ${go}\n`);
  body.end();
});
'''


@pytest.fixture(scope="module")
def streamer(server, client):
    """The streaming function (its role may read its aliases) and its URL, InvokeMode
    RESPONSE_STREAM."""
    h.allow_role(server.endpoint, ["lambda:GetAlias"], role=GATE_ROLE)
    name = h.unique_name("url-stream")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.mjs", STREAMER)
    h.create_function(client, name, runtime=h.NODE, handler="index.handler",
                      zip_file=buf.getvalue(), Timeout=60,
                      Role=f"arn:aws:iam::{h.ACCOUNT}:role/{GATE_ROLE}")
    client.publish_version(FunctionName=name)
    return name, public_url(client, name, InvokeMode="RESPONSE_STREAM")


def test_a_url_streams_the_first_chunk_before_the_function_writes_the_second(client, streamer):
    name, url = streamer
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", parts.path + "/")
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        assert resp.getheader("Content-Type") == "text/plain"
        assert resp.getheader("x-streamed") == "yes"
        assert resp.headers.get_all("Set-Cookie") == ["streamed=1"]
        got = b""
        while b"\n" not in got:
            piece = resp.read1(65536)
            assert piece, f"the stream ended after {got!r}"
            got += piece
        # The function has written its first chunk and now waits for us.
        assert got == b"first\n"
        client.create_alias(FunctionName=name, Name="go", FunctionVersion="1")
        assert resp.read() == b"second\n"
    finally:
        conn.close()


# ---- a browser, across origins ----------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# The page's script fetches TARGET with a custom header, so the browser asks first (a CORS
# preflight), and writes what came of it into the DOM, which Chromium dumps.
PAGE_SCRIPT = """<!doctype html><title>cors</title><pre id="out">pending</pre><script>
fetch(%s, {headers: {"X-Probe": "from-chromium"}})
  .then(async (r) => { document.getElementById("out").textContent =
                       "ok " + r.status + " " + (await r.text()); })
  .catch((e) => { document.getElementById("out").textContent = "failed " + e; });
</script>"""


@pytest.fixture(scope="module")
def page_server(tmp_path_factory):
    """A plain web server on another port (so another origin) serving the test's pages;
    (its origin, the directory it serves)."""
    root = tmp_path_factory.mktemp("pages")
    handler = functools.partial(_QuietHandler, directory=str(root))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", root
    srv.shutdown()
    srv.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def browse(page_server, target: str, tmp_path) -> str:
    """The text the page's script wrote after fetching `target`, as headless Chromium's
    dumped DOM shows it. --virtual-time-budget lets the page run (virtual time stands still
    while a fetch is on the network) before the DOM is dumped."""
    assert CHROMIUM, "chromium is not installed: bash scripts/setup.sh --deps-only"
    origin, root = page_server
    page = f"{h.unique_name('page')}.html"
    (root / page).write_text(PAGE_SCRIPT % json.dumps(target))
    out = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                          "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
                          "--virtual-time-budget=30000", "--dump-dom", f"{origin}/{page}"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    found = re.search(r'<pre id="out">(.*?)</pre>', out.stdout, re.S)
    assert found, out.stdout
    return html.unescape(found.group(1))


def cors_for(origin: str) -> dict:
    return {"AllowOrigins": [origin], "AllowMethods": ["GET"], "AllowHeaders": ["x-probe"]}


@pytest.fixture(scope="module")
def cors_fn(client, express_zip):
    """The Express app once more, for the browser's requests."""
    name = h.unique_name("express-cors")
    h.create_function(client, name, runtime=h.NODE, handler="index.handler",
                      zip_file=express_zip)
    return name


@pytest.fixture(scope="module")
def cors_url(client, cors_fn):
    return public_url(client, cors_fn, Cors=cors_for("http://nobody.example"))


@pytest.fixture(scope="module")
def cors_apis(gw, client, cors_fn, page_server):
    """Two HTTP APIs (payload 2.0) in front of the app: one whose CorsConfiguration allows
    the page's origin, one that allows another origin only."""
    origin, _ = page_server
    return {"allowed": h.http_api(gw, client, cors_fn, "2.0", cors=cors_for(origin)),
            "refused": h.http_api(gw, client, cors_fn, "2.0",
                                cors=cors_for("http://nobody.example"))}


EXPECTED = 'ok 200 {"id":"7","q":"cors"}'


def test_chromium_fetches_a_url_whose_cors_allows_its_origin(client, cors_fn, cors_url,
                                                              page_server, tmp_path):
    origin, _ = page_server
    client.update_function_url_config(FunctionName=cors_fn, Cors=cors_for(origin))
    assert browse(page_server, cors_url + "/items/7?q=cors", tmp_path) == EXPECTED


def test_chromium_cannot_read_a_url_whose_cors_allows_another_origin(client, cors_fn, cors_url,
                                                                    page_server, tmp_path):
    origin, _ = page_server
    client.update_function_url_config(FunctionName=cors_fn,
                                      Cors=cors_for("http://nobody.example"))
    # The URL serves a request from that origin (what refuses is the browser, reading no
    # Access-Control-Allow-Origin for it), so the failure below is CORS's.
    status, headers, body = fetch(cors_url + "/items/7?q=cors", headers={"Origin": origin})
    assert (status, json.loads(body)) == (200, {"id": "7", "q": "cors"}), body
    assert "Access-Control-Allow-Origin" not in headers
    assert browse(page_server, cors_url + "/items/7?q=cors",
                  tmp_path) == "failed TypeError: Failed to fetch"


def test_chromium_fetches_an_http_api_whose_cors_allows_its_origin(cors_apis, page_server,
                                                                   tmp_path):
    assert browse(page_server, cors_apis["allowed"] + "/items/7?q=cors", tmp_path) == EXPECTED


def test_chromium_cannot_read_an_http_api_whose_cors_allows_another_origin(
        cors_apis, page_server, tmp_path):
    origin, _ = page_server
    status, headers, body = fetch(cors_apis["refused"] + "/items/7?q=cors",
                                  headers={"Origin": origin})
    assert (status, json.loads(body)) == (200, {"id": "7", "q": "cors"}), body
    assert "Access-Control-Allow-Origin" not in headers
    assert browse(page_server, cors_apis["refused"] + "/items/7?q=cors",
                  tmp_path) == "failed TypeError: Failed to fetch"
