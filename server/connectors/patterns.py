"""Which regular expressions a definition may carry: none that can backtrack exponentially.

Patterns in a custom integration's definition come from a tenant, and Weir matches them against
values end users type (parameters, credential fields, sync settings) with Python's ``re``, which
backtracks. A pattern like ``^(a+)+$`` takes time exponential in the value's length, so one
tenant could stall the server for every other. Python has no linear-time engine in the standard
library, so Weir refuses the shapes that cause it instead: a repeated group that itself repeats
or holds an alternation (star height above one, or a repeated choice whose branches may overlap).
Everything that such patterns usually say is still expressible (``^[a-z0-9-]+$``,
``^https://[a-z0-9-]+\\.example\\.com$``, ``^(us|eu)$``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

QUANTIFIER_START = "*+?{"
UNSAFE = "must not repeat a group that itself repeats or offers alternatives (it could take exponential time)"


def _quantified_at(pattern: str, index: int) -> bool:
    """Whether a quantifier that repeats (``*``, ``+``, ``{n,}``, ``{n,m}`` with m > 1) starts at
    ``index``; ``?`` alone makes an element optional, which does not repeat it."""
    if index >= len(pattern):
        return False
    char = pattern[index]
    if char in "*+":
        return True
    if char == "{":
        match = re.match(r"\{(\d*)(,(\d*))?\}", pattern[index:])
        if not match:
            return False
        low, comma, high = match.group(1), match.group(2), match.group(3)
        if comma is None:
            return bool(low) and int(low) > 1
        return not high or int(high) > 1
    return False


def is_safe(pattern: str) -> bool:
    """False when a repeated group contains a repetition or an alternation."""
    # For each open group: does it contain a repetition or a "|"?
    stack: list[bool] = []
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            after = index + 2
            if not in_class and _quantified_at(pattern, after) and stack:
                stack[-1] = True
            index = after
            continue
        if in_class:
            if char == "]":
                in_class = False
                if _quantified_at(pattern, index + 1) and stack:
                    stack[-1] = True
            index += 1
            continue
        if char == "[":
            in_class = True
            # "[]..." and "[^]...": a "]" right after the opening is a literal.
            index += 1
            if index < len(pattern) and pattern[index] == "^":
                index += 1
            if index < len(pattern) and pattern[index] == "]":
                index += 1
            continue
        if char == "(":
            stack.append(False)
        elif char == "|":
            if stack:
                stack[-1] = True
        elif char == ")":
            risky = stack.pop() if stack else False
            if risky and _quantified_at(pattern, index + 1):
                return False
            if stack and (risky or _quantified_at(pattern, index + 1)):
                stack[-1] = True
        elif _quantified_at(pattern, index) and stack:
            stack[-1] = True
        index += 1
    return True


def patterns_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every ``pattern`` string in a definition (JSON Schema forms included), with its path."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "pattern" and isinstance(item, str):
                yield where, item
            else:
                yield from patterns_in(item, where)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from patterns_in(item, f"{path}.{position}" if path else str(position))


def pattern_problems(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A problem for every pattern of the definition that could backtrack exponentially."""
    return [(where, UNSAFE) for where, pattern in patterns_in(definition) if not is_safe(pattern)]
