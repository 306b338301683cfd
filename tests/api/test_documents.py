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


def test_the_cache_is_bounded_in_bytes_and_drops_the_least_recently_used():
    limits = documents.DocumentLimits(max_length=2_000_000)
    cache = documents.DocumentCache(limits=limits, max_bytes=3_500_000)
    queries = [f"# {i}\n" + "{ a }" + " " * 1_000_000 for i in range(30)]
    first = cache.prepare(queries[0])
    assert cache.prepare(queries[0]) is first
    for query in queries[1:]:
        cache.prepare(query)
        assert cache.total_bytes <= cache.max_bytes
    assert len(cache) == 3  # ~1 MB each
    assert cache.prepare(queries[0]) is not first  # evicted, parsed again


def test_dense_documents_weigh_by_their_tokens_not_only_their_text():
    limits = documents.DocumentLimits(max_fields=10_000)
    cache = documents.DocumentCache(limits=limits, max_bytes=10_000_000)
    for i in range(20):
        cache.prepare(f"query Q{i} {{ " + " ".join("a" for _ in range(4900)) + " }")
    assert cache.total_bytes <= cache.max_bytes
    assert len(cache) <= 10_000_000 // (4900 * documents.TOKEN_BYTES) + 1


def test_a_document_larger_than_the_whole_cache_is_not_kept():
    cache = documents.DocumentCache(limits=documents.DocumentLimits(), max_bytes=1000)
    cache.prepare("{ a }" + " " * 5000)
    assert len(cache) == 0 and cache.total_bytes == 0


def test_fragments_are_measured_once_however_often_they_are_spread():
    # 2**40 fields once expanded: counting them by expansion would never end.
    chain = " ".join(f"fragment F{i} on Q {{ ...F{i + 1} ... on Q {{ ...F{i + 1} }} }}" for i in range(40))
    document = documents.parse_limited(
        "{ ...F0 } " + chain + " fragment F40 on Q { a }", documents.DocumentLimits()
    )
    with pytest.raises(documents.DocumentRejected) as rejected:
        documents.check_cost(document, documents.DocumentLimits())
    assert rejected.value.extensions["limit"] == "fields"


def test_fragment_cycles_end_the_measure():
    document = documents.parse_limited(
        "{ ...A } fragment A on Q { a ...B } fragment B on Q { b ...A }", documents.DocumentLimits()
    )
    documents.check_cost(document, documents.DocumentLimits())  # the cycle rule reports it later
