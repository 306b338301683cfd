"""Checks for values a client sends (origins, colors, URLs), each naming the failing field."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from jsonschema.exceptions import ValidationError

from server.errors import FieldError, ValidationFailed

_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
# C0 controls, DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _valid_host(host: str) -> bool:
    """A DNS name or an IP address (``urlsplit`` strips an IPv6 address's brackets)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOST_NAME.match(host))


def check_color(field: str, value: str) -> FieldError | None:
    if not _HEX_COLOR.match(value):
        return FieldError(field, f"{value!r} is not a hex color like #1a2b3c")
    return None


def normalize_color(value: str) -> str:
    """``#AbC`` -> ``#aabbcc``: one spelling per color, so comparisons and CSS agree."""
    value = value.lower()
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return value


def check_http_url(field: str, value: str) -> FieldError | None:
    problem = control_character_error(field, value)
    if problem:
        return problem
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises on a bad port
    except ValueError:
        return FieldError(field, f"{value!r} is not a valid URL")
    if parts.scheme not in ("http", "https"):
        return FieldError(field, f"{value!r} must be an http or https URL")
    if not parts.hostname or not _valid_host(parts.hostname):
        return FieldError(field, f"{value!r} has no valid host")
    if len(value) > 2000:
        return FieldError(field, "must be at most 2000 characters")
    return None


def check_origin(field: str, value: str) -> FieldError | None:
    """An origin is exactly ``scheme://host[:port]``: no path, query, fragment or credentials."""
    problem = check_http_url(field, value)
    if problem:
        return (
            problem
            if control_character_error(field, value)
            else FieldError(field, f"{value!r} is not an origin like https://app.example.com")
        )
    parts = urlsplit(value)
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return FieldError(field, f"{value!r} is not an origin: use scheme://host[:port] only")
    return None


def check_redirect_uri(field: str, value: str) -> FieldError | None:
    problem = check_http_url(field, value)
    if problem:
        return problem
    if urlsplit(value).fragment:
        return FieldError(field, f"{value!r} must not contain a fragment")
    return None


def control_character_error(field: str, value: str) -> FieldError | None:
    """A C0 or C1 control character or DEL (CR, LF, TAB, NUL...) has no place in a URL, an
    origin or a name: in a response header it splits the header, and ``urlsplit`` silently drops
    tabs and newlines, so a check of the parsed URL alone would pass the raw value through."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    return FieldError(
        field, f"must not contain control characters (U+{ord(found.group()):04X} at position {found.start()})"
    )


def check_plain_text(field: str, value: str, *, max_length: int, required: bool = True) -> FieldError | None:
    """``check_text`` that also refuses control characters (a name shown on pages and lists)."""
    return check_text(field, value, max_length=max_length, required=required) or (
        control_character_error(field, value)
    )


def check_text(field: str, value: str, *, max_length: int, required: bool = True) -> FieldError | None:
    if required and not value.strip():
        return FieldError(field, "must not be empty")
    if len(value) > max_length:
        return FieldError(field, f"must be at most {max_length} characters")
    return None


def refuse_over_long_lookups(lookups: dict[str, tuple[str | None, int]]) -> None:
    """``VALIDATION_FAILED`` naming each looked-up value (field -> (value, column length)) that
    is longer than its column: Tortoise checks a CharField's length even in a filter, raising
    where SQL would simply match nothing."""
    problems = [
        problem
        for field, (value, max_length) in lookups.items()
        if value is not None and (problem := check_text(field, value, max_length=max_length, required=False))
    ]
    if problems:
        raise ValidationFailed(problems)


def describe_schema_error(
    error: ValidationError,
    *,
    unknown_field: str = "is not a known field",
    schema_name: str = "the schema",
) -> list[tuple[list[Any], str]]:
    """(path relative to the checked value, message) for one JSON Schema error, never quoting the
    submitted value: it may be a secret (credentials) or a customer's data (an action's input).
    Only the schema's own words (an enum, a pattern, a limit) appear in messages."""
    where = list(error.absolute_path)
    # jsonschema types these as possibly unset; for an error from ``iter_errors`` they are set.
    value: Any = error.validator_value
    kind: Any = error.validator
    instance: Any = error.instance
    schema: Any = error.schema
    if kind == "required" and isinstance(instance, dict):
        return [(where + [name], "is required") for name in value if name not in instance]
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = set((schema.get("properties") or {}).keys())
        patterns = list((schema.get("patternProperties") or {}).keys())
        return [
            (where + [name], unknown_field)
            for name in instance
            if name not in known and not any(re.search(pattern, name) for pattern in patterns)
        ]
    if kind == "dependentRequired" and isinstance(instance, dict) and isinstance(value, dict):
        return [
            (where + [needed], f"is required with {name}")
            for name, needs in value.items()
            if name in instance
            for needed in needs
            if needed not in instance
        ]
    messages = {
        "type": lambda: "must be of type " + (value if isinstance(value, str) else " or ".join(value)),
        "enum": lambda: f"must be one of {', '.join(map(str, value))}",
        "const": lambda: f"must be {value!r}",
        "minLength": lambda: f"must be at least {value} characters",
        "maxLength": lambda: f"must be at most {value} characters",
        "minimum": lambda: f"must be at least {value}",
        "maximum": lambda: f"must be at most {value}",
        "exclusiveMinimum": lambda: f"must be more than {value}",
        "exclusiveMaximum": lambda: f"must be less than {value}",
        "multipleOf": lambda: f"must be a multiple of {value}",
        "pattern": lambda: f"must match the pattern {value}",
        "format": lambda: f"must be a valid {value}",
        "minItems": lambda: f"must have at least {value} items",
        "maxItems": lambda: f"must have at most {value} items",
        "uniqueItems": lambda: "must not repeat an item",
        "minProperties": lambda: f"must have at least {value} fields",
        "maxProperties": lambda: f"must have at most {value} fields",
        "oneOf": lambda: "must match exactly one of the allowed shapes",
        "anyOf": lambda: "must match one of the allowed shapes",
        "not": lambda: "is not allowed here",
        "contains": lambda: "does not contain a required item",
        "propertyNames": lambda: "has a field whose name is not allowed",
    }
    message = messages.get(kind, lambda: f"does not satisfy '{kind}' of {schema_name}")()
    return [(where, message)]


def assume_utc(moment: datetime | None) -> datetime | None:
    """A date-time filter given without a zone is taken as UTC, the zone every stored time is in."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
