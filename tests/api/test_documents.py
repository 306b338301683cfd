"""Documents are parsed and validated once per text, and errors are still reported each time."""

from __future__ import annotations

from typing import Any

import pytest

from server.api import documents

QUERY = "query Me { viewer { organization { name } } }"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    original = documents.validate_document

    def counted(schema: Any, document: Any, rules: Any) -> Any:
        calls.append(document)
        return original(schema, document, rules)

    monkeypatch.setattr(documents, "validate_document", counted)
    return calls


async def test_a_repeated_document_is_parsed_and_validated_once(tenant, validations):
    for _ in range(3):
        assert (await tenant.data(QUERY))["viewer"]["organization"]["name"] == "Acme"
    assert len(validations) == 1


async def test_invalid_documents_are_reported_every_time(tenant, validations):
    for _ in range(2):
        body = await tenant.graphql("query { viewer { nope } }")
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "nope" in body["errors"][0]["message"]
        body = await tenant.graphql("query { viewer {")
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "Syntax Error" in body["errors"][0]["message"]
    assert len(validations) == 1  # the syntax error never reaches validation


def test_the_cache_keeps_only_the_most_recent_documents():
    cache = documents.DocumentCache(maxsize=2)
    first = cache.parse("{ a }", {})
    assert cache.parse("{ a }", {}) is first
    cache.parse("{ b }", {})
    cache.parse("{ c }", {})
    assert cache.parse("{ a }", {}) is not first
    assert cache.parse("{ a }", {"max_tokens": 10}) is not cache.parse("{ a }", {})
