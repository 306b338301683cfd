"""Xero's Accounting API as a catalog definition uses it, under ``/api.xro/2.0``.

Every call names an organisation with the ``xero-tenant-id`` header and carries a Bearer token;
``GET /Organisation``, and ``GET /Invoices`` and ``/Contacts`` paged with ``page`` (from 1) and
``pageSize`` (at most 1000), with Xero's ``pagination`` object beside the list
(https://developer.xero.com/documentation/api/accounting/invoices). Errors are Xero's problem
bodies (``Title``, ``Status``, ``Detail``); a rate limit is a 429 with ``Retry-After`` and
``X-Rate-Limit-Problem``.

Creating contacts (the create_contact action) is a documented endpoint
(``tests/emulators/documented.py``): ``POST /Contacts`` with ``{"Contacts": [...]}`` answers the
created contacts in the same wrapper; a missing or already used ``Name`` is Xero's 400
``ValidationException``. The invoices list filters on ``Statuses`` and ``ContactIDs``.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tests.emulators.common import Controls, bearer_token
from tests.emulators.documented import Call, DocumentedAPI, Endpoint, Reply, bearer

TOKEN = "xero-access-token-WeirEmulator0001"
TENANT_ID = "b1a2c3d4-0000-4000-8000-00000000e001"
PREFIX = "/api.xro/2.0"
LISTS = {"Invoices": "InvoiceID", "Contacts": "ContactID"}
MAX_PAGE_SIZE = 1000
START_MS = 1_740_000_000_000


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"Type": None, "Title": title, "Status": status, "Detail": detail}, status_code=status
    )


class XeroEmulator:
    def __init__(self, invoices: int = 0, contacts: int = 0) -> None:
        self.controls = Controls(tokens={TOKEN})
        self.data: dict[str, list[dict[str, Any]]] = {"Invoices": [], "Contacts": []}
        for _ in range(contacts):
            self.add_contact()
        for _ in range(invoices):
            self.add_invoice()
        self.tenants: list[str | None] = []  # the xero-tenant-id of every call
        self.api = DocumentedAPI(
            [Endpoint("POST", "/Contacts", self.create_contacts, required=("Contacts.0",))],
            credentials=[bearer(TOKEN)],
            unauthorized=(
                401,
                {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "TokenInvalid"},
            ),
        )
        self.api.controls = self.controls
        routes = [
            *self.api.routes(),
            Route("/Organisation", self.organisation),
            Route("/{name}", self.list_resources),
        ]
        self.app = Starlette(routes=[Mount(PREFIX, routes=routes)])

    def _stamp(self, n: int) -> str:
        return f"/Date({START_MS + n * 1000}+0000)/"  # Xero's JSON dates

    def add_contact(self, **fields: Any) -> dict[str, Any]:
        n = len(self.data["Contacts"]) + 1
        contact = {
            "ContactID": str(uuid.UUID(int=n)),
            "Name": f"Customer {n}",
            "FirstName": "Customer",
            "LastName": str(n),
            "EmailAddress": f"customer{n}@example.com",
            "ContactStatus": "ACTIVE",
            "IsCustomer": True,
            "IsSupplier": False,
            "AccountNumber": None,
            "TaxNumber": None,
            "Addresses": [],
            "Phones": [],
            "UpdatedDateUTC": self._stamp(n),
        }
        contact.update(fields)
        self.data["Contacts"].append(contact)
        return contact

    def add_invoice(self, **fields: Any) -> dict[str, Any]:
        n = len(self.data["Invoices"]) + 1
        invoice = {
            "InvoiceID": str(uuid.UUID(int=10**6 + n)),
            "InvoiceNumber": f"INV-{n:04d}",
            "Type": "ACCREC",
            "Status": "AUTHORISED",
            "Contact": {"ContactID": str(uuid.UUID(int=1)), "Name": "Customer 1"},
            "Reference": None,
            "CurrencyCode": "USD",
            "SubTotal": 100.0 * n,
            "TotalTax": 0.0,
            "Total": 100.0 * n,
            "AmountDue": 100.0 * n,
            "AmountPaid": 0.0,
            "DateString": "2025-03-01T00:00:00",
            "DueDateString": "2025-03-31T00:00:00",
            "UpdatedDateUTC": self._stamp(n),
        }
        invoice.update(fields)
        self.data["Invoices"].append(invoice)
        return invoice

    def create_contacts(self, call: Call) -> Any:
        if call.headers.get("xero-tenant-id") != TENANT_ID:
            return Reply(
                403,
                {"Type": None, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"},
            )
        created = []
        for wanted in call.json["Contacts"]:
            name = wanted.get("Name")
            if not name:
                problem = "The contact name must be provided."
            elif any(c["Name"] == name for c in self.data["Contacts"]):
                problem = f"The contact name {name} is already assigned to another contact."
            else:
                problem = None
            if problem is not None:
                element = {**wanted, "ValidationErrors": [{"Message": problem}]}
                return Reply(
                    400,
                    {
                        "ErrorNumber": 10,
                        "Type": "ValidationException",
                        "Message": "A validation exception occurred",
                        "Elements": [element],
                    },
                )
            names = ("Name", "FirstName", "LastName", "EmailAddress", "AccountNumber", "TaxNumber")
            fields = {k: v for k, v in wanted.items() if k in names}
            contact = self.add_contact(**fields)
            for name in names[1:]:  # Xero leaves out what the contact does not have
                if name not in fields:
                    contact.pop(name, None)
            created.append(contact)
        return {"Id": str(uuid.uuid4()), "Status": "OK", "Contacts": created}

    def _gate(self, request: Request) -> JSONResponse | None:
        self.controls.record(request)
        self.tenants.append(request.headers.get("xero-tenant-id"))
        if bearer_token(request) not in self.controls.tokens:
            return _problem(401, "Unauthorized", "TokenInvalid: The access token is invalid")
        if request.headers.get("xero-tenant-id") != TENANT_ID:
            return _problem(403, "Forbidden", "AuthenticationUnsuccessful")
        if self.controls.rate_limited:
            self.controls.rate_limited -= 1
            return JSONResponse(
                {"Title": "Too Many Requests", "Status": 429},
                status_code=429,
                headers={
                    "Retry-After": str(self.controls.retry_after),
                    "X-Rate-Limit-Problem": "minute",
                    "X-MinLimit-Remaining": "0",
                },
            )
        return None

    async def organisation(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(
            {
                "Status": "OK",
                "Organisations": [
                    {"OrganisationID": TENANT_ID, "Name": "Demo Company (US)", "BaseCurrency": "USD"}
                ],
            }
        )

    async def list_resources(self, request: Request) -> JSONResponse:
        refused = self._gate(request)
        if refused is not None:
            return refused
        name = request.path_params["name"]
        if name not in LISTS:
            return _problem(404, "Not Found", "The resource you're looking for cannot be found")
        query = request.query_params
        page_raw, size_raw = query.get("page", "1"), query.get("pageSize", "100")
        if not page_raw.isdigit() or int(page_raw) < 1 or not size_raw.isdigit() or int(size_raw) < 1:
            return _problem(400, "Validation Error", "page and pageSize must be positive integers")
        page, size = int(page_raw), min(int(size_raw), MAX_PAGE_SIZE)
        rows = self.data[name]
        if name == "Invoices":
            for param, field in (("Statuses", "Status"), ("ContactIDs", "Contact.ContactID")):
                if query.get(param):
                    wanted = set(query[param].split(","))
                    rows = [r for r in rows if _dig(r, field) in wanted]
        count = len(rows)
        return JSONResponse(
            {
                "Status": "OK",
                "pagination": {
                    "page": page,
                    "pageSize": size,
                    "pageCount": (count + size - 1) // size,
                    "itemCount": count,
                },
                name: rows[(page - 1) * size : page * size],
            }
        )


def _dig(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value
