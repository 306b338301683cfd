"""Stripe's API as Weir uses it: ``GET /v1/account`` and the list endpoints of customers, charges
and invoices (newest first, ``limit``, ``starting_after``, ``created[gt|gte|lt|lte]``).

The actions' endpoints are documented ones (``tests/emulators/documented.py``): ``POST
/v1/customers`` takes a form-encoded body, as Stripe's writes do, and adds the customer that the
list then shows; ``GET /v1/customers/{id}`` answers one, or Stripe's 404 ``resource_missing``."""

from __future__ import annotations

import base64
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

KEY = "sk_test_51Weir0emulator0key0000000001"
OBJECTS = {"customers": "customer", "charges": "charge", "invoices": "invoice"}
PREFIX = {"customers": "cus", "charges": "ch", "invoices": "in"}
START = 1_700_000_000


def _error(status: int, message: str, type_: str, code: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": message, "type": type_}
    if code:
        error["code"] = code
    return JSONResponse({"error": error}, status_code=status)


class StripeEmulator:
    def __init__(self, customers: int = 0, charges: int = 0, invoices: int = 0) -> None:
        self.controls = Controls(tokens={KEY})
        self.data: dict[str, list[dict[str, Any]]] = {name: [] for name in OBJECTS}
        self.clock = START
        for stream, count in (("customers", customers), ("charges", charges), ("invoices", invoices)):
            for _ in range(count):
                self.add(stream)
        unauthorized = {"error": {"message": "Invalid API Key provided.", "type": "invalid_request_error"}}
        self.api = DocumentedAPI(
            [
                Endpoint("POST", "/v1/customers", self.create_customer),
                Endpoint("GET", "/v1/customers/{id}", self.get_customer),
            ],
            credentials=[bearer(KEY)],
            unauthorized=(401, unauthorized),
        )
        self.api.controls = self.controls
        self.app = Starlette(
            routes=[
                *self.api.routes(),
                Route("/v1/account", self.account),
                Route("/v1/{object}", self.list_objects),
            ]
        )

    def add(self, stream: str, **fields: Any) -> dict[str, Any]:
        """Create one object one second after the previous one."""
        self.clock += 1
        n = len(self.data[stream]) + 1
        record: dict[str, Any] = {
            "id": f"{PREFIX[stream]}_{n:08d}",
            "object": OBJECTS[stream],
            "created": self.clock,
            "livemode": False,
            "metadata": {},
        }
        if stream == "customers":
            record.update(
                email=f"customer{n}@example.com",
                name=f"Customer {n}",
                balance=0,
                currency="usd",
                delinquent=False,
                description=None,
            )
        elif stream == "charges":
            record.update(
                amount=100 * n,
                amount_refunded=0,
                currency="usd",
                paid=True,
                refunded=False,
                status="succeeded",
                customer=f"cus_{n:08d}",
                description=None,
                outcome={"type": "authorized"},
            )
        else:
            record.update(
                customer=f"cus_{n:08d}",
                number=f"WEIR-{n:04d}",
                status="paid",
                currency="usd",
                total=500 * n,
                amount_due=500 * n,
                amount_paid=500 * n,
                due_date=None,
                lines={"object": "list", "data": []},
            )
        record.update(fields)
        self.data[stream].append(record)
        return record

    def create_customer(self, call: Call) -> dict[str, Any]:
        form = call.form or {}
        fields: dict[str, Any] = {k: form[k] for k in ("email", "name", "description", "phone") if k in form}
        # Stripe's form encoding of a hash: metadata[plan]=pro
        fields["metadata"] = {
            key[len("metadata[") : -1]: value
            for key, value in form.items()
            if key.startswith("metadata[") and key.endswith("]")
        }
        return self.add("customers", **{"email": None, "name": None, "phone": None, **fields})

    def get_customer(self, call: Call) -> Any:
        found = next((c for c in self.data["customers"] if c["id"] == call.path_params["id"]), None)
        if found is None:
            error = {
                "code": "resource_missing",
                "message": f"No such customer: '{call.path_params['id']}'",
                "param": "id",
                "type": "invalid_request_error",
            }
            return Reply(404, {"error": error})
        return found

    def _authenticate(self, request: Request) -> JSONResponse | None:
        key = bearer_token(request)
        header = request.headers.get("authorization", "")
        if key is None and header.lower().startswith("basic "):
            key = base64.b64decode(header[6:]).decode().partition(":")[0] or None
        if key is None:
            return _error(
                401,
                "You did not provide an API key. You need to provide your API "
                "key in the Authorization header, using Bearer auth.",
                "invalid_request_error",
            )
        if key in self.controls.expired:
            return _error(
                401,
                f"Expired API Key provided: {key[:8]}****{key[-4:]}",
                "invalid_request_error",
                "api_key_expired",
            )
        if key not in self.controls.tokens:
            return _error(401, f"Invalid API Key provided: {key[:8]}****{key[-4:]}", "invalid_request_error")
        return None

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        refused = self._authenticate(request)
        if refused is not None:
            return refused
        return self.controls.chaos(
            {
                "error": {
                    "message": "Request rate limit exceeded. Learn more about rate limits here "
                    "https://stripe.com/docs/rate-limits.",
                    "type": "invalid_request_error",
                    "code": "rate_limit",
                }
            }
        )  # type: ignore[return-value]

    async def account(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "id": "acct_1WeirEmulator",
                "object": "account",
                "email": "owner@example.com",
                "country": "US",
                "default_currency": "usd",
                "charges_enabled": True,
                "business_profile": {"name": "Weir Emulated Shop"},
            }
        )

    async def list_objects(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = request.path_params["object"]
        if name not in OBJECTS:
            return _error(404, f"Unrecognized request URL (GET: /v1/{name}).", "invalid_request_error")
        query = request.query_params
        limit = int(query.get("limit", 10))
        if not 1 <= limit <= 100:
            return _error(
                400,
                "Invalid integer: limit must be between 1 and 100",
                "invalid_request_error",
                "parameter_invalid_integer",
            )
        rows = sorted(self.data[name], key=lambda r: (r["created"], r["id"]), reverse=True)
        bounds = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
        for op, compare in bounds.items():
            if f"created[{op}]" in query:
                value = int(query[f"created[{op}]"])
                rows = [r for r in rows if compare(r["created"], value)]
        if name == "customers" and query.get("email"):  # the customers list filters on email
            rows = [r for r in rows if r.get("email") == query["email"]]
        after = query.get("starting_after")
        if after:
            ids = [r["id"] for r in rows]
            if after not in ids:
                return _error(
                    400, f"No such {OBJECTS[name]}: '{after}'", "invalid_request_error", "resource_missing"
                )
            rows = rows[ids.index(after) + 1 :]
        return JSONResponse(
            {"object": "list", "url": f"/v1/{name}", "has_more": len(rows) > limit, "data": rows[:limit]}
        )
