"""The one way in for a GraphQL document: parsed and measured here, whatever path it came by.

HTTP (POST and GET), the connect-token policy check, WebSocket ``subscribe`` and the
subscription feeds all get their document from ``DocumentCache.prepare``, so they share the
same limits (``DocumentLimits``: length, tokens, depth, aliases, selected fields) and the same
cache. The limits are checked before any validation rule runs: graphql-core's rules visit every
node, some of them (overlapping fields) more than linearly, and Strawberry's depth and alias
limiters expand fragments without memo, so a document has to be known small before they run.
A document over a limit is refused with ``extensions.code`` ``LIMIT_EXCEEDED`` (and ``limit``,
``maximum``), on every path.

Parsing is pure Python (graphql-core): a dense 5000-token document takes ~25 ms, a 100,000
character one ~10 ms. ``prepare_async`` (the HTTP and WebSocket handlers) parses a long document
that is not cached in one worker thread, so the event loop keeps its turn every GIL switch
interval (5 ms) instead of waiting for whole parses; short documents parse inline.

The cache is bounded in bytes, not entries: a parsed document holds its text, every token (as a
linked list, comments included) and every node, so its weight is its text's size plus an
estimate per token (measured: about 560 bytes per token of a dense document). Validation
results live in their document's entry and leave with it.

One schema extension (``Documents``) does what Strawberry's ``MaxTokensLimiter``,
``ParserCache``, ``AddValidationRules`` and ``ValidationCache`` did together: every extension
costs its hooks on every request, whether or not they do anything.
"""

from __future__ import annotations

import asyncio
import sys
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
# Resident bytes one token of a parsed document costs (its Token, its share of the AST nodes
# and their Locations), measured with tracemalloc on a dense 5000-token document.
TOKEN_BYTES = 600
# An estimate for one validation error kept in the cache (message, locations, the error).
ERROR_BYTES = 1000
# Documents up to this many characters parse inline (well under a millisecond); longer ones
# that are not cached parse in the worker thread.
INLINE_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """What one document may cost (``WEIR_GRAPHQL_MAX_*``)."""

    max_length: int = 100_000  # characters of the document text
    max_tokens: int = 5000  # lexical tokens; comments are counted apart, up to the same number
    max_depth: int = 12  # nested fields of one operation, fragments expanded, introspection not
    max_aliases: int = 30  # per operation, fragments expanded
    max_fields: int = 2000  # selected fields per operation, fragments expanded

    @classmethod
    def from_settings(cls, settings: Any) -> DocumentLimits:
        return cls(
            max_length=settings.graphql_max_length,
            max_tokens=settings.graphql_max_tokens,
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_fields=settings.graphql_max_fields,
        )


class DocumentRejected(GraphQLError):
    """A document over one of its limits; ``document`` is the parsed document when it parsed."""

    def __init__(
        self, message: str, *, limit: str, maximum: int, document: DocumentNode | None = None
    ) -> None:
        super().__init__(message, extensions={"code": LIMIT_EXCEEDED, "limit": limit, "maximum": maximum})
        self.document = document


def parse_limited(query: str, limits: DocumentLimits) -> DocumentNode:
    """``query`` parsed within ``limits`` (length, tokens, nesting the parser can take);
    raises ``DocumentRejected`` over a limit, ``GraphQLSyntaxError`` when it does not parse."""
    if len(query) > limits.max_length:  # before lexing: the lexer reads a character at a time
        raise DocumentRejected(
            f"the document is longer than {limits.max_length} characters",
            limit="length",
            maximum=limits.max_length,
        )
    try:
        return parse(query, max_lexical_tokens=limits.max_tokens, max_comments=limits.max_tokens)
    except GraphQLSyntaxError as exc:
        # graphql-core's parser stops early with these messages (parser.py, lexer.py).
        if "tokens. Parsing aborted." in exc.message or "comments. Parsing aborted." in exc.message:
            raise DocumentRejected(
                f"the document has more than {limits.max_tokens} tokens (or comments)",
                limit="tokens",
                maximum=limits.max_tokens,
            ) from None
        if "nested too deeply" in exc.message:
            raise DocumentRejected(
                f"the document is nested deeper than the maximum operation depth of {limits.max_depth}",
                limit="depth",
                maximum=limits.max_depth,
            ) from None
        raise


def check_cost(document: DocumentNode, limits: DocumentLimits) -> None:
    """Raise ``DocumentRejected`` when an operation of ``document`` is deeper, has more aliases
    or selects more fields than ``limits`` allow, fragments expanded. Linear in the document:
    each fragment is measured once (a spread of a fragment being measured counts nothing; the
    fragment-cycle rule reports it later), and counts stop growing past their maximum."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    measured: dict[str, tuple[int, int, int]] = {}
    cap_aliases, cap_fields = limits.max_aliases + 1, limits.max_fields + 1

    def measure(selection_set: SelectionSetNode, open_fragments: frozenset[str]) -> tuple[int, int, int]:
        depth = aliases = fields = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields += 1
                aliases += selection.alias is not None
                if selection.selection_set is not None:
                    inner = measure(selection.selection_set, open_fragments)
                    if not selection.name.value.startswith("__"):  # as Strawberry's limiter
                        depth = max(depth, 1 + inner[0])
                    aliases, fields = aliases + inner[1], fields + inner[2]
            else:
                if isinstance(selection, InlineFragmentNode):
                    inner = measure(selection.selection_set, open_fragments)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = fragments.get(name)
                    if fragment is None or name in open_fragments:
                        continue  # validation reports unknown fragments and cycles
                    if name not in measured:
                        measured[name] = measure(fragment.selection_set, open_fragments | {name})
                    inner = measured[name]
                else:
                    continue
                depth = max(depth, inner[0])
                aliases, fields = aliases + inner[1], fields + inner[2]
            aliases, fields = min(aliases, cap_aliases), min(fields, cap_fields)
        return depth, aliases, fields

    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        name = operation.name.value if operation.name else "anonymous"
        try:
            depth, aliases, fields = measure(operation.selection_set, frozenset())
        except RecursionError:
            depth, aliases, fields = limits.max_depth + 1, 0, 0
        if depth > limits.max_depth:
            raise DocumentRejected(
                f"'{name}' exceeds maximum operation depth of {limits.max_depth}",
                limit="depth",
                maximum=limits.max_depth,
                document=document,
            )
        if aliases > limits.max_aliases:
            raise DocumentRejected(
                f"'{name}' has more than {limits.max_aliases} aliases",
                limit="aliases",
                maximum=limits.max_aliases,
                document=document,
            )
        if fields > limits.max_fields:
            raise DocumentRejected(
                f"'{name}' selects more than {limits.max_fields} fields (fragments expanded)",
                limit="fields",
                maximum=limits.max_fields,
                document=document,
            )


def _token_count(document: DocumentNode) -> int:
    token = document.loc.start_token if document.loc is not None else None
    count = 0
    while token is not None:
        count += 1
        token = token.next
    return count


class _Entry:
    __slots__ = ("document", "errors", "rejection", "weight")

    def __init__(self, document: DocumentNode, rejection: DocumentRejected | None, weight: int) -> None:
        self.document, self.rejection, self.weight = document, rejection, weight
        self.errors: dict[tuple[Any, ...], list[GraphQLError]] = {}

    @classmethod
    def build(cls, query: str, limits: DocumentLimits) -> _Entry:
        """Parse and measure ``query`` (touches nothing shared: runs in the worker thread)."""
        document = parse_limited(query, limits)
        rejection = None
        try:
            check_cost(document, limits)
        except DocumentRejected as exc:
            rejection = exc
        return cls(document, rejection, sys.getsizeof(query) + TOKEN_BYTES * _token_count(document))

    def result(self) -> DocumentNode:
        if self.rejection is not None:
            raise self.rejection
        return self.document


class DocumentCache:
    """Documents by text, parsed and measured once within ``limits``, with their validation
    errors per rule set; least recently used first out once they weigh over ``max_bytes``."""

    def __init__(self, *, limits: DocumentLimits, max_bytes: int) -> None:
        self.limits, self.max_bytes = limits, max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.total_bytes = 0
        self._executor: ThreadPoolExecutor | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def prepare(self, query: str) -> DocumentNode:
        """The document of ``query``, within the limits; raises ``DocumentRejected`` over a
        limit and ``GraphQLSyntaxError`` (neither is cached when nothing parsed) otherwise."""
        entry = self._entries.get(query)
        if entry is None:
            entry = _Entry.build(query, self.limits)
            self._add(query, entry)
        else:
            self._entries.move_to_end(query)
        return entry.result()

    async def prepare_async(self, query: str) -> DocumentNode:
        """``prepare``, parsing a long uncached document in the worker thread."""
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            return entry.result()
        if len(query) <= INLINE_LENGTH or len(query) > self.limits.max_length:
            return self.prepare(query)  # cheap either way: tiny, or refused unread
        if self._executor is None:
            # One thread: hostile documents queue behind each other, not in front of the loop.
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="weir-parse")
        entry = await asyncio.get_running_loop().run_in_executor(
            self._executor, _Entry.build, query, self.limits
        )
        if query not in self._entries:
            self._add(query, entry)
        return entry.result()

    def validate(
        self, schema: Any, query: str, document: DocumentNode, rules: tuple[Any, ...]
    ) -> list[GraphQLError]:
        """The validation errors of ``document`` (the one ``prepare`` gave for ``query``)."""
        entry = self._entries.get(query)
        if entry is not None and entry.document is document and rules in entry.errors:
            return entry.errors[rules]
        errors = validate_document(schema, document, rules)
        if entry is not None and entry.document is document:
            entry.errors[rules] = errors
            extra = ERROR_BYTES * len(errors)
            entry.weight += extra
            self.total_bytes += extra
            self._shrink()
        return errors

    def _add(self, query: str, entry: _Entry) -> None:
        if entry.weight > self.max_bytes:
            return  # would evict everything else and then itself
        self._entries[query] = entry
        self.total_bytes += entry.weight
        self._shrink()

    def _shrink(self) -> None:
        while self.total_bytes > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            self.total_bytes -= evicted.weight


class Documents(SchemaExtension):
    """Adds the validation ``rules``, then parses (within the limits) and validates through
    ``cache``.

    A document that does not parse is left to Strawberry's own parser (within the same limits),
    so its syntax error is reported like any other request error; a parsed document over a
    limit is reported with ``LIMIT_EXCEEDED`` and never validated."""

    def __init__(self, *, cache: DocumentCache, rules: tuple[Any, ...]) -> None:
        self.cache, self.rules = cache, rules

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        limits = self.cache.limits
        context.parse_options["max_lexical_tokens"] = limits.max_tokens
        context.parse_options["max_comments"] = limits.max_tokens
        context.parse_options["max_source_length"] = limits.max_length
        context.validation_rules = context.validation_rules + self.rules
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            try:
                context.graphql_document = self.cache.prepare(context.query)
            except DocumentRejected as exc:
                if exc.document is None:
                    # Nothing parsed (too long, too many tokens): Strawberry's parser, given the
                    # same limits in parse_options, stops as early and reports a request error.
                    # The HTTP and WebSocket handlers refuse these before, with LIMIT_EXCEEDED.
                    context.graphql_document = None
                    yield
                    return
                context.graphql_document = exc.document
                context.pre_execution_errors = [exc]  # skips validation
            except GraphQLError:
                context.graphql_document = None
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors:  # over a limit: no rule runs
            yield
            return
        errors = self.cache.validate(
            context.schema._schema, context.query or "", context.graphql_document, context.validation_rules
        )
        # Strawberry runs the first operation when no name is given; the spec asks for an
        # error when there is more than one to choose from.
        document = context.graphql_document
        if (
            not errors
            and document is not None
            and context._provided_operation_name is None
            and sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1
        ):
            errors = [
                GraphQLError(
                    "the document has several operations: name the one to run in operationName",
                    extensions={"code": "BAD_REQUEST"},
                )
            ]
        context.pre_execution_errors = errors
        yield
