"""Parsing and validation of GraphQL documents, cached across requests, with Weir's limits.

One schema extension does what Strawberry's ``MaxTokensLimiter``, ``ParserCache``,
``AddValidationRules`` and ``ValidationCache`` did together: every extension costs its hooks on
every request, whether or not they do anything. Validation results are kept per parsed document
object (the parse cache hands out the same object for the same text) rather than hashing the
whole document tree on every request as a ``functools.lru_cache`` of it does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document


class DocumentCache:
    """Parsed documents by text and token limit, and validation errors by document object
    and rules, each bounded to the ``maxsize`` most recently used."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._parsed: OrderedDict[tuple[str, tuple[Any, ...]], DocumentNode] = OrderedDict()
        # Each entry keeps its document alive, so its id is not reused while the entry exists.
        self._errors: OrderedDict[tuple[int, tuple[Any, ...]],
                                  tuple[DocumentNode, list[GraphQLError]]] = OrderedDict()

    def parse(self, query: str, options: dict[str, Any]) -> DocumentNode:
        """The document of ``query`` parsed with ``options``; raises ``GraphQLError`` (not
        cached) if it does not parse."""
        key = (query, tuple(sorted(options.items())))
        document = self._parsed.get(key)
        if document is None:
            document = self._parsed[key] = parse(query, **options)
            if len(self._parsed) > self.maxsize:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(key)
        return document

    def validate(self, schema: Any, document: DocumentNode,
                 rules: tuple[Any, ...]) -> list[GraphQLError]:
        key = (id(document), rules)
        entry = self._errors.get(key)
        if entry is not None and entry[0] is document:
            self._errors.move_to_end(key)
            return entry[1]
        errors = validate_document(schema, document, rules)
        self._errors[key] = (document, errors)
        if len(self._errors) > self.maxsize:
            self._errors.popitem(last=False)
        return errors


class Documents(SchemaExtension):
    """Adds the limit rules and the token limit, then parses and validates through ``cache``.

    A document that does not parse is left to Strawberry's own parser, so its syntax error (or
    too many tokens) is reported like any other request error."""

    def __init__(self, *, cache: DocumentCache, rules: tuple[Any, ...], max_tokens: int) -> None:
        self.cache, self.rules, self.max_tokens = cache, rules, max_tokens

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            try:
                context.graphql_document = self.cache.parse(context.query, context.parse_options)
            except GraphQLError:
                context.graphql_document = None
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        errors = self.cache.validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        # Strawberry runs the first operation when no name is given; the spec asks for an
        # error when there is more than one to choose from.
        document = context.graphql_document
        if (not errors and document is not None and context._provided_operation_name is None
                and sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1):
            errors = [GraphQLError(
                "the document has several operations: name the one to run in operationName",
                extensions={"code": "BAD_REQUEST"})]
        context.pre_execution_errors = errors
        yield
