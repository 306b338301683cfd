"""The info object of a directly called resolver, with its graphql-core half built on demand.

Strawberry's ``Info`` wraps graphql-core's resolve info, a 12-field tuple that costs more to
build than most resolvers cost to run. A relation resolved through a DataLoader reads only
``info.context``; a page of 100 end users builds 100 of them for their ``workspace``. The class
below is the schema's own info class (so ``isinstance`` and every property behave the same),
except that the graphql-core info is built by the executor's own ``build_resolve_info`` the
first time anything but the context is read, and is the very object graphql-core would pass.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def deferred_info_class(info_class: type) -> type:
    """``info_class`` with its graphql-core info built on first use."""

    class DeferredInfo(info_class):  # type: ignore[misc,valid-type]
        def __init__(self, executor: Any, site: tuple[Any, Any, Any], path: Any, field: Any) -> None:
            # Not the dataclass __init__: that would store the graphql-core info it is given.
            self._field = field
            self._executor, self._site, self._path = executor, site, path

        @property
        def _raw_info(self) -> Any:
            raw = self.__dict__.get("_built")
            if raw is None:
                field_def, nodes, parent_type = self._site
                raw = self.__dict__["_built"] = self._executor.build_resolve_info(
                    field_def, nodes, parent_type, self._path
                )
            return raw

        @property
        def context(self) -> Any:
            return self._executor.context_value

    DeferredInfo.__name__ = DeferredInfo.__qualname__ = info_class.__name__
    return DeferredInfo
