"""The GitHub connector's actions (create and list issues, comment on one) against the GitHub
emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from jsonschema import Draft202012Validator

from server.connectors import github
from server.connectors.base import ActionInputError, ConnectorContext
from server.connectors.http import ProviderAuthError, ProviderError
from tests.emulators.common import serve
from tests.emulators.github import TOKEN, GitHubEmulator

REPO = {"owner": "octo-org", "repo": "project-001"}


@pytest.fixture
async def emulator() -> AsyncIterator[GitHubEmulator]:
    emulator = GitHubEmulator(repositories=1, issues=2, pulls=1)
    async with serve(emulator.app) as url:
        emulator.url = url  # type: ignore[attr-defined]
        yield emulator


def context(http: httpx.AsyncClient, emulator: GitHubEmulator, token: str = TOKEN) -> ConnectorContext:
    return ConnectorContext(
        http=http,
        base_url=emulator.url,  # type: ignore[attr-defined]
        credentials={"secret_text": token},
        caller="action",
    )


def output_schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(github.SPEC.action(name).output_schema)


def test_the_action_schemas_are_valid_json_schema():
    assert [a.name for a in github.SPEC.actions] == ["create_issue", "list_issues", "create_issue_comment"]
    for action in github.SPEC.actions:
        Draft202012Validator.check_schema(action.input_schema)
        Draft202012Validator.check_schema(action.output_schema)
    create = Draft202012Validator(github.SPEC.action("create_issue").input_schema)
    assert create.is_valid({**REPO, "title": "x"})
    assert not create.is_valid({**REPO, "owner": "../../user", "title": "x"})
    assert not create.is_valid({**REPO, "repo": "a/b", "title": "x"})
    assert not create.is_valid({**REPO, "title": ""})


async def test_create_issue_then_list_finds_it(http, emulator):
    created = await github.run_action(
        context(http, emulator),
        "create_issue",
        {
            **REPO,
            "title": "Export fails",
            "body": "Stack trace...",
            "labels": ["bug", "p1"],
            "assignees": ["hubot"],
        },
    )
    output_schema("create_issue").validate(created)
    assert created["number"] == 4 and created["title"] == "Export fails" and created["state"] == "open"
    assert created["labels"] == ["bug", "p1"] and created["assignees"] == ["hubot"]
    assert created["pull_request"] is False
    listed = await github.run_action(context(http, emulator), "list_issues", {**REPO, "labels": ["p1"]})
    output_schema("list_issues").validate(listed)
    assert [i["number"] for i in listed["issues"]] == [4] and listed["next_page"] is None
    assert emulator.controls.calls[-1].endswith("labels=p1")


async def test_list_issues_pages_and_marks_pull_requests(http, emulator):
    first = await github.run_action(
        context(http, emulator), "list_issues", {**REPO, "state": "all", "per_page": 2}
    )
    assert len(first["issues"]) == 2 and first["next_page"] == 2
    second = await github.run_action(
        context(http, emulator), "list_issues", {**REPO, "state": "all", "per_page": 2, "page": 2}
    )
    assert second["next_page"] is None
    everything = first["issues"] + second["issues"]
    assert sorted(i["number"] for i in everything) == [1, 2, 3]
    assert [i["number"] for i in everything if i["pull_request"]] == [3]


async def test_comment_on_an_issue(http, emulator):
    comment = await github.run_action(
        context(http, emulator), "create_issue_comment", {**REPO, "issue_number": 2, "body": "Fixed in 1.2"}
    )
    output_schema("create_issue_comment").validate(comment)
    assert comment["body"] == "Fixed in 1.2" and comment["user"] == "octocat"
    assert comment["html_url"].endswith(f"/issues/2#issuecomment-{comment['id']}")
    assert emulator.issues["octo-org/project-001"][1]["comments"] == 1


async def test_an_unassignable_user_is_an_input_error_on_that_assignee(http, emulator):
    with pytest.raises(ActionInputError) as refused:
        await github.run_action(
            context(http, emulator),
            "create_issue",
            {**REPO, "title": "x", "assignees": ["hubot", "nobody-here"]},
        )
    assert refused.value.path == "assignees.1"
    assert refused.value.message == "GitHub says Validation Failed: invalid"
    assert "nobody-here" not in refused.value.message  # the path names it; input is customer data
    assert len(emulator.issues["octo-org/project-001"]) == 3


async def test_an_empty_comment_is_refused_by_github_on_body(http, emulator):
    # The schema asks for at least one character; GitHub's own 422 is mapped the same way.
    with pytest.raises(ActionInputError) as refused:
        await github.run_action(
            context(http, emulator), "create_issue_comment", {**REPO, "issue_number": 1, "body": ""}
        )
    assert refused.value.path == "body"


async def test_a_missing_repository_or_issue_is_not_found(http, emulator):
    with pytest.raises(ProviderError) as missing_repo:
        await github.run_action(
            context(http, emulator), "create_issue", {"owner": "octo-org", "repo": "nope", "title": "x"}
        )
    assert missing_repo.value.status == 404 and missing_repo.value.message == "Not Found"
    with pytest.raises(ProviderError) as missing_issue:
        await github.run_action(
            context(http, emulator), "create_issue_comment", {**REPO, "issue_number": 99, "body": "hello"}
        )
    assert missing_issue.value.status == 404


async def test_issues_disabled_is_the_providers_refusal(http, emulator):
    emulator.issues_disabled.add("octo-org/project-001")
    with pytest.raises(ProviderError) as refused:
        await github.run_action(context(http, emulator), "create_issue", {**REPO, "title": "x"})
    assert refused.value.status == 410 and "Issues are disabled" in refused.value.message


async def test_names_of_dots_cannot_walk_out_of_the_repository_path(http, emulator):
    for repo in (".", ".."):
        with pytest.raises(ActionInputError) as refused:
            await github.run_action(
                context(http, emulator), "list_issues", {"owner": "octo-org", "repo": repo}
            )
        assert refused.value.path == "repo"
    assert emulator.controls.calls == []


async def test_a_bad_token_never_appears_in_the_error(http, emulator):
    secret = "ghp_NotAValidTokenAtAll0000000000000000"
    with pytest.raises(ProviderAuthError) as refused:
        await github.run_action(context(http, emulator, token=secret), "create_issue", {**REPO, "title": "x"})
    assert refused.value.status == 401 and secret not in str(refused.value)
    assert refused.value.message == "Bad credentials"


async def test_the_primary_rate_limit_is_waited_out(http, emulator):
    emulator.controls.rate_limit_once(retry_after=0)
    result = await github.run_action(context(http, emulator), "list_issues", REPO)
    assert [i["number"] for i in result["issues"]] == [3, 2, 1]  # the open pull request too
