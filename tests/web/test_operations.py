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
