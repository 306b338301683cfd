from pathlib import Path

import pytest

from server.config import ConfigError, Secret, Settings


def test_defaults_are_the_embedded_default():
    settings = Settings.from_env({})
    assert settings.embedded
    assert settings.effective_database_url == "sqlite://.weir/weir.db"
    assert settings.effective_warehouse_url == "sqlite://.weir/warehouse.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.graphiql and settings.graphql_introspection


def test_reads_every_documented_variable():
    settings = Settings.from_env(
        {
            "WEIR_ENV": "production",
            "WEIR_DATA_DIR": "/var/lib/weir",
            "WEIR_DATABASE_URL": "postgres://weir:pw@db:5432/weir",
            "WEIR_WAREHOUSE_URL": "postgresql://weir:pw@wh:5432/warehouse",
            "WEIR_REDIS_URL": "redis://cache:6379/0",
            "WEIR_ENCRYPTION_KEYS": "k1:AAAA",
            "WEIR_HOST": "0.0.0.0",
            "WEIR_PORT": "9000",
            "WEIR_PUBLIC_URL": "https://weir.example.com",
            "WEIR_LOG_LEVEL": "debug",
            "WEIR_LOG_FORMAT": "json",
            "WEIR_GRAPHQL_INTROSPECTION": "false",
            "WEIR_MAX_PAGE_SIZE": "50",
            "WEIR_CONNECTOR_STRIPE_BASE_URL": "http://127.0.0.1:9999/",
        }
    )
    assert not settings.embedded and settings.is_production and not settings.graphiql
    assert settings.data_dir == Path("/var/lib/weir")
    assert settings.port == 9000 and settings.log_level == "DEBUG" and settings.log_format == "json"
    assert settings.graphql_introspection is False and settings.max_page_size == 50
    assert settings.connector_base_urls == {"stripe": "http://127.0.0.1:9999"}
    assert settings.effective_public_url == "https://weir.example.com"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("WEIR_DATABASE_URL", "mysql://x@y/z", "WEIR_DATABASE_URL: unsupported URL scheme 'mysql'"),
        ("WEIR_DATABASE_URL", "postgres://", "WEIR_DATABASE_URL: URL has no host"),
        ("WEIR_REDIS_URL", "redis://host:notaport/0", "WEIR_REDIS_URL: URL has an invalid port"),
        ("WEIR_REDIS_URL", "http://cache", "WEIR_REDIS_URL: unsupported URL scheme 'http'"),
        ("WEIR_PORT", "eighty", "WEIR_PORT: expected an integer, got 'eighty'"),
        ("WEIR_PORT", "70000", "WEIR_PORT: must be between 1 and 65535, got 70000"),
        ("WEIR_ENV", "staging", "WEIR_ENV: unknown option 'staging'"),
        ("WEIR_LOG_FORMAT", "xml", "WEIR_LOG_FORMAT: unknown option 'xml'"),
        ("WEIR_GRAPHQL_INTROSPECTION", "maybe", "WEIR_GRAPHQL_INTROSPECTION: expected true or false"),
        ("WEIR_PUBLIC_URL", "weir.example.com", "WEIR_PUBLIC_URL: unsupported URL scheme"),
        (
            "WEIR_CORS_ORIGINS",
            "https://a.example\tb",
            "WEIR_CORS_ORIGINS: 'https://a.example\\tb' contains a control character",
        ),
    ],
)
def test_a_bad_value_names_its_variable(variable, value, expected):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({variable: value})
    message = str(raised.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_an_unknown_variable_is_reported_with_a_suggestion(caplog):
    Settings.from_env({"WEIR_DATABSE_URL": "postgres://x@y/z"})
    assert "WEIR_DATABSE_URL (did you mean WEIR_DATABASE_URL?)" in caplog.text


def test_secret_settings_never_show_their_value():
    settings = Settings.from_env({"WEIR_ENCRYPTION_KEYS": "k1:very-secret-material"})
    assert "very-secret-material" not in repr(settings)
    assert isinstance(settings.encryption_keys, Secret)
    assert settings.encryption_keys.reveal() == "k1:very-secret-material"


def test_cli_prints_one_line_and_exits_2_on_a_bad_value(monkeypatch, capsys):
    from server import cli

    monkeypatch.setenv("WEIR_PORT", "abc")
    with pytest.raises(SystemExit) as raised:
        cli.main(["migrate"])
    assert raised.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["weir: configuration error: WEIR_PORT: expected an integer, got 'abc'"]


def test_scale_out_timings_are_read_and_checked():
    settings = Settings.from_env(
        {
            "WEIR_RUN_HEARTBEAT_SECONDS": "2",
            "WEIR_RUN_STALE_SECONDS": "9",
            "WEIR_SCHEDULER_INTERVAL_SECONDS": "0.5",
            "WEIR_QUEUE_RECONCILE_SECONDS": "30",
            "WEIR_WORKER_SHUTDOWN_SECONDS": "0",
        }
    )
    assert (settings.run_heartbeat_seconds, settings.run_stale_seconds) == (2, 9)
    assert settings.scheduler_interval_seconds == 0.5
    assert (settings.queue_reconcile_seconds, settings.worker_shutdown_seconds) == (30, 0)
    with pytest.raises(ConfigError, match="WEIR_SCHEDULER_INTERVAL_SECONDS"):
        Settings.from_env({"WEIR_SCHEDULER_INTERVAL_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="WEIR_RUN_STALE_SECONDS"):
        Settings.from_env({"WEIR_RUN_STALE_SECONDS": "0"})
    with pytest.raises(ConfigError, match="twice WEIR_RUN_HEARTBEAT_SECONDS"):
        Settings.from_env({"WEIR_RUN_HEARTBEAT_SECONDS": "10", "WEIR_RUN_STALE_SECONDS": "15"})


def test_the_configuration_page_documents_every_variable():
    import re

    root = Path(__file__).resolve().parents[2]
    source = "".join((root / "server" / name).read_text() for name in ("config.py", "config_reader.py"))
    readme = (root / "docs" / "configuration.md").read_text()
    names = set(re.findall(r'"(WEIR_[A-Z0-9_]+)"', source)) - {"WEIR_TEST_"}
    names = {name for name in names if not name.endswith("_")}
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"add these to docs/configuration.md: {missing}"


def test_credential_check_limits_are_on_by_default_and_configurable():
    assert (Settings().checks_per_minute, Settings().checks_reuse_seconds) == (10, 5.0)
    tuned = Settings.from_env({"WEIR_CHECKS_PER_MINUTE": "0", "WEIR_CHECKS_REUSE_SECONDS": "0"})
    assert (tuned.checks_per_minute, tuned.checks_reuse_seconds) == (0, 0.0)
    with pytest.raises(ConfigError, match="WEIR_CHECKS_PER_MINUTE: must be >= 0"):
        Settings.from_env({"WEIR_CHECKS_PER_MINUTE": "-1"})
