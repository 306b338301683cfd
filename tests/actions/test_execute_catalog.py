"""executeAction with a catalog integration end to end: GitHub's create_issue against the GitHub
emulator, the workspace's API base URL pointing there, a provider refusal as PROVIDER_ERROR."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.actions.conftest import CONFIGURE, CREATE_CONNECTION, failure
from tests.emulators.common import serve
from tests.emulators.github import TOKEN, GitHubEmulator

EXECUTE = """
mutation($input: ExecuteActionInput!) {
  executeAction(input: $input) { output connectionId resolvedBy replayed }
}"""


@pytest.fixture
async def github_api() -> AsyncIterator[GitHubEmulator]:
    emulator = GitHubEmulator(repositories=1, issues=0)
    async with serve(emulator.app) as url:
        emulator.url = url  # type: ignore[attr-defined]
        yield emulator


@pytest.fixture
async def github_connection(tenant: Any, github_api: GitHubEmulator) -> str:
    await tenant.data(
        CONFIGURE,
        {
            "input": {
                "workspaceId": tenant.workspace_id,
                "integrationName": "github",
                "apiBaseUrl": github_api.url,  # type: ignore[attr-defined]
            }
        },
    )
    created = await tenant.data(
        CREATE_CONNECTION,
        {
            "input": {
                "integrationName": "github",
                "authType": "SECRET_TEXT",
                "secretText": TOKEN,
                "scope": "WORKSPACE",
                "workspaceId": tenant.workspace_id,
            }
        },
    )
    return created["createConnection"]["id"]


async def _create_issue(tenant: Any, connection_id: str, repo: str) -> dict[str, Any]:
    return await tenant.graphql(
        EXECUTE,
        {
            "input": {
                "integrationName": "github",
                "action": "create_issue",
                "workspaceId": tenant.workspace_id,
                "connectionId": connection_id,
                "input": {"owner": "octo-org", "repo": repo, "title": "Export fails"},
                "idempotencyKey": f"issue-{repo}",
            }
        },
    )


async def test_github_create_issue_runs_through_execute_action(
    tenant: Any, github_connection: str, github_api: GitHubEmulator
) -> None:
    first = await _create_issue(tenant, github_connection, "project-001")
    again = await _create_issue(tenant, github_connection, "project-001")

    assert "errors" not in first, first
    done = first["data"]["executeAction"]
    assert done["output"]["title"] == "Export fails"
    assert done["output"]["state"] == "open"
    assert (done["connectionId"], done["resolvedBy"]) == (github_connection, "CONNECTION_ID")
    assert again["data"]["executeAction"]["replayed"] is True
    assert again["data"]["executeAction"]["output"] == done["output"]
    created = [call for call in github_api.controls.calls if call.startswith("POST")]
    assert len(created) == 1


async def test_github_s_404_is_a_provider_error(tenant: Any, github_connection: str) -> None:
    refused = failure(await _create_issue(tenant, github_connection, "no-such-repo"))

    assert refused["extensions"]["code"] == "PROVIDER_ERROR"
    assert refused["extensions"]["providerStatus"] == 404
