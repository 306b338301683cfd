"""The verification examples of docs/webhooks.md (kept here verbatim) accept Weir's real deliveries."""

from __future__ import annotations

import asyncio
import json
import runpy
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import CI
from tests.webhooks.helpers import make_connection

EXAMPLES = Path(__file__).parent / "examples"
NODE_CHECK = """
const { verify } = require(process.argv[1]);
const request = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const body = Buffer.from(request.body, "utf8");
const ok = verify(request.secret, request.headers, body);
const bad = verify(request.secret, request.headers, Buffer.concat([body, Buffer.from(" ")]));
const wrong = verify("whsec_wrong", request.headers, body);
process.stdout.write(JSON.stringify([ok, bad, wrong]));
"""


async def _one_delivery(owner, settings, key_ring, dispatcher, receiver):
    await make_connection(owner.scope, owner.workspace_id, settings, key_ring)
    # The examples check freshness against the real clock, so send at the real time.
    dispatcher.clock.now = datetime.now(UTC)
    assert await dispatcher.run() == 1
    return receiver.received[-1]


async def test_the_python_example_verifies_a_delivery(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    request = await _one_delivery(owner, settings, key_ring, dispatcher, receiver)
    verify = runpy.run_path(str(EXAMPLES / "verify_signature.py"))["verify"]
    assert verify(endpoint.secret, request.headers, request.body)
    assert not verify(endpoint.secret, request.headers, request.body + b" ")
    assert not verify("whsec_wrong", request.headers, request.body)
    stale = {**request.headers, "weir-timestamp": str(int(request.headers["weir-timestamp"]) - 600)}
    assert not verify(endpoint.secret, stale, request.body)


async def test_the_javascript_example_verifies_a_delivery(
    owner, settings, key_ring, endpoint, receiver, dispatcher
):
    node = shutil.which("node")
    if node is None:
        message = "Node.js is not installed (needed to run docs/webhooks.md's JavaScript example)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    request = await _one_delivery(owner, settings, key_ring, dispatcher, receiver)
    given = json.dumps({"secret": endpoint.secret, "headers": request.headers, "body": request.body.decode()})
    process = await asyncio.create_subprocess_exec(
        node,
        "-e",
        NODE_CHECK,
        str(EXAMPLES / "verify_signature.js"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(process.communicate(given.encode()), 30)
    assert process.returncode == 0
    assert json.loads(output) == [True, False, False]


def test_the_webhooks_page_shows_the_tested_examples_verbatim():
    page = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    for name in ("verify_signature.py", "verify_signature.js"):
        assert (EXAMPLES / name).read_text().strip() in page, f"docs/webhooks.md's copy of {name} drifted"
