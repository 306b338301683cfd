"""Planning an operation: graphql-core's own field collection, done once per schema,
operation and values of the variables its ``@skip``/``@include`` read, turned into closures
(see running.py) that know, for every field, whether to read an attribute or call a resolver."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    OperationType,
    Undefined,
    is_leaf_type,
    visit,
)
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.language import DirectiveNode, Visitor
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver

from server.api.execution import fallbacks
from server.api.execution.running import (
    DirectCall,
    Field,
    FieldSite,
    Value,
    attribute_field,
    attribute_leaf,
    constant,
    direct_field,
    generic_field,
    leaf_value,
    list_value,
    object_value,
    resolver_field,
)

if TYPE_CHECKING:
    from server.api.execution.executor import FastExecutor

log = logging.getLogger("weir.graphql")

_PLAN_CACHE_SIZE = 512


class _Unsupported(Exception):
    """The operation uses something the planner does not compile."""


class _OperationPlans:
    """The plans of one operation, one per combination of its directive variables' values
    (or, when it is not compiled, the reason: a fallbacks.REASONS entry)."""

    __slots__ = ("by_values", "logged", "operation", "schema", "variables")

    def __init__(self, schema: Any, operation: Any, variables: tuple[str, ...]) -> None:
        self.schema, self.operation, self.variables = schema, operation, variables
        self.by_values: dict[tuple[Any, ...], tuple[Field, ...] | str] = {}
        self.logged = False


# Plans by (schema, operation) ids; each entry keeps both alive, so an id is never reused
# while its entry exists.
_plans: OrderedDict[tuple[int, int], _OperationPlans] = OrderedDict()


def plan_for(executor: FastExecutor) -> tuple[Field, ...] | None:
    """The operation's plan for these variable values; ``None`` when it is not compiled
    (remembered too, so the next request goes straight to graphql-core; every such request
    is counted, and each operation logged once)."""
    schema, operation = executor.schema, executor.operation
    key = (id(schema), id(operation))
    plans = _plans.get(key)
    if plans is None or plans.schema is not schema or plans.operation is not operation:
        plans = _OperationPlans(schema, operation, _directive_variables(executor))
        _plans[key] = plans
        if len(_plans) > _PLAN_CACHE_SIZE:
            _plans.popitem(last=False)
    else:
        _plans.move_to_end(key)
    coerced = executor.variable_values.coerced
    values = tuple(coerced.get(name, Undefined) for name in plans.variables)
    plan = plans.by_values.get(values)
    if plan is None:
        plan = plans.by_values[values] = _plan_or_reason(executor, plans)
    if type(plan) is str:
        fallbacks.record(plan)
        return None
    return plan  # type: ignore[return-value]


def _plan_or_reason(executor: FastExecutor, plans: _OperationPlans) -> tuple[Field, ...] | str:
    operation = plans.operation
    name = operation.name.value if operation.name else "anonymous"
    try:
        return _plan_operation(executor)
    except (_Unsupported, RecursionError) as unsupported:
        if not plans.logged:
            plans.logged = True
            log.info(
                "fast execution does not compile operation %s (%s): graphql-core runs it",
                name,
                str(unsupported) or "nested too deeply",
            )
        return fallbacks.UNSUPPORTED
    except Exception:
        # Not a construct we skip on purpose: most likely graphql-core or Strawberry changed
        # under us. The operation still runs (through graphql-core); say so once.
        if not plans.logged:
            plans.logged = True
            log.warning("fast execution is off for operation %s", name, exc_info=True)
        return fallbacks.PLANNING_ERROR


def _directive_variables(executor: FastExecutor) -> tuple[str, ...]:
    """Names of the variables read by directives of the operation or its fragments: field
    collection (``@skip``/``@include``) depends on their values, and only on theirs."""
    names: set[str] = set()

    class Collect(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            for argument in node.arguments or ():
                visit(argument, Variables())

    class Variables(Visitor):
        def enter_variable(self, node: Any, *_: Any) -> None:
            names.add(node.name.value)

    visit(executor.operation, Collect())
    for fragment in executor.fragment_definitions.values():
        visit(fragment, Collect())
    return tuple(sorted(names))


def _plan_operation(executor: FastExecutor) -> tuple[Field, ...]:
    root_type = executor.schema.get_root_type(OperationType.QUERY)
    if root_type is None:
        raise _Unsupported("no query type")
    collected = collect_fields(
        executor.schema,
        executor.fragments,
        executor.variable_values,
        root_type,
        executor.operation,
        executor.hide_suggestions,
    )
    return _plan_fields(executor, root_type, collected.grouped_field_set)


def _plan_fields(executor: FastExecutor, parent_type: GraphQLObjectType, grouped: Any) -> tuple[Field, ...]:
    fields = []
    for key, details_list in grouped.items():
        if any(d.defer_usage is not None or d.fragment_variable_values is not None for d in details_list):
            raise _Unsupported("@defer or fragment arguments")
        name = details_list[0].node.name.value
        if name == "__typename":
            fields.append(generic_field(key, constant(parent_type.name), None))
            continue
        if name.startswith("__"):
            raise _Unsupported("introspection")
        field_def = executor.schema.get_field(parent_type, name)
        if field_def is None or field_def.resolve is None:
            raise _Unsupported(f"field {name}")
        site = FieldSite(field_def, details_list, parent_type)
        value = _plan_value(executor, field_def.type, details_list, site)
        attribute = _plain_attribute(field_def)
        direct = None if attribute is not None else _direct_resolver(executor, field_def)
        if attribute is not None and value.unchanged is not None:
            fields.append(attribute_leaf(key, attribute, value, site))
            continue
        if attribute is not None:
            run = attribute_field(key, attribute, parent_type.name, value)
        elif direct is not None:
            run = direct_field(key, field_def, details_list, parent_type, value, direct)
        else:
            run = resolver_field(key, field_def, details_list, parent_type, value)
        fields.append(generic_field(key, run, site))
    return tuple(fields)


def _plain_attribute(field_def: GraphQLField) -> str | None:
    """The attribute a field reads, when graphql-core would only call Strawberry's resolver
    for a basic field (no resolver, extension, permission or argument) reading it with
    ``getattr``; otherwise ``None`` and the resolver is called."""
    field = (field_def.extensions or {}).get("strawberry-definition")
    if (
        isinstance(field, StrawberryField)
        and getattr(field_def.resolve, "__name__", None) == "_get_basic_result"
        and field.is_basic_field
        and field.default_resolver is getattr
        and type(field).get_result is StrawberryField.get_result
        and not field_def.args
    ):
        return field.python_name
    return None


def _direct_resolver(executor: FastExecutor, field_def: GraphQLField) -> DirectCall | None:
    """How to call a field's resolver the way Strawberry's wrapper would (``self``
    positionally; the info object and the arguments by their Python names), without the
    wrapper (argument conversion, extension chain: ~5 us a call, and a page's `workspace` is
    100 calls). Only for a field with no extension, permission or exception handler, whose
    arguments are all scalars, which Strawberry passes on unconverted. Otherwise ``None``."""
    field = (field_def.extensions or {}).get("strawberry-definition")
    strawberry_schema = getattr(executor.schema, "_strawberry_schema", None)
    if (
        not isinstance(field, StrawberryField)
        or strawberry_schema is None
        or getattr(strawberry_schema, "exception_handlers", None) != ()
        or getattr(field_def.resolve, "__name__", None) not in ("_resolver", "_async_resolver")
        or type(field).get_result is not StrawberryField.get_result
        or field.extensions
    ):
        return None
    resolver = field.base_resolver
    if (
        type(resolver) is not StrawberryResolver
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
        or resolver.self_parameter is None
    ):
        return None
    registry = strawberry_schema.schema_converter.scalar_registry
    config = strawberry_schema.config
    arguments = []
    for argument in field.arguments:
        kind = argument.type
        if type(kind) is StrawberryOptional:
            kind = kind.of_type
        if kind is GlobalID or not is_scalar(kind, registry):
            return None
        arguments.append((config.name_converter.from_argument(argument), argument.python_name))
    if len(arguments) != len(field_def.args):
        return None
    info = resolver.info_parameter
    return DirectCall(field, None if info is None else info.name, config.info_class, tuple(arguments))


def _plan_value(executor: FastExecutor, type_: Any, details_list: Any, site: FieldSite) -> Value:
    nullable = not isinstance(type_, GraphQLNonNull)
    if not nullable:
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        item = _plan_value(executor, type_.of_type, details_list, site)
        return Value(list_value(type_, type_.of_type, item, nullable, site), True)
    if is_leaf_type(type_):
        # Coercion returns these unchanged (graphql-core's String and ID: a str, Boolean: a
        # bool); checked by exact type, so subclasses still go through coercion.
        unchanged = (
            str
            if type_ is GraphQLString or type_ is GraphQLID
            else (bool if type_ is GraphQLBoolean else None)
        )
        return Value(leaf_value(type_, nullable, unchanged, site), False, unchanged)
    if isinstance(type_, GraphQLObjectType) and type_.is_type_of is None:
        collected = collect_subfields(
            executor.schema,
            executor.fragments,
            executor.variable_values,
            executor.operation,
            type_,
            details_list,
            executor.hide_suggestions,
        )
        fields = _plan_fields(executor, type_, collected.grouped_field_set)
        return Value(object_value(fields, nullable, site), True)
    raise _Unsupported(f"type {type_}")
