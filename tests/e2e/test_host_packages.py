"""A function sees only its runtime, not the host's packages; interpreters reached through
symlinks start.

- Python: the interpreter's standard library, the runtime client (/var/runtime in a jail),
  the function's code and (in a jail) Lambda's /opt/python layer paths, and none of the
  host's site-packages or dist-packages. A function that imports a package it did not
  bundle fails with Runtime.ImportModuleError, as on Lambda, even though the host's
  interpreter has that package.
- Node: no global module directories (NODE_PATH is Hearth's own, HOME is unset).
- A `python3.N` on PATH that is a symlink to an interpreter elsewhere (a version manager's
  layout) is started by its real path, so its environments start in a jail too.

These run in both sandboxes: they must behave the same.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

import hearth_e2e as h

HOST_PACKAGES = ("requests", "yaml", "boto3", "awscli")


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def host_python() -> str:
    """The interpreter Hearth runs python3.11 with: the real path of what PATH finds."""
    out = subprocess.run([h.PYTHON, "-c", "import sys; print(sys.executable)"],
                         capture_output=True, text=True, check=True)
    return os.path.realpath(out.stdout.strip())


def host_importable(module: str) -> bool:
    return subprocess.run([host_python(), "-c", f"import {module}"],
                          capture_output=True).returncode == 0


PATHS_HANDLER = """
import json, sys
def handler(event, context):
    found = {}
    for name in event["modules"]:
        try:
            __import__(name)
            found[name] = True
        except ImportError:
            found[name] = False
    import awslambdaric, json as stdlib_json, sqlite3, ssl, ctypes
    return {"path": sys.path, "found": found, "runtime_client": awslambdaric.__file__,
            "exit_defined": callable(exit) and callable(quit) and callable(help)}
"""


def test_python_sees_no_host_site_packages(client):
    present = [m for m in HOST_PACKAGES if host_importable(m)]
    # Positive control: the host's interpreter has these, so not finding them means
    # something.
    assert present, f"the host's {host_python()} has none of {HOST_PACKAGES}"

    # A function that forgets to bundle a dependency fails at import, as on Lambda.
    for module in present:
        name = h.unique_name(f"hostpkg-{module}")
        code = f"import {module}\ndef handler(event, context):\n    return 'imported'\n"
        h.create_function(client, name, None, handler="fn.handler",
                          zip_file=zip_of({"fn.py": code}))
        inv = h.invoke(client, name, {})
        assert inv.function_error == "Unhandled", (module, inv.payload)
        err = inv.json
        assert err["errorType"] == "Runtime.ImportModuleError", err
        assert err["errorMessage"] == \
            f"Unable to import module 'fn': No module named '{module}'", err

    # What a function sees: the standard library and the runtime client work; no host
    # site-packages or dist-packages are on its path; site's builtins are there.
    name = h.unique_name("hostpkg-paths")
    h.create_function(client, name, None, handler="paths.handler",
                      zip_file=zip_of({"paths.py": PATHS_HANDLER}))
    out = h.invoke_ok(client, name, {"modules": list(present) + ["json"]})
    assert out["found"] == {**{m: False for m in present}, "json": True}, out
    assert out["exit_defined"] is True
    leaks = [p for p in out["path"] if ("site-packages" in p or "dist-packages" in p)
             and not p.startswith("/opt/python/")]
    assert not leaks, out["path"]
    assert "awslambdaric" in out["runtime_client"]


NODE_REQUIRE = """
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
export const handler = async (event) => {
  const found = {};
  for (const name of event.modules) {
    try { require.resolve(name); found[name] = true; } catch { found[name] = false; }
  }
  return { found, nodePath: process.env.NODE_PATH, home: process.env.HOME ?? null,
           globalPaths: require("node:module").globalPaths };
};
"""


def test_node_sees_no_global_modules(client):
    # Positive control: npm and corepack are global modules on the host.
    npm = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True)
    global_root = Path(npm.stdout.strip()) if npm.returncode == 0 else None
    present = [m for m in ("npm", "corepack")
               if global_root and (global_root / m / "package.json").exists()]
    assert present, f"no global node modules on this host ({npm.stdout!r})"

    name = h.unique_name("hostpkg-node")
    h.create_function(client, name, None, runtime=h.NODE, handler="index.handler",
                      zip_file=zip_of({"index.mjs": NODE_REQUIRE}))
    out = h.invoke_ok(client, name, {"modules": present})
    assert out["found"] == {m: False for m in present}, out
    assert out["home"] is None
    assert str(global_root) not in (out["nodePath"] or ""), out
    assert all(not Path(p).is_relative_to(global_root) for p in out["globalPaths"]), out

    # A CommonJS function that requires an unbundled module fails at import, as on Lambda.
    name = h.unique_name("hostpkg-node-import")
    code = f'require("{present[0]}");\nexports.handler = async () => "imported";\n'
    h.create_function(client, name, None, runtime=h.NODE, handler="index.handler",
                      zip_file=zip_of({"index.js": code}))
    inv = h.invoke(client, name, {})
    assert inv.function_error == "Unhandled", inv.payload
    assert inv.json["errorType"] == "Runtime.ImportModuleError", inv.json
    assert f"Cannot find module '{present[0]}'" in inv.json["errorMessage"], inv.json


@pytest.fixture
def symlinked_python_server(tmp_path, runtimes_dir, zips):
    """A server whose PATH finds python3.11 first as a symlink in a directory of its own
    (as version managers lay them out) to the machine's real interpreter."""
    shims = tmp_path / "shims"
    shims.mkdir()
    real = host_python()
    (shims / "python3.11").symlink_to(real)
    (tmp_path / "data").mkdir()
    env = {"PATH": f"{shims}:{os.environ['PATH']}"}
    server = h.HearthServer(tmp_path / "data", runtimes_dir, tmp_path, env=env)
    server.start()
    try:
        yield server, shims / "python3.11", real
    finally:
        if server.proc is not None:
            server.stop_cleanly()


def test_an_interpreter_reached_through_a_symlink_starts(symlinked_python_server):
    server, link, real = symlinked_python_server
    assert os.path.islink(link) and not real.startswith(str(link.parent))
    client = h.lambda_client(server.endpoint)
    status, _, body = server.get("/_hearth/runtimes")
    assert {"name": h.PYTHON, "installed": True} in json.loads(body)["runtimes"]
    name = h.unique_name("symlinked-python")
    h.create_function(client, name, None, handler="exe.handler", zip_file=zip_of({
        "exe.py": "import sys\ndef handler(event, context):\n"
                  "    return {'executable': sys.executable, 'prefix': sys.base_prefix}\n"}))
    for _ in range(2):
        out = h.invoke_ok(client, name, {})
    # Started by its real path, never by the link's.
    assert out["executable"] == real, out
    assert str(link.parent) not in json.dumps(out)


@pytest.fixture
def node_prefix_server(tmp_path, runtimes_dir, zips):
    """A server whose `node` lives in a prefix of its own (as a version manager installs
    it) with a module in that prefix's global folder, `<prefix>/lib/node`, which Node
    searches after NODE_PATH."""
    real = os.path.realpath(shutil.which("node"))
    # Outside /tmp (a jail's /tmp is the function's own), on the same file system as
    # the real node so that a hard link serves; /var/tmp when the checkout is in /tmp.
    base = h.REPO / "target"
    if base.resolve().is_relative_to("/tmp"):
        base = Path("/var/tmp")
    prefix = base / f"e2e-node-prefix-{os.getpid()}-{tmp_path.name}"
    (prefix / "bin").mkdir(parents=True)
    try:
        try:
            os.link(real, prefix / "bin" / "node")
        except OSError:
            shutil.copy2(real, prefix / "bin" / "node")
        module = prefix / "lib" / "node" / "hearth-global-probe"
        module.mkdir(parents=True)
        (module / "index.js").write_text("module.exports = 'from the host';\n")
        (tmp_path / "data").mkdir()
        env = {"PATH": f"{prefix / 'bin'}:{os.environ['PATH']}"}
        server = h.HearthServer(tmp_path / "data", runtimes_dir, tmp_path, env=env)
        server.start()
        try:
            yield server, prefix
        finally:
            if server.proc is not None:
                server.stop_cleanly()
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.mark.skipif(os.environ.get("HEARTH_SANDBOX") == "process",
                    reason="the process sandbox cannot hide a host directory (see docs/runtimes.md)")
def test_node_does_not_find_its_prefix_global_modules(node_prefix_server, tmp_path):
    server, prefix = node_prefix_server
    # Positive control: that node finds the module on the host, with nothing set.
    found = subprocess.run([str(prefix / "bin" / "node"), "-p", "require('hearth-global-probe')"],
                           capture_output=True, text=True, cwd=tmp_path, env={})
    assert found.stdout.strip() == "from the host", found
    client = h.lambda_client(server.endpoint)
    name = h.unique_name("node-prefix-global")
    code = 'exports.handler = async () => require("hearth-global-probe");\n'
    h.create_function(client, name, None, runtime=h.NODE, handler="index.handler",
                      zip_file=zip_of({"index.js": code}))
    inv = h.invoke(client, name, {})
    assert inv.function_error == "Unhandled", inv.payload
    assert "Cannot find module 'hearth-global-probe'" in inv.json["errorMessage"], inv.json
    # The node of that prefix is what ran (its prefix is mounted), and an ordinary
    # function runs there.
    ok = h.unique_name("node-prefix-ok")
    h.create_function(client, ok, None, runtime=h.NODE, handler="index.handler",
                      zip_file=zip_of({"index.js": "exports.handler = async () => process.execPath;\n"}))
    assert h.invoke_ok(client, ok, {}) == str(prefix / "bin" / "node")
