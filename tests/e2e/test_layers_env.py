"""Layers inside the environment, through boto3 as a user would: layer versions published
with PublishLayerVersion and given to functions with CreateFunction(Layers=[...]); their
contents show up under /opt (in a jail; under the composed tree's host path in the process
sandbox) in the function's order, a later layer's file winning, and on the search paths
Lambda documents: /opt/python and /opt/python/lib/pythonX.Y/site-packages on the Python
path, /opt/nodejs/node_modules on NODE_PATH, /opt/bin on PATH, /opt/lib on LD_LIBRARY_PATH.
AWS_LAMBDA_EXEC_WRAPPER starts the runtime through a script that a layer brings.

The Python dependency layer is a real PyPI package installed with
`pip install --target python/` (six, pure Python, which boto3's dependencies already bring
to this machine's pip cache; the registry otherwise)."""

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hearth_e2e as h

# The jail shows layers at /opt; the process sandbox names the composed tree's host path.
JAILED = os.environ.get("HEARTH_SANDBOX", "jail") == "jail"


def zip_of(files: dict) -> bytes:
    """A zip of {name: (contents, mode)} or {name: contents} (0644)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, spec in files.items():
            body, mode = spec if isinstance(spec, tuple) else (spec, 0o644)
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, body)
    return buf.getvalue()


def zip_dir(root: Path) -> bytes:
    """Every file under `root`, named relative to it, modes kept."""
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            files[str(p.relative_to(root))] = (p.read_bytes(), p.stat().st_mode & 0o777)
    return zip_of(files)


def publish(client, name: str, content: bytes, runtimes=None) -> str:
    params = dict(LayerName=name, Content={"ZipFile": content},
                  Description=f"hearth e2e {name}")
    if runtimes:
        params["CompatibleRuntimes"] = runtimes
    out = client.publish_layer_version(**params)
    assert out["Version"] >= 1
    assert out["LayerVersionArn"] == f"{out['LayerArn']}:{out['Version']}"
    return out["LayerVersionArn"]


# What the Python function reports: modules from layers, the layer tool on PATH, the
# library on LD_LIBRARY_PATH, the wrapper's mark and the paths it was given.
PY_HANDLER = r'''
import ctypes, os, subprocess, sys

def handler(event, context):
    out = {"env": {k: os.environ.get(k) for k in
                   ("PATH", "PYTHONPATH", "LD_LIBRARY_PATH", "HEARTH_WRAPPED",
                    "HEARTH_WRAPPER_ARGC", "AWS_LAMBDA_EXEC_WRAPPER")},
           "sys_path": sys.path}
    want = event.get("want", [])
    if "six" in want:
        import six
        out["six"] = [six.__version__, six.__file__]
    if "conflict" in want:
        import hearth_conflict
        out["conflict"] = hearth_conflict.VALUE
    if "site" in want:
        import hearth_site_mod
        out["site"] = hearth_site_mod.VALUE
    if "vendor" in want:
        import hearth_vendored
        out["vendor"] = hearth_vendored.VALUE
    if "tool" in want:
        out["tool"] = subprocess.run(["hearth-layer-tool"], capture_output=True,
                                     text=True, check=True).stdout.strip()
    if "lib" in want:
        out["lib"] = ctypes.CDLL("libhearthlayer.so").hearth_layer_answer()
    return out
'''

NODE_HANDLER = r'''
exports.handler = async () => {
  const mod = require('hearth-layer-mod');
  return { name: mod.name, nodePath: process.env.NODE_PATH };
};
'''

LIB_SOURCE = "int hearth_layer_answer(void) { return 42; }\n"


def py_function_zip(extra: dict | None = None) -> bytes:
    files = {"app.py": PY_HANDLER}
    files.update(extra or {})
    return zip_of(files)


@pytest.fixture(scope="module")
def six_layer(tmp_path_factory) -> bytes:
    """six installed into python/ as the AWS docs show for a dependency layer."""
    root = tmp_path_factory.mktemp("six-layer")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
         "--target", str(root / "python"), "six==1.17.0"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (root / "python" / "six.py").is_file()
    return zip_dir(root)


@pytest.fixture(scope="module")
def lib_layer(tmp_path_factory) -> bytes:
    """lib/libhearthlayer.so, built here (a C compiler is on the test machines)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the library layer")
    root = tmp_path_factory.mktemp("lib-layer")
    (root / "lib").mkdir()
    src = root / "answer.c"
    src.write_text(LIB_SOURCE)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(root / "lib" / "libhearthlayer.so"),
                    str(src)], check=True, timeout=120)
    src.unlink()
    return zip_dir(root)


def test_python_dependency_layer_is_importable(client, six_layer):
    arn = publish(client, h.unique_name("six"), six_layer, [h.PYTHON])
    name = h.unique_name("layer-py")
    h.create_function(client, name, zip_file=py_function_zip(), runtime=h.PYTHON,
                      handler="app.handler", Layers=[arn])
    conf = client.get_function_configuration(FunctionName=name)
    assert [l["Arn"] for l in conf["Layers"]] == [arn]
    body = h.invoke_ok(client, name, {"want": ["six"]})
    assert "six" in body, body
    version, path = body["six"]
    assert version == "1.17.0"
    assert path.endswith("/python/six.py"), path
    if JAILED:
        assert path == "/opt/python/six.py"
        assert body["sys_path"].index(f"/opt/python/lib/{h.PYTHON}/site-packages") < \
            body["sys_path"].index("/opt/python")
    # Lambda's order: site-packages, then python, then the runtime (whose directory
    # Hearth names after them).
    pp = body["env"]["PYTHONPATH"].split(":")
    site = next(i for i, p in enumerate(pp) if p.endswith(f"/python/lib/{h.PYTHON}/site-packages"))
    plain = next(i for i, p in enumerate(pp) if p.endswith("/python"))
    assert site < plain, pp


def test_site_packages_bin_and_lib_directories(client, lib_layer):
    tools = publish(client, h.unique_name("tools"), zip_of({
        f"python/lib/{h.PYTHON}/site-packages/hearth_site_mod.py": "VALUE = 'site'\n",
        "bin/hearth-layer-tool": ("#!/bin/sh\necho from-layer-bin\n", 0o755),
    }))
    lib = publish(client, h.unique_name("lib"), lib_layer)
    name = h.unique_name("layer-paths")
    h.create_function(client, name, zip_file=py_function_zip(), runtime=h.PYTHON,
                      handler="app.handler", Layers=[tools, lib])
    body = h.invoke_ok(client, name, {"want": ["site", "tool", "lib"]})
    assert body["site"] == "site"
    assert body["tool"] == "from-layer-bin"
    assert body["lib"] == 42
    assert body["env"]["PATH"].split(":")[-1].endswith("/bin")
    assert body["env"]["LD_LIBRARY_PATH"].split(":")[-1].endswith("/lib")
    if JAILED:
        assert body["env"]["PATH"].endswith(":/opt/bin")
        assert body["env"]["LD_LIBRARY_PATH"] == (
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:"
            "/var/task:/var/task/lib:/opt/lib")


def test_a_later_layer_wins(client):
    a = publish(client, h.unique_name("conflict-a"),
                zip_of({"python/hearth_conflict.py": "VALUE = 'a'\n"}))
    b = publish(client, h.unique_name("conflict-b"),
                zip_of({"python/hearth_conflict.py": "VALUE = 'b'\n"}))
    ab, ba = h.unique_name("layer-ab"), h.unique_name("layer-ba")
    h.create_function(client, ab, zip_file=py_function_zip(), runtime=h.PYTHON,
                      handler="app.handler", Layers=[a, b], wait=False)
    h.create_function(client, ba, zip_file=py_function_zip(), runtime=h.PYTHON,
                      handler="app.handler", Layers=[b, a], wait=False)
    h.wait_active(client, ab)
    h.wait_active(client, ba)
    assert h.invoke_ok(client, ab, {"want": ["conflict"]})["conflict"] == "b"
    assert h.invoke_ok(client, ba, {"want": ["conflict"]})["conflict"] == "a"


def test_node_modules_layer(client):
    arn = publish(client, h.unique_name("node-mod"), zip_of({
        "nodejs/node_modules/hearth-layer-mod/package.json":
            '{"name": "hearth-layer-mod", "main": "index.js"}',
        "nodejs/node_modules/hearth-layer-mod/index.js":
            "module.exports = { name: 'from-node-layer' };\n",
    }), [h.NODE])
    name = h.unique_name("layer-node")
    h.create_function(client, name, zip_file=zip_of({"index.js": NODE_HANDLER}),
                      runtime=h.NODE, handler="index.handler", Layers=[arn])
    body = h.invoke_ok(client, name, {})
    assert body["name"] == "from-node-layer"
    major = h.NODE.removeprefix("nodejs").removesuffix(".x")
    paths = body["nodePath"].split(":")
    assert paths[0].endswith(f"/nodejs/node{major}/node_modules"), paths
    assert paths[1].endswith("/nodejs/node_modules"), paths


def test_exec_wrapper_from_a_layer(client):
    wrapper = ('#!/bin/sh\n'
               'export HEARTH_WRAPPED="$1"\n'
               'export HEARTH_WRAPPER_ARGC="$#"\n'
               'exec "$@"\n')
    arn = publish(client, h.unique_name("wrapper"),
                  zip_of({"wrapper.sh": (wrapper, 0o755)}))
    name = h.unique_name("layer-wrapped")
    h.create_function(client, name, zip_file=py_function_zip(), runtime=h.PYTHON,
                      handler="app.handler", Layers=[arn],
                      Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper.sh"}})
    env = h.invoke_ok(client, name, {})["env"]
    # The wrapper was given the runtime's own command: the interpreter, then its arguments.
    assert "python" in env["HEARTH_WRAPPED"], env
    assert int(env["HEARTH_WRAPPER_ARGC"]) >= 2, env


@pytest.mark.skipif(not JAILED, reason="/var/task is a jail's path")
def test_a_functions_pythonpath_adds_to_the_layers(client):
    arn = publish(client, h.unique_name("pp"),
                  zip_of({"python/hearth_conflict.py": "VALUE = 'layer'\n"}))
    name = h.unique_name("layer-pythonpath")
    code = py_function_zip({"vendor/hearth_vendored.py": "VALUE = 'vendored'\n"})
    h.create_function(client, name, zip_file=code, runtime=h.PYTHON, handler="app.handler",
                      Layers=[arn], Environment={"Variables": {"PYTHONPATH": "/var/task/vendor"}})
    body = h.invoke_ok(client, name, {"want": ["vendor", "conflict"]})
    assert body["vendor"] == "vendored"
    assert body["conflict"] == "layer"
