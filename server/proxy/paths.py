"""Where a proxied request may go: a path under the integration's base URL, never anywhere else.

The caller's path is taken as it arrived (still percent-encoded) and refused, before anything is
sent, when it could mean something else to the provider or to a URL parser on the way:

- ``.`` or ``..`` segments, an empty segment (``//``), a backslash, ``#``, a control character;
- the percent-encoded forms of ``.``, ``/`` and ``\\`` (``%2e``, ``%2f``, ``%5c``) and of control
  characters, which some servers decode before routing;
- an absolute URL (``http://...``) or anything that does not start with ``/``.

The joined URL must then still be on the base URL's origin (scheme, host, port) and under its
path (``https://api.example.com/v1`` allows ``/v1`` and ``/v1/...``, not ``/v2`` or ``/v10``).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx

from server.errors import ValidationFailed

PATH_FIELD = "path"
MAX_PATH = 2000
MAX_QUERY = 4000

# Percent-encoded dot, slash, backslash, and control characters (C0 and DEL), any case.
_ENCODED = re.compile(r"%(2e|2f|5c|[01][0-9a-f]|7f)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# What a percent sign must introduce: two hex digits.
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed.field(PATH_FIELD, message)


def check_path(path: str) -> str:
    """``path`` (as received, percent-encoded), when it is safe to put under a base URL."""
    if len(path) > MAX_PATH:
        raise _refuse(f"is longer than {MAX_PATH} characters")
    if _SCHEME.match(path) or not path.startswith("/"):
        raise _refuse("must be a path starting with '/', not a URL")
    if _CONTROL.search(path):
        raise _refuse("must not contain control characters")
    if "\\" in path:
        raise _refuse("must not contain a backslash")
    if "#" in path:
        raise _refuse("must not contain '#'")
    if _BAD_PERCENT.search(path):
        raise _refuse("has a '%' that is not followed by two hex digits")
    if _ENCODED.search(path):
        raise _refuse("must not percent-encode '.', '/', '\\' or control characters")
    segments = path[1:].split("/")
    # A final empty segment is a trailing slash ("/repos/"), which providers may need.
    if any(segment == "" for segment in segments[:-1]):
        raise _refuse("must not contain an empty segment ('//')")
    if any(segment in (".", "..") for segment in segments):
        raise _refuse("must not contain '.' or '..' segments")
    return path


def check_query(query: str) -> str:
    """The raw query string, passed on as it is unless it could break the request line."""
    if len(query) > MAX_QUERY:
        raise ValidationFailed.field("query", f"is longer than {MAX_QUERY} characters")
    if _CONTROL.search(query) or " " in query or "#" in query:
        raise ValidationFailed.field("query", "must not contain spaces or control characters")
    return query


def decoded(path: str) -> str:
    """The path as the provider reads it, for matching policy prefixes (safe to decode: the
    encodings that could add a segment or a separator were refused by ``check_path``)."""
    return unquote(path)


def target_url(base_url: str, path: str, query: str) -> httpx.URL:
    """``path`` (already checked) under ``base_url``, with ``query``; refused when the result
    leaves the base URL's origin or path."""
    root_url = base_url.rstrip("/")
    base = httpx.URL(root_url)
    joined = httpx.URL(root_url + path + (f"?{query}" if query else ""))
    if (joined.scheme, joined.host, joined.port) != (base.scheme, base.host, base.port):
        raise _refuse("would leave the integration's API host")
    if joined.userinfo:
        raise _refuse("would leave the integration's API host")
    root = base.raw_path.decode("ascii").rstrip("/")
    own = joined.raw_path.decode("ascii").split("?", 1)[0]
    if root and own != root and not own.startswith(root + "/"):
        raise _refuse("would leave the integration's API base path")
    return joined
