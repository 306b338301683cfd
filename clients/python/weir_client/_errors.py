"""``WeirError``: every failure of a Weir call, with Weir's stable code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class FieldError:
    """One failing input field of a ``VALIDATION_FAILED`` error (``input.primaryColor``)."""

    field: str
    message: str


class WeirError(Exception):
    """A call Weir refused or could not complete.

    ``code`` is Weir's stable code (``VALIDATION_FAILED``, ``NOT_FOUND``, ``CONNECTION_REQUIRED``,
    ``RATE_LIMITED``, ...; see docs/graphql.md and docs/proxy.md). ``field`` names the first
    failing field, ``fields`` all of them. An answer that is not Weir's error shape at all (a load
    balancer's page, say) is ``BAD_RESPONSE`` with its ``status``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        fields: tuple[FieldError, ...] = (),
        status: int | None = None,
        retry_after: int | None = None,
        request_id: str | None = None,
        path: tuple[str | int, ...] = (),
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.fields = fields
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        self.path = path
        self.extensions = extensions or {}

    @property
    def field(self) -> str | None:
        return self.fields[0].field if self.fields else None

    @classmethod
    def from_graphql(cls, error: dict[str, Any], *, status: int | None = None) -> WeirError:
        """From one entry of a GraphQL response's ``errors``."""
        extensions = error.get("extensions") or {}
        fields = tuple(
            FieldError(str(item.get("field", "")), str(item.get("message", "")))
            for item in extensions.get("fields") or ()
            if isinstance(item, dict)
        )
        retry_after = extensions.get("retryAfter")
        return cls(
            str(extensions.get("code") or "BAD_REQUEST"),
            str(error.get("message", "")),
            fields=fields,
            status=status,
            retry_after=retry_after if isinstance(retry_after, int) else None,
            request_id=extensions.get("requestId"),
            path=tuple(error.get("path") or ()),
            extensions=dict(extensions),
        )

    @classmethod
    def from_proxy(cls, error: dict[str, Any], *, status: int) -> WeirError:
        """From the proxy's ``{"error": {"code", "message", "field", "fields"}}``."""
        listed = error.get("fields") or (
            [{"field": error["field"], "message": error.get("message", "")}] if error.get("field") else []
        )
        fields = tuple(FieldError(str(f.get("field", "")), str(f.get("message", ""))) for f in listed)
        retry_after = error.get("retryAfter")
        return cls(
            str(error.get("code") or "BAD_RESPONSE"),
            str(error.get("message", "")),
            fields=fields,
            status=status,
            retry_after=retry_after if isinstance(retry_after, int) else None,
            request_id=error.get("requestId"),
            extensions=dict(error),
        )

    @classmethod
    def from_response(cls, response: httpx.Response) -> WeirError:
        """From an HTTP answer that failed: GraphQL ``errors``, the proxy's ``error``, or neither."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                return cls.from_graphql(errors[0], status=response.status_code)
            error = body.get("error")
            if isinstance(error, dict):
                return cls.from_proxy(error, status=response.status_code)
        return cls(
            "BAD_RESPONSE",
            f"HTTP {response.status_code}: {response.text[:200]}",
            status=response.status_code,
        )
