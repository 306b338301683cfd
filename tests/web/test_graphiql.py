"""GraphiQL is served by Weir itself: its page, its pinned assets and their licence notice."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from server.web.graphiql import ASSETS, STATIC
from tests.conftest import client_for

HTML = {"Accept": "text/html"}


async def test_the_page_loads_only_weir_assets_under_a_self_only_policy(client):
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy
    assert "unsafe" not in policy and "http" not in policy
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sorted(sources) == sorted(f"graphiql/{name}" for name in ASSETS)
    for text in (response.text, (STATIC / "weir-graphiql.js").read_text()):
        assert "unpkg" not in text and not re.search(r"(?:https?:)?//[A-Za-z0-9]", text)


@pytest.mark.parametrize("name", sorted(ASSETS))
async def test_every_asset_is_served_gzipped_with_its_type(client, name):
    response = await client.get(f"/graphiql/{name}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(ASSETS[name])
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == (STATIC / name).read_bytes()  # httpx un-gzips it
    plain = await client.get(f"/graphiql/{name}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == response.content


@pytest.mark.parametrize("name", ["VENDORED.json", "index.html", "..%2Fgraphql.py", "nothing.js"])
async def test_only_the_listed_assets_are_served(client, name):
    assert (await client.get(f"/graphiql/{name}")).status_code == 404


async def test_production_serves_neither_page_nor_assets(settings):
    async with client_for(settings.replace(env="production")) as http:
        assert (await http.get("/graphql", headers=HTML)).status_code == 406
        assert (await http.get("/graphiql/graphiql.min.js")).status_code == 404


def test_vendored_files_are_the_pinned_package_files_with_their_licences():
    vendored = json.loads((STATIC / "VENDORED.json").read_text())
    notice = (STATIC / "THIRD_PARTY_LICENSES.md").read_text()
    assert set(vendored) == {name for name in ASSETS if not name.startswith("weir-")}
    for name, entry in vendored.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == entry["sha256"], name
        pinned = f"{entry['package']}@{entry['version']}"
        assert f"| {name} | {pinned} |" in notice
        assert f"## {pinned}: LICENSE" in notice
    assert notice.count("Permission is hereby granted, free of charge") == 3
