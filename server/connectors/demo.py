"""Deterministic synthetic CRM data, no account needed: for the quick start and benchmarks.

Python, not a catalog definition: it calls no provider; its records are generated.

Record ``n`` of a stream is a pure function of ``(seed, n)``, so every run of the same settings
produces the same rows; ``updated_at`` grows with ``n`` so incremental reads pick up where they
stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from server.connectors.base import (
    CheckResult,
    ConnectorContext,
    ConnectorSpec,
    RecordBatch,
    StateCheckpoint,
    StreamSpec,
)
from server.connectors.schemas import BOOLEAN, INTEGER, NUMBER, STRING, TIMESTAMP, form, nullable, object_of

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
FIRST_NAMES = (
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Radia",
    "Linus",
    "Margaret",
    "Tim",
    "Katherine",
    "Dennis",
    "Hedy",
    "Guido",
)
LAST_NAMES = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Torvalds",
    "Hamilton",
    "Berners-Lee",
    "Johnson",
    "Ritchie",
    "Lamarr",
)
INDUSTRIES = ("Software", "Retail", "Finance", "Healthcare", "Logistics", "Education", "Energy")
STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "closedwon", "closedlost")

SPEC = ConnectorSpec(
    name="demo",
    display_name="Demo CRM",
    category="DEMO",
    auth_types=("NONE",),
    description="Synthetic contacts, companies and deals of any size. No account needed.",
    settings_schema=form(
        {
            "contacts": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100_000_000,
                "default": 1000,
                "title": "Contacts",
                "description": "How many contacts the source has.",
            },
            "companies": {
                "type": "integer",
                "minimum": 0,
                "maximum": 10_000_000,
                "default": 100,
                "title": "Companies",
            },
            "deals": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100_000_000,
                "default": 300,
                "title": "Deals",
            },
            "seed": {
                "type": "integer",
                "default": 1,
                "title": "Seed",
                "description": "Changes every generated value.",
            },
            "batch_size": {
                "type": "integer",
                "minimum": 1,
                "maximum": 50_000,
                "default": 5000,
                "title": "Batch size",
            },
        }
    ),
    streams=(
        StreamSpec(
            name="contacts",
            primary_key=("id",),
            cursor_field="updated_at",
            description="People at customer companies.",
            record_schema=object_of(
                {
                    "id": INTEGER,
                    "first_name": STRING,
                    "last_name": STRING,
                    "email": STRING,
                    "company_id": nullable(INTEGER),
                    "lifetime_value": NUMBER,
                    "subscribed": BOOLEAN,
                    "updated_at": TIMESTAMP,
                }
            ),
        ),
        StreamSpec(
            name="companies",
            primary_key=("id",),
            cursor_field="updated_at",
            description="Customer companies.",
            record_schema=object_of(
                {
                    "id": INTEGER,
                    "name": STRING,
                    "industry": STRING,
                    "employees": INTEGER,
                    "updated_at": TIMESTAMP,
                }
            ),
        ),
        StreamSpec(
            name="deals",
            primary_key=("id",),
            cursor_field="updated_at",
            description="Open and closed deals.",
            record_schema=object_of(
                {
                    "id": INTEGER,
                    "company_id": INTEGER,
                    "amount": NUMBER,
                    "stage": STRING,
                    "updated_at": TIMESTAMP,
                }
            ),
        ),
    ),
)


def _digest(seed: int, stream: str, n: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{stream}:{n}".encode(), digest_size=8).digest())


def _updated_at(n: int) -> str:
    return (EPOCH + timedelta(seconds=n)).isoformat()


def make_record(stream: str, n: int, seed: int = 1, companies: int = 100) -> dict[str, Any]:
    """Record number ``n`` (from 1) of ``stream``; the same inputs always give the same record."""
    h = _digest(seed, stream, n)
    if stream == "contacts":
        first, last = FIRST_NAMES[h % len(FIRST_NAMES)], LAST_NAMES[(h >> 8) % len(LAST_NAMES)]
        return {
            "id": n,
            "first_name": first,
            "last_name": last,
            "email": f"{first}.{last}.{n}@example.com".lower(),
            "company_id": (h >> 16) % companies + 1 if companies else None,
            "lifetime_value": round(((h >> 24) % 1_000_000) / 100, 2),
            "subscribed": bool((h >> 40) & 1),
            "updated_at": _updated_at(n),
        }
    if stream == "companies":
        return {
            "id": n,
            "name": f"{LAST_NAMES[h % len(LAST_NAMES)]} {('Labs', 'Inc', 'GmbH', 'Ltd')[(h >> 8) % 4]} {n}",
            "industry": INDUSTRIES[(h >> 16) % len(INDUSTRIES)],
            "employees": (h >> 24) % 5000 + 1,
            "updated_at": _updated_at(n),
        }
    if stream == "deals":
        return {
            "id": n,
            "company_id": h % max(companies, 1) + 1,
            "amount": round(((h >> 16) % 10_000_000) / 100, 2),
            "stage": STAGES[(h >> 40) % len(STAGES)],
            "updated_at": _updated_at(n),
        }
    raise ValueError(f"unknown demo stream {stream!r}")


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    return CheckResult(ok=True, message="the demo source needs no account", account_label="Demo")


async def read(
    context: ConnectorContext, stream: str, settings: dict[str, Any], state: dict[str, Any] | None
) -> AsyncIterator[RecordBatch | StateCheckpoint]:
    total = int(settings.get(stream, {"contacts": 1000, "companies": 100, "deals": 300}[stream]))
    seed = int(settings.get("seed", 1))
    companies = int(settings.get("companies", 100))
    batch_size = int(settings.get("batch_size", 5000))
    # The cursor is updated_at, which is EPOCH + n seconds: resume after the last n seen.
    start = 1
    if state and state.get("cursor"):
        start = int((datetime.fromisoformat(state["cursor"]) - EPOCH).total_seconds()) + 1
    for low in range(start, total + 1, batch_size):
        high = min(low + batch_size - 1, total)
        records = [make_record(stream, n, seed, companies) for n in range(low, high + 1)]
        yield RecordBatch(stream=stream, records=records)
        yield StateCheckpoint(stream=stream, state={"cursor": _updated_at(high)})
