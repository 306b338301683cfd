"""``/healthz`` (the process answers), ``/readyz`` (its dependencies answer), ``/metrics``."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise import connections

from server.auth.authenticator import operator_token_matches

log = logging.getLogger("weir.health")

CHECK_TIMEOUT_SECONDS = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _database() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def readyz(request: Request) -> Response:
    runtime = request.app.state.runtime
    checks = {"database": _database()}
    if runtime.settings.redis_url:
        checks["redis"] = runtime.services.bus.ping()
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
            results[name] = "ok"
        except Exception as exc:  # any failure means not ready; say which and why
            log.warning("readiness check %s failed: %s", name, exc.__class__.__name__)
            results[name] = f"failed: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in results.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": results}, status_code=200 if ready else 503
    )


async def metrics(request: Request) -> Response:
    runtime = request.app.state.runtime
    token = runtime.settings.metrics_token
    if token is not None and not operator_token_matches(request.headers, token.reveal()):
        return JSONResponse(
            {"error": "send the metrics token as Authorization: Bearer <token>", "code": "UNAUTHENTICATED"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="weir-metrics"'},
        )
    await runtime.metrics.state.refresh()
    registry = runtime.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
