"""`hearth server` and `hearth runtime` as a user runs them: relative directories, runtime
listing (CLI and GET /_hearth/runtimes), and installing a runtime."""

import json
import os

import pytest

import hearth_e2e as h

EXPECTED = {h.PYTHON: True, h.NODE: True, "provided": True, "provided.al2": True,
            "provided.al2023": True}


def test_relative_data_and_runtimes_dirs(relative_server):
    """`hearth server --data-dir data --runtimes-dir ../x` must work like absolute paths
    (functions run with their own working directory)."""
    client = h.lambda_client(relative_server.endpoint)
    for runtime, zip_name, handler in [(h.PYTHON, "python.zip", "app.handler"),
                                       (h.NODE, "node.zip", "index.handler"),
                                       (h.PROVIDED, "shell.zip", "rel.handler")]:
        name = h.unique_name("rel")
        h.create_function(client, name, zip_name, runtime, handler)
        inv = h.invoke(client, name, {"relative": runtime})
        assert inv.function_error is None, (runtime, inv.payload)
        assert inv.json["event"] == {"relative": runtime}
        status, _, _ = h.http_request(client.get_function(FunctionName=name)["Code"]["Location"])
        assert status == 200


def test_runtime_list_json(runtimes_dir):
    out = h.hearth_cli("runtime", "list", "--runtimes-dir", runtimes_dir, "--json")
    listed = {r["name"]: r["installed"] for r in out.json["runtimes"]}
    for name, installed in EXPECTED.items():
        assert listed.get(name) is installed, listed


def test_runtime_list_text(runtimes_dir):
    out = h.hearth_cli("runtime", "list", "--runtimes-dir", runtimes_dir)
    for name in EXPECTED:
        assert name in out.stdout


def test_runtime_list_empty_dir(tmp_path):
    out = h.hearth_cli("runtime", "list", "--runtimes-dir", tmp_path / "none", "--json")
    listed = {r["name"]: r["installed"] for r in out.json["runtimes"]}
    assert listed[h.PYTHON] is False
    assert listed[h.NODE] is False
    assert listed["provided.al2023"] is True


def test_runtimes_endpoint(server):
    status, _, body = server.get("/_hearth/runtimes")
    assert status == 200
    listed = {r["name"]: r["installed"] for r in json.loads(body)["runtimes"]}
    for name, installed in EXPECTED.items():
        assert listed.get(name) is installed, listed


def test_runtime_install_relative_dir(tmp_path):
    """Installs python3.11 (pip; a few seconds) into a dir named relative to the cwd."""
    out = h.hearth_cli("runtime", "install", "--runtimes-dir", "rt", h.PYTHON, cwd=tmp_path,
                       timeout=600)
    root = tmp_path / "rt" / h.PYTHON
    assert (root / ".hearth-installed").is_file(), out
    assert (root / "awslambdaric" / "__init__.py").is_file(), \
        f"awslambdaric not installed at {root}: {sorted(os.listdir(root))}"
    again = h.hearth_cli("runtime", "install", "--runtimes-dir", "rt", h.PYTHON, cwd=tmp_path)
    assert again.rc == 0


def test_runtime_install_unknown():
    out = h.hearth_cli("runtime", "install", "--runtimes-dir", "/nonexistent-hearth-rt",
                       "cobol85", check=False)
    assert out.rc != 0


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_top_level_flags(flag):
    out = h.hearth_cli(flag)
    assert out.stdout.strip()
