"""Connector definitions (``connector.schema.json``): checked, then turned into a connector.

``parse_definition`` first validates the data against the JSON Schema, then checks what a schema
cannot say: that every ``{placeholder}`` names something the definition declares and that may go
where it is used, that stream names are unique, that primary keys and cursors are record fields,
that parameter patterns compile. Every problem is reported at once, each with the dotted path of
the field it is about (``streams.0.pagination.type``), so an API can answer ``VALIDATION_FAILED``
naming it. Messages name fields and placeholders, never repeat a submitted value.

The result is a ``DeclarativeConnector`` (``server/connectors/declarative.py``), which the
registry, syncs and checks use like a Python connector module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from server.connectors import templates
from server.connectors.base import ActionSpec, ConnectorSpec, DeleteMarker, OAuthSpec, StreamSpec
from server.connectors.declarative import (
    DEFAULT_PARAMETER_PATTERN,
    IDEMPOTENCY_KEY,
    MAX_PARAMETER,
    WHOLE_INPUT,
    DeclarativeConnector,
    credential_names,
)
from server.connectors.patterns import pattern_problems
from server.connectors.schemas import form, secret

SCHEMA_PATH = Path(__file__).with_name("connector.schema.json")
_SHOWN = 40  # the longest name a message repeats


class DefinitionError(ValueError):
    """A definition that is not valid; ``problems`` lists ``(dotted path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path or '(definition)'}: {message}" for path, message in problems))


@cache
def schema() -> dict[str, Any]:
    """The format's JSON Schema (connector.schema.json)."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def parse_definition(data: Any, *, source: str = "CATALOG") -> DeclarativeConnector:
    """The connector a definition describes; raises ``DefinitionError`` listing every problem.

    ``source`` is the spec's: ``CATALOG`` for the shipped files, ``CUSTOM`` for a host's own.
    """
    problems = schema_problems(data)
    if not problems:
        problems = rule_problems(data)
    if problems:
        raise DefinitionError(problems)
    return DeclarativeConnector(data, to_spec(data, source=source))


# -- the JSON Schema -------------------------------------------------------------------------


def _short(name: Any) -> str:
    text = str(name)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _join(path: Iterable[Any]) -> str:
    return ".".join(str(part) for part in path)


def schema_problems(data: Any) -> list[tuple[str, str]]:
    """What the JSON Schema refuses, as ``(path, message)``, without quoting submitted values."""
    problems: list[tuple[str, str]] = []
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        problems.extend(_describe(error))
    return list(dict.fromkeys(problems))


def _describe(error: jsonschema.ValidationError) -> list[tuple[str, str]]:
    path = list(error.absolute_path)
    kind: Any = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema_here: Any = error.schema
    if kind == "required" and isinstance(instance, dict):
        missing = [name for name in expected if name not in instance]
        return [(_join([*path, name]), "is required") for name in missing]
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = set(schema_here.get("properties", {}))
        return [
            (_join([*path, _short(name)]), "is not a known field") for name in instance if name not in known
        ]
    if kind == "oneOf":
        return _describe_one_of(error)
    messages = {
        "type": lambda: f"must be of type {expected if isinstance(expected, str) else ' or '.join(expected)}",
        "enum": lambda: "must be one of: " + ", ".join(json.dumps(value) for value in expected),
        "const": lambda: f"must be {json.dumps(expected)}",
        "pattern": lambda: f"must match {expected}",
        "maxLength": lambda: f"must be at most {expected} characters",
        "minLength": lambda: f"must be at least {expected} characters",
        "maxItems": lambda: f"must have at most {expected} items",
        "minItems": lambda: f"must have at least {expected} items",
        "maxProperties": lambda: f"must have at most {expected} entries",
        "minProperties": lambda: f"must have at least {expected} entries",
        "minimum": lambda: f"must be at least {expected}",
        "maximum": lambda: f"must be at most {expected}",
    }
    message = messages.get(str(kind))
    return [(_join(path), message() if message else f"is not valid ({kind})")]


def _describe_one_of(error: jsonschema.ValidationError) -> list[tuple[str, str]]:
    """A ``oneOf`` of typed objects (auth, pagination): the errors of the branch whose ``type``
    the value names, or the list of types when it names none."""
    path = list(error.absolute_path)
    alternatives_schema: Any = error.validator_value
    branches: list[dict[str, Any]] = [_resolve(branch) for branch in alternatives_schema]
    instance = error.instance
    types = [branch.get("properties", {}).get("type", {}).get("const") for branch in branches]
    if isinstance(instance, dict) and all(types):
        if instance.get("type") not in types:
            return [(_join([*path, "type"]), "must be one of: " + ", ".join(types))]
        index = types.index(instance["type"])
        chosen = [e for e in error.context or () if e.schema_path and e.schema_path[0] == index]
        found = [problem for sub in chosen for problem in _describe(sub)]
        return found or [(_join(path), "is not valid")]
    alternatives = [branch.get("required", []) for branch in branches]
    if all(len(names) == 1 for names in alternatives):
        names = " or ".join(names[0] for names in alternatives)
        return [(_join(path), f"needs exactly one of {names}")]
    return [(_join(path), "is not valid")]


def _resolve(branch: dict[str, Any]) -> dict[str, Any]:
    ref = branch.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = schema()["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    return branch


# -- rules the schema cannot say -------------------------------------------------------------


def rule_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The format's own rules, for data the JSON Schema already accepted."""
    problems: list[tuple[str, str]] = pattern_problems(data)
    auth = data["auth"]
    parameters: dict[str, Any] = data.get("parameters") or {}
    from_token = list(auth.get("token_response_parameters") or []) if auth["type"] == "oauth2" else []
    credentials = credential_names(auth)
    settings = set((data.get("settings") or {}).get("properties") or {})

    for name, parameter in parameters.items():
        pattern = parameter.get("pattern")
        if pattern is not None:
            try:
                compiled = re.compile(pattern)
            except re.error:
                problems.append((f"parameters.{name}.pattern", "is not a valid regular expression"))
                continue
        else:
            compiled = re.compile(DEFAULT_PARAMETER_PATTERN)
        default = parameter.get("default")
        if default is not None and not compiled.fullmatch(default):
            problems.append((f"parameters.{name}.default", "does not match the parameter's pattern"))
        if name in credentials:
            problems.append((f"parameters.{name}", "has the name of a credential field"))
    for index, name in enumerate(from_token):
        if name in parameters:
            problems.append((f"auth.token_response_parameters.{index}", "is also declared in parameters"))
    for name, spec in _fields(auth):
        if spec.get("pattern") is not None:
            try:
                re.compile(spec["pattern"])
            except re.error:
                problems.append((f"{name}.pattern", "is not a valid regular expression"))

    # Where each kind of value may be used. Credential fields may build the base URL of
    # api_key/basic/custom definitions (Freshsales' {base_url}); an OAuth token never builds a URL.
    url_names = set(parameters) | (credentials if auth["type"] in ("api_key", "basic", "custom") else set())
    api_names = url_names | set(from_token)
    text_names = set(parameters) | set(from_token) | credentials
    stream_names = api_names | {f"settings.{name}" for name in settings}

    def placeholders(path: str, template: Any, allowed: set[str]) -> None:
        if not isinstance(template, str):
            return
        for name in templates.names(template):
            if name not in allowed:
                problems.append((path, f"{{{_short(name)}}} is not a declared {_kind(name)}"))

    if auth["type"] == "oauth2":
        for key in ("authorization_url", "token_url", "revocation_url"):
            placeholders(f"auth.{key}", auth.get(key), set(parameters))
    base_url = data["api"]["base_url"]
    placeholders("api.base_url", base_url, api_names)
    first = (templates.names(base_url) or [""])[0]
    if base_url.startswith("{") and first not in from_token:
        # The value is then a whole URL: only a pattern can keep it on the provider's hosts. A
        # token-response parameter (Salesforce's {instance_url}) comes from the provider itself.
        field = parameters.get(first) or dict(_fields(auth)).get(f"auth.fields.{first}")
        if field is None or not str(field.get("pattern", "")).startswith("^https://"):
            message = f"{{{_short(first)}}} starts the URL, so it needs a pattern fixing the host (^https://)"
            problems.append(("api.base_url", message))
    for header, value in (data["api"].get("headers") or {}).items():
        placeholders(f"api.headers.{header}", value, text_names)
    if auth["type"] == "api_key":
        placeholders("auth.value", auth.get("value"), text_names)
    if auth["type"] == "custom":
        for key in ("headers", "query"):
            for name, value in (auth.get(key) or {}).items():
                placeholders(f"auth.{key}.{name}", value, text_names)
        for key, value in (auth.get("basic") or {}).items():
            placeholders(f"auth.basic.{key}", value, text_names)

    check = data["check"]
    _body_rule(problems, "check", check)
    _path_rule(problems, "check.path", check["path"])
    placeholders("check.path", check["path"], text_names)
    for name, value in (check.get("params") or {}).items():
        placeholders(f"check.params.{name}", value, text_names)

    seen: dict[str, int] = {}
    for index, stream in enumerate(data.get("streams") or []):
        where = f"streams.{index}"
        if stream["name"] in seen:
            problems.append((f"{where}.name", f"repeats the name of streams.{seen[stream['name']]}"))
        seen.setdefault(stream["name"], index)
        _body_rule(problems, where, stream)
        _path_rule(problems, f"{where}.path", stream["path"])
        placeholders(f"{where}.path", stream["path"], stream_names)
        for name, value in (stream.get("params") or {}).items():
            placeholders(f"{where}.params.{name}", value, stream_names)
        properties = stream["schema"]["properties"]
        for position, key in enumerate(stream["primary_key"]):
            if key not in properties:
                problems.append((f"{where}.primary_key.{position}", "is not a property of the schema"))
        cursor = stream.get("cursor")
        if cursor and cursor["field"].split(".")[0] not in properties:
            problems.append((f"{where}.cursor.field", "is not a property of the schema"))
        if cursor and not cursor["field"]:
            problems.append((f"{where}.cursor.field", "must name a field"))
        deleted = stream.get("deleted")
        if deleted and deleted["field"].split(".")[0] not in properties:
            problems.append((f"{where}.deleted.field", "is not a property of the schema"))
        pagination = stream.get("pagination") or {}
        if pagination.get("type") == "next_link" and not pagination.get("next_path"):
            problems.append((f"{where}.pagination.next_path", "must name a field"))

    # Actions' templates name their input ({input.channel}) and what other API calls may.
    for name, action in (data.get("actions") or {}).items():
        allowed = set(parameters) | set(from_token) | _public_credentials(auth)
        problems.extend(_action_problems(f"actions.{name}", action, allowed))
    return problems


def _public_credentials(auth: Mapping[str, Any]) -> set[str]:
    """Credential fields that are not secrets (a basic user name such as Twilio's Account SID,
    a custom field without ``secret``): an action may name them, as a check may, because some
    APIs put the account in every path (/Accounts/{username}/Messages.json)."""
    if auth["type"] == "basic":
        return {"username"}
    if auth["type"] == "custom":
        return {name for name, spec in auth["fields"].items() if not spec.get("secret")}
    return set()


def _action_problems(where: str, action: Mapping[str, Any], names: set[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for key in ("input_schema", "output_schema"):
        try:
            jsonschema.Draft202012Validator.check_schema(action[key])
        except jsonschema.SchemaError as exc:
            inside = _join(exc.absolute_path)
            problems.append((f"{where}.{key}{'.' + inside if inside else ''}", "is not a valid JSON Schema"))
    inputs = set(action["input_schema"].get("properties") or {})
    request = action["request"]

    def placeholders(path: str, template: str) -> None:
        for name in templates.names(template):
            head, _, rest = name.partition(".")
            if head == "input" and rest.split(".")[0] in inputs:
                continue
            if name not in names and name != IDEMPOTENCY_KEY:
                problems.append((path, f"{{{_short(name)}}} is not an input property or a parameter"))

    _path_rule(problems, f"{where}.request.path", request["path"])
    placeholders(f"{where}.request.path", request["path"])
    for key in ("query", "headers"):
        for name, value in (request.get(key) or {}).items():
            if isinstance(value, str):
                placeholders(f"{where}.request.{key}.{name}", value)
    if "body" in request:
        if request.get("method", "GET") == "GET":
            problems.append((f"{where}.request.body", "is not sent with GET"))
        body = request["body"]
        if request.get("body_format") == "form" and not (isinstance(body, dict) or body == WHOLE_INPUT):
            problems.append((f"{where}.request.body", "must be an object when body_format is form"))
        for path, text in _strings(body, f"{where}.request.body"):
            if text != WHOLE_INPUT:
                placeholders(path, text)
    return problems


def _strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    """Every string inside a JSON template, with its dotted path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{_short(key)}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}")


def _path_rule(problems: list[tuple[str, str]], where: str, path: str) -> None:
    # A path that does not start with / could continue the host (``@evil.example``).
    if not path.startswith("/"):
        problems.append((where, "must start with /"))


def _body_rule(problems: list[tuple[str, str]], where: str, call: Mapping[str, Any]) -> None:
    if "body" in call and call.get("method", "GET") != "POST":
        problems.append((f"{where}.body", "is sent only by a POST (set method: POST)"))


def _kind(name: str) -> str:
    return "setting" if name.startswith("settings.") else "parameter or credential field"


def _fields(auth: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if auth["type"] == "custom":
        return [(f"auth.fields.{name}", spec) for name, spec in auth["fields"].items()]
    if auth["type"] == "basic":
        return [(f"auth.{name}", auth[name]) for name in ("username", "password") if name in auth]
    if auth["type"] in ("api_key", "oauth2") and "field" in auth:
        return [("auth.field", auth["field"])]
    return []


# -- the spec --------------------------------------------------------------------------------


def _field_schema(spec: Mapping[str, Any], *, default_title: str, is_secret: bool) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key, target in (
        ("description", "description"),
        ("pattern", "pattern"),
        ("format", "format"),
        ("min_length", "minLength"),
        ("max_length", "maxLength"),
        ("default", "default"),
    ):
        if key in spec:
            extra[target] = spec[key]
    title = spec.get("title") or default_title
    if is_secret:
        extra.pop("format", None)  # a secret is drawn as a password, whatever it holds
        return secret(title, **extra)
    return {"type": "string", "title": title, **extra}


def _auth_fields(auth: Mapping[str, Any]) -> dict[str, Any] | None:
    if auth["type"] == "basic":
        properties = {
            "username": _field_schema(auth.get("username") or {}, default_title="Username", is_secret=False),
            "password": _field_schema(auth.get("password") or {}, default_title="Password", is_secret=True),
        }
        return form(properties, required=["username", "password"])
    if auth["type"] == "custom":
        properties = {
            name: _field_schema(spec, default_title=name, is_secret=bool(spec.get("secret")))
            for name, spec in auth["fields"].items()
        }
        required = [name for name, spec in auth["fields"].items() if not spec.get("optional")]
        return form(properties, required=required)
    if auth["type"] == "oauth2" and "field_name" in auth:
        name = auth["field_name"]
        token = _field_schema(auth.get("field") or {}, default_title="Access token", is_secret=True)
        return form({name: token}, required=[name])
    return None


AUTH_TYPES = {
    "api_key": ("SECRET_TEXT",),
    "basic": ("BASIC_AUTH",),
    "custom": ("CUSTOM_AUTH",),
    "none": ("NONE",),
}


def _auth_types(auth: Mapping[str, Any]) -> tuple[str, ...]:
    if auth["type"] == "oauth2":
        # An OAuth2 provider that also issues personal tokens (Airtable) takes those as
        # SECRET_TEXT connections (or CUSTOM_AUTH ones with one field, when the seeds name it),
        # sent the way the access token is.
        if "field_name" in auth:
            return ("OAUTH2", "PLATFORM_OAUTH2", "CUSTOM_AUTH")
        return ("OAUTH2", "PLATFORM_OAUTH2", *(("SECRET_TEXT",) if "field" in auth else ()))
    return AUTH_TYPES[auth["type"]]


def _oauth(auth: Mapping[str, Any]) -> OAuthSpec | None:
    if auth["type"] != "oauth2":
        return None

    def pairs(values: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
        return tuple((key, _string(value)) for key, value in (values or {}).items())

    return OAuthSpec(
        authorize_url=auth["authorization_url"],
        token_url=auth["token_url"],
        default_scopes=tuple(auth.get("scopes") or ()),
        scope_separator=auth.get("scope_separator", " "),
        issuer=auth.get("issuer"),
        extra_authorize_params=pairs(auth.get("authorization_params")),
        revocation_url=auth.get("revocation_url"),
        extra_token_params=pairs(auth.get("token_params")),
        pkce=auth.get("pkce", True),
        client_authentication=auth.get("client_authentication", "client_secret_post"),
        token_response_parameters=tuple(auth.get("token_response_parameters") or ()),
    )


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parameters_schema(parameters: Mapping[str, Any]) -> dict[str, Any] | None:
    if not parameters:
        return None
    properties: dict[str, Any] = {}
    for name, parameter in parameters.items():
        prop: dict[str, Any] = {
            "type": "string",
            "title": parameter["title"],
            "pattern": _anchored(parameter.get("pattern") or DEFAULT_PARAMETER_PATTERN),
            "maxLength": MAX_PARAMETER,
        }
        for key in ("description", "examples", "default"):
            if key in parameter:
                prop[key] = parameter[key]
        properties[name] = prop
    required = [name for name, parameter in parameters.items() if "default" not in parameter]
    return form(properties, required=required)


def _anchored(pattern: str) -> str:
    # JSON Schema patterns match anywhere; a parameter must match in full. One already anchored
    # at both ends stays as written, since it is what the connect form shows end users.
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern
    return f"^(?:{pattern})$"


def _delete_marker(marker: Mapping[str, Any] | None) -> DeleteMarker | None:
    if not marker:
        return None
    equals = marker.get("equals")
    if equals is None:
        return DeleteMarker(field=marker["field"])
    return DeleteMarker(
        field=marker["field"], equals=tuple(equals) if isinstance(equals, list) else (equals,)
    )


def to_spec(data: Mapping[str, Any], *, source: str = "CATALOG") -> ConnectorSpec:
    """The ``ConnectorSpec`` of a valid definition."""
    auth = data["auth"]
    streams = tuple(
        StreamSpec(
            name=stream["name"],
            primary_key=tuple(stream["primary_key"]),
            record_schema=stream["schema"],
            cursor_field=(stream.get("cursor") or {}).get("field"),
            description=stream.get("description", ""),
            deleted=_delete_marker(stream.get("deleted")),
            scopes=tuple(stream.get("scopes") or ()),
        )
        for stream in data.get("streams") or []
    )
    settings = data.get("settings")
    actions = tuple(
        ActionSpec(
            name=name,
            display_name=action["display_name"],
            description=action["description"],
            input_schema=action["input_schema"],
            output_schema=action["output_schema"],
            read_only=action.get("read_only", False),
        )
        for name, action in (data.get("actions") or {}).items()
    )
    return ConnectorSpec(
        name=data["name"],
        display_name=data["display_name"],
        category=data["category"],
        auth_types=_auth_types(auth),
        description=data["description"],
        base_url=data["api"]["base_url"],
        docs_url=data.get("docs_url"),
        oauth=_oauth(auth),
        auth_fields_schema=_auth_fields(auth),
        settings_schema=form(settings["properties"], required=settings.get("required") or ())
        if settings
        else form(),
        streams=streams,
        parameters_schema=_parameters_schema(data.get("parameters") or {}),
        source=source,
        logo_url=data.get("logo_url"),
        actions=actions,
    )
