"""GitHub: repositories, issues and pull requests, with an OAuth token or a personal token.

Python, not a catalog definition: its settings list the repositories found in each account and
its streams read per repository with a cursor each, which the declarative format cannot say.

Lists page with the ``Link`` header. Issues are read oldest change first with ``since``, so the
per-repository cursor moves after every page; the pulls list has no ``since``, so it is read newest
change first and stops at the first pull request not newer than the cursor. The issues endpoint
also returns pull requests; those are left to the ``pull_requests`` stream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any

from server.connectors.base import (
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
)


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """``GET /user``: who the token belongs to."""

    async def call() -> CheckResult:
        response = await request(
            context, "GET", f"{base_url(context, SPEC.base_url)}/user", auth=_auth, credentials=credentials
        )
        return CheckResult(ok=True, message="the token is valid", account_label=response.json().get("login"))

    return await run_check(credentials, call)


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
