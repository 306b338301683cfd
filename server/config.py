"""Weir's settings, read from ``WEIR_*`` environment variables in this module only.

Everything else receives a ``Settings`` object; tests build one directly with
``Settings(...)`` or ``Settings.from_env({...})``. A bad value raises ``ConfigError`` whose
message is one line naming the variable, so ``weir`` can print it and stop. How each value is
parsed and checked is in ``server.config_reader``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.config_reader import ConfigError, Reader, Secret

__all__ = ["ConfigError", "Secret", "Settings", "load_or_exit"]


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
    # The operator console at /console (server.web.console); its users sign in with an API key.
    console: bool = True
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
    # A running run that loaded no batch for this long is marked stuck (once, with an event).
    run_stuck_seconds: int = 1800
    # A run rides out an outage of Weir's own database this long before failing (saying so).
    run_database_outage_seconds: int = 60
    scheduler_interval_seconds: float = 5.0
    queue_reconcile_seconds: int = 60
    worker_shutdown_seconds: int = 60
    cors_origins: tuple[str, ...] = ()
    # /metrics: a bearer token to require (unset: open), and how many distinct client-chosen
    # operation names get their own label (the rest count as `other`).
    metrics_token: Secret | None = None
    metrics_max_operations: int = 100
    # Deployment-wide endpoint overrides per integration name (WEIR_CONNECTOR_<NAME>_*_URL),
    # applied by server.integrations.catalog.connector_for before a workspace's own.
    connector_base_urls: Mapping[str, str] = field(default_factory=dict)
    connector_authorize_urls: Mapping[str, str] = field(default_factory=dict)
    connector_token_urls: Mapping[str, str] = field(default_factory=dict)
    connector_revocation_urls: Mapping[str, str] = field(default_factory=dict)
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
    # How long the call log keeps a call (server.calls.retention, pruned by the scheduler).
    call_log_retention_days: int = 30
    # How long the audit log keeps an entry (server.audit.service, pruned by the scheduler).
    audit_log_retention_days: int = 90
    # Credential checks (testConnection, submitCredentials), per connection or connect session:
    # concurrent checks share one, a result is reused this many seconds for the same
    # credentials (0: never), and each may start this many checks a minute (0: no budget).
    checks_reuse_seconds: float = 5.0
    checks_per_minute: int = 10
    # Liveness checks (server.integrations.liveness, run by the scheduler): every connection is
    # checked about this often (jittered), a DEGRADED one retried after the retry seconds
    # (doubling per failure, up to the interval), an OAuth grant refreshed at least this often
    # to keep it alive, and at most this many connections checked per scheduler tick.
    connection_check_interval_seconds: float = 6 * 3600.0
    oauth_keepalive_seconds: float = 24 * 3600.0
    connection_check_retry_seconds: float = 60.0
    connection_checks_per_tick: int = 20
    # How long the reconnect session a NEEDS_REAUTHORIZATION connection carries stays usable.
    reconnect_session_ttl_seconds: int = 7 * 24 * 3600
    # Request budgets (server/web/budgets.py): GraphQL requests over HTTP plus operations over
    # WebSocket, per minute, per API key and per connect token; 0 turns a budget off. Shared
    # through Redis when WEIR_REDIS_URL is set, else per process.
    rate_limit_key_per_minute: int = 6000
    rate_limit_connect_token_per_minute: int = 300
    # The authenticated proxy (server/proxy): the largest request body it forwards (buffered,
    # so a refresh after a 401 can send it again) and the largest response it streams back.
    proxy_max_request_bytes: int = 10 * 1_048_576
    proxy_max_response_bytes: int = 100 * 1_048_576

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
        reader = Reader(env)
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
            console=reader.boolean("WEIR_CONSOLE", cls.console),
            graphql_introspection=reader.boolean("WEIR_GRAPHQL_INTROSPECTION", environment != "production"),
            graphql_max_depth=reader.integer("WEIR_GRAPHQL_MAX_DEPTH", cls.graphql_max_depth),
            graphql_max_aliases=reader.integer("WEIR_GRAPHQL_MAX_ALIASES", cls.graphql_max_aliases),
            graphql_max_tokens=reader.integer("WEIR_GRAPHQL_MAX_TOKENS", cls.graphql_max_tokens),
            graphql_max_length=reader.integer("WEIR_GRAPHQL_MAX_LENGTH", cls.graphql_max_length),
            graphql_max_fields=reader.integer("WEIR_GRAPHQL_MAX_FIELDS", cls.graphql_max_fields),
            graphql_cache_bytes=reader.integer(
                "WEIR_GRAPHQL_CACHE_BYTES", cls.graphql_cache_bytes, minimum=0
            ),
            ws_max_subscriptions=reader.integer("WEIR_WS_MAX_SUBSCRIPTIONS", cls.ws_max_subscriptions),
            max_body_bytes=reader.integer("WEIR_MAX_BODY_BYTES", cls.max_body_bytes),
            max_page_size=reader.integer("WEIR_MAX_PAGE_SIZE", cls.max_page_size, maximum=1000),
            connect_session_ttl_seconds=reader.integer(
                "WEIR_CONNECT_SESSION_TTL_SECONDS", cls.connect_session_ttl_seconds
            ),
            min_sync_interval_seconds=reader.integer(
                "WEIR_MIN_SYNC_INTERVAL_SECONDS", cls.min_sync_interval_seconds, minimum=0
            ),
            sync_max_retries=reader.integer("WEIR_SYNC_MAX_RETRIES", cls.sync_max_retries, minimum=0),
            sync_time_limit_seconds=reader.integer(
                "WEIR_SYNC_TIME_LIMIT_SECONDS", cls.sync_time_limit_seconds
            ),
            run_heartbeat_seconds=reader.integer("WEIR_RUN_HEARTBEAT_SECONDS", cls.run_heartbeat_seconds),
            run_stale_seconds=reader.integer("WEIR_RUN_STALE_SECONDS", cls.run_stale_seconds),
            run_stuck_seconds=reader.integer("WEIR_RUN_STUCK_SECONDS", cls.run_stuck_seconds, minimum=1),
            run_database_outage_seconds=reader.integer(
                "WEIR_RUN_DATABASE_OUTAGE_SECONDS", cls.run_database_outage_seconds
            ),
            scheduler_interval_seconds=reader.number(
                "WEIR_SCHEDULER_INTERVAL_SECONDS", cls.scheduler_interval_seconds
            ),
            queue_reconcile_seconds=reader.integer(
                "WEIR_QUEUE_RECONCILE_SECONDS", cls.queue_reconcile_seconds
            ),
            worker_shutdown_seconds=reader.integer(
                "WEIR_WORKER_SHUTDOWN_SECONDS", cls.worker_shutdown_seconds, minimum=0
            ),
            cors_origins=reader.origins("WEIR_CORS_ORIGINS"),
            metrics_token=reader.secret("WEIR_METRICS_TOKEN"),
            metrics_max_operations=reader.integer(
                "WEIR_METRICS_MAX_OPERATIONS", cls.metrics_max_operations, minimum=0
            ),
            connector_base_urls=reader.prefixed_urls("WEIR_CONNECTOR_", "_BASE_URL"),
            connector_authorize_urls=reader.prefixed_urls("WEIR_CONNECTOR_", "_AUTHORIZE_URL"),
            connector_token_urls=reader.prefixed_urls("WEIR_CONNECTOR_", "_TOKEN_URL"),
            connector_revocation_urls=reader.prefixed_urls("WEIR_CONNECTOR_", "_REVOCATION_URL"),
            platform_oauth=reader.platform_oauth(),
            outbound_allow=reader.outbound_allow("WEIR_OUTBOUND_ALLOW"),
            webhooks_allow_private=reader.boolean("WEIR_WEBHOOKS_ALLOW_PRIVATE", cls.webhooks_allow_private),
            webhooks_timeout_seconds=reader.integer("WEIR_WEBHOOKS_TIMEOUT_SECONDS", 10, maximum=300),
            webhooks_retry_window_seconds=reader.integer(
                "WEIR_WEBHOOKS_RETRY_WINDOW_SECONDS", cls.webhooks_retry_window_seconds
            ),
            webhooks_disable_after_seconds=reader.integer(
                "WEIR_WEBHOOKS_DISABLE_AFTER_SECONDS", cls.webhooks_disable_after_seconds
            ),
            webhooks_claim_seconds=reader.integer("WEIR_WEBHOOKS_CLAIM_SECONDS", cls.webhooks_claim_seconds),
            webhooks_rotation_grace_seconds=reader.integer(
                "WEIR_WEBHOOKS_ROTATION_GRACE_SECONDS",
                cls.webhooks_rotation_grace_seconds,
                minimum=0,
            ),
            webhooks_poll_seconds=reader.integer("WEIR_WEBHOOKS_POLL_SECONDS", 2),
            webhooks_retention_days=reader.integer(
                "WEIR_WEBHOOKS_RETENTION_DAYS", cls.webhooks_retention_days
            ),
            call_log_retention_days=reader.integer(
                "WEIR_CALL_LOG_RETENTION_DAYS", cls.call_log_retention_days, maximum=3650
            ),
            audit_log_retention_days=reader.integer(
                "WEIR_AUDIT_LOG_RETENTION_DAYS", cls.audit_log_retention_days, minimum=1, maximum=3650
            ),
            checks_reuse_seconds=reader.number(
                "WEIR_CHECKS_REUSE_SECONDS", cls.checks_reuse_seconds, minimum=0
            ),
            checks_per_minute=reader.integer("WEIR_CHECKS_PER_MINUTE", cls.checks_per_minute, minimum=0),
            connection_check_interval_seconds=reader.number(
                "WEIR_CONNECTION_CHECK_INTERVAL_SECONDS", cls.connection_check_interval_seconds, minimum=1
            ),
            oauth_keepalive_seconds=reader.number(
                "WEIR_OAUTH_KEEPALIVE_SECONDS", cls.oauth_keepalive_seconds, minimum=1
            ),
            connection_check_retry_seconds=reader.number(
                "WEIR_CONNECTION_CHECK_RETRY_SECONDS", cls.connection_check_retry_seconds, minimum=1
            ),
            connection_checks_per_tick=reader.integer(
                "WEIR_CONNECTION_CHECKS_PER_TICK", cls.connection_checks_per_tick, minimum=0
            ),
            reconnect_session_ttl_seconds=reader.integer(
                "WEIR_RECONNECT_SESSION_TTL_SECONDS", cls.reconnect_session_ttl_seconds, minimum=60
            ),
            rate_limit_key_per_minute=reader.integer(
                "WEIR_RATE_LIMIT_KEY_PER_MINUTE", cls.rate_limit_key_per_minute, minimum=0
            ),
            rate_limit_connect_token_per_minute=reader.integer(
                "WEIR_RATE_LIMIT_CONNECT_TOKEN_PER_MINUTE", cls.rate_limit_connect_token_per_minute, minimum=0
            ),
            proxy_max_request_bytes=reader.integer(
                "WEIR_PROXY_MAX_REQUEST_BYTES", cls.proxy_max_request_bytes, minimum=1
            ),
            proxy_max_response_bytes=reader.integer(
                "WEIR_PROXY_MAX_RESPONSE_BYTES", cls.proxy_max_response_bytes, minimum=1
            ),
        )
        reader.warn_unknown()
        if settings.run_stale_seconds < 2 * settings.run_heartbeat_seconds:
            # Otherwise a healthy run between two heartbeats would be taken for a lost one.
            raise ConfigError(
                f"WEIR_RUN_STALE_SECONDS: must be at least twice WEIR_RUN_HEARTBEAT_SECONDS "
                f"({settings.run_heartbeat_seconds}), got {settings.run_stale_seconds}"
            )
        return settings


def load_or_exit(
    environ: Mapping[str, str] | None = None, echo: Callable[[str], Any] | None = None
) -> Settings:
    """Read settings for a command; on a bad value print one line and exit with status 2."""
    try:
        return Settings.from_env(environ)
    except ConfigError as exc:
        import sys

        (echo or (lambda line: print(line, file=sys.stderr)))(f"weir: configuration error: {exc}")
        raise SystemExit(2) from None
