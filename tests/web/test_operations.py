"""Health, readiness, metrics and structured logs."""

import json
import logging

from server.logs import JsonFormatter, configure_logging


async def test_healthz_answers(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"}


async def test_readyz_is_503_when_redis_does_not_answer(settings):
    from tests.conftest import client_for

    unreachable = settings.replace(redis_url="redis://127.0.0.1:1/0")
    async with client_for(unreachable) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["redis"].startswith("failed")


async def test_metrics_count_operations_by_name(tenant):
    await tenant.graphql("query Who { viewer { organization { id } } }")
    await tenant.graphql("query Who { viewer { organization { id } } }")
    text = (await tenant.http.get("/metrics")).text
    assert 'weir_graphql_operations_total{operation="Who",outcome="ok",type="query"} 2.0' in text
    assert 'weir_graphql_operation_seconds_count{operation="Who",type="query"} 2.0' in text
    assert 'weir_http_requests_total{route="/graphql",status="200"}' in text


async def test_metrics_give_only_the_first_names_a_label_of_their_own(settings):
    from tests.conftest import client_for, make_tenant

    async with client_for(settings.replace(metrics_max_operations=2)) as http:
        tenant = await make_tenant(http, "Acme")
        for name in ("First", "Second", "Third", "First", "Fourth"):
            await tenant.data(f"query {name} {{ viewer {{ organization {{ id }} }} }}")
        text = (await http.get("/metrics")).text
    counts = _operation_counts(text)
    assert counts == {"First": 2.0, "Second": 1.0, "other": 2.0}


async def test_metrics_count_malformed_or_long_names_as_other(tenant):
    long_name = "Q" * 65  # a valid GraphQL name, but longer than a label may be
    await tenant.data(f"query {long_name} {{ viewer {{ organization {{ id }} }} }}")
    await tenant.data(f"query {'Q' * 64} {{ viewer {{ organization {{ id }} }} }}")
    # A name the document does not have: the request fails, and the label is still bounded.
    await tenant.http.post(
        "/graphql",
        json={"query": "{ viewer { id } }", "operationName": "x\u00e9\n" * 30},
        headers={"Authorization": f"Bearer {tenant.key}"},
    )
    counts = _operation_counts((await tenant.http.get("/metrics")).text)
    assert counts.pop("Q" * 64) == 1.0
    assert set(counts) == {"other"}, counts


def _operation_counts(text: str) -> dict[str, float]:
    """``weir_graphql_operations_total`` summed by operation label."""
    from prometheus_client.parser import text_string_to_metric_families

    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "weir_graphql_operations":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    name = sample.labels["operation"]
                    counts[name] = counts.get(name, 0.0) + sample.value
    return counts


async def test_metrics_require_the_token_when_one_is_set(settings):
    from server.config import Secret
    from tests.conftest import client_for

    async with client_for(settings.replace(metrics_token=Secret("m3trics-t0ken"))) as http:
        missing = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer m3trics-t0ke"})
        basic = await http.get("/metrics", headers={"Authorization": "Basic m3trics-t0ken"})
        right = await http.get("/metrics", headers={"Authorization": "Bearer m3trics-t0ken"})
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["code"] == "UNAUTHENTICATED"
        assert "weir_http_requests_total" not in refused.text
    assert right.status_code == 200 and "weir_http_requests_total" in right.text


def test_metrics_settings_are_read_from_the_environment():
    from server.config import Secret, Settings

    settings = Settings.from_env({"WEIR_METRICS_TOKEN": "abc", "WEIR_METRICS_MAX_OPERATIONS": "7"})
    assert settings.metrics_token == Secret("abc") and settings.metrics_max_operations == 7
    assert "abc" not in repr(settings)
    defaults = Settings.from_env({})
    assert defaults.metrics_token is None and defaults.metrics_max_operations == 100


def test_json_logs_are_one_object_per_line_with_the_request_id():
    from server.logs import request_id_var

    record = logging.LogRecord("weir.test", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    token = request_id_var.set("abc123")
    try:
        record.request_id = request_id_var.get()
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "hello there"
    assert entry["request_id"] == "abc123" and entry["level"] == "INFO"


def test_configure_logging_installs_the_json_formatter():
    configure_logging("DEBUG", "json")
    try:
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler.formatter, JsonFormatter)
        # Libraries that could print SQL parameters stay above DEBUG; httpx, which logs request
        # URLs (a token can sit in a provider's path), stays at WARNING.
        assert logging.getLogger("tortoise").level >= logging.INFO
        assert logging.getLogger("httpx").level == logging.WARNING
    finally:
        configure_logging("INFO", "text")


async def test_every_response_carries_a_request_id(client):
    response = await client.get("/healthz")
    assert len(response.headers["x-request-id"]) == 16
    kept = await client.get("/healthz", headers={"X-Request-ID": "trace-1"})
    assert kept.headers["x-request-id"] == "trace-1"
    replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert replaced.headers["x-request-id"] != "bad id\nwith newline"
