"""Fixtures for Hearth's end-to-end suite.

Environment:
  HEARTH_BIN            the hearth binary (default <repo>/target/debug/hearth)
  HEARTH_TEST_RUNTIMES  shared runtimes dir (default <repo>/target/test-runtimes), installed once
  HEARTH_TEST_ZIPS      where tests/build-functions.sh writes the zips (default <repo>/target/test-zips)
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import subprocess

import pytest

import hearth_e2e as h

_ACTIVE_SERVERS: list = []


@pytest.fixture(scope="session")
def hearth_bin():
    if not h.HEARTH_BIN.exists():
        pytest.fail(f"hearth binary not found at {h.HEARTH_BIN}: run `cargo build -p hearth-cli` "
                    f"or set HEARTH_BIN", pytrace=False)
    return h.HEARTH_BIN


@contextlib.contextmanager
def _alone(name: str):
    """Held by one test process at a time: the workers of a parallel run (pytest-xdist,
    `-n`) share the runtimes and zips, which one of them makes."""
    h.REPO.joinpath("target").mkdir(exist_ok=True)
    with open(h.REPO / "target" / f".e2e-{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _this_run() -> str:
    """The id of a parallel run, shared by its workers ("" for a run alone)."""
    return os.environ.get("PYTEST_XDIST_TESTRUNUID", "")


@pytest.fixture(scope="session")
def runtimes_dir(hearth_bin):
    """The shared runtimes dir with python3.11 and nodejs20.x installed (once; idempotent)."""
    with _alone("runtimes"):
        h.RUNTIMES_DIR.mkdir(parents=True, exist_ok=True)
        missing = [r for r in h.MANAGED_RUNTIMES
                   if not (h.RUNTIMES_DIR / r / ".hearth-installed").exists()]
        if missing:
            result = h.run([hearth_bin, "runtime", "install", "--runtimes-dir", h.RUNTIMES_DIR,
                            *missing], check=False, timeout=900)
            if result.rc != 0:
                pytest.fail(f"hearth runtime install failed:\n{result}", pytrace=False)
    return h.RUNTIMES_DIR


@pytest.fixture(scope="session")
def zips():
    """Builds every test function zip once per run into HEARTH_TEST_ZIPS (the first
    worker of a parallel run builds them, while the others wait: rewriting them later
    could hand a test half a zip)."""
    with _alone("zips"):
        stamp = h.ZIPS_DIR / ".built-for-run"
        if _this_run() and stamp.exists() and stamp.read_text() == _this_run():
            return h.ZIPS_DIR
        stamp.unlink(missing_ok=True)
        proc = subprocess.run(["bash", str(h.BUILD_SCRIPT), str(h.ZIPS_DIR)],
                              capture_output=True, text=True, timeout=1200)
        if proc.returncode != 0:
            pytest.fail(f"build-functions.sh failed:\n{proc.stdout}\n{proc.stderr}",
                        pytrace=False)
        stamp.write_text(_this_run())
    return h.ZIPS_DIR


def _start_server(tmp_path_factory, runtimes_dir, name, relative=False):
    base = tmp_path_factory.mktemp(name)
    (base / "data").mkdir()
    server = h.HearthServer(base / "data", runtimes_dir, base, cwd=base if relative else None)
    server.start()
    _ACTIVE_SERVERS.append(server)
    return server


def _stop_server(server):
    _ACTIVE_SERVERS.remove(server)
    if server.proc is not None:
        server.stop_cleanly()


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtimes_dir, zips):
    """One hearth server per test module (fresh data dir, shared runtimes dir)."""
    srv = _start_server(tmp_path_factory, runtimes_dir, "hearth")
    yield srv
    _stop_server(srv)


@pytest.fixture
def own_server(tmp_path_factory, runtimes_dir, zips):
    """A hearth server for one test only, for tests that restart it."""
    srv = _start_server(tmp_path_factory, runtimes_dir, "hearth-own")
    yield srv
    _stop_server(srv)


@pytest.fixture
def relative_server(tmp_path_factory, runtimes_dir, zips):
    """A hearth server given its data and runtimes dirs as paths relative to its cwd."""
    srv = _start_server(tmp_path_factory, runtimes_dir, "hearth-rel", relative=True)
    yield srv
    _stop_server(srv)


@pytest.fixture(scope="module")
def client(server):
    return h.lambda_client(server.endpoint)


@pytest.fixture(scope="module")
def raw_client(server):
    """A client with botocore's parameter validation off, to reach the server's validation."""
    return h.lambda_client(server.endpoint, validate=False)


@pytest.fixture
def aws(server, tmp_path):
    """aws("create-function", "--function-name", ...) runs the real AWS CLI against the server."""

    def _aws(*args, check=True):
        return h.aws_lambda(server.endpoint, tmp_path, *args, check=check)

    return _aws


def pytest_sessionfinish(session):
    """The Python test function leaves /tmp markers (the process sandbox shares the host
    /tmp): removed once every test ran (by the controller of a parallel run, not by a
    worker while another one's tests still use theirs)."""
    if hasattr(session.config, "workerinput"):
        return
    for path in glob.glob("/tmp/hearth-e2e-marker-*"):
        try:
            os.remove(path)
        except OSError:
            pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        servers = [v for v in getattr(item, "funcargs", {}).values()
                   if isinstance(v, h.HearthServer)] or list(_ACTIVE_SERVERS)
        for srv in servers:
            report.sections.append((f"hearth server stderr ({srv.endpoint})",
                                    srv.stderr_tail()))


@pytest.fixture
def server_with_env(tmp_path_factory, runtimes_dir, zips, monkeypatch):
    """Starts, for one test, a server with extra environment variables (its settings) or
    command-line arguments: `server_with_env(HEARTH_IDLE_TTL="1s")`,
    `server_with_env("--allowed-hosts", "*")`."""
    started = []

    def _start(*args, **env):
        """Positional arguments are added to the server's command line."""
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        base = tmp_path_factory.mktemp("hearth-env")
        (base / "data").mkdir()
        srv = h.HearthServer(base / "data", runtimes_dir, base, extra_args=list(args))
        srv.start()
        started.append(srv)
        return srv

    yield _start
    for srv in started:
        if srv.proc is not None:
            srv.stop_cleanly()


@pytest.fixture
def short_ttl_server(server_with_env):
    """A server whose idle environments live one second (set through HEARTH_IDLE_TTL)."""
    return server_with_env(HEARTH_IDLE_TTL="1s")
