"""What ``executeAction`` accepts, checked before anything is looked up or sent.

The input is a JSON object of at most ``MAX_INPUT_BYTES`` serialized and ``MAX_INPUT_DEPTH``
levels, with finite numbers only (``json.loads`` takes ``NaN``, which no provider's JSON does).
Then it must satisfy the action's ``input_schema`` (JSON Schema draft 2020-12); every problem
is one ``FieldError`` at ``input.input.<path>``, and no message quotes a submitted value: an
action's input is a customer's data.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from server.connectors.base import ActionInputError, ActionSpec
from server.errors import Conflict, FieldError, ValidationFailed
from server.validation import check_text, control_character_error, describe_schema_error

INPUT_FIELD = "input.input"
MAX_INPUT_BYTES = 256 * 1024
MAX_INPUT_DEPTH = 32
# More problems than this are not listed: a client fixing its input needs the first ones, and
# a hostile input with thousands of bad items must not make a response of thousands of errors.
MAX_REPORTED_PROBLEMS = 50
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def _walk_problem(value: Any) -> FieldError | None:
    """The first structural problem of ``value`` (depth, a non-finite number), iteratively:
    a deep input must not hit Python's recursion limit before the depth rule names it."""
    pending: list[tuple[Any, list[str], int]] = [(value, [], 1)]
    while pending:
        item, where, depth = pending.pop()
        if depth > MAX_INPUT_DEPTH:
            return FieldError(INPUT_FIELD, f"must be nested at most {MAX_INPUT_DEPTH} levels deep")
        if isinstance(item, float) and not math.isfinite(item):
            return FieldError(_path(where), "must be a finite number")
        if isinstance(item, dict):
            pending.extend((child, [*where, str(key)], depth + 1) for key, child in item.items())
        elif isinstance(item, list):
            pending.extend((child, [*where, str(index)], depth + 1) for index, child in enumerate(item))
    return None


def _path(parts: list[Any]) -> str:
    return ".".join([INPUT_FIELD, *(str(part) for part in parts)])


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value: sorted keys, no spaces, ASCII only (for fingerprints)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def check_shape(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object within the size and depth limits, else
    ``VALIDATION_FAILED`` on ``input.input``."""
    if not isinstance(value, dict):
        raise ValidationFailed.field(INPUT_FIELD, "must be a JSON object")
    problem = _walk_problem(value)
    if problem is not None:
        raise ValidationFailed(problem)
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise ValidationFailed.field(INPUT_FIELD, f"must be at most {MAX_INPUT_BYTES} bytes as JSON")
    return value


@functools.lru_cache(maxsize=512)
def _validator(schema_text: str) -> Draft202012Validator:
    """A checked validator per distinct schema (by its canonical text): checking a schema
    against the meta-schema costs more than most inputs do."""
    schema = json.loads(schema_text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_against_schema(action: ActionSpec, value: dict[str, Any]) -> None:
    """``VALIDATION_FAILED`` with one error per way ``value`` fails the action's input schema."""
    try:
        validator = _validator(canonical_json(action.input_schema))
    except SchemaError:
        # Catalog schemas are checked when the catalog loads; a custom integration's, when it is
        # registered. Only a definition stored before an upgrade could get here.
        raise Conflict(f"the input schema of action {action.name!r} is not valid JSON Schema") from None
    problems: set[tuple[str, str]] = set()
    for error in validator.iter_errors(value):
        described = describe_schema_error(
            error, unknown_field="is not an input of this action", schema_name="the action's input schema"
        )
        problems.update((_path(where), message) for where, message in described)
    if problems:
        ordered = sorted(problems)
        errors = [FieldError(path, message) for path, message in ordered[:MAX_REPORTED_PROBLEMS]]
        raise ValidationFailed(errors)


def input_error(exc: ActionInputError) -> ValidationFailed:
    """An action's own refusal of an input that passed its schema, at the same kind of path."""
    parts = [part for part in exc.path.split(".") if part] if exc.path else []
    return ValidationFailed.field(_path(parts), exc.message)


def check_idempotency_key(key: str | None) -> None:
    if key is None:
        return
    field = "input.idempotencyKey"
    problem = check_text(field, key, max_length=MAX_IDEMPOTENCY_KEY_LENGTH) or control_character_error(
        field, key
    )
    if problem is not None:
        raise ValidationFailed(problem)
