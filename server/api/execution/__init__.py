"""A compiled executor for read queries: graphql-core's results at a fraction of its cost.

graphql-core resolves every field generically: it looks the field up, builds a resolve info,
calls the resolver and dispatches on the return type, for each of the ~900 fields of a page of
100 end users. For a QUERY, ``FastExecutor`` plans the operation once (per schema, operation and
values of the variables its ``@skip``/``@include`` read) with graphql-core's own field
collection, so fragments, aliases and merging come out the same. Executing a plan then does only
what differs per value: read the attribute of a plain Strawberry field, call the resolver (with
the very info object graphql-core would build) of any other field, coerce leaves, and await
sibling awaitables together so DataLoaders still batch.

Errors are graphql-core's, made by graphql-core's own ``handle_field_error`` at the field or
list item where they happen, with its null propagation: a resolver that raises is a field
error, never a reason to run the operation again. The only fallback to graphql-core's executor
is decided while planning, before any resolver runs: an operation with a construct the planner
does not compile (introspection, abstract types, @defer, middleware...) or whose planning
failed runs through graphql-core instead, counted in ``/metrics``
(``weir_graphql_fast_execution_fallbacks_total``) and logged once per operation.
``WEIR_FAST_EXECUTION=off`` turns the fast path off altogether. Schema extensions (error
formatting, metrics) wrap execution from outside and see no difference.
"""

from server.api.execution.events import EventExecutor
from server.api.execution.executor import FastExecutor

__all__ = ["EventExecutor", "FastExecutor"]
