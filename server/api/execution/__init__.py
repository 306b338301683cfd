"""A compiled executor for read queries: graphql-core's results at a fraction of its cost.

graphql-core resolves every field generically: it looks the field up, builds a resolve info,
calls the resolver and dispatches on the return type, for each of the ~900 fields of a page of
100 end users. For a QUERY, ``FastExecutor`` plans the operation once (per schema, operation and
values of the variables its ``@skip``/``@include`` read) with graphql-core's own field
collection, so fragments, aliases and merging come out the same. Executing a plan then does only
what differs per value: read the attribute of a plain Strawberry field, call the resolver (with
the very info object graphql-core would build) of any other field, coerce leaves, and await
sibling awaitables together so DataLoaders still batch.

It never reports an error itself. Whenever it meets anything it cannot guarantee to handle
exactly like graphql-core (an exception from a resolver, a null for a non-null field, an
abstract type, introspection, middleware, @defer...), it abandons, and the operation runs again
through graphql-core's executor. That is safe because queries have no side effects, and it keeps
errors, null propagation and their formatting exactly graphql-core's. Schema extensions (error
formatting, metrics) wrap execution from outside and see no difference.
"""

from server.api.execution.executor import FastExecutor

__all__ = ["FastExecutor"]
