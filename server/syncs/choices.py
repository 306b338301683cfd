"""What a client asks a sync to copy, and the checks of it that need no database: the streams
(name, mode, columns to leave out or hash) and the destination schema name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from server.errors import FieldError

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESERVED_SCHEMAS = {"information_schema", "public", "pg_catalog", "pg_toast"}
# How a sync sees rows deleted at the source: not at all; from the provider's delete markers and
# full refreshes; and besides, from a primary-key reconciliation pass on its own schedule.
DELETE_DETECTIONS = ("OFF", "MARKERS", "RECONCILE")


@dataclass
class StreamChoice:
    """A stream to copy: its name, mode, and columns to leave out or hash."""

    name: str
    sync_mode: str
    excluded_columns: list[str] = field(default_factory=list)
    hashed_columns: list[str] = field(default_factory=list)


def schema_name_error(field_name: str, name: str) -> FieldError | None:
    if not _IDENTIFIER.match(name) or "__" in name or name in _RESERVED_SCHEMAS or name.startswith("pg_"):
        return FieldError(
            field_name,
            f"{name!r} is not a usable schema name: lower-case "
            "letters, digits and single underscores, at most 63, "
            "not starting with a digit or pg_",
        )
    return None


def stream_errors(
    connector: Any, offered: dict[str, Any], choices: list[StreamChoice], prefix: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, choice in enumerate(choices):
        path = f"{prefix}.{index}"
        spec = offered.get(choice.name)
        if spec is None:
            errors.append(
                FieldError(
                    f"{path}.name",
                    f"unknown stream {choice.name!r}; {connector.SPEC.name} offers {', '.join(offered)}",
                )
            )
            continue
        if choice.name in seen:
            errors.append(FieldError(f"{path}.name", f"stream {choice.name!r} is listed twice"))
        seen.add(choice.name)
        if choice.sync_mode not in spec.sync_modes:
            errors.append(
                FieldError(
                    f"{path}.syncMode",
                    f"stream {choice.name!r} supports "
                    f"{' and '.join(spec.sync_modes)}, not {choice.sync_mode}",
                )
            )
        known = set((spec.record_schema.get("properties") or {}).keys())
        for label, columns in (
            ("excludedColumns", choice.excluded_columns),
            ("hashedColumns", choice.hashed_columns),
        ):
            for position, column in enumerate(columns):
                if known and column not in known:
                    errors.append(
                        FieldError(
                            f"{path}.{label}.{position}", f"stream {choice.name!r} has no column {column!r}"
                        )
                    )
                elif label == "excludedColumns" and column in spec.primary_key:
                    errors.append(
                        FieldError(
                            f"{path}.{label}.{position}", f"{column!r} is the primary key; it must be loaded"
                        )
                    )
        for column in set(choice.excluded_columns) & set(choice.hashed_columns):
            errors.append(
                FieldError(f"{path}.hashedColumns", f"{column!r} cannot be both excluded and hashed")
            )
    return errors
