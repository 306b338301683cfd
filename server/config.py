"""Weir's settings, read from ``WEIR_*`` environment variables in this module only.

Everything else receives a ``Settings`` object; tests build one directly with
``Settings(...)`` or ``Settings.from_env({...})``. A bad value raises ``ConfigError`` whose
message is one line naming the variable, so ``weir`` can print it and stop.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
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


ENVIRONMENTS = ("development", "production")
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Settings:
    """Every knob Weir has. Defaults are the embedded default of DESIGN.md."""

    env: str = "development"
    data_dir: Path = Path(".weir")
    database_url: str | None = None
    warehouse_url: str | None = None
    redis_url: str | None = None
    encryption_keys: Secret | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    # Queries through the compiled executor (server/api/execution); off: graphql-core's alone.
    fast_execution: bool = True
    # None: on, except in production (where schema discovery helps an attacker more than a user).
    graphql_introspection: bool | None = None
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    # Characters of one document, and selected fields of one operation (fragments expanded):
    # both bound what parsing and validation cost before any validation rule runs.
    graphql_max_length: int = 100_000
    graphql_max_fields: int = 2000
    # Parsed documents and their validation results kept for reuse, in (estimated) bytes.
    graphql_cache_bytes: int = 16 * 1_048_576
    # Bodies of HTTP requests and WebSocket messages alike.
    max_body_bytes: int = 1_048_576
    # graphql-transport-ws subscriptions one socket may run at once.
    ws_max_subscriptions: int = 100
    max_page_size: int = 100
    connect_session_ttl_seconds: int = 1800
    min_sync_interval_seconds: int = 300
    sync_max_retries: int = 3
    sync_time_limit_seconds: int = 6 * 3600
    run_heartbeat_seconds: int = 10
    run_stale_seconds: int = 120
    scheduler_interval_seconds: float = 5.0
    queue_reconcile_seconds: int = 60
    worker_shutdown_seconds: int = 60
    cors_origins: tuple[str, ...] = ()
    # /metrics: a bearer token to require (unset: open), and how many distinct client-chosen
    # operation names get their own label (the rest count as `other`).
    metrics_token: Secret | None = None
    metrics_max_operations: int = 100
    connector_base_urls: Mapping[str, str] = field(default_factory=dict)
    platform_oauth: Mapping[str, tuple[str, Secret]] = field(default_factory=dict)
    # The outbound guard (server/outbound.py): networks and host names opened beyond the
    # globally routable addresses, for every connection made on a tenant's behalf.
    outbound_allow: tuple[str, ...] = ()
    # Deprecated: lifts the outbound guard for webhooks only (use WEIR_OUTBOUND_ALLOW).
    webhooks_allow_private: bool = False
    webhooks_timeout_seconds: float = 10.0
    webhooks_retry_window_seconds: int = 24 * 3600
    webhooks_disable_after_seconds: int = 3 * 24 * 3600
    webhooks_claim_seconds: int = 120
    webhooks_rotation_grace_seconds: int = 24 * 3600
    webhooks_poll_seconds: float = 2.0
    webhooks_retention_days: int = 30
    # Credential checks (testConnection, submitCredentials), per connection or connect session:
    # concurrent checks share one, a result is reused this many seconds for the same
    # credentials (0: never), and each may start this many checks a minute (0: no budget).
    checks_reuse_seconds: float = 5.0
    checks_per_minute: int = 10
    # Request budgets (server/web/budgets.py): GraphQL requests over HTTP plus operations over
    # WebSocket, per minute, per API key and per connect token; 0 turns a budget off. Shared
    # through Redis when WEIR_REDIS_URL is set, else per process.
    rate_limit_key_per_minute: int = 6000
    rate_limit_connect_token_per_minute: int = 300

    # -- derived values -------------------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def graphiql(self) -> bool:
        return not self.is_production

    @property
    def introspection(self) -> bool:
        """Whether the schema answers ``__schema``/``__type``; field suggestions ("Did you
        mean ...?") follow it, since they reveal the schema one name at a time."""
        if self.graphql_introspection is None:
            return not self.is_production
        return self.graphql_introspection

    @property
    def embedded(self) -> bool:
        """True when no external database is configured: one process runs everything."""
        return self.database_url is None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{(self.data_dir / 'weir.db').as_posix()}"

    @property
    def effective_warehouse_url(self) -> str:
        return self.warehouse_url or f"sqlite://{(self.data_dir / 'warehouse.db').as_posix()}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    # -- reading the environment ----------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``WEIR_*`` variables; raise ``ConfigError`` on a bad value."""
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        environment = reader.choice("WEIR_ENV", ENVIRONMENTS, cls.env)
        settings = cls(
            env=environment,
            data_dir=Path(reader.text("WEIR_DATA_DIR", str(cls.data_dir))),
            database_url=reader.url("WEIR_DATABASE_URL", ("sqlite", "postgres", "postgresql")),
            warehouse_url=reader.url("WEIR_WAREHOUSE_URL", ("sqlite", "postgres", "postgresql")),
            redis_url=reader.url("WEIR_REDIS_URL", ("redis", "rediss")),
            encryption_keys=reader.secret("WEIR_ENCRYPTION_KEYS"),
            host=reader.text("WEIR_HOST", cls.host),
            port=reader.integer("WEIR_PORT", cls.port, minimum=1, maximum=65535),
            public_url=reader.url("WEIR_PUBLIC_URL", ("http", "https")),
            log_level=reader.choice("WEIR_LOG_LEVEL", LOG_LEVELS, cls.log_level, upper=True),
            log_format=reader.choice("WEIR_LOG_FORMAT", LOG_FORMATS, cls.log_format),
            fast_execution=reader.boolean("WEIR_FAST_EXECUTION", cls.fast_execution),
            graphql_introspection=reader.boolean(
                "WEIR_GRAPHQL_INTROSPECTION", environment != "production"
            ),
            graphql_max_depth=reader.integer("WEIR_GRAPHQL_MAX_DEPTH", cls.graphql_max_depth),
            graphql_max_aliases=reader.integer(
                "WEIR_GRAPHQL_MAX_ALIASES", cls.graphql_max_aliases
            ),
            graphql_max_tokens=reader.integer("WEIR_GRAPHQL_MAX_TOKENS", cls.graphql_max_tokens),
            graphql_max_length=reader.integer("WEIR_GRAPHQL_MAX_LENGTH", cls.graphql_max_length),
            graphql_max_fields=reader.integer("WEIR_GRAPHQL_MAX_FIELDS", cls.graphql_max_fields),
            graphql_cache_bytes=reader.integer("WEIR_GRAPHQL_CACHE_BYTES",
                                               cls.graphql_cache_bytes, minimum=0),
            ws_max_subscriptions=reader.integer("WEIR_WS_MAX_SUBSCRIPTIONS",
                                                cls.ws_max_subscriptions),
            max_body_bytes=reader.integer("WEIR_MAX_BODY_BYTES", cls.max_body_bytes),
            max_page_size=reader.integer("WEIR_MAX_PAGE_SIZE", cls.max_page_size, maximum=1000),
            connect_session_ttl_seconds=reader.integer(
                "WEIR_CONNECT_SESSION_TTL_SECONDS", cls.connect_session_ttl_seconds
            ),
            min_sync_interval_seconds=reader.integer(
                "WEIR_MIN_SYNC_INTERVAL_SECONDS", cls.min_sync_interval_seconds, minimum=0
            ),
            sync_max_retries=reader.integer("WEIR_SYNC_MAX_RETRIES", cls.sync_max_retries,
                                            minimum=0),
            sync_time_limit_seconds=reader.integer(
                "WEIR_SYNC_TIME_LIMIT_SECONDS", cls.sync_time_limit_seconds
            ),
            run_heartbeat_seconds=reader.integer("WEIR_RUN_HEARTBEAT_SECONDS",
                                                 cls.run_heartbeat_seconds),
            run_stale_seconds=reader.integer("WEIR_RUN_STALE_SECONDS", cls.run_stale_seconds),
            scheduler_interval_seconds=reader.number("WEIR_SCHEDULER_INTERVAL_SECONDS",
                                                     cls.scheduler_interval_seconds),
            queue_reconcile_seconds=reader.integer("WEIR_QUEUE_RECONCILE_SECONDS",
                                                   cls.queue_reconcile_seconds),
            worker_shutdown_seconds=reader.integer("WEIR_WORKER_SHUTDOWN_SECONDS",
                                                   cls.worker_shutdown_seconds, minimum=0),
            cors_origins=reader.origins("WEIR_CORS_ORIGINS"),
            metrics_token=reader.secret("WEIR_METRICS_TOKEN"),
            metrics_max_operations=reader.integer("WEIR_METRICS_MAX_OPERATIONS",
                                                  cls.metrics_max_operations, minimum=0),
            connector_base_urls=reader.prefixed_urls("WEIR_CONNECTOR_", "_BASE_URL"),
            platform_oauth=reader.platform_oauth(),
            outbound_allow=reader.outbound_allow("WEIR_OUTBOUND_ALLOW"),
            webhooks_allow_private=reader.boolean("WEIR_WEBHOOKS_ALLOW_PRIVATE",
                                                  cls.webhooks_allow_private),
            webhooks_timeout_seconds=reader.integer("WEIR_WEBHOOKS_TIMEOUT_SECONDS", 10,
                                                    maximum=300),
            webhooks_retry_window_seconds=reader.integer(
                "WEIR_WEBHOOKS_RETRY_WINDOW_SECONDS", cls.webhooks_retry_window_seconds
            ),
            webhooks_disable_after_seconds=reader.integer(
                "WEIR_WEBHOOKS_DISABLE_AFTER_SECONDS", cls.webhooks_disable_after_seconds
            ),
            webhooks_claim_seconds=reader.integer("WEIR_WEBHOOKS_CLAIM_SECONDS",
                                                  cls.webhooks_claim_seconds),
            webhooks_rotation_grace_seconds=reader.integer(
                "WEIR_WEBHOOKS_ROTATION_GRACE_SECONDS", cls.webhooks_rotation_grace_seconds,
                minimum=0,
            ),
            webhooks_poll_seconds=reader.integer("WEIR_WEBHOOKS_POLL_SECONDS", 2),
            webhooks_retention_days=reader.integer("WEIR_WEBHOOKS_RETENTION_DAYS",
                                                   cls.webhooks_retention_days),
            checks_reuse_seconds=reader.number("WEIR_CHECKS_REUSE_SECONDS",
                                               cls.checks_reuse_seconds, minimum=0),
            checks_per_minute=reader.integer("WEIR_CHECKS_PER_MINUTE", cls.checks_per_minute,
                                             minimum=0),
            rate_limit_key_per_minute=reader.integer(
                "WEIR_RATE_LIMIT_KEY_PER_MINUTE", cls.rate_limit_key_per_minute, minimum=0),
            rate_limit_connect_token_per_minute=reader.integer(
                "WEIR_RATE_LIMIT_CONNECT_TOKEN_PER_MINUTE",
                cls.rate_limit_connect_token_per_minute, minimum=0),
        )
        reader.warn_unknown()
        if settings.run_stale_seconds < 2 * settings.run_heartbeat_seconds:
            # Otherwise a healthy run between two heartbeats would be taken for a lost one.
            raise ConfigError(
                f"WEIR_RUN_STALE_SECONDS: must be at least twice WEIR_RUN_HEARTBEAT_SECONDS "
                f"({settings.run_heartbeat_seconds}), got {settings.run_stale_seconds}")
        return settings


# Variables Weir reads that are not fields above (prefix families and test-only names).
_KNOWN_PREFIXES = ("WEIR_CONNECTOR_", "WEIR_PLATFORM_OAUTH_", "WEIR_TEST_")


class _Reader:
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

    def integer(
        self, name: str, default: int, minimum: int = 1, maximum: int | None = None
    ) -> int:
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
            if any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in item):
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
                    raise ConfigError(
                        f"{name}: {item!r} is neither a network nor a host name") from None
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


_HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
                        r"(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")


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


def load_or_exit(environ: Mapping[str, str] | None = None,
                 echo: Callable[[str], Any] | None = None) -> Settings:
    """Read settings for a command; on a bad value print one line and exit with status 2."""
    try:
        return Settings.from_env(environ)
    except ConfigError as exc:
        import sys

        (echo or (lambda line: print(line, file=sys.stderr)))(f"weir: configuration error: {exc}")
        raise SystemExit(2) from None
