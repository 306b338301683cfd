"""The connect page's message catalogs (widget/locales/<lang>.json): complete, and chosen well."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from server.web import locales

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted((ROOT / "widget" / "locales").glob("*.json"))
ENGLISH = json.loads((ROOT / "widget" / "locales" / "en.json").read_text("utf-8"))


def placeholders(message: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", message))


def test_the_required_languages_are_there():
    assert {"en", "de", "fr", "es", "pt", "ja", "ar"} <= {path.stem for path in CATALOGS}


@pytest.mark.parametrize("path", CATALOGS, ids=[path.stem for path in CATALOGS])
def test_every_catalog_has_exactly_the_english_keys(path):
    messages = json.loads(path.read_text("utf-8"))
    assert sorted(set(ENGLISH) - set(messages)) == [], "missing keys"
    assert sorted(set(messages) - set(ENGLISH)) == [], "keys English does not have"
    for key, message in messages.items():
        assert isinstance(message, str) and message.strip(), key
        assert placeholders(message) == placeholders(ENGLISH[key]), key
    assert messages["dir"] in ("ltr", "rtl")


def test_arabic_is_right_to_left():
    assert locales.catalog("ar")["dir"] == "rtl"
    assert locales.catalog("de")["dir"] == "ltr"


@pytest.mark.parametrize(
    ("requested", "accept", "chosen"),
    [
        ("de", None, "de"),
        ("de-CH,en", None, "de"),
        ("pt-BR", None, "pt"),
        ("xx-YY,ja-JP", None, "ja"),
        ("", "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        (None, "en;q=0.5,es;q=0.9", "es"),
        ("zz", "zz", "en"),
        (None, None, "en"),
        ("ar", "de", "ar"),
        ("<script>", "de;q=0", "en"),
        ("a" * 600, None, "en"),
    ],
)
def test_choose(requested, accept, chosen):
    assert locales.choose(requested, accept) == chosen


def test_text_fills_placeholders_and_keeps_unknown_ones():
    assert locales.text("de", "page_title", name="Acme") == "Mit Acme verbinden"
    assert locales.text("en", "page_title") == "Connect to {name}"
