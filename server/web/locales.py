"""The connect page's message catalogs: ``widget/locales/<lang>.json``, one per language.

English (``en.json``) defines the keys; every other catalog has exactly the same keys (a test
fails otherwise). The page gets its language from ``?locale=`` (the widget's ``locale`` option,
or the browser's ``navigator.languages``), else from ``Accept-Language``, else English; the
chosen catalog travels inside the page's JSON, so ``connect.js`` needs no extra request. Texts
take ``{name}`` placeholders. Integration names and provider errors are never translated.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from server.web.widget import WIDGET_DIR

DEFAULT = "en"
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")


def locales_dir() -> Path:
    return WIDGET_DIR / "locales"


@cache
def available() -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in locales_dir().glob("*.json")))


@cache
def catalog(lang: str) -> dict[str, str]:
    """The messages of ``lang`` (one of ``available()``), English for any key it lacks."""
    messages = json.loads((locales_dir() / f"{DEFAULT}.json").read_text("utf-8"))
    if lang != DEFAULT and lang in available():
        messages.update(json.loads((locales_dir() / f"{lang}.json").read_text("utf-8")))
    return messages


def _candidates(header: str) -> list[str]:
    """Language tags from a comma list (``de-CH,de;q=0.9,en;q=0.5``), best first."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        tag = tag.strip()
        if _TAG.match(tag) and quality > 0:
            weighted.append((-quality, index, tag.lower().replace("_", "-")))
    return [tag for _, _, tag in sorted(weighted)]


def choose(requested: str | None, accept_language: str | None = None) -> str:
    """The first supported language of ``requested``, then of ``accept_language``; else English."""
    langs = available()
    for header in (requested or "", accept_language or ""):
        for tag in _candidates(header[:500]):
            if tag in langs:
                return tag
            primary = tag.split("-")[0]
            if primary in langs:
                return primary
    return DEFAULT


def text(lang: str, key: str, **values: object) -> str:
    message = catalog(lang).get(key, key)
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), message)
