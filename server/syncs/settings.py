"""A sync's ELT settings: validated against the connector's JSON Schema, stored with Weir's own
reserved keys (``__weir_*``) that connectors and clients never see."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from server.errors import FieldError

RESERVED_PREFIX = "__weir_"
SALT_KEY = RESERVED_PREFIX + "hash_salt"


def connector_settings(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The settings as the connector and the client see them (reserved keys removed)."""
    return {k: v for k, v in (stored or {}).items() if not k.startswith(RESERVED_PREFIX)}


def reserved_settings(stored: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (stored or {}).items() if k.startswith(RESERVED_PREFIX)}


def settings_errors(schema: dict[str, Any], settings: Any, field: str = "input.settings") -> list[FieldError]:
    """One ``FieldError`` per failing setting, each naming its path (``input.settings.port``)."""
    if not isinstance(settings, dict):
        return [FieldError(field, "must be an object")]
    errors: list[FieldError] = []
    for key in settings:
        if key.startswith(RESERVED_PREFIX):
            errors.append(FieldError(f"{field}.{key}", "is reserved for Weir"))
    validator = Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(settings), key=lambda e: list(e.absolute_path)):
        path = ".".join([field, *(str(p) for p in error.absolute_path)])
        if error.validator == "required":
            missing = [
                name
                for name in error.validator_value
                if isinstance(error.instance, dict) and name not in error.instance
            ]
            errors.extend(FieldError(f"{path}.{name}", "is required") for name in missing)
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set((error.schema.get("properties") or {}).keys())
            errors.extend(
                FieldError(f"{path}.{name}", "is not a known setting")
                for name in error.instance
                if name not in known
            )
        else:
            errors.append(FieldError(path, error.message))
    return errors
