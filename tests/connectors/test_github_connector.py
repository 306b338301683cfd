"""The GitHub connector against the GitHub emulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from server.connectors import github
from server.connectors.base import ConnectorContext
from tests.connectors.conftest import collect
from tests.emulators.common import serve
from tests.emulators.github import TOKEN, GitHubEmulator

REPO = "octo-org/project-001"


@pytest.fixture
async def emulator() -> AsyncIterator[GitHubEmulator]:
    emulator = GitHubEmulator(repositories=3, issues=120, pulls=110)
    async with serve(emulator.app) as url:
        emulator.url = url  # type: ignore[attr-defined]
        yield emulator


def context(
    http: httpx.AsyncClient, emulator: GitHubEmulator, credentials=None, refresh=None
) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=emulator.url,  # type: ignore[attr-defined]
        credentials=credentials or {"secret_text": TOKEN},
        refresh_credentials=refresh,
    )


async def test_check_accepts_a_personal_token(http, emulator):
    result = await github.check(context(http, emulator), {"secret_text": TOKEN})
    assert result.ok and result.account_label == "octocat"


async def test_check_accepts_an_oauth_token(http, emulator):
    credentials = {"access_token": TOKEN, "refresh_token": None, "expires_at": None, "token_type": "bearer"}
    result = await github.check(context(http, emulator, credentials), credentials)
    assert result.ok


async def test_check_refuses_bad_credentials(http, emulator):
    bad = {"secret_text": "ghp_wrong0000000000000000000000000000"}
    result = await github.check(context(http, emulator, bad), bad)
    assert not result.ok and result.message == "HTTP 401: Bad credentials"


async def test_settings_options_list_every_repository(http, emulator):
    for n in range(4, 206):
        emulator.add_repository(f"octo-org/project-{n:03d}")
    options = await github.settings_options(context(http, emulator), {"secret_text": TOKEN}, {})
    assert len(options["repositories"]) == 205
    assert options["repositories"][0] == REPO


async def test_repositories_follow_the_selection(http, emulator):
    settings = {"repositories": [REPO, "octo-org/project-003"]}
    batches, _ = await collect(github, context(http, emulator), "repositories", settings)
    assert sorted(r["full_name"] for b in batches for r in b) == [REPO, "octo-org/project-003"]
    assert batches[0][0]["owner"] == "octo-org"


async def test_issues_page_with_the_link_header_and_skip_pull_requests(http, emulator):
    batches, states = await collect(github, context(http, emulator), "issues", {"repositories": [REPO]})
    records = [r for b in batches for r in b]
    assert len(records) == 120 and len({r["id"] for r in records}) == 120
    assert all(r["repository"] == REPO for r in records)
    listed = [c for c in emulator.controls.calls if c.startswith(f"GET /repos/{REPO}/issues")]
    assert len(listed) == 3 and "page=3" in listed[-1]  # 230 items, 100 a page
    assert states[-1] == {"cursor": {REPO: max(r["updated_at"] for r in records)}}


async def test_issues_of_every_repository_without_a_selection(http, emulator):
    batches, states = await collect(github, context(http, emulator), "issues")
    assert sum(len(b) for b in batches) == 360
    assert len(states[-1]["cursor"]) == 3


async def test_incremental_issues_use_since_and_return_only_newer_ones(http, emulator):
    settings = {"repositories": [REPO]}
    _, states = await collect(github, context(http, emulator), "issues", settings)
    emulator.touch(REPO, 5, title="Edited")
    added = emulator.add_issue(REPO)
    batches, later = await collect(github, context(http, emulator), "issues", settings, state=states[-1])
    assert [r["number"] for b in batches for r in b] == [5, added["number"]]
    assert "since=" in emulator.controls.calls[-1]
    assert later[-1] == {"cursor": {REPO: added["updated_at"]}}


async def test_incremental_pull_requests_stop_at_the_cursor(http, emulator):
    settings = {"repositories": [REPO]}
    batches, states = await collect(github, context(http, emulator), "pull_requests", settings)
    assert sum(len(b) for b in batches) == 110
    calls_before = len(emulator.controls.calls)
    newer = emulator.add_issue(REPO, pull=True)
    batches, later = await collect(
        github, context(http, emulator), "pull_requests", settings, state=states[-1]
    )
    assert [r["id"] for b in batches for r in b] == [newer["id"]]
    assert len(emulator.controls.calls) - calls_before == 1  # one page, then it stopped
    assert later == [{"cursor": {REPO: newer["updated_at"]}}]


async def test_read_waits_for_the_rate_limit_reset(http, emulator):
    emulator.controls.rate_limit_once(retry_after=1)
    started = time.monotonic()
    batches, _ = await collect(github, context(http, emulator), "repositories")
    assert time.monotonic() - started >= 0.9
    assert sum(len(b) for b in batches) == 3


async def test_expired_token_is_refreshed_once(http, emulator, refresher):
    old = {"access_token": TOKEN, "refresh_token": "r1", "expires_at": None, "token_type": "bearer"}
    emulator.controls.expire(TOKEN)
    emulator.controls.tokens.add("gho_fresh000000000000000000000000000002")
    refresh = refresher({**old, "access_token": "gho_fresh000000000000000000000000000002"})
    batches, _ = await collect(
        github, context(http, emulator, old, refresh), "issues", {"repositories": [REPO]}
    )
    assert refresh.calls == 1 and sum(len(b) for b in batches) == 120
