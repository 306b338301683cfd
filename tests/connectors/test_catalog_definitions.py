"""Every catalog definition (server/connectors/catalog/*.yaml) is valid, documented, has a logo,
and, for OAuth2, builds an authorize URL (the way server/connect/oauth.py does) on the
provider's own host."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from server.connectors import templates
from server.connectors.declarative import DeclarativeConnector
from server.connectors.definition import parse_definition
from server.connectors.registry import CATALOG_DIR, CONNECTORS, CatalogError, load_catalog

FILES = sorted(CATALOG_DIR.glob("*.yaml"))
LOGOS = CATALOG_DIR.parent / "logos"
# Providers whose sign-in lives on a domain that is neither their docs' nor their API's.
IDENTITY_DOMAINS: dict[str, set[str]] = {}
# Providers whose OAuth has no scopes (the user picks pages or workspaces on the consent screen,
# or the permissions are set on the app itself): their authorize URL carries no scope parameter.
SCOPELESS = {"notion", "clickup", "intercom"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def domain(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return ".".join(host.split(".")[-2:])


def sample(parameter: dict[str, Any]) -> str:
    """A value the connect form would accept for this parameter."""
    return (parameter.get("examples") or [parameter.get("default") or "acme"])[0]


def test_the_catalog_has_files():
    assert FILES and all(path.stem in CONNECTORS for path in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_definition_parses_and_names_its_source(path):
    data = load(path)
    connector = parse_definition(data)
    assert isinstance(connector, DeclarativeConnector) and connector.SPEC.name == path.stem
    assert data.get("docs_url", "").startswith("https://"), "docs_url names the provider page followed"
    assert (LOGOS / f"{path.stem}.svg").read_text().lstrip().startswith("<svg")
    assert isinstance(CONNECTORS[path.stem], DeclarativeConnector)


@pytest.mark.parametrize(
    "path", [p for p in FILES if load(p)["auth"]["type"] == "oauth2"], ids=lambda path: path.stem
)
def test_oauth2_definition_builds_an_authorize_url_on_the_providers_host(path):
    data = load(path)
    oauth = parse_definition(data).SPEC.oauth
    assert oauth is not None and bool(oauth.default_scopes) != (path.stem in SCOPELESS)
    values = {name: sample(parameter) for name, parameter in (data.get("parameters") or {}).items()}
    endpoint = templates.render(oauth.authorize_url, values, templates.Where.URL)
    verifier = "v" * 64
    extra: dict[str, str] = dict(oauth.extra_authorize_params)
    if oauth.pkce:
        extra.update(code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
    url = prepare_grant_uri(
        endpoint,
        "client-123",
        "code",
        "https://weir.example/oauth/callback",
        scope=oauth.scope_separator.join(oauth.default_scopes) or None,
        state="state-1",
        **extra,
    )
    parts = urlsplit(url)
    assert parts.scheme == "https" and parts.hostname == urlsplit(endpoint).hostname
    query = parse_qs(parts.query)
    assert query["client_id"] == ["client-123"] and query["response_type"] == ["code"]
    assert query.get("scope") == (
        [oauth.scope_separator.join(oauth.default_scopes)] if oauth.default_scopes else None
    )
    assert ("code_challenge" in query) == oauth.pkce
    base = templates.render(data["api"]["base_url"], values, templates.Where.URL)
    providers = {domain(data["docs_url"]), domain(base), *IDENTITY_DOMAINS.get(path.stem, set())}
    assert domain(url) in providers
    for url_key in ("token_url", "revocation_url"):
        if url_key in data["auth"]:
            rendered = templates.render(data["auth"][url_key], values, templates.Where.URL)
            assert urlsplit(rendered).scheme == "https"


def test_a_broken_catalog_file_fails_loudly_with_its_name_and_paths(tmp_path):
    good = load(CATALOG_DIR / "openai.yaml")
    (tmp_path / "openai.yaml").write_text(yaml.safe_dump(good))
    broken = {**good, "name": "broken", "category": "NOT_A_CATEGORY"}
    del broken["check"]
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(CatalogError) as raised:
        load_catalog(tmp_path)
    assert str(raised.value).startswith("broken.yaml: ")
    assert "category: must be one of" in str(raised.value) and "check: is required" in str(raised.value)

    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(CatalogError, match=r"^broken\.yaml: not valid YAML"):
        load_catalog(tmp_path)

    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(good))  # named openai inside
    with pytest.raises(CatalogError, match=r"^broken\.yaml: name: must be 'broken'"):
        load_catalog(tmp_path)


def test_the_format_docs_example_is_a_valid_definition():
    page = (CATALOG_DIR.parents[2] / "docs" / "connector-format.md").read_text()
    example = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    spec = parse_definition(yaml.safe_load(example)).SPEC
    assert spec.oauth is not None and spec.parameters_schema is not None
    kinds = {stream["pagination"]["type"] for stream in yaml.safe_load(example)["streams"]}
    assert len(spec.streams) == 2 and len(kinds) == 2
