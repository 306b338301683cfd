"""Shopify's REST Admin API as a catalog definition uses it, under ``/admin/api/<version>``.

``X-Shopify-Access-Token`` authenticates; ``GET /shop.json`` and the orders, customers and
products lists, with ``limit`` (at most 250), ``updated_at_min`` and, for orders, ``status``.
Pages continue through the ``Link`` header: the next URL carries an opaque ``page_info`` that
keeps the first request's filters, and a request with ``page_info`` may add only ``limit`` and
``fields`` (https://shopify.dev/docs/api/admin-rest/usage/pagination). A rate limit is a 429
whose ``Retry-After`` is a decimal number of seconds, as Shopify sends it.

The actions' endpoints are documented ones (``tests/emulators/documented.py``): ``POST
/products.json`` (201, ``{"product": {...}}``; a product without a title is Shopify's 422
``{"errors": {"title": ["can't be blank"]}}``), ``GET /products/{id}.json`` and ``GET
/orders/{id}.json`` (404 ``{"errors": "Not Found"}`` for an unknown id).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tests.emulators.common import Controls
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, header

TOKEN = "shpat_WeirEmulatorToken000000000001"
VERSION = "2026-04"
PREFIX = f"/admin/api/{VERSION}"
EPOCH = datetime(2025, 5, 1, tzinfo=UTC)
LISTS = ("orders", "customers", "products")
PAGE_ONLY = {"page_info", "limit", "fields"}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S-00:00")  # Shopify writes offsets, never Z


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class ShopifyEmulator:
    def __init__(self, orders: int = 0, customers: int = 0, products: int = 0) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.clock = EPOCH
        self.next_id = 450789469
        self.data: dict[str, list[dict[str, Any]]] = {name: [] for name in LISTS}
        for name, count in (("customers", customers), ("products", products), ("orders", orders)):
            for _ in range(count):
                self.add(name)
        self.api = DocumentedAPI(
            [
                Endpoint(
                    "POST", "/products.json", self.create_product, status=201, required=("product.title",)
                ),
                Endpoint("GET", "/products/{id:int}.json", self.get_one("products", "product")),
                Endpoint("GET", "/orders/{id:int}.json", self.get_one("orders", "order")),
            ],
            credentials=[header("X-Shopify-Access-Token", TOKEN)],
            unauthorized=(
                401,
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
            ),
            invalid=lambda missing: (422, {"errors": {missing[0].split(".")[-1]: ["can't be blank"]}}),
        )
        self.api.controls = self.controls
        routes = [
            *self.api.routes(),
            Route("/shop.json", self.shop),
            Route("/{name}.json", self.list_resources),
        ]
        self.app = Starlette(routes=[Mount(PREFIX, routes=routes)])

    def add(self, name: str, **fields: Any) -> dict[str, Any]:
        self.clock += timedelta(seconds=1)
        self.next_id += 1
        n = len(self.data[name]) + 1
        moment = _iso(self.clock)
        record: dict[str, Any] = {"id": self.next_id, "created_at": moment, "updated_at": moment}
        if name == "orders":
            record.update(
                name=f"#{1000 + n}",
                order_number=1000 + n,
                email=f"buyer{n}@example.com",
                currency="EUR",
                total_price=f"{10 * n}.00",
                subtotal_price=f"{10 * n}.00",
                total_tax="0.00",
                total_discounts="0.00",
                financial_status="paid",
                fulfillment_status=None,
                customer={"id": 1, "email": "buyer@example.com"},
                line_items=[{"id": n, "title": "Mug", "quantity": 1, "price": f"{10 * n}.00"}],
                tags="",
                processed_at=moment,
                cancelled_at=None,
                closed_at=None,
            )
        elif name == "customers":
            record.update(
                email=f"customer{n}@example.com",
                first_name="Customer",
                last_name=str(n),
                phone=None,
                state="enabled",
                verified_email=True,
                orders_count=0,
                total_spent="0.00",
                currency="EUR",
                tags="",
            )
        else:
            record.update(
                title=f"Product {n}",
                handle=f"product-{n}",
                vendor="Weir",
                product_type="Mug",
                status="active",
                tags="",
                variants=[{"id": n, "price": "10.00", "sku": f"MUG-{n}"}],
                published_at=moment,
            )
        record.update(fields)
        self.data[name].append(record)
        return record

    def create_product(self, call: Call) -> dict[str, Any]:
        wanted = call.json["product"]
        n = len(self.data["products"]) + 1
        handle = "-".join(str(wanted["title"]).lower().split())
        fields = {
            k: wanted[k]
            for k in ("title", "body_html", "vendor", "product_type", "tags", "status")
            if k in wanted
        }
        product = self.add(
            "products",
            **{
                "body_html": None,
                "vendor": "Weir",
                "product_type": "",
                "tags": "",
                "status": "active",
                **fields,
            },
            handle=handle,
            variants=[{"id": 1000 + n, "price": "0.00", "sku": None, "title": "Default Title"}],
        )
        return {"product": product}

    def get_one(self, name: str, key: str) -> Any:
        def answer(call: Call) -> Any:
            found = next((r for r in self.data[name] if r["id"] == call.path_params["id"]), None)
            return Reply(404, {"errors": "Not Found"}) if found is None else {key: found}

        return answer

    def touch(self, name: str, index: int, **fields: Any) -> dict[str, Any]:
        self.clock += timedelta(seconds=1)
        record = self.data[name][index]
        record.update(updated_at=_iso(self.clock), **fields)
        return record

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        if request.headers.get("x-shopify-access-token") not in self.controls.tokens:
            return JSONResponse(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
                status_code=401,
            )
        if self.controls.rate_limited:
            self.controls.rate_limited -= 1
            return JSONResponse(
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                    "uninterrupted service."
                },
                status_code=429,
                headers={"Retry-After": f"{float(self.controls.retry_after):.1f}"},
            )
        return None

    async def shop(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {"shop": {"id": 1, "name": "Weir Emulated Store", "myshopify_domain": "acme.myshopify.com"}}
        )

    async def list_resources(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = request.path_params["name"]
        if name not in LISTS:
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        query = request.query_params
        raw_limit = query.get("limit", "50")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 250:
            return JSONResponse({"errors": {"limit": "must be between 1 and 250"}}, status_code=400)
        limit = int(raw_limit)
        if "page_info" in query:
            extra = set(query) - PAGE_ONLY
            if extra:
                return JSONResponse(
                    {"errors": {"page_info": f"cannot be combined with {sorted(extra)}"}}, status_code=400
                )
            try:
                cursor = json.loads(base64.urlsafe_b64decode(query["page_info"]))
            except ValueError:
                return JSONResponse({"errors": {"page_info": "Invalid value."}}, status_code=400)
            filters, last_id = cursor["filters"], cursor["last_id"]
        else:
            filters = {k: v for k, v in query.items() if k in ("updated_at_min", "status")}
            last_id = None
        rows = sorted(self.data[name], key=lambda r: r["id"], reverse=True)  # newest first
        if "updated_at_min" in filters:
            try:
                bound = _parse(filters["updated_at_min"])
            except ValueError:
                return JSONResponse({"errors": {"updated_at_min": "Invalid date"}}, status_code=400)
            rows = [r for r in rows if _parse(r["updated_at"]) >= bound]
        if last_id is not None:
            rows = [r for r in rows if r["id"] < last_id]
        page = rows[:limit]
        links = []
        if last_id is not None:
            links.append(f'<{self._page_url(request, name, limit, filters, None)}>; rel="previous"')
        if len(rows) > limit:
            links.append(f'<{self._page_url(request, name, limit, filters, page[-1]["id"])}>; rel="next"')
        headers = {"X-Shopify-Shop-Api-Call-Limit": "1/40"}
        if links:
            headers["Link"] = ", ".join(links)
        return JSONResponse({name: page}, headers=headers)

    def _page_url(
        self, request: Request, name: str, limit: int, filters: dict[str, str], last_id: int | None
    ) -> str:
        token = base64.urlsafe_b64encode(
            json.dumps({"filters": filters, "last_id": last_id}).encode()
        ).decode()
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return f"{origin}{PREFIX}/{name}.json?limit={limit}&page_info={token}"
