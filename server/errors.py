"""The errors a client can act on, each with a stable code.

    WeirError                      (code)
    ├── Unauthenticated            UNAUTHENTICATED     no key, a wrong key, a revoked key
    ├── Forbidden                  FORBIDDEN           the key may not do this
    ├── NotFound                   NOT_FOUND           absent, or another organization's
    ├── ValidationFailed           VALIDATION_FAILED   carries one FieldError per bad field
    ├── Conflict                   CONFLICT            unique value already taken, wrong state
    ├── ConnectionRequired         CONNECTION_REQUIRED resolution found no connection
    ├── RateLimited                RATE_LIMITED
    ├── CheckFailed                CHECK_FAILED        a provider refused the credentials
    ├── ProviderFailed             PROVIDER_ERROR      an action's or proxied call's provider said no
    ├── ProviderUnavailable        PROVIDER_UNREACHABLE  nothing answered (or the outbound guard)
    ├── ReauthorizationRequired    REAUTHORIZATION_REQUIRED  refused after a refresh: reconnect
    ├── PayloadTooLarge            PAYLOAD_TOO_LARGE   a request body over its limit (the proxy's)
    ├── ResponseTooLarge           RESPONSE_TOO_LARGE  a provider's answer over the proxy's limit
    └── Unavailable                UNAVAILABLE         Weir's database did not answer: retry shortly

Services raise these; ``server/api/errors.py`` alone turns them into ``extensions.code``.
Anything that is not a ``WeirError`` is reported to clients as ``INTERNAL``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One failing input field: a dotted path (``input.primaryColor``) and what is wrong."""

    field: str
    message: str


class WeirError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, object]:
        return {"code": self.code}


class Unauthenticated(WeirError):
    code = "UNAUTHENTICATED"


class Forbidden(WeirError):
    code = "FORBIDDEN"


class NotFound(WeirError):
    code = "NOT_FOUND"

    def __init__(self, kind: str, identifier: str | None = None) -> None:
        shown = f" {identifier!r}" if identifier else ""
        super().__init__(f"{kind}{shown} not found")
        self.kind = kind


class ValidationFailed(WeirError):
    code = "VALIDATION_FAILED"

    def __init__(self, errors: list[FieldError] | FieldError, message: str | None = None) -> None:
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        first = self.errors[0] if self.errors else None
        summary = f"{first.field}: {first.message}" if first else "invalid input"
        if len(self.errors) > 1:
            summary += f" (and {len(self.errors) - 1} more)"
        super().__init__(message or summary)

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(FieldError(field, message))

    def extensions(self) -> dict[str, object]:
        return {
            "code": self.code,
            "fields": [{"field": e.field, "message": e.message} for e in self.errors],
        }


class Conflict(WeirError):
    code = "CONFLICT"


class ConnectionRequired(WeirError):
    code = "CONNECTION_REQUIRED"


class RateLimited(WeirError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # whole seconds until a retry can succeed

    def extensions(self) -> dict[str, object]:
        if self.retry_after is None:
            return {"code": self.code}
        return {"code": self.code, "retryAfter": self.retry_after}


class CheckFailed(WeirError):
    code = "CHECK_FAILED"

    def __init__(self, message: str, *, reachable: bool = True) -> None:
        super().__init__(message)
        # False when nothing answered (network, DNS, timeout, the outbound guard): an end user
        # is then told only that Weir could not connect.
        self.reachable = reachable


class ProviderFailed(WeirError):
    """The provider refused or failed an action or proxied call; ``provider_status`` is its
    HTTP status (None when it answered 2xx with an error body)."""

    code = "PROVIDER_ERROR"

    def __init__(self, message: str, *, provider_status: int | None = None) -> None:
        super().__init__(message)
        self.provider_status = provider_status

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "providerStatus": self.provider_status}


class ProviderUnavailable(WeirError):
    """Nothing answered: network, timeout, or an address the outbound guard refuses."""

    code = "PROVIDER_UNREACHABLE"


class ReauthorizationRequired(WeirError):
    """The provider refused the credentials even after a refresh: the connection is now in
    ERROR and must be connected again."""

    code = "REAUTHORIZATION_REQUIRED"


class PayloadTooLarge(WeirError):
    """A request body larger than Weir accepts (``WEIR_PROXY_MAX_REQUEST_BYTES``)."""

    code = "PAYLOAD_TOO_LARGE"


class ResponseTooLarge(WeirError):
    """A provider's answer larger than the proxy passes on (``WEIR_PROXY_MAX_RESPONSE_BYTES``)."""

    code = "RESPONSE_TOO_LARGE"


class Unavailable(WeirError):
    """Weir's own database did not answer (down, restarting, or locked past the busy timeout):
    nothing was wrong with the request, and the same request succeeds once it is back."""

    code = "UNAVAILABLE"

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id

    def extensions(self) -> dict[str, object]:
        if self.request_id is None:
            return {"code": self.code}
        return {"code": self.code, "requestId": self.request_id}


def database_unavailable(request_id: str | None) -> Unavailable:
    """The error a client gets when the database is unavailable, with the request's id."""
    shown = f" (request id {request_id})" if request_id else ""
    return Unavailable(
        f"Weir's database is not answering; try again in a few seconds{shown}", request_id=request_id
    )
