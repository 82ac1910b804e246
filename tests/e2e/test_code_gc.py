"""Code is collected when nothing uses it, and a package that cannot be unpacked fails the
change that brought it instead of reaching the invoke path.

The data dir keeps each code as `blobs/<sha256>.zip` and, once unpacked, `code/<sha256>/`.
After create/update/publish/delete cycles those directories hold exactly the code that
`$LATEST` or a published version names; code a running invocation uses stays until it
ends; a restart removes what a crashed server left; and `TotalCodeSize` counts as Lambda
counts it: the zip of every `$LATEST` and of every published version, though the store keeps
one copy of each distinct package.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import shutil
import threading
import zipfile
from pathlib import Path

import botocore.exceptions
import pytest

import hearth_e2e as h

HANDLER = '''
import time

def handler(event, context):
    time.sleep(float(event.get("sleep", 0)))
    return {"tag": %r}
'''


def entry(name: str) -> zipfile.ZipInfo:
    """An entry with a fixed timestamp and mode, so that equal contents give equal zips."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    return info


def tagged_zip(tag: str) -> bytes:
    """A Python package whose handler answers {"tag": tag}: one distinct code per tag."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(entry("app.py"), HANDLER % tag)
    return buf.getvalue()


def corrupt_zip(big_mb: int = 100) -> bytes:
    """A zip whose central directory is valid (so it passes the checks made when it is
    uploaded) holding a large valid entry and then `app.py`, whose stored bytes no longer
    match their checksum."""
    marker = b"# these bytes are corrupted after the zip is written\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(entry("big.bin"), b"\0" * (big_mb << 20),
                    compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr(entry("app.py"), marker + (HANDLER % "corrupt").encode(),
                    compress_type=zipfile.ZIP_STORED)
    data = bytearray(buf.getvalue())
    at = data.index(marker)
    data[at] ^= 0xFF
    return bytes(data)


def hex_of(code_sha256_b64: str) -> str:
    return binascii.hexlify(base64.b64decode(code_sha256_b64)).decode()


def sha_hex(data: bytes) -> str:
    return hex_of(h.code_sha256(data))


def stored(data_dir: Path) -> tuple[set, set, list]:
    """(hashes with a blob, hashes with an unpacked tree, every other entry)."""
    blobs, trees, other = set(), set(), []
    for entry in (data_dir / "blobs").iterdir():
        if entry.name.endswith(".zip") and len(entry.name) == 68:
            blobs.add(entry.name[:-4])
        else:
            other.append(str(entry))
    for entry in (data_dir / "code").iterdir():
        if len(entry.name) == 64 and entry.is_dir():
            trees.add(entry.name)
        else:
            other.append(str(entry))
    return blobs, trees, other


def referenced(client) -> dict:
    """{sha256 hex: CodeSize} of every $LATEST and published version, through the API."""
    out = {}
    for page in client.get_paginator("list_functions").paginate():
        for f in page["Functions"]:
            for v in client.list_versions_by_function(FunctionName=f["FunctionName"])["Versions"]:
                out[hex_of(v["CodeSha256"])] = v["CodeSize"]
    return out


def lambda_total(client) -> int:
    """Lambda's TotalCodeSize: CodeSize of every $LATEST and every published version."""
    pages = client.get_paginator("list_functions").paginate(FunctionVersion="ALL")
    return sum(f["CodeSize"] for page in pages for f in page["Functions"])


def assert_only_referenced(server, client, timeout=30):
    """Waits until blobs/ holds exactly the referenced code, code/ only referenced code
    (a package that failed to unpack has no tree), and nothing else is there."""
    want = set(referenced(client))
    seen = {}

    def settled():
        seen["state"] = stored(server.data_dir)
        blobs, trees, other = seen["state"]
        return blobs == want and trees <= want and not other

    assert h.wait_until(settled, timeout=timeout), (
        f"want {sorted(want)}; blobs, trees, other = {seen['state']}")


def total_code_size(client) -> int:
    return client.get_account_settings()["AccountUsage"]["TotalCodeSize"]


def wait_status(client, name, field, target, timeout=120) -> dict:
    out = {}

    def reached():
        out["cfg"] = client.get_function_configuration(FunctionName=name)
        return out["cfg"].get(field) == target

    assert h.wait_until(reached, timeout=timeout), out.get("cfg")
    return out["cfg"]


def create(client, name, tag, **kw):
    return h.create_function(client, name, zip_file=tagged_zip(tag), **kw)


def update(client, name, tag, **kw):
    out = client.update_function_code(FunctionName=name, ZipFile=tagged_zip(tag), **kw)
    h.wait_updated(client, name)
    return out


def tag_of(client, name, **kw):
    return h.invoke_ok(client, name, **kw)["tag"]


def invoke_in_background(client, name, payload):
    """Starts an invocation on a thread; returns (thread, result dict)."""
    result = {}

    def run():
        try:
            result["value"] = h.invoke_ok(client, name, payload)
        except Exception as e:  # reported by the test that joins
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, result


def busy(server, name) -> int:
    status, _, body = server.get("/_hearth/concurrency")
    assert status == 200, body
    return json.loads(body)["functions"].get(name, 0)


def test_cycles_leave_only_referenced_code(own_server):
    srv, client = own_server, h.lambda_client(own_server.endpoint)
    assert total_code_size(client) == 0
    names = [h.unique_name("gc-cycle") for _ in range(3)]
    for round_ in range(3):
        for i, name in enumerate(names):
            tag = f"{name}-{round_}"
            if round_ == 0:
                create(client, name, tag)
            else:
                update(client, name, tag)
            assert tag_of(client, name) == tag
            if i == 0:
                client.publish_version(FunctionName=name)
        assert_only_referenced(srv, client)
        assert total_code_size(client) == lambda_total(client)
        blobs = srv.data_dir / "blobs"
        assert sum(p.stat().st_size for p in blobs.glob("*.zip")) == sum(
            referenced(client).values()), "the store keeps one copy of each package"

    # Two functions with the same package keep one copy, and Lambda counts both.
    twin = h.unique_name("gc-twin")
    create(client, twin, f"{names[1]}-2")
    assert_only_referenced(srv, client)
    assert total_code_size(client) == lambda_total(client)

    # Deleting a version, then the functions, frees their code.
    first = client.list_versions_by_function(FunctionName=names[0])["Versions"]
    old = [v for v in first if v["Version"] not in ("$LATEST", first[-1]["Version"])]
    assert old, first
    client.delete_function(FunctionName=names[0], Qualifier=old[0]["Version"])
    assert_only_referenced(srv, client)
    for name in names + [twin]:
        client.delete_function(FunctionName=name)
    assert_only_referenced(srv, client)
    assert stored(srv.data_dir) == (set(), set(), [])
    assert total_code_size(client) == 0


def test_code_of_a_version_stays_until_the_version_goes(own_server):
    srv, client = own_server, h.lambda_client(own_server.endpoint)
    name = h.unique_name("gc-version")
    create(client, name, "a")
    version = client.publish_version(FunctionName=name)["Version"]
    update(client, name, "b")
    a, b = sha_hex(tagged_zip("a")), sha_hex(tagged_zip("b"))
    assert_only_referenced(srv, client)
    assert {a, b} <= stored(srv.data_dir)[0]
    assert tag_of(client, name, Qualifier=version) == "a"
    assert tag_of(client, name) == "b"
    assert total_code_size(client) == len(tagged_zip("a")) + len(tagged_zip("b"))

    client.delete_function(FunctionName=name, Qualifier=version)
    assert_only_referenced(srv, client)
    assert a not in stored(srv.data_dir)[0]
    assert tag_of(client, name) == "b"
    assert total_code_size(client) == len(tagged_zip("b"))
    client.delete_function(FunctionName=name)


def test_a_running_invocation_keeps_its_code_until_it_ends(own_server):
    srv, client = own_server, h.lambda_client(own_server.endpoint)
    a = sha_hex(tagged_zip("a"))
    updated, deleted = h.unique_name("gc-busy-upd"), h.unique_name("gc-busy-del")
    for name in (updated, deleted):
        create(client, name, "a", Timeout=30)
        assert tag_of(client, name) == "a"  # leaves a warm environment to take
    calls = [invoke_in_background(client, name, {"sleep": 6}) for name in (updated, deleted)]
    assert h.wait_until(lambda: busy(srv, updated) == 1 and busy(srv, deleted) == 1, 20)

    # One function moves to other code, the other is deleted: code `a` is referenced by
    # nothing now, but both invocations still run it.
    update(client, updated, "b")
    client.delete_function(FunctionName=deleted)
    assert h.wait_until(lambda: sha_hex(tagged_zip("b")) in stored(srv.data_dir)[1], 20)
    blobs, trees, _ = stored(srv.data_dir)
    assert a in blobs and a in trees, "code in use by a running invocation was collected"
    assert (srv.data_dir / "code" / a / "app.py").is_file()

    for t, result in calls:
        t.join(60)
        assert "error" not in result, result
        assert result["value"]["tag"] == "a"
    # The last user gone, so is the code.
    assert_only_referenced(srv, client)
    assert a not in stored(srv.data_dir)[0]
    assert tag_of(client, updated) == "b"
    client.delete_function(FunctionName=updated)


def test_restart_removes_what_a_crash_left(own_server):
    srv, client = own_server, h.lambda_client(own_server.endpoint)
    name = h.unique_name("gc-crash")
    create(client, name, "kept", Timeout=60)
    kept = sha_hex(tagged_zip("kept"))
    # A crash while code nothing references any more is still in use: the server is
    # killed while an invocation runs code the function has just moved away from.
    t, _ = invoke_in_background(client, name, {"sleep": 30})
    assert h.wait_until(lambda: busy(srv, name) == 1, 20)
    update(client, name, "next")
    srv.kill()
    t.join(60)
    assert kept in stored(srv.data_dir)[0]

    # What else a crash leaves: a zip stored for a create that never wrote its row, a
    # half-written zip, a half-extracted (read-only) tree, code a sweep had moved aside.
    orphan_zip = tagged_zip("orphan")
    orphan = sha_hex(orphan_zip)
    data = srv.data_dir
    (data / "blobs" / f"{orphan}.zip").write_bytes(orphan_zip)
    (data / "blobs" / f"{orphan}.tmp-4242-0").write_bytes(orphan_zip[:10])
    half = data / "code" / f".{orphan}.tmp-4242-1"
    (half / "lib").mkdir(parents=True)
    (half / "lib" / "x.py").write_text("x = 1\n")
    os.chmod(half / "lib", 0o555)
    (data / "code" / f".{orphan}.gc-4242-2").mkdir()
    shutil.copytree(data / "code" / kept, data / "code" / orphan)

    srv.start()
    client = h.lambda_client(srv.endpoint)
    # Removed at start, before the server answers.
    blobs, trees, other = stored(srv.data_dir)
    next_ = sha_hex(tagged_zip("next"))
    assert blobs == {next_}, blobs
    assert trees <= {next_} and not other, (trees, other)
    assert tag_of(client, name) == "next"
    assert total_code_size(client) == len(tagged_zip("next"))
    client.delete_function(FunctionName=name)
    assert_only_referenced(srv, client)


def test_corrupt_zip_fails_the_update_and_the_function_keeps_its_code(own_server):
    srv, client = own_server, h.lambda_client(own_server.endpoint)
    name = h.unique_name("gc-corrupt")
    create(client, name, "good")
    good = client.get_function_configuration(FunctionName=name)
    assert tag_of(client, name) == "good"
    bad = corrupt_zip()
    bad_hex = sha_hex(bad)

    out = client.update_function_code(FunctionName=name, ZipFile=bad)
    assert out["LastUpdateStatus"] == "InProgress"
    assert out["CodeSha256"] == h.code_sha256(bad)
    # While the update is in progress (or after it failed) invocations run the previous code.
    assert tag_of(client, name) == "good"
    cfg = wait_status(client, name, "LastUpdateStatus", "Failed")
    assert cfg["State"] == "Active"
    assert cfg["LastUpdateStatusReasonCode"] == "InvalidZipFileException"
    reason = cfg["LastUpdateStatusReason"]
    assert "app.py" in reason and "checksum" in reason, reason
    assert "internal" not in reason.lower(), reason
    # The update was aborted: $LATEST reports and runs the previous code.
    assert cfg["CodeSha256"] == good["CodeSha256"]
    assert cfg["CodeSize"] == good["CodeSize"]
    for _ in range(3):
        assert tag_of(client, name) == "good"

    # Nothing of the failed package is left: no temporary directory, no tree, no blob.
    assert_only_referenced(srv, client)
    assert bad_hex not in stored(srv.data_dir)[0]

    # A failed update does not block the next one.
    update(client, name, "better")
    assert tag_of(client, name) == "better"
    client.delete_function(FunctionName=name)


def test_a_version_published_with_a_corrupt_update_fails_with_it(own_server):
    srv, client = own_server, h.lambda_client(own_server.endpoint)
    name = h.unique_name("gc-corrupt-pub")
    create(client, name, "good")
    bad = corrupt_zip(big_mb=8)
    version = client.update_function_code(FunctionName=name, ZipFile=bad, Publish=True)
    assert version["Version"] == "1" and version["CodeSha256"] == h.code_sha256(bad)
    wait_status(client, name, "LastUpdateStatus", "Failed")
    cfg = client.get_function_configuration(FunctionName=name, Qualifier="1")
    assert cfg["State"] == "Failed", cfg
    assert cfg["StateReasonCode"] == "InvalidZipFileException", cfg
    assert "app.py" in cfg["StateReason"], cfg
    with pytest.raises(botocore.exceptions.ClientError) as e:
        h.invoke(client, name, {}, Qualifier="1")
    assert h.error_of(e.value)[:2] == (409, "ResourceConflictException")
    assert tag_of(client, name) == "good"
    # The version keeps the package stored; deleting it frees it.
    assert_only_referenced(srv, client)
    assert sha_hex(bad) in stored(srv.data_dir)[0]
    client.delete_function(FunctionName=name, Qualifier="1")
    assert_only_referenced(srv, client)
    assert sha_hex(bad) not in stored(srv.data_dir)[0]
    client.delete_function(FunctionName=name)


def test_corrupt_zip_fails_the_creation(own_server):
    srv, client = own_server, h.lambda_client(own_server.endpoint)
    name = h.unique_name("gc-corrupt-new")
    out = h.create_function(client, name, zip_file=corrupt_zip(), wait=False)
    assert out["State"] == "Pending"
    cfg = wait_status(client, name, "State", "Failed")
    assert cfg["StateReasonCode"] == "InvalidZipFileException"
    assert "app.py" in cfg["StateReason"] and "checksum" in cfg["StateReason"], cfg
    assert cfg["LastUpdateStatus"] == "Failed"
    assert cfg["LastUpdateStatusReasonCode"] == "InvalidZipFileException"

    # As on Lambda, a function that failed to create cannot be invoked, and is not
    # unpacked again by trying.
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            h.invoke(client, name, {})
        assert h.error_of(e.value) == (
            409, "ResourceConflictException",
            "The operation cannot be performed at this time. "
            "The function is currently in the following state: Failed")
    blobs, trees, other = stored(srv.data_dir)
    assert blobs == {sha_hex(corrupt_zip())} and not trees and not other, (blobs, trees, other)

    client.delete_function(FunctionName=name)
    assert_only_referenced(srv, client)
    assert stored(srv.data_dir) == (set(), set(), [])


def test_a_broken_directory_is_still_refused_at_once(own_server):
    client = h.lambda_client(own_server.endpoint)
    name = h.unique_name("gc-truncated")
    truncated = tagged_zip("x")[:-10]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        h.create_function(client, name, zip_file=truncated, wait=False)
    assert h.error_of(e.value)[:2] == (400, "InvalidParameterValueException")
    assert stored(own_server.data_dir) == (set(), set(), [])
