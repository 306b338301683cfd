"""Every value a client sends is checked once, at the edge, before any resolver runs.

Databases and drivers refuse some strings outright: Postgres has no NUL in text or JSON, a lone
UTF-16 surrogate (``"\\ud800"`` in JSON) cannot be encoded for either database, and Tortoise
validates a ``CharField``'s length even inside a filter, so an over-long id raised instead of
matching nothing. Each would surface deep in a service as ``INTERNAL``. Here, by the type the
schema declares for each argument (variables and literals alike, input objects and JSON
included):

- an ``ID`` that cannot be an id (longer than ids are, or with characters ids never have) names
  nothing: ``NOT_FOUND``;
- any other string with a NUL, a lone surrogate or more than ``MAX_STRING_LENGTH`` characters is
  ``VALIDATION_FAILED`` naming the field as the client wrote it (``input.externalId``).

Columns with a smaller limit are still checked by the service that stores or filters on them.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    Visitor,
    type_from_ast,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from server.errors import FieldError, NotFound, ValidationFailed, WeirError

# The longest id Weir makes is a 4-letter prefix, "_" and 26 characters; the columns hold 32.
MAX_ID_LENGTH = 32
_ID = re.compile(r"[A-Za-z0-9_-]*\Z")
# Longer than any column or credential Weir stores; a document or body that carries more is
# someone probing, and the services' own limits are far lower.
MAX_STRING_LENGTH = 65_536
_SURROGATE = re.compile("[\ud800-\udfff]")
_CACHE_SIZE = 256


def clip(value: str, limit: int = 40) -> str:
    """``value`` cut to ``limit`` characters, for messages and logs."""
    return value if len(value) <= limit else value[:limit] + "…"


def string_problem(value: str) -> str | None:
    """What makes ``value`` unstorable, or None."""
    if len(value) > MAX_STRING_LENGTH:
        return f"must be at most {MAX_STRING_LENGTH} characters"
    if "\x00" in value:
        return f"must not contain control characters (U+0000 at position {value.index(chr(0))})"
    found = _SURROGATE.search(value)
    if found is not None:
        return f"must be valid Unicode (lone surrogate at position {found.start()})"
    return None


def _is_id_type(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return getattr(type_, "name", None) == "ID"


class _Findings:
    def __init__(self) -> None:
        self.fields: list[FieldError] = []
        self.missing: tuple[str, str] | None = None

    def raise_first(self) -> None:
        if self.fields:
            raise ValidationFailed(self.fields)
        if self.missing is not None:
            raise NotFound(*self.missing)

    def string(self, path: str, value: str, *, is_id: bool) -> None:
        if is_id and (len(value) > MAX_ID_LENGTH or not _ID.match(value)):
            if self.missing is None:
                self.missing = (path, clip(value).encode("utf-8", "backslashreplace").decode())
            return
        problem = string_problem(value)
        if problem is not None:
            self.fields.append(FieldError(path, problem))


def _check_value(found: _Findings, type_: Any, value: Any, path: str) -> None:
    """A variable's JSON value against the input type it was declared with."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            _check_value(found, type_.of_type, item, f"{path}.{index}")
    elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
        for key, item in value.items():
            field = type_.fields.get(key) if isinstance(key, str) else None
            if field is None:
                _check_any(found, item, f"{path}.{clip(str(key))}")
            else:
                _check_value(found, field.type, item, f"{path}.{key}")
    else:
        _check_any(found, value, path, is_id=_is_id_type(type_))


def _check_any(found: _Findings, value: Any, path: str, *, is_id: bool = False) -> None:
    """Any JSON value (a scalar's, a JSON argument's): every string in it, keys too."""
    if isinstance(value, str):
        found.string(path, value, is_id=is_id)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and string_problem(key) is not None:
                found.fields.append(FieldError(f"{path}.{clip(key)}", f"key {string_problem(key)}"))
            _check_any(found, item, f"{path}.{clip(str(key))}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_any(found, item, f"{path}.{index}", is_id=is_id)


def _check_literal(found: _Findings, type_: Any, node: ValueNode, path: str) -> None:
    """A literal of the document against the input type of its argument."""
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(node, StringValueNode):
        found.string(path, node.value, is_id=_is_id_type(type_))
    elif isinstance(node, ListValueNode):
        item_type = type_.of_type if isinstance(type_, GraphQLList) else type_
        for index, item in enumerate(node.values):
            _check_literal(found, item_type, item, f"{path}.{index}")
    elif isinstance(node, ObjectValueNode):
        fields = type_.fields if isinstance(type_, GraphQLInputObjectType) else {}
        for field_node in node.fields:
            name = field_node.name.value
            field = fields.get(name)
            _check_literal(found, field.type if field else None, field_node.value, f"{path}.{name}")


class _Literals(Visitor):
    def __init__(self, type_info: TypeInfo, found: _Findings) -> None:
        super().__init__()
        self.type_info, self.found = type_info, found

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        argument = self.type_info.get_argument()
        _check_literal(self.found, argument.type if argument else None, node.value, node.name.value)


def check_literals(schema: GraphQLSchema, document: DocumentNode) -> _Findings:
    found = _Findings()
    type_info = TypeInfo(schema)
    visit(document, TypeInfoVisitor(type_info, _Literals(type_info, found)))
    return found


def check_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> _Findings:
    found = _Findings()
    for definition in operation.variable_definitions:
        name = definition.variable.name.value
        if name in variables:
            _check_value(found, type_from_ast(schema, definition.type), variables[name], name)
    return found


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name and definition.name.value == name)
        ):
            return definition
    return None


class InputChecks(SchemaExtension):
    """Runs the checks above before execution; the literals of a document are checked once
    per parsed document object (the parse cache hands out the same one for the same text)."""

    _literals: OrderedDict[int, tuple[DocumentNode, _Findings]] = OrderedDict()

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        try:
            self._check()
        except WeirError as error:
            if context.operation_type is OperationType.SUBSCRIPTION:
                raise  # Strawberry reports an exception of this hook as the stream's error
            # A result set here replaces execution, and goes through the error formatter.
            context.result = ExecutionResult(
                data=None, errors=[GraphQLError(error.message, original_error=error)]
            )
        yield

    def _check(self) -> None:
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return
        schema = context.schema._schema
        entry = self._literals.get(id(document))
        if entry is None or entry[0] is not document:
            entry = (document, check_literals(schema, document))
            self._literals[id(document)] = entry
            if len(self._literals) > _CACHE_SIZE:
                self._literals.popitem(last=False)
        entry[1].raise_first()
        operation = _operation(document, context.operation_name)
        if operation is not None and operation.variable_definitions and isinstance(context.variables, dict):
            check_variables(schema, operation, context.variables).raise_first()
