"""How one ``WEIR_*`` value is read and checked, for ``server.config`` (which re-exports
``ConfigError`` and ``Secret``): text, choices, numbers, URLs, origins, networks, and the
families of variables named per connector. Every error names its variable.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

log = logging.getLogger("weir.config")


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message names the variable."""


class Secret:
    """A setting whose value must never be printed; ``repr`` and ``str`` mask it."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# Variables Weir reads that are not fields above (prefix families and test-only names).
_KNOWN_PREFIXES = ("WEIR_CONNECTOR_", "WEIR_PLATFORM_OAUTH_", "WEIR_TEST_")


class Reader:
    """Reads ``WEIR_*`` values from one mapping, each checked, and remembers which it read."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.seen: set[str] = set()

    def _get(self, name: str) -> str | None:
        self.seen.add(name)
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def text(self, name: str, default: str) -> str:
        return self._get(name) or default

    def secret(self, name: str) -> Secret | None:
        value = self._get(name)
        return Secret(value) if value else None

    def choice(self, name: str, options: tuple[str, ...], default: str, upper: bool = False) -> str:
        value = self._get(name)
        if value is None:
            return default
        normal = value.upper() if upper else value.lower()
        if normal not in options:
            raise ConfigError(f"{name}: unknown option {value!r}; expected one of {', '.join(options)}")
        return normal

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected true or false, got {value!r}")

    def integer(self, name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
        value = self._get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name}: expected an integer, got {value!r}") from None
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ConfigError(f"{name}: must be {bound}, got {number}")
        return number

    def number(self, name: str, default: float, minimum: float = 0.05) -> float:
        value = self._get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {value!r}") from None
        if number < minimum:
            raise ConfigError(f"{name}: must be >= {minimum:g}, got {number:g}")
        return number

    def origins(self, name: str) -> tuple[str, ...]:
        """Comma-separated browser origins (``http://localhost:8080``), without paths."""
        value = self._get(name)
        if value is None:
            return ()
        found = []
        for item in (part.strip().rstrip("/") for part in value.split(",")):
            if not item:
                continue
            # urlsplit drops tabs and newlines: check the raw text, which becomes a header.
            if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in item):
                raise ConfigError(f"{name}: {item!r} contains a control character")
            parts = urlsplit(_check_url(name, item, ("http", "https")))
            if parts.path or parts.query:
                raise ConfigError(f"{name}: {item!r} is not an origin (scheme://host[:port])")
            found.append(item)
        return tuple(found)

    def outbound_allow(self, name: str) -> tuple[str, ...]:
        """Comma-separated networks (``10.0.0.0/8``, ``fd00::/8``, ``192.0.2.7``) and host names
        (``db.internal``), normalised: networks in CIDR form, names in lower case."""
        value = self._get(name)
        if value is None:
            return ()
        found: list[str] = []
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            try:
                entry = str(ipaddress.ip_network(item.strip("[]")))
            except ValueError as exc:
                if "/" in item or _looks_numeric(item):
                    raise ConfigError(f"{name}: {item!r} is not a network ({exc})") from None
                entry = item.rstrip(".").lower()
                if not _HOST_NAME.match(entry):
                    raise ConfigError(f"{name}: {item!r} is neither a network nor a host name") from None
            if entry not in found:
                found.append(entry)
        return tuple(found)

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        value = self._get(name)
        if value is None:
            return None
        return _check_url(name, value, schemes)

    def prefixed_urls(self, prefix: str, suffix: str) -> dict[str, str]:
        """``WEIR_CONNECTOR_STRIPE_BASE_URL=http://...`` -> ``{"stripe": "http://..."}``."""
        found: dict[str, str] = {}
        for name, value in self.environ.items():
            if name.startswith(prefix) and name.endswith(suffix) and value.strip():
                key = name[len(prefix) : -len(suffix)].lower()
                found[key] = _check_url(name, value.strip(), ("http", "https")).rstrip("/")
        return found

    def platform_oauth(self) -> dict[str, tuple[str, Secret]]:
        """``WEIR_PLATFORM_OAUTH_<NAME>_CLIENT_ID`` / ``..._CLIENT_SECRET`` pairs, per integration."""
        prefix = "WEIR_PLATFORM_OAUTH_"
        apps: dict[str, tuple[str, Secret]] = {}
        for name, value in self.environ.items():
            if name.startswith(prefix) and name.endswith("_CLIENT_ID") and value.strip():
                integration = name[len(prefix) : -len("_CLIENT_ID")]
                secret_name = f"{prefix}{integration}_CLIENT_SECRET"
                secret = self.environ.get(secret_name, "").strip()
                if not secret:
                    raise ConfigError(f"{secret_name}: required because {name} is set")
                apps[integration.lower()] = (value.strip(), Secret(secret))
        return apps

    def warn_unknown(self) -> None:
        for name in self.environ:
            if not name.startswith("WEIR_") or name in self.seen:
                continue
            if name.startswith(_KNOWN_PREFIXES):
                continue
            close = difflib.get_close_matches(name, sorted(self.seen), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            log.warning("ignoring unknown setting %s%s", name, hint)


_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
    r"(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


def _looks_numeric(item: str) -> bool:
    # ``10.0.0.300`` or ``2130706433`` is a mistyped address, not a host name to allow.
    return all(part.isdigit() for part in item.split(".")) or ":" in item


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: not a valid URL ({exc})") from None
    if parts.scheme not in schemes:
        raise ConfigError(
            f"{name}: unsupported URL scheme {parts.scheme or '(none)'!r}; "
            f"expected {' or '.join(s + '://' for s in schemes)}"
        )
    if parts.scheme != "sqlite" and not parts.hostname:
        raise ConfigError(f"{name}: URL has no host")
    if parts.scheme == "sqlite" and not (parts.netloc or parts.path):
        raise ConfigError(f"{name}: sqlite URL has no file path")
    try:
        parts.port  # noqa: B018 -- urlsplit checks the port lazily
    except ValueError:
        raise ConfigError(f"{name}: URL has an invalid port") from None
    return value
