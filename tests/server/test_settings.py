"""Settings from a plain dict and flags, and their one-line errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from candor.server.runtime.settings import DEFAULT_MEMORY_LIMIT, Settings, SettingsError


def test_defaults() -> None:
    """With nothing set: loopback, port 8787, ./events.duckdb, a generated token, no retention."""
    settings = Settings.from_environ({})
    assert (settings.host, settings.port, settings.store) == ("127.0.0.1", 8787, "events.duckdb")
    assert settings.admin_token_generated and len(settings.admin_token) >= 32
    assert settings.retention is None
    assert settings.base_url == "http://127.0.0.1:8787"


def test_environment_then_flags() -> None:
    """CANDOR_* variables apply, and a flag overrides its variable."""
    environ = {
        "CANDOR_PORT": "9000",
        "CANDOR_STORE": "/data/x.duckdb",
        "CANDOR_ADMIN_TOKEN": "tok",
        "CANDOR_RETENTION": "400d",
        "CANDOR_RATE_LIMIT": "7.5",
        "CANDOR_COMMIT_WINDOW_MS": "5",
    }
    settings = Settings.from_environ(environ, port=9100, host="::1")
    assert settings.port == 9100
    assert settings.store == "/data/x.duckdb"
    assert (settings.admin_token, settings.admin_token_generated) == ("tok", False)
    assert settings.retention == timedelta(days=400)
    assert settings.rate_limit == 7.5
    assert settings.commit_window_s == 0.005
    assert settings.base_url == "http://[::1]:9100"


def test_tls_makes_it_https() -> None:
    """Both TLS files set: the base URL is https."""
    settings = Settings.from_environ({}, tls_cert="c.pem", tls_key="k.pem")
    assert settings.base_url.startswith("https://")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CANDOR_PORT": "http"}, "not a number"),
        ({"CANDOR_PORT": "0"}, "port 0"),
        ({"CANDOR_RATE_LIMIT": "-1"}, "rate limit"),
        ({"CANDOR_COMMIT_WINDOW_MS": "5000"}, "commit window"),
        ({"CANDOR_TLS_KEY": "k.pem"}, "go together"),
        ({"CANDOR_LOG_LEVEL": "trace"}, "log level 'trace'"),
        ({"CANDOR_RETENTION": "forever"}, "retention 'forever'"),
    ],
)
def test_bad_values_are_settings_errors(environ: dict[str, str], message: str) -> None:
    """Each unusable value raises SettingsError naming the problem."""
    with pytest.raises(SettingsError, match=message):
        Settings.from_environ(environ)


def test_memory_limit_default_environment_flag_and_off() -> None:
    """The store's memory limit: a default, CANDOR_MEMORY_LIMIT, the flag, or none at all."""
    assert Settings.from_environ({}).memory_limit == DEFAULT_MEMORY_LIMIT
    assert Settings.from_environ({"CANDOR_MEMORY_LIMIT": "1GB"}).memory_limit == "1GB"
    assert Settings.from_environ({}, memory_limit="256 MiB").memory_limit == "256 MiB"
    assert Settings.from_environ({"CANDOR_MEMORY_LIMIT": "none"}).memory_limit is None


@pytest.mark.parametrize("value", ["lots", "12", "-5MB", "1 parsec"])
def test_a_memory_limit_that_is_no_size_is_refused(value: str) -> None:
    """A memory limit must be a number with a unit, in one readable line."""
    with pytest.raises(SettingsError, match="memory limit"):
        Settings.from_environ({}, memory_limit=value)
