"""``{placeholder}`` templates of connector definitions, filled without letting a value escape.

A connector definition's URLs, paths, headers and query values may name per-connection
parameters (``https://{subdomain}.zendesk.com``), credential fields (``Bearer {api_key}``) and,
in stream paths, sync settings (``/v0/{settings.base_id}/{settings.table}``). Values come from
end users, so how each is inserted depends on where it lands:

- ``PATH``: percent-encoded as one path segment (``/`` included), so ``../admin`` stays a name;
- ``URL``: the whole string is a URL, and a value must not change which host it points at: a
  value that starts the template (``{base_url}/api``) must itself be an http(s) URL; anywhere
  else (``https://{shop}.myshopify.com``) it may not hold ``/ ? # @ : \\`` or spaces. Parameters
  are also checked against their own patterns when a connection is made (``definition``);
- ``TEXT``: header and query values; a CR, LF or other control character is refused, so a value
  can never add a header;
- ``BODY``: a string inside an action's JSON body, where JSON encoding escapes any character.

``{{`` and ``}}`` stand for literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from typing import Any
from urllib.parse import quote, urlsplit

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)\}")


class Where(Enum):
    PATH = "path"
    URL = "url"
    TEXT = "text"
    # A string inside a JSON body (an action's ``body``): JSON encoding escapes whatever the
    # value holds, so line breaks are kept (a message's text has them).
    BODY = "body"


class TemplateError(ValueError):
    """A template names a value that is missing, or a value that may not go where it is put."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{{{name}}} {message}")
        self.name = name


def names(template: str) -> list[str]:
    """The placeholders a template uses, in order, without duplicates."""
    found = [match.group(1) for match in PLACEHOLDER.finditer(template) if match.group(1)]
    return list(dict.fromkeys(found))


def _text(name: str, value: Any, *, controls: bool = False) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        text = str(value)
    else:
        raise TemplateError(name, "must be a string or a number")
    if not controls and any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise TemplateError(name, "must not contain control characters")
    return text


def render(template: str, values: Mapping[str, Any], where: Where) -> str:
    """``template`` with every ``{name}`` replaced by ``values[name]`` as ``where`` requires.

    Raises ``TemplateError`` naming the placeholder when a value is missing or not allowed.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        value = values.get(name)
        if value is None or value == "":
            raise TemplateError(name, "has no value")
        text = _text(name, value, controls=where is Where.BODY)
        if where is Where.URL:
            if match.start() == 0:
                if not _is_http_url(text):
                    raise TemplateError(name, "must be an http(s) URL")
            elif _HOST_BREAKERS.search(text):
                raise TemplateError(name, "must not contain / ? # @ : \\ or spaces")
        if where is Where.PATH:
            if text in (".", ".."):
                raise TemplateError(name, "must not be . or ..")
            return quote(text, safe="")
        return text

    result = PLACEHOLDER.sub(replace, template)
    if where is Where.URL and not _is_http_url(result):
        raise TemplateError((names(template) or ["url"])[0], "does not make a valid http(s) URL")
    return result


_HOST_BREAKERS = re.compile(r"[/?#@:\\\s]")


def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc
    except ValueError:
        return False
