"""Per-connection parameters: checking what a host or an end user gives, and filling URLs.

An integration's ``ConnectorSpec.parameters_schema`` is a form (``schemas.form``) of string
properties: ``{"type": "object", "properties": {"subdomain": {"type": "string", "title": ...,
"pattern": ..., "maxLength": ..., "default": ...}}, "required": [...]}``. Values come from the
connect page, so each is held to its property's ``pattern`` (in full), or, without one, to a
host-name label: then a value can never move a URL to another host, whatever template it fills.
``server.connectors.templates`` checks the same again where a value lands.

``OAuthSpec.token_response_parameters`` name fields of a token response kept as parameters too
(Salesforce's ``instance_url``): each must be an https URL or a host-name label.

Errors name ``<field>.<name>`` and never quote a value (it may be long, or not text at all).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from server.connectors.base import ConnectorSpec, OAuthSpec
from server.connectors.templates import TemplateError, Where, render
from server.errors import FieldError, ValidationFailed
from server.validation import check_http_url

HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_LENGTH = 255
MAX_URL_LENGTH = 2000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _properties(spec: ConnectorSpec) -> dict[str, dict[str, Any]]:
    return dict((spec.parameters_schema or {}).get("properties") or {})


def _path(field: str, name: Any) -> str:
    # A name that is not an identifier is not echoed: it may be huge or hold anything.
    return f"{field}.{name}" if isinstance(name, str) and NAME.fullmatch(name) else field


def _value_error(path: str, prop: Mapping[str, Any], value: Any) -> FieldError | None:
    if not isinstance(value, str):
        return FieldError(path, "must be a string")
    max_length = min(int(prop.get("maxLength") or MAX_LENGTH), MAX_LENGTH)
    if len(value) > max_length:
        return FieldError(path, f"must be at most {max_length} characters")
    if _CONTROL.search(value):
        return FieldError(path, "must not contain control characters")
    pattern = prop.get("pattern")
    if pattern is None:
        if not HOST_LABEL.fullmatch(value):
            return FieldError(
                path, "must be a host-name label: lower-case letters, digits and hyphens (at most 63)"
            )
        return None
    try:
        matched = re.fullmatch(pattern, value)
    except re.error:
        return FieldError(path, "cannot be checked: the integration's pattern is not valid")
    if not matched:
        examples = prop.get("examples") or []
        like = f" (like {str(examples[0])[:40]})" if examples else ""
        return FieldError(path, f"must match {str(pattern)[:100]}{like}")
    return None


def _token_value_error(path: str, value: Any) -> FieldError | None:
    """A token-response parameter: an https URL (no user info) or a host-name label."""
    if not isinstance(value, str):
        return FieldError(path, "must be a string")
    if HOST_LABEL.fullmatch(value):
        return None
    if len(value) > MAX_URL_LENGTH:
        return FieldError(path, f"must be at most {MAX_URL_LENGTH} characters")
    if check_http_url(path, value) is not None:
        return FieldError(path, "must be an https URL or a host-name label")
    parts = urlsplit(value)
    if parts.scheme != "https" or "@" in parts.netloc or parts.query or parts.fragment:
        return FieldError(path, "must be an https URL (no user, query or fragment) or a host-name label")
    return None


def parameter_errors(
    spec: ConnectorSpec, values: Any, *, field: str = "input.parameters", partial: bool = False
) -> list[FieldError]:
    """What is wrong with ``values`` as parameters of ``spec``; ``partial`` skips ``required``
    (a host presetting some of them, the end user typing the rest)."""
    if not isinstance(values, dict):
        return [FieldError(field, "must be an object of parameter names to values")]
    properties = _properties(spec)
    token_names = set(spec.oauth.token_response_parameters if spec.oauth else ())
    problems: list[FieldError] = []
    for name, value in values.items():
        path = _path(field, name)
        if name in properties:
            problem = _value_error(path, properties[name], value)
        elif name in token_names:
            problem = _token_value_error(path, value)
        elif properties or token_names:
            problem = FieldError(path, f"is not a parameter of {spec.display_name}")
        else:
            problem = FieldError(field, f"{spec.display_name} takes no parameters")
        if problem is not None:
            problems.append(problem)
    if not partial:
        required = (spec.parameters_schema or {}).get("required") or ()
        for name in required:
            if values.get(name) in (None, "") and properties.get(name, {}).get("default") is None:
                problems.append(FieldError(f"{field}.{name}", "is required"))
    # One error per path is enough, and a non-object names the whole field only once.
    return list({problem.field: problem for problem in problems}.values())


def check_parameters(
    spec: ConnectorSpec, values: Any, *, field: str = "input.parameters", partial: bool = False
) -> dict[str, str]:
    """``values`` checked (``VALIDATION_FAILED`` naming each bad one), with defaults filled
    for what was not given unless ``partial``; ``None`` is no parameters."""
    if values is None:
        values = {}
    problems = parameter_errors(spec, values, field=field, partial=partial)
    if problems:
        raise ValidationFailed(problems)
    checked = {name: value for name, value in values.items() if value != ""}
    if not partial:
        for name, prop in _properties(spec).items():
            if name not in checked and isinstance(prop.get("default"), str) and prop["default"]:
                checked[name] = prop["default"]
    return checked


def merge_parameters(
    spec: ConnectorSpec, presets: Mapping[str, Any], given: Any, *, field: str = "input.parameters"
) -> dict[str, str]:
    """The host's ``presets`` with what the end user ``given`` on the page, all checked.

    A preset wins and may not be changed: giving it again with another value is refused."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ValidationFailed.field(field, "must be an object of parameter names to values")
    changed = [
        FieldError(_path(field, name), "is set by the app and cannot be changed")
        for name, value in given.items()
        if name in presets and value != presets[name]
    ]
    if changed:
        raise ValidationFailed(changed)
    return check_parameters(spec, {**given, **presets}, field=field)


def token_parameters(oauth: OAuthSpec, token: Mapping[str, Any]) -> dict[str, str]:
    """The token response's fields named by ``token_response_parameters``, checked.

    Raises ``ValidationFailed`` naming ``token.<name>`` when one is missing or not allowed."""
    found: dict[str, str] = {}
    problems: list[FieldError] = []
    for name in oauth.token_response_parameters:
        path = f"token.{name}"
        value = token.get(name)
        if value in (None, ""):
            problems.append(FieldError(path, "is missing from the token response"))
            continue
        problem = _token_value_error(path, value)
        if problem is not None:
            problems.append(problem)
        else:
            found[name] = value
    if problems:
        raise ValidationFailed(problems)
    return found


def fill_url(template: str, parameters: Mapping[str, Any], *, field: str = "input.parameters") -> str:
    """``template`` (an OAuth or API URL) with its ``{placeholders}`` filled from ``parameters``;
    ``VALIDATION_FAILED`` naming ``<field>.<name>`` when one is missing or not allowed there."""
    try:
        return render(template, parameters, Where.URL)
    except TemplateError as exc:
        message = str(exc).split("} ", 1)[-1]
        raise ValidationFailed.field(f"{field}.{exc.name}", message) from None
