"""GitHub: repositories, issues and pull requests, with an OAuth token or a personal token.

Python, not a catalog definition: its settings list the repositories found in each account and
its streams read per repository with a cursor each, which the declarative format cannot say.

Lists page with the ``Link`` header. Issues are read oldest change first with ``since``, so the
per-repository cursor moves after every page; the pulls list has no ``since``, so it is read newest
change first and stops at the first pull request not newer than the cursor. The issues endpoint
also returns pull requests; those are left to the ``pull_requests`` stream.

Actions (``executeAction``): ``create_issue``, ``list_issues`` and ``create_issue_comment``.
GitHub's 422 "Validation Failed" becomes an input error on the field it names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from server.connectors import http as provider_http
from server.connectors.base import (
    ActionInputError,
    ActionSpec,
    CheckResult,
    ConnectorContext,
    ConnectorSpec,
    OAuthSpec,
    RecordBatch,
    StateCheckpoint,
    StreamSpec,
)
from server.connectors.http import HttpTarget, base_url, link_pages, oauth_or_token, request, run_check
from server.connectors.schemas import (
    BOOLEAN,
    INTEGER,
    STRING,
    TIMESTAMP,
    array_of,
    form,
    nullable,
    object_of,
)

PAGE_SIZE = 100
MAX_LISTED_REPOSITORIES = 1000  # for the settings form; a sync reads every selected repository


def _auth(credentials: Mapping[str, Any]) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {oauth_or_token(credentials)}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }


_STRING = nullable(STRING)
_MAYBE_TIMESTAMP = nullable(TIMESTAMP)


def _schema(**properties: Any) -> dict[str, Any]:
    return object_of({"id": INTEGER, **properties}, required=["id"])


# -- actions (``executeAction``): what each takes and returns; they run below ``check`` ----------

_OWNER = {
    "type": "string",
    "pattern": "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$",
    "description": "User or organization.",
}
_REPO = {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,100}$", "description": "Repository name."}
_LOGIN = {"type": "string", "pattern": "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"}
_LABEL = {"type": "string", "minLength": 1, "maxLength": 50}
_BODY = {"type": "string", "maxLength": 65_536}  # GitHub's limit for issue and comment bodies
_ISSUE = object_of(
    {
        "id": INTEGER,
        "number": INTEGER,
        "title": STRING,
        "state": STRING,
        "body": _STRING,
        "html_url": STRING,
        "user": _STRING,
        "labels": array_of(STRING),
        "assignees": array_of(STRING),
        "comments": INTEGER,
        "pull_request": BOOLEAN,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "closed_at": _MAYBE_TIMESTAMP,
    },
    required=["id", "number", "title", "state", "html_url"],
)

ACTIONS = (
    ActionSpec(
        name="create_issue",
        display_name="Create an issue",
        description="Open an issue in a repository, with labels (made if missing) and assignees "
        "(who must be able to be assigned).",
        input_schema={
            "type": "object",
            "properties": {
                "owner": _OWNER,
                "repo": _REPO,
                "title": {"type": "string", "minLength": 1, "maxLength": 256},
                "body": _BODY,
                "labels": {"type": "array", "items": _LABEL, "maxItems": 100, "uniqueItems": True},
                "assignees": {"type": "array", "items": _LOGIN, "maxItems": 10, "uniqueItems": True},
            },
            "required": ["owner", "repo", "title"],
            "additionalProperties": False,
        },
        output_schema=_ISSUE,
    ),
    ActionSpec(
        name="list_issues",
        display_name="List issues",
        description="A page of a repository's issues, newest first (pull requests included, "
        "marked pull_request: true, as GitHub lists them).",
        input_schema={
            "type": "object",
            "properties": {
                "owner": _OWNER,
                "repo": _REPO,
                "state": {"enum": ["open", "closed", "all"], "default": "open"},
                "labels": {
                    "type": "array",
                    "items": {**_LABEL, "pattern": "^[^,]+$"},
                    "maxItems": 20,
                    "description": "Only issues with every one of these labels.",
                },
                "per_page": {"type": "integer", "minimum": 1, "maximum": 100, "default": 30},
                "page": {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 1},
            },
            "required": ["owner", "repo"],
            "additionalProperties": False,
        },
        output_schema={
            "type": "object",
            "properties": {"issues": {"type": "array", "items": _ISSUE}, "next_page": nullable(INTEGER)},
            "required": ["issues", "next_page"],
        },
        read_only=True,
    ),
    ActionSpec(
        name="create_issue_comment",
        display_name="Comment on an issue",
        description="Add a comment to an issue (or pull request) of a repository.",
        input_schema={
            "type": "object",
            "properties": {
                "owner": _OWNER,
                "repo": _REPO,
                "issue_number": {"type": "integer", "minimum": 1, "maximum": 2_147_483_647},
                "body": {**_BODY, "minLength": 1},
            },
            "required": ["owner", "repo", "issue_number", "body"],
            "additionalProperties": False,
        },
        output_schema=object_of(
            {
                "id": INTEGER,
                "html_url": STRING,
                "body": STRING,
                "user": _STRING,
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
            },
            required=["id", "html_url", "body"],
        ),
    ),
)

SPEC = ConnectorSpec(
    name="github",
    display_name="GitHub",
    category="DEVELOPER_TOOLS",
    auth_types=("OAUTH2", "SECRET_TEXT"),
    description="Repositories, issues and pull requests the token can see.",
    base_url="https://api.github.com",
    docs_url="https://docs.github.com/en/rest",
    oauth=OAuthSpec(
        authorize_url="https://github.com/login/oauth/authorize",
        token_url="https://github.com/login/oauth/access_token",
        default_scopes=("repo", "read:user"),
    ),
    settings_schema=form(
        {
            "repositories": {
                "type": "array",
                "title": "Repositories",
                "description": "Repositories to copy, as owner/name. Empty: every repository "
                "the token can see.",
                "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"},
                "uniqueItems": True,
                "default": [],
            },
        }
    ),
    streams=(
        StreamSpec(
            name="repositories",
            primary_key=("id",),
            description="Repositories (every run copies them all).",
            record_schema=_schema(
                full_name=STRING,
                name=STRING,
                owner=_STRING,
                private=BOOLEAN,
                fork=BOOLEAN,
                archived=BOOLEAN,
                description=_STRING,
                html_url=_STRING,
                default_branch=_STRING,
                language=_STRING,
                stargazers_count=INTEGER,
                forks_count=INTEGER,
                open_issues_count=INTEGER,
                created_at=TIMESTAMP,
                updated_at=TIMESTAMP,
                pushed_at=_MAYBE_TIMESTAMP,
            ),
        ),
        StreamSpec(
            name="issues",
            primary_key=("id",),
            cursor_field="updated_at",
            description="Issues (not pull requests) of the selected repositories.",
            record_schema=_schema(
                repository=STRING,
                number=INTEGER,
                title=STRING,
                state=STRING,
                user=_STRING,
                labels=array_of(STRING),
                comments=INTEGER,
                body=_STRING,
                html_url=_STRING,
                created_at=TIMESTAMP,
                updated_at=TIMESTAMP,
                closed_at=_MAYBE_TIMESTAMP,
            ),
        ),
        StreamSpec(
            name="pull_requests",
            primary_key=("id",),
            cursor_field="updated_at",
            description="Pull requests of the selected repositories.",
            record_schema=_schema(
                repository=STRING,
                number=INTEGER,
                title=STRING,
                state=STRING,
                user=_STRING,
                draft=nullable(BOOLEAN),
                base_ref=_STRING,
                head_ref=_STRING,
                body=_STRING,
                html_url=_STRING,
                created_at=TIMESTAMP,
                updated_at=TIMESTAMP,
                closed_at=_MAYBE_TIMESTAMP,
                merged_at=_MAYBE_TIMESTAMP,
            ),
        ),
    ),
    actions=ACTIONS,
)


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """``GET /user``: who the token belongs to."""

    async def call() -> CheckResult:
        response = await request(
            context, "GET", f"{base_url(context, SPEC.base_url)}/user", auth=_auth, credentials=credentials
        )
        return CheckResult(ok=True, message="the token is valid", account_label=response.json().get("login"))

    return await run_check(credentials, call)


# -- actions: running them -------------------------------------------------------------------


def _repository_url(context: ConnectorContext, input: Mapping[str, Any]) -> str:
    """``{base}/repos/{owner}/{repo}``; a name of dots would walk out of the path."""
    repo = str(input["repo"])
    if repo in (".", ".."):
        raise ActionInputError("repo", "is not a repository name")
    owner = quote(str(input["owner"]), safe="")
    return f"{base_url(context, SPEC.base_url)}/repos/{owner}/{quote(repo, safe='')}"


def _action_issue(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": raw["id"],
        "number": raw.get("number"),
        "title": raw.get("title"),
        "state": raw.get("state"),
        "body": raw.get("body"),
        "html_url": raw.get("html_url"),
        "user": _login(raw.get("user")),
        "labels": [
            label.get("name") if isinstance(label, Mapping) else label for label in raw.get("labels") or []
        ],
        "assignees": [_login(user) for user in raw.get("assignees") or []],
        "comments": raw.get("comments"),
        "pull_request": "pull_request" in raw,
        "created_at": raw.get("created_at"),
        "updated_at": raw.get("updated_at"),
        "closed_at": raw.get("closed_at"),
    }


def _validation_failed(response: httpx.Response, input: Mapping[str, Any]) -> Exception:
    """GitHub's 422 as an input error on the field it names (``assignees.1`` for the second
    assignee), else a provider error."""
    message = provider_http.provider_message(response)
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    first = errors[0] if errors and isinstance(errors[0], Mapping) else {}
    field = str(first.get("field") or "")
    if field not in input and field not in ("title", "body", "labels", "assignees"):
        return provider_http.ProviderError(response.status_code, message)
    path, given = field, input.get(field)
    if isinstance(given, list) and first.get("value") in given:
        path = f"{field}.{given.index(first['value'])}"
    # The path names the value; the message does not quote it (an action's input is customer data).
    reason = first.get("message") or str(first.get("code") or "invalid")
    return ActionInputError(path, f"GitHub says {message}: {reason}")


async def run_action(context: ConnectorContext, action: str, input: dict[str, Any]) -> Any:
    """``create_issue``, ``list_issues`` or ``create_issue_comment``."""
    if action == "create_issue":
        payload = {key: input[key] for key in ("title", "body", "labels", "assignees") if key in input}
        response = await request(
            context,
            "POST",
            f"{_repository_url(context, input)}/issues",
            auth=_auth,
            json=payload,
            ok_statuses=(422,),
            replay_safe=False,  # a retried create would open the issue twice
        )
        if response.status_code == 422:
            raise _validation_failed(response, input)
        return _action_issue(response.json())
    if action == "list_issues":
        params: dict[str, Any] = {
            "state": input.get("state") or "open",
            "per_page": int(input.get("per_page") or 30),
            "page": int(input.get("page") or 1),
        }
        if input.get("labels"):
            params["labels"] = ",".join(input["labels"])
        response = await request(
            context, "GET", f"{_repository_url(context, input)}/issues", auth=_auth, params=params
        )
        following = response.links.get("next", {}).get("url")
        next_page = httpx.URL(following).params.get("page") if following else None
        return {
            "issues": [_action_issue(raw) for raw in response.json()],
            "next_page": int(next_page) if next_page and next_page.isdigit() else None,
        }
    if action == "create_issue_comment":
        url = f"{_repository_url(context, input)}/issues/{int(input['issue_number'])}/comments"
        response = await request(
            context,
            "POST",
            url,
            auth=_auth,
            json={"body": input["body"]},
            ok_statuses=(422,),
            replay_safe=False,
        )
        if response.status_code == 422:
            raise _validation_failed(response, input)
        comment = response.json()
        return {
            "id": comment["id"],
            "html_url": comment.get("html_url"),
            "body": comment.get("body"),
            "user": _login(comment.get("user")),
            "created_at": comment.get("created_at"),
            "updated_at": comment.get("updated_at"),
        }
    raise ActionInputError("action", f"GitHub has no action {action!r}")


async def _repositories(
    context: ConnectorContext, limit: int | None = None
) -> AsyncIterator[list[dict[str, Any]]]:
    url = f"{base_url(context, SPEC.base_url)}/user/repos"
    seen = 0
    async for page in link_pages(
        context, url, auth=_auth, params={"per_page": PAGE_SIZE, "sort": "full_name"}
    ):
        repositories = page.json()
        yield repositories
        seen += len(repositories)
        if limit is not None and seen >= limit:
            return


async def settings_options(
    context: ConnectorContext, credentials: dict[str, Any], partial_settings: dict[str, Any]
) -> dict[str, list[Any]]:
    """The repositories the token can see, for the ``repositories`` setting."""
    names: list[str] = []
    checking = dataclasses.replace(context, credentials=dict(credentials))
    async for page in _repositories(checking, MAX_LISTED_REPOSITORIES):
        names.extend(repository["full_name"] for repository in page)
    return {"repositories": names[:MAX_LISTED_REPOSITORIES]}


def _login(value: Any) -> str | None:
    return value.get("login") if isinstance(value, Mapping) else None


def _repository(raw: Mapping[str, Any]) -> dict[str, Any]:
    names = SPEC.streams[0].record_schema["properties"]
    record = {name: raw.get(name) for name in names}
    record["owner"] = _login(raw.get("owner"))
    return record


def _issue(raw: Mapping[str, Any], repository: str) -> dict[str, Any]:
    return {
        "id": raw["id"],
        "repository": repository,
        "number": raw.get("number"),
        "title": raw.get("title"),
        "state": raw.get("state"),
        "user": _login(raw.get("user")),
        "labels": [
            label.get("name") if isinstance(label, Mapping) else label for label in raw.get("labels") or []
        ],
        "comments": raw.get("comments"),
        "body": raw.get("body"),
        "html_url": raw.get("html_url"),
        "created_at": raw.get("created_at"),
        "updated_at": raw.get("updated_at"),
        "closed_at": raw.get("closed_at"),
    }


def _pull(raw: Mapping[str, Any], repository: str) -> dict[str, Any]:
    return {
        "id": raw["id"],
        "repository": repository,
        "number": raw.get("number"),
        "title": raw.get("title"),
        "state": raw.get("state"),
        "user": _login(raw.get("user")),
        "draft": raw.get("draft"),
        "base_ref": (raw.get("base") or {}).get("ref"),
        "head_ref": (raw.get("head") or {}).get("ref"),
        "body": raw.get("body"),
        "html_url": raw.get("html_url"),
        "created_at": raw.get("created_at"),
        "updated_at": raw.get("updated_at"),
        "closed_at": raw.get("closed_at"),
        "merged_at": raw.get("merged_at"),
    }


async def _selected(context: ConnectorContext, settings: Mapping[str, Any]) -> list[str]:
    chosen = list(settings.get("repositories") or [])
    if chosen:
        return chosen
    names: list[str] = []
    async for page in _repositories(context):
        names.extend(repository["full_name"] for repository in page)
    return names


async def read(
    context: ConnectorContext, stream: str, settings: dict[str, Any], state: dict[str, Any] | None
) -> AsyncIterator[RecordBatch | StateCheckpoint]:
    if stream == "repositories":
        chosen = set(settings.get("repositories") or [])
        async for page in _repositories(context):
            records = [_repository(r) for r in page if not chosen or r["full_name"] in chosen]
            if records:
                yield RecordBatch(stream=stream, records=records)
        return
    if stream not in ("issues", "pull_requests"):
        raise ValueError(f"unknown stream {stream!r}")
    cursors: dict[str, str] = dict((state or {}).get("cursor") or {})
    root = base_url(context, SPEC.base_url)
    for repository in await _selected(context, settings):
        reader = _issues if stream == "issues" else _pulls
        async for records, newest in reader(context, root, repository, cursors.get(repository)):
            if records:
                yield RecordBatch(stream=stream, records=records)
            if newest and newest != cursors.get(repository):
                cursors[repository] = newest
                yield StateCheckpoint(stream=stream, state={"cursor": dict(cursors)})


async def _issues(
    context: ConnectorContext, root: str, repository: str, since: str | None
) -> AsyncIterator[tuple[list[dict[str, Any]], str | None]]:
    """Pages of issues changed after ``since``, oldest change first, with the newest time seen."""
    params = {"state": "all", "sort": "updated", "direction": "asc", "per_page": PAGE_SIZE}
    if since:
        params["since"] = since
    newest = since
    async for page in link_pages(context, f"{root}/repos/{repository}/issues", auth=_auth, params=params):
        records = [_issue(raw, repository) for raw in page.json() if "pull_request" not in raw]
        # ``since`` includes changes at exactly that second, which the last run already copied.
        records = [r for r in records if since is None or r["updated_at"] > since]
        for record in records:
            newest = max(newest or record["updated_at"], record["updated_at"])
        yield records, newest


async def _pulls(
    context: ConnectorContext, root: str, repository: str, since: str | None
) -> AsyncIterator[tuple[list[dict[str, Any]], str | None]]:
    """Pages of pull requests changed after ``since``, newest change first; the newest time
    is reported only with the last page, since pages go back in time."""
    params = {"state": "all", "sort": "updated", "direction": "desc", "per_page": PAGE_SIZE}
    newest = since
    pages = link_pages(context, f"{root}/repos/{repository}/pulls", auth=_auth, params=params)
    async for page in pages:
        raw_pulls = page.json()
        records = [_pull(raw, repository) for raw in raw_pulls if since is None or raw["updated_at"] > since]
        for record in records:
            newest = max(newest or record["updated_at"], record["updated_at"])
        if len(records) < len(raw_pulls):  # reached what the last run copied
            yield records, newest
            await pages.aclose()
            return
        yield records, None
    yield [], newest


# -- the proxy (``/proxy/...``) -----------------------------------------------------------


def _proxy_auth(credentials: Mapping[str, Any]) -> dict[str, str]:
    # Only the credential: the caller picks its own Accept and API version.
    return {"Authorization": f"Bearer {oauth_or_token(credentials)}"}


def http_target(context: ConnectorContext) -> HttpTarget:
    """GitHub's API for the proxy: the configured base URL (GitHub Enterprise's too), the OAuth
    or personal token as a bearer; GitHub's rate-limit headers are the defaults."""
    return HttpTarget(base_url=base_url(context, SPEC.base_url), auth=_proxy_auth)
