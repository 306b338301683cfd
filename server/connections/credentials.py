"""Credential dicts: their shape per auth type, validation, masking, and scrubbing.

The shared shapes (what ``load_credentials`` returns and connectors receive)::

    SECRET_TEXT               {"secret_text": ...}
    BASIC_AUTH                {"username": ..., "password": ..., **other auth-field props}
    CUSTOM_AUTH               {**props}
    OAUTH2 / PLATFORM_OAUTH2  {"access_token", "refresh_token", "expires_at", "token_type", "scope"}
    NONE                      {}

Validation messages never quote a submitted value: a value may be the secret itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator

from server.connectors.base import ConnectorSpec
from server.errors import FieldError, ValidationFailed
from server.validation import control_character_error, describe_schema_error

OAUTH_TYPES = ("OAUTH2", "PLATFORM_OAUTH2")
MASK = "****"
MASK_MIN_LENGTH = 12
MAX_SECRET_LENGTH = 16_384
# Auth-field names that hold secrets even when the schema does not say so.
SECRET_NAMES = ("password", "secret", "token", "api_key", "apikey", "private_key", "key")


def mask(secret: str) -> str:
    """``sk-live-abc123`` -> ``sk-...c123``: never more than 7 characters of a long secret."""
    if len(secret) < MASK_MIN_LENGTH:
        return MASK
    return f"{secret[:3]}...{secret[-4:]}"


def supported_auth_types(spec: ConnectorSpec) -> tuple[str, ...]:
    """What ``createConnection`` accepts: the spec's types, and imported tokens for OAuth ones."""
    types = list(spec.auth_types)
    if any(kind in OAUTH_TYPES for kind in types):
        types += [kind for kind in OAUTH_TYPES if kind not in types]
    return tuple(types)


def is_secret_field(name: str, schema: dict[str, Any] | None) -> bool:
    """A field is secret when its schema says so or its name looks like one."""
    schema = schema or {}
    if schema.get("writeOnly") or schema.get("format") == "password":
        return True
    if schema.get("airbyte_secret") or schema.get("x-secret"):
        return True
    lowered = name.lower()
    return any(part == lowered or lowered.endswith("_" + part) for part in SECRET_NAMES)


def secret_values(
    auth_type: str, credentials: dict[str, Any], spec: ConnectorSpec | None = None
) -> list[str]:
    """Every secret string in ``credentials`` (to scrub from provider messages)."""
    properties = ((spec.auth_fields_schema or {}).get("properties") or {}) if spec else {}
    found: list[str] = []
    for name, value in credentials.items():
        if not isinstance(value, str) or not value:
            continue
        if name in ("secret_text", "access_token", "refresh_token", "password") or is_secret_field(
            name, properties.get(name)
        ):
            found.append(value)
    return found


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``****`` (providers sometimes echo what they got)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


def preview(auth_type: str, credentials: dict[str, Any], spec: ConnectorSpec | None) -> str | None:
    """The masked text shown instead of the credential, computed once when it is written."""
    if auth_type == "SECRET_TEXT":
        return mask(str(credentials.get("secret_text") or ""))
    if auth_type in OAUTH_TYPES:
        return mask(str(credentials.get("access_token") or ""))
    if auth_type == "BASIC_AUTH":
        # A password shows nothing at all: 7 of 12 characters would be most of it.
        username = str(credentials.get("username") or "")
        return f"{username[:40]}:{MASK}" if username else MASK
    if auth_type == "CUSTOM_AUTH":
        properties = ((spec.auth_fields_schema or {}).get("properties") or {}) if spec else {}
        for name, value in credentials.items():
            schema = properties.get(name) or {}
            # Keys and tokens get the usual mask; passwords show nothing, like BASIC_AUTH.
            password = "password" in name.lower() or schema.get("format") == "password"
            if isinstance(value, str) and is_secret_field(name, schema) and not password:
                return mask(value)
        return MASK
    return None


# -- validation -----------------------------------------------------------------------------


def _path_of(parts: Iterable[Any], auth_type: str, prefix: str) -> str:
    parts = [str(part) for part in parts]
    if auth_type == "BASIC_AUTH" and parts and parts[0] in ("username", "password"):
        return ".".join([prefix, *parts])
    return ".".join([prefix, "props", *parts])


def validate_fields(
    spec: ConnectorSpec, auth_type: str, values: dict[str, Any], prefix: str = "input"
) -> list[FieldError]:
    """Every way ``values`` fails the integration's auth-field schema, one error per field."""
    schema = spec.auth_fields_schema
    if not schema:
        return []
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems: dict[str, str] = {}
    for error in validator.iter_errors(values):
        described = describe_schema_error(
            error, unknown_field="is not a field of this integration", schema_name="the auth-field schema"
        )
        for where, message in described:
            problems.setdefault(_path_of(where, auth_type, prefix), message)
    return [FieldError(path, message) for path, message in sorted(problems.items())]


def _expires_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def normalize(
    spec: ConnectorSpec, auth_type: str, credentials: dict[str, Any], prefix: str = "input"
) -> dict[str, Any]:
    """The credential dict of ``auth_type`` checked and in its shared shape, or ``ValidationFailed``
    naming every bad field."""
    problems: list[FieldError] = []

    def text(name: str, path: str, required: bool = True, header: bool = False) -> str | None:
        value = credentials.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                problems.append(FieldError(path, "is required"))
            return None
        if not isinstance(value, str):
            problems.append(FieldError(path, "must be a string"))
            return None
        if len(value) > MAX_SECRET_LENGTH:
            problems.append(FieldError(path, f"must be at most {MAX_SECRET_LENGTH} characters"))
        if header:
            # Sent as an Authorization header: a CR or LF would split it (and httpx would
            # refuse it only at call time, as an internal error).
            problem = control_character_error(path, value)
            if problem:
                problems.append(problem)
        return value

    if auth_type == "NONE":
        return {}
    if auth_type == "SECRET_TEXT":
        result: dict[str, Any] = {"secret_text": text("secret_text", f"{prefix}.secretText", header=True)}
    elif auth_type in OAUTH_TYPES:
        result = {
            "access_token": text("access_token", f"{prefix}.accessToken", header=True),
            "refresh_token": text("refresh_token", f"{prefix}.refreshToken", required=False, header=True),
            "expires_at": _expires_text(credentials.get("expires_at")),
            "token_type": credentials.get("token_type") or "Bearer",
            "scope": credentials.get("scope"),
        }
    elif auth_type == "BASIC_AUTH":
        result = dict(credentials)
        result["username"] = text("username", f"{prefix}.username")
        result["password"] = text("password", f"{prefix}.password")
        if not problems:
            problems += validate_fields(spec, auth_type, result, prefix)
    elif auth_type == "CUSTOM_AUTH":
        result = dict(credentials)
        if not spec.auth_fields_schema and not result:
            problems.append(FieldError(f"{prefix}.props", "is required"))
        problems += validate_fields(spec, auth_type, result, prefix)
    else:
        problems.append(FieldError(f"{prefix}.authType", f"unknown auth type {auth_type!r}"))
        result = {}
    if problems:
        raise ValidationFailed(problems)
    return result


# Which createConnection input fields each auth type reads (GraphQL names).
INPUT_FIELDS = {
    "NONE": (),
    "SECRET_TEXT": ("secretText",),
    "BASIC_AUTH": ("username", "password", "props"),
    "CUSTOM_AUTH": ("props",),
    "OAUTH2": ("accessToken", "refreshToken", "expiresAt"),
    "PLATFORM_OAUTH2": ("accessToken", "refreshToken", "expiresAt"),
}


def from_input(auth_type: str, given: dict[str, Any], prefix: str = "input") -> dict[str, Any]:
    """The credential dict from createConnection's fields (GraphQL names, None when absent).

    A field the auth type does not read is an error rather than silently dropped, so a client
    that sends ``secretText`` with ``CUSTOM_AUTH`` learns why its secret was not stored.
    """
    used = INPUT_FIELDS.get(auth_type, ())
    problems = [
        FieldError(f"{prefix}.{name}", f"is not used by {auth_type}")
        for name, value in given.items()
        if value is not None and name not in used
    ]
    props = given.get("props")
    if props is not None and not isinstance(props, dict):
        problems.append(FieldError(f"{prefix}.props", "must be a JSON object"))
    if problems:
        raise ValidationFailed(problems)
    if auth_type == "SECRET_TEXT":
        return {"secret_text": given.get("secretText")}
    if auth_type == "BASIC_AUTH":
        return {**(props or {}), "username": given.get("username"), "password": given.get("password")}
    if auth_type == "CUSTOM_AUTH":
        return dict(props or {})
    if auth_type in OAUTH_TYPES:
        return {
            "access_token": given.get("accessToken"),
            "refresh_token": given.get("refreshToken"),
            "expires_at": given.get("expiresAt"),
        }
    return {}


def granted_scopes(auth_type: str, values: dict[str, Any]) -> list[str] | None:
    """The scopes an OAuth grant holds, from its token response's ``scope`` (space- or
    comma-separated, as providers differ); None when unknown (no ``scope`` was sent)."""
    if auth_type not in OAUTH_TYPES:
        return None
    scope = values.get("scope")
    if isinstance(scope, (list, tuple)):
        names = [str(name) for name in scope]
    elif isinstance(scope, str) and scope.strip():
        names = scope.replace(",", " ").split()
    else:
        return None
    return sorted(set(names))
