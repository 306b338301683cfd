"""The private-API contract: every name Weir uses of Strawberry, graphql-core, uvicorn, Dramatiq
and Tortoise that is not their public API, and a check that the installed versions have each.

A private name is a loan (STYLE.md 15): it is used only behind a fallback to the public path,
listed here, and the libraries are pinned in pyproject.toml to the versions this contract ran
on. To take a newer version: install it, run this file, fix what it lists, then move the pin.
Two guards keep the list complete: every ``from <library>.<module> import ...`` in server/ is
checked, and any ``._name`` attribute server/ reads that server/ does not define itself must be
listed below.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.metadata
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import strawberry
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "server"
LIBRARIES = {  # top-level package -> distribution pinned in pyproject.toml
    "strawberry": "strawberry-graphql",
    "graphql": "graphql-core",
    "uvicorn": "uvicorn",
    "dramatiq": "dramatiq",
    "tortoise": "tortoise-orm",
}


def resolve(target: str) -> Any:
    """``package.module:Attr.attr`` -> the object (AttributeError/ImportError if absent)."""
    module_name, _, attributes = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for name in filter(None, attributes.split(".")):
        value = getattr(value, name)
    return value


def has(target: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            resolve(target)
        except (ImportError, AttributeError):
            return False
        return True

    return check


def has_on(make: Callable[[], Any], *names: str) -> Callable[[], bool]:
    """Instance attributes: ``names`` (dotted) exist on the object ``make`` builds."""

    def check() -> bool:
        try:
            built = make()
            for name in names:
                value = built
                for part in name.split("."):
                    value = getattr(value, part)
        except Exception:
            return False
        return True

    return check


# -- objects to look at (built with the libraries' public API) ---------------------------------


@strawberry.type
class _Toy:
    plain: str = "plain"

    @strawberry.field
    def resolved(self, info: strawberry.Info, times: int = 1) -> str:
        return "resolved" * times

    @strawberry.field
    async def later(self) -> str:
        return "later"


def _toy_schema() -> strawberry.Schema:
    return strawberry.Schema(query=_Toy)


def _graphql_field(name: str) -> Any:
    return _toy_schema()._schema.query_type.fields[name]


def _executor() -> Any:
    """The executor Strawberry builds for an operation (graphql-core's Executor underneath)."""
    from server.api.execution import FastExecutor

    built: list[Any] = []

    class Capture(FastExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    strawberry.Schema(query=_Toy, execution_context_class=Capture).execute_sync("{ plain }")
    return built[0]


def _strawberry_field(name: str) -> Any:
    return next(f for f in _Toy.__strawberry_definition__.fields if f.name == name)


def _dataclass_fields(target: str) -> set[str]:
    return {f.name for f in dataclasses.fields(resolve(target))}


def _resolver_named(field: str, expected: str) -> Callable[[], bool]:
    return lambda: getattr(_graphql_field(field).resolve, "__name__", None) == expected


def _assigned_on_self(target: str, name: str) -> Callable[[], bool]:
    def check() -> bool:
        from server.web.ws_server import attributes_set_by

        try:
            return name in attributes_set_by(resolve(target))
        except (ImportError, AttributeError):
            return False

    return check


def _uvicorn_protocol() -> bool:
    from server.web.ws_server import missing_uvicorn_names

    return missing_uvicorn_names() == []


def _dramatiq_message_layout() -> bool:
    """runs_with_messages reads each queue's ``<namespace>:<queue>.msgs`` hash, and the delay
    queue's, named by ``dq_name`` (``<queue>.DQ``)."""
    try:
        from dramatiq.common import dq_name

        script = Path(resolve("dramatiq.brokers.redis").__file__).parent / "redis" / "dispatch.lua"
        return dq_name("q") == "q.DQ" and '.. ".msgs"' in script.read_text()
    except (ImportError, OSError):
        return False


def _own_organization_keys() -> bool:
    """server.models.OrganizationOwned gives each model its own ``organization`` field, its
    reverse relation named after the table."""
    workspace = resolve("server.orgs.models:Workspace")._meta
    end_user = resolve("server.orgs.models:EndUser")._meta
    mine, theirs = workspace.fields_map["organization"], end_user.fields_map["organization"]
    return mine is not theirs and (mine.related_name, theirs.related_name) == ("workspaces", "end_users")


def _sqlite_transactions() -> bool:
    """server.db_sqlite replaces the wrapper SqliteClient._in_transaction builds, keeping the
    context and lock Tortoise would use, and overrides the wrapper's ``begin``."""
    import inspect

    try:
        from tortoise.backends.sqlite import client

        built = inspect.getsource(client.SqliteClient._in_transaction)
        wrapper_init = inspect.getsource(client.SqliteTransactionWrapper.__init__)
        return (
            "SqliteTransactionContext(SqliteTransactionWrapper(self), self._lock)" in built
            and "self._connection" in wrapper_init
            and "self._lock" in inspect.getsource(client.SqliteClient.__init__)
            and callable(client.SqliteTransactionWrapper.begin)
        )
    except (ImportError, AttributeError, OSError, TypeError):
        return False


E = "server/api/execution"
# (distribution, the name as Weir uses it, the check, where Weir uses it)
CONTRACT: list[tuple[str, str, Callable[[], bool], str]] = [
    # graphql-core: the executor's own methods and state ("meta private" in its docs)
    *[
        ("graphql-core", f"Executor.{name}", has(f"graphql.execution.executor:Executor.{name}"), E)
        for name in (
            "handle_field_error",
            "complete_value",
            "complete_leaf_value",
            "settle_in_background",
            "build_resolve_info",
            "build_response",
            "finish",
            "execute_operation",
        )
    ],
    *[
        ("graphql-core", f"executor.{name}", has_on(_executor, name), E)
        for name in (
            "collected_errors",
            "collected_errors.add",
            "hide_suggestions",
            "fragments",
            "fragment_definitions",
            "variable_values.coerced",
            "error_propagation",
            "middleware_manager",
            "abort_signal",
            "hooks",
            "schema",
            "operation",
            "root_value",
            "context_value",
            "is_awaitable",
        )
    ],
    (
        "graphql-core",
        "MiddlewareManager._middleware_resolvers",
        has_on(lambda: resolve("graphql.execution.middleware:MiddlewareManager")(), "_middleware_resolvers"),
        f"{E}/executor.py",
    ),
    (
        "graphql-core",
        "collect_fields / collect_subfields (graphql.execution.collect_fields)",
        lambda: (
            has("graphql.execution.collect_fields:collect_fields")()
            and has("graphql.execution.collect_fields:collect_subfields")()
        ),
        f"{E}/planning.py",
    ),
    (
        "graphql-core",
        "FieldDetails.defer_usage, .fragment_variable_values",
        lambda: (
            {"defer_usage", "fragment_variable_values"}
            <= set(resolve("graphql.execution.collect_fields:FieldDetails")._fields)
        ),
        f"{E}/planning.py",
    ),
    (
        "graphql-core",
        "get_argument_values (graphql.execution.values)",
        has("graphql.execution.values:get_argument_values"),
        f"{E}/running.py",
    ),
    # Strawberry
    (
        "strawberry-graphql",
        "StrawberryGraphQLCoreExecutionContext",
        has("strawberry.schema.schema:StrawberryGraphQLCoreExecutionContext"),
        f"{E}/executor.py, events.py",
    ),
    (
        "strawberry-graphql",
        "GraphQLSchema._strawberry_schema",
        has_on(lambda: _toy_schema()._schema, "_strawberry_schema"),
        f"{E}/planning.py",
    ),
    (
        "strawberry-graphql",
        "Schema._schema",
        has_on(_toy_schema, "_schema"),
        "server/api/documents.py, inputs.py, planning.py",
    ),
    (
        "strawberry-graphql",
        "Schema.exception_handlers, .schema_converter.scalar_registry, "
        ".config.name_converter.from_argument, .config.info_class",
        has_on(
            _toy_schema,
            "exception_handlers",
            "schema_converter.scalar_registry",
            "config.name_converter.from_argument",
            "config.info_class",
        ),
        f"{E}/planning.py",
    ),
    (
        "strawberry-graphql",
        "basic field resolver named _get_basic_result",
        _resolver_named("plain", "_get_basic_result"),
        f"{E}/planning.py",
    ),
    (
        "strawberry-graphql",
        "resolver wrappers named _resolver / _async_resolver",
        lambda: _resolver_named("resolved", "_resolver")() and _resolver_named("later", "_async_resolver")(),
        f"{E}/planning.py",
    ),
    (
        "strawberry-graphql",
        "StrawberryField.is_basic_field, .default_resolver, .get_result, "
        ".base_resolver, .python_name, .arguments, .extensions",
        has_on(
            lambda: _strawberry_field("plain"),
            "is_basic_field",
            "default_resolver",
            "get_result",
            "base_resolver",
            "python_name",
            "arguments",
            "extensions",
        ),
        f"{E}/planning.py",
    ),
    (
        "strawberry-graphql",
        "StrawberryResolver.wrapped_func, .root_parameter, "
        ".parent_parameter, .self_parameter, .info_parameter",
        has_on(
            lambda: _strawberry_field("resolved").base_resolver,
            "wrapped_func",
            "root_parameter",
            "parent_parameter",
            "self_parameter",
            "info_parameter",
        ),
        f"{E}/planning.py, running.py",
    ),
    (
        "strawberry-graphql",
        "Info's dataclass fields _raw_info and _field",
        lambda: {"_raw_info", "_field"} <= _dataclass_fields("strawberry.types.info:Info"),
        f"{E}/deferred_info.py",
    ),
    (
        "strawberry-graphql",
        "ExecutionContext._provided_operation_name",
        has_on(
            lambda: resolve("strawberry.types.execution:ExecutionContext")(
                query="{ a }", schema=None, allowed_operations=(), provided_operation_name="a"
            ),
            "_provided_operation_name",
        ),
        "server/api/documents.py",
    ),
    # uvicorn (and the websockets connection object it holds)
    (
        "uvicorn",
        "WebSocketsSansIOProtocol and the attributes DirectSocket reads "
        "(server.web.ws_server.missing_uvicorn_names)",
        _uvicorn_protocol,
        "server/web/ws_server.py",
    ),
    # Tortoise
    (
        "tortoise-orm",
        "Model._meta.fields_db_projection, .pk_attr, .db_table, .fields_map, .fk_fields, .abstract",
        has_on(
            lambda: resolve("server.orgs.models:EndUser")._meta,
            "fields_db_projection",
            "pk_attr",
            "db_table",
            "fields_map",
            "fk_fields",
            "abstract",
        ),
        "server/rows.py, server/vault.py, server/models.py",
    ),
    (
        "tortoise-orm",
        "ModelMeta sets a model's _meta before its base's __init_subclass__ runs, "
        "and a foreign key's related_name is read only when Tortoise links the models",
        _own_organization_keys,
        "server/models.py",
    ),
    ("tortoise-orm", "MetaInfo.db", has("tortoise.models:MetaInfo.db"), "server/rows.py"),
    ("tortoise-orm", "router.db_for_read", has("tortoise.router:router.db_for_read"), "server/rows.py"),
    (
        "tortoise-orm",
        "BaseDBAsyncClient.capabilities (its .dialect), .execute_query",
        lambda: (
            _assigned_on_self("tortoise.backends.base.client:BaseDBAsyncClient", "capabilities")()
            or has("tortoise.backends.base.client:BaseDBAsyncClient.capabilities")()
        ),
        "server/rows.py",
    ),
    (
        "tortoise-orm",
        "Field.to_python_value, .field_type",
        lambda: (
            has("tortoise.fields.base:Field.to_python_value")()
            and has("tortoise.fields.base:Field.field_type")()
        ),
        "server/rows.py",
    ),
    (
        "tortoise-orm",
        "tortoise.timezone get_use_tz, get_default_timezone, make_aware",
        lambda: all(
            has(f"tortoise.timezone:{n}")() for n in ("get_use_tz", "get_default_timezone", "make_aware")
        ),
        "server/rows.py",
    ),
    (
        "tortoise-orm",
        "SqliteClient._in_transaction, ._lock; SqliteTransactionWrapper(client) with .begin and "
        "._connection; SqliteTransactionContext(wrapper, lock)",
        _sqlite_transactions,
        "server/db_sqlite.py",
    ),
    # Dramatiq
    (
        "dramatiq",
        "RedisBroker.client",
        _assigned_on_self("dramatiq.brokers.redis:RedisBroker", "client"),
        "server/syncs/queue.py",
    ),
    (
        "dramatiq",
        "Redis layout: <namespace>:<queue>.msgs and <queue>.DQ",
        _dramatiq_message_layout,
        "server/syncs/queue.py",
    ),
    (
        "dramatiq",
        "dramatiq.asyncio.get_event_loop_thread",
        has("dramatiq.asyncio:get_event_loop_thread"),
        "server/worker/runtime.py",
    ),
]

# Underscore names that are documented public API (namedtuple's) or a metaclass's documented
# attribute, not a loan.
DOCUMENTED = {"_replace", "_asdict", "_fields"}
# Private attributes the contract covers (by the name server/ reads).
LISTED = {
    "_middleware_resolvers",
    "_strawberry_schema",
    "_schema",
    "_raw_info",
    "_field",
    "_provided_operation_name",
    "_meta",
    "_get_basic_result",
    "_resolver",
    "_async_resolver",
    "_connection",
}


def test_every_private_name_weir_uses_exists_in_the_installed_libraries() -> None:
    missing = [
        f"{dist} {importlib.metadata.version(dist)}: {name} (used in {where})"
        for dist, name, check, where in CONTRACT
        if not check()
    ]
    assert not missing, "private names missing:\n" + "\n".join(missing)


def _server_modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in SERVER.rglob("*.py")]


def test_every_name_imported_from_a_library_module_exists() -> None:
    missing = []
    for path, tree in _server_modules():
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and node.module.split(".")[0] in LIBRARIES
            ):
                continue
            for alias in node.names:
                if not has(f"{node.module}:{alias.name}")():
                    missing.append(f"{node.module}.{alias.name} ({path.relative_to(ROOT)})")
    assert not missing, "imported names missing:\n" + "\n".join(missing)


def test_every_private_attribute_server_reads_is_its_own_or_listed() -> None:
    """A ``._name`` read in server/ that server/ never defines belongs to a library: it must be
    in the contract (or be documented API)."""
    defined: set[str] = set()
    read: dict[str, set[str]] = {}
    for path, tree in _server_modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.Attribute):
                if isinstance(node.ctx, ast.Store):
                    defined.add(node.attr)
                elif re.fullmatch(r"_[A-Za-z]\w*", node.attr) and not node.attr.endswith("__"):
                    read.setdefault(node.attr, set()).add(str(path.relative_to(ROOT)))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                defined.update(re.findall(r"^_[A-Za-z]\w*$", node.value))  # __slots__ entries
    unlisted = {
        name: where
        for name, where in read.items()
        if name not in defined and name not in DOCUMENTED and name not in LISTED
    }
    assert not unlisted, f"private attributes of libraries not in the contract: {unlisted}"


def test_the_libraries_are_pinned_to_the_versions_this_contract_ran_on() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {Requirement(line).name: Requirement(line) for line in project["dependencies"]}
    wrong = []
    for dist in LIBRARIES.values():
        installed = importlib.metadata.version(dist)
        specifier = pins[dist].specifier
        if str(specifier) != f"=={installed}":
            wrong.append(f"{dist}: pyproject says {specifier or 'any'}, contract ran on {installed}")
    assert not wrong, "\n".join(wrong)


def test_a_missing_name_is_reported_not_raised() -> None:
    assert has("graphql.execution.executor:Executor.no_such_method")() is False
    assert has("graphql.no_such_module:anything")() is False
    assert has_on(_executor, "no_such_attribute")() is False
