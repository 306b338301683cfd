"""The one place that turns exceptions into GraphQL errors with a stable ``extensions.code``.

A ``WeirError`` keeps its message and code (``VALIDATION_FAILED`` also lists its fields).
GraphQL's own errors (syntax, unknown field, bad variable) are ``BAD_REQUEST``. Anything else is
``INTERNAL``: the client sees only a request id, and the log gets the exception; but when the
database did not answer (``server.db.is_unavailable``) it is ``UNAVAILABLE``, with the request id:
the client retries.
"""

from __future__ import annotations

import logging
import re

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from server.db import is_unavailable
from server.errors import WeirError, database_unavailable
from server.logs import request_id_var

log = logging.getLogger("weir.api")

# graphql-core's ``did_you_mean`` text: " Did you mean [sub message ]'A', 'B', or 'C'?". It is
# added by validation rules and by variable and enum coercion during execution; graphql-core's
# ``hide_suggestions`` reaches only the first through Strawberry, so it is removed here, once.
_SUGGESTION = re.compile(r" Did you mean (?:[a-z][a-z ]*? )?'[^']*'(?:, '[^']*')*(?:,? or '[^']*')?\?")


def without_suggestions(message: str) -> str:
    """``message`` without graphql-core's "Did you mean ...?" hints."""
    return _SUGGESTION.sub("", message)


def to_client_error(error: GraphQLError, *, hide_suggestions: bool = False) -> GraphQLError:
    original = error.original_error
    # Strawberry wraps resolver exceptions; unwrap nested GraphQLErrors to the real cause.
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, WeirError):
        message, extensions = original.message, original.extensions()
    elif original is None or isinstance(original, GraphQLError):
        message = without_suggestions(error.message) if hide_suggestions else error.message
        extensions = dict(error.extensions or {})
        extensions.setdefault("code", "BAD_REQUEST")
    elif is_unavailable(original):
        # The database is down or restarting: the client retries; a warning, not a bug report.
        request_id = request_id_var.get()
        log.warning(
            "database unavailable in %s (%s, request id %s)",
            ".".join(map(str, error.path or [])) or "operation",
            type(original).__name__,
            request_id,
            extra={"request_id": request_id},
        )
        unavailable = database_unavailable(request_id)
        message, extensions = unavailable.message, unavailable.extensions()
    else:
        request_id = request_id_var.get()
        log.error(
            "unexpected error in %s",
            ".".join(map(str, error.path or [])) or "operation",
            exc_info=(type(original), original, original.__traceback__),
            extra={"request_id": request_id},
        )
        message = f"Internal error (request id {request_id})"
        extensions = {"code": "INTERNAL", "requestId": request_id}
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def code_of(error: GraphQLError) -> str:
    """The stable code ``error`` has or will have for the client (without logging anything)."""
    if error.extensions and isinstance(error.extensions.get("code"), str):
        return str(error.extensions["code"])
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, WeirError):
        return original.code
    if original is None or isinstance(original, GraphQLError):
        return "BAD_REQUEST"
    return "UNAVAILABLE" if is_unavailable(original) else "INTERNAL"


class WeirErrorFormatter(MaskErrors):
    """Applies ``to_client_error`` to every error of every result, streamed ones included;
    with ``hide_suggestions`` (introspection off) GraphQL's own errors lose their hints."""

    def __init__(self, *, hide_suggestions: bool = False) -> None:
        super().__init__()
        self.hide_suggestions = hide_suggestions

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [to_client_error(error, hide_suggestions=self.hide_suggestions) for error in errors]

    def _process_result(self, result: object) -> None:
        # MaskErrors checks ``errors`` with an isinstance of a runtime Protocol, which costs
        # more than the rest of this extension on a request without errors.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]
