"""Patterns a tenant's definition may carry: none that backtracks exponentially in ``re``."""

from __future__ import annotations

import pytest

from server.connectors.definition import DefinitionError, parse_definition
from server.connectors.patterns import UNSAFE, is_safe

UNSAFE_PATTERNS = [
    r"^(a+)+$",
    r"^(a|a)*$",
    r"(x+x+)+y",
    r"^(\w+\s?)*$",
    r"^([a-z]+){2,}$",
    r"(a*)*",
    r"((ab)*c)+",
    r"^(\d+|\w+)+$",
]
SAFE_PATTERNS = [
    r"^[a-z0-9-]+$",
    r"^https://[a-z0-9-]+\.(freshsales\.io|myfreshworks\.com/crm/sales)$",
    r"^(us|eu)$",
    r"^pat",
    r"pk_[A-Za-z0-9]{20,64}",
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
    r"^(ab)+$",
    r"[(+]+",
    r"\(+",
    r"^(a){1}$",
]


@pytest.mark.parametrize("pattern", UNSAFE_PATTERNS)
def test_patterns_that_can_backtrack_exponentially_are_refused(pattern):
    assert not is_safe(pattern)


@pytest.mark.parametrize("pattern", SAFE_PATTERNS)
def test_ordinary_patterns_are_accepted(pattern):
    assert is_safe(pattern)


def test_a_definition_is_refused_wherever_it_hides_such_a_pattern():
    definition = {
        "name": "evil",
        "display_name": "Evil",
        "category": "OTHER",
        "description": "Patterns aimed at the server.",
        "parameters": {"sub": {"title": "Sub", "pattern": r"^(a+)+$"}},
        "auth": {"type": "custom", "fields": {"key": {"title": "Key", "pattern": r"(x*)*"}}},
        "api": {"base_url": "https://{sub}.example.com"},
        "check": {"path": "/me"},
        "settings": {"type": "object", "properties": {"q": {"type": "string", "pattern": r"(a|b)+"}}},
    }
    with pytest.raises(DefinitionError) as raised:
        parse_definition(definition)
    assert {(path, message) for path, message in raised.value.problems if message == UNSAFE} == {
        ("parameters.sub.pattern", UNSAFE),
        ("auth.fields.key.pattern", UNSAFE),
        ("settings.properties.q.pattern", UNSAFE),
    }
