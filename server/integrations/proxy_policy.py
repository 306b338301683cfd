"""A workspace's proxy policy for one integration: which HTTP methods and path prefixes
``/proxy/...`` may use (``WorkspaceIntegration.proxy_methods`` / ``proxy_path_prefixes``).

``None`` allows everything under the integration's base URL (the documented default); a list
allows only what it names (an empty list allows nothing). Checked when configured here, and
enforced by ``server.proxy.policy`` before any request leaves Weir.
"""

from __future__ import annotations

from server.errors import FieldError

# The methods the proxy forwards (CONNECT and TRACE never: they are no API call).
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_ITEMS = 50
MAX_PREFIX = 200


def check_methods(methods: list[str] | None, field: str) -> tuple[list[str] | None, list[FieldError]]:
    """The methods, upper-cased and without repeats, or the problems (one per bad item)."""
    if methods is None:
        return None, []
    if len(methods) > MAX_ITEMS:
        return None, [FieldError(field, f"allows at most {MAX_ITEMS} methods")]
    problems = [
        FieldError(f"{field}.{index}", f"must be one of {', '.join(METHODS)}")
        for index, method in enumerate(methods)
        if method.upper() not in METHODS
    ]
    return list(dict.fromkeys(method.upper() for method in methods)), problems


def check_prefixes(prefixes: list[str] | None, field: str) -> tuple[list[str] | None, list[FieldError]]:
    """The path prefixes without repeats, or the problems (one per bad item)."""
    if prefixes is None:
        return None, []
    if len(prefixes) > MAX_ITEMS:
        return None, [FieldError(field, f"allows at most {MAX_ITEMS} prefixes")]
    problems = []
    for index, prefix in enumerate(prefixes):
        where = f"{field}.{index}"
        if not prefix.startswith("/"):
            problems.append(FieldError(where, "must start with '/'"))
        elif len(prefix) > MAX_PREFIX:
            problems.append(FieldError(where, f"must be at most {MAX_PREFIX} characters"))
        elif ".." in prefix or "\\" in prefix or "//" in prefix:
            problems.append(FieldError(where, "must not contain '..', '//' or a backslash"))
        elif any(ord(ch) < 0x20 or ch in "?#%" or ord(ch) == 0x7F for ch in prefix):
            problems.append(
                FieldError(where, "must be a plain path (no query, '#', '%' or control characters)")
            )
    return list(dict.fromkeys(prefixes)), problems


def prefix_allows(prefix: str, path: str) -> bool:
    """Whether ``prefix`` covers ``path`` on segment boundaries: ``/repos`` allows ``/repos``
    and ``/repos/x``, not ``/reposx``; ``/repos/`` allows only what is below it."""
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")
