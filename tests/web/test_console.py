"""The operator console is served by Weir itself: its page under a self-only policy, its files
(pinned libraries and Weir's own modules) and nothing else; ``WEIR_CONSOLE=false`` turns it off."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from server.web.console import STATIC, TYPES
from tests.conftest import client_for

SERVED = sorted(
    path.relative_to(STATIC).as_posix()
    for path in STATIC.rglob("*")
    if path.is_file() and path.suffix in TYPES
)


async def test_the_page_loads_only_its_own_files_under_a_self_only_policy(client):
    response = await client.get("/console")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy and "http" not in policy
    # The one inline script, the import map, is allowed by its hash and by nothing broader.
    import_map = re.search(r'<script type="importmap">(.*?)</script>', response.text, re.S)
    assert import_map is not None
    digest = base64.b64encode(hashlib.sha256(import_map.group(1).encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert all(
        target.startswith("/console/") for target in json.loads(import_map.group(1))["imports"].values()
    )
    for source in re.findall(r'(?:src|href)="([^"]+)"', response.text):
        assert source.startswith("/console/") and source.removeprefix("/console/") in SERVED
    assert (await client.get("/console/")).status_code == 200


@pytest.mark.parametrize("name", SERVED)
async def test_every_file_is_served_gzipped_with_its_type_and_no_remote_address(client, name):
    response = await client.get(f"/console/{name}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(TYPES["." + name.rsplit(".", 1)[1]])
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == (STATIC / name).read_bytes()
    if not name.startswith("vendor/"):
        # Weir's own modules talk to this origin only (example.com and scheme://host are hints).
        addresses = re.findall(r"(?:https?:)?//([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)", response.text)
        assert {host for host in addresses if not host.endswith("example.com")} <= {"www.w3.org", "host"}


async def test_an_unchanged_file_is_revalidated_with_its_etag(client):
    first = await client.get("/console/app.js")
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get("/console/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "name",
    [
        "index.html",
        "vendor/VENDORED.json",
        "vendor/THIRD_PARTY_LICENSES.md",
        "..%2Fconsole.py",
        "nothing.js",
        "lib",
    ],
)
async def test_only_the_console_s_files_are_served(client, name):
    assert (await client.get(f"/console/{name}")).status_code == 404


async def test_weir_console_false_turns_it_off(settings):
    async with client_for(settings.replace(console=False)) as http:
        assert (await http.get("/console")).status_code == 404
        assert (await http.get("/console/app.js")).status_code == 404


async def test_production_serves_the_console(settings):
    async with client_for(settings.replace(env="production")) as http:
        assert (await http.get("/console")).status_code == 200


def test_vendored_files_are_the_locked_package_files_with_their_licences():
    vendor = STATIC / "vendor"
    vendored = json.loads((vendor / "VENDORED.json").read_text())
    notice = (vendor / "THIRD_PARTY_LICENSES.md").read_text()
    lock = json.loads((STATIC.parents[3] / "console" / "package-lock.json").read_text())["packages"]
    assert set(vendored) == {path.name for path in vendor.iterdir() if path.suffix in TYPES}
    for name, entry in vendored.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == entry["sha256"], name
        locked = lock[f"node_modules/{entry['package']}"]
        assert (locked["version"], locked["integrity"]) == (entry["version"], entry["tarball_integrity"])
        pinned = f"{entry['package']}@{entry['version']}"
        assert f"| {name} | {pinned} |" in notice
        assert f"## {pinned}: LICENSE" in notice
