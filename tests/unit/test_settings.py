"""Settings from TOML files and INCIDENTS_* variables, and what bootstrap makes of them
(security check 8: production refuses to start with a missing or development key or secret).

Every test passes `environ` explicitly; os.environ is never read or changed.
"""

from __future__ import annotations

import base64
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest

from incidents import bootstrap
from incidents.crypto.keys import generate_master_key, load_key_file, write_key_file
from incidents.errors import ConfigurationError
from incidents.settings import MIN_SECRET_KEY_LENGTH, Settings, load_settings

STRONG_SECRET = secrets.token_urlsafe(48)
POSTGRES_URL = "postgresql+psycopg://incidents@db.example.org/incidents"


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def key_variable() -> str:
    key = generate_master_key()
    return f"{key.key_id}:{base64.b64encode(key.material).decode('ascii')}"


def production(**changes: str) -> dict[str, str]:
    """The environment of a well-configured production installation, with `changes`."""
    environ = {
        "INCIDENTS_ENV": "production",
        "INCIDENTS_SECRET_KEY": STRONG_SECRET,
        "INCIDENTS_MASTER_KEY": key_variable(),
        "INCIDENTS_DATABASE_URL": POSTGRES_URL,
        "INCIDENTS_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
    }
    environ.update(changes)
    return {name: value for name, value in environ.items() if value != ""}


def config_error(
    overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None
) -> str:
    """The one-line message of the ConfigurationError these settings raise."""
    with pytest.raises(ConfigurationError) as error:
        load_settings(overrides, environ=environ or {})
    message = str(error.value)
    assert "\n" not in message, f"not one line: {message!r}"
    return message


# -- layers -----------------------------------------------------------------------------


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert settings.env == "development"
    assert not settings.is_production
    assert settings.database_url == ""
    assert settings.secret_key == ""
    assert settings.master_key_file == ""
    assert settings.master_key == ""
    assert settings.log_level == "INFO"
    assert settings.max_content_length == 16 * 1024 * 1024
    assert settings.instance_dir == Path("instance").resolve()
    assert settings.sqlalchemy_url == f"sqlite:///{Path('instance').resolve() / 'incidents.db'}"


def test_settings_are_frozen() -> None:
    settings = load_settings(environ={})
    with pytest.raises(AttributeError):
        settings.env = "production"  # type: ignore[misc]


def test_config_file_overrides_defaults(tmp_path: Path) -> None:
    config = write_toml(
        tmp_path / "site.toml",
        f'env = "testing"\ninstance_path = "{tmp_path / "inst"}"\n'
        'max_content_length = 1024\nlog_level = "WARNING"\n',
    )
    settings = load_settings(environ={"INCIDENTS_CONFIG": str(config)})
    assert settings.env == "testing"
    assert settings.instance_dir == tmp_path / "inst"
    assert settings.max_content_length == 1024
    assert settings.log_level == "WARNING"
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'inst' / 'incidents.db'}"


def test_environment_overrides_config_file(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "site.toml", 'env = "testing"\nmax_content_length = 1024\n')
    settings = load_settings(
        environ={
            "INCIDENTS_CONFIG": str(config),
            "INCIDENTS_ENV": "development",
            "INCIDENTS_MAX_CONTENT_LENGTH": "2048",
            "INCIDENTS_DATABASE_URL": "sqlite:///elsewhere.db",
        }
    )
    assert settings.env == "development"
    assert settings.max_content_length == 2048
    assert settings.sqlalchemy_url == "sqlite:///elsewhere.db"


def test_overrides_win_over_environment() -> None:
    settings = load_settings(
        {"max_content_length": 10, "env": "testing"},
        environ={"INCIDENTS_MAX_CONTENT_LENGTH": "2048", "INCIDENTS_ENV": "development"},
    )
    assert settings.max_content_length == 10
    assert settings.env == "testing"


def test_other_incidents_variables_are_ignored() -> None:
    settings = load_settings(environ={"INCIDENTS_TEST_POSTGRES_URL": "x", "INCIDENTS_X": "1"})
    assert settings == load_settings(environ={})


def test_variables_without_the_prefix_are_ignored() -> None:
    settings = load_settings(environ={"ENV": "production", "DATABASE_URL": "mysql://x"})
    assert settings.env == "development"


# -- errors -----------------------------------------------------------------------------


def test_unknown_key_in_config_file_is_named(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "site.toml", 'env = "testing"\nsecret_kee = "typo"\n')
    message = config_error(environ={"INCIDENTS_CONFIG": str(config)})
    assert "secret_kee" in message
    assert str(config) in message


def test_unknown_table_in_config_file_is_named(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "site.toml", '[database]\nurl = "sqlite://"\n')
    assert "database" in config_error(environ={"INCIDENTS_CONFIG": str(config)})


def test_unknown_override_is_named() -> None:
    assert "colour" in config_error({"colour": "blue"})


@pytest.mark.parametrize(
    "text", ['env = "testing', "env = \n", "[env\n", "env = 'a'\nenv = 'b'\n", "\x00"]
)
def test_malformed_config_file_names_the_file(tmp_path: Path, text: str) -> None:
    config = write_toml(tmp_path / "broken.toml", text)
    message = config_error(environ={"INCIDENTS_CONFIG": str(config)})
    assert str(config) in message
    assert "TOML" in message


def test_missing_config_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    message = config_error(environ={"INCIDENTS_CONFIG": str(missing)})
    assert str(missing) in message
    assert "does not exist" in message


def test_config_folder_instead_of_file_names_it(tmp_path: Path) -> None:
    assert str(tmp_path) in config_error(environ={"INCIDENTS_CONFIG": str(tmp_path)})


@pytest.mark.parametrize("value", ["abc", "", "1.5", "12kB", "0x10"])
def test_integer_setting_from_environment_must_be_whole_number(value: str) -> None:
    message = config_error(environ={"INCIDENTS_MAX_CONTENT_LENGTH": value})
    assert "max_content_length" in message
    assert "environment" in message


@pytest.mark.parametrize("value", ['"abc"', "1.5", "true", "[1]"])
def test_integer_setting_from_file_must_be_whole_number(tmp_path: Path, value: str) -> None:
    config = write_toml(tmp_path / "site.toml", f"max_content_length = {value}\n")
    message = config_error(environ={"INCIDENTS_CONFIG": str(config)})
    assert "max_content_length" in message
    assert str(config) in message


@pytest.mark.parametrize("value", ["0", "-1"])
def test_integer_setting_must_be_positive(value: str) -> None:
    assert "max_content_length" in config_error(environ={"INCIDENTS_MAX_CONTENT_LENGTH": value})


def test_string_setting_must_be_a_string(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "site.toml", "database_url = 5\n")
    assert "database_url" in config_error(environ={"INCIDENTS_CONFIG": str(config)})


@pytest.mark.parametrize("env", ["prod", "Production", "dev", "", "staging"])
def test_env_must_be_a_known_environment(env: str) -> None:
    message = config_error({"env": env})
    assert "development, production, testing" in message
    assert repr(env) in message


@pytest.mark.parametrize("level", ["LOUD", "", "verbose"])
def test_log_level_must_be_a_logging_level(level: str) -> None:
    """Regression: an unknown level used to pass here and crash create_app with a traceback."""
    assert "log_level" in config_error(environ={"INCIDENTS_LOG_LEVEL": level})


def test_log_level_is_case_insensitive() -> None:
    assert load_settings(environ={"INCIDENTS_LOG_LEVEL": "debug"}).log_level == "debug"


@pytest.mark.parametrize("url", ["notaurl", "://", "postgres ql://x", "sqlite//x.db"])
def test_database_url_that_is_not_a_url(url: str) -> None:
    assert "database_url" in config_error(environ={"INCIDENTS_DATABASE_URL": url})


@pytest.mark.parametrize("url", ["mysql://x", "mssql+pyodbc://u@h/d", "oracle://u@h/d"])
def test_database_url_of_another_database(url: str) -> None:
    message = config_error(environ={"INCIDENTS_DATABASE_URL": url})
    assert "sqlite or postgresql" in message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://u@127.0.0.1/d",
        "postgresql+asyncpg://u@127.0.0.1/d",
        "sqlite+aiosqlite:///x.db",
        "sqlite+nosuchdriver:///x.db",
    ],
)
def test_database_url_with_a_driver_that_is_not_installed(url: str) -> None:
    """Regression: these passed validation and then failed with an import traceback."""
    message = config_error(environ={"INCIDENTS_DATABASE_URL": url})
    assert "driver" in message
    assert "+psycopg" in message or "+pysqlite" in message


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///relative.db",
        "sqlite+pysqlite:////absolute.db",
        "postgresql://u@h/d",
        POSTGRES_URL,
    ],
)
def test_supported_database_urls(url: str) -> None:
    assert load_settings(environ={"INCIDENTS_DATABASE_URL": url}).sqlalchemy_url == url


# -- production -------------------------------------------------------------------------


def test_well_configured_production_loads() -> None:
    settings = load_settings(environ=production())
    assert settings.is_production
    assert settings.secret_key == STRONG_SECRET


def test_production_with_a_key_file_loads() -> None:
    settings = load_settings(
        environ=production(INCIDENTS_MASTER_KEY="", INCIDENTS_MASTER_KEY_FILE="/etc/keys")
    )
    assert settings.master_key_file == "/etc/keys"


def test_production_without_secret_key() -> None:
    message = config_error(environ=production(INCIDENTS_SECRET_KEY=""))
    assert "secret key" in message
    assert "INCIDENTS_SECRET_KEY" in message


def test_production_with_short_secret_key() -> None:
    short = "x" * (MIN_SECRET_KEY_LENGTH - 1)
    message = config_error(environ=production(INCIDENTS_SECRET_KEY=short))
    assert "too short" in message
    assert short not in message, "the message must not echo the secret"


def test_production_secret_key_of_minimum_length_is_accepted() -> None:
    exact = secrets.token_hex(MIN_SECRET_KEY_LENGTH)[:MIN_SECRET_KEY_LENGTH]
    assert load_settings(environ=production(INCIDENTS_SECRET_KEY=exact)).secret_key == exact


def test_production_without_master_keys() -> None:
    message = config_error(environ=production(INCIDENTS_MASTER_KEY=""))
    assert "master keys" in message
    assert "INCIDENTS_MASTER_KEY_FILE" in message


@pytest.mark.parametrize("url", ["", "sqlite:///prod.db", "sqlite://"])
def test_production_on_sqlite(url: str) -> None:
    message = config_error(environ=production(INCIDENTS_DATABASE_URL=url))
    assert "PostgreSQL" in message


def test_production_in_a_config_file_is_checked_too(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "prod.toml", 'env = "production"\n')
    assert "secret key" in config_error(environ={"INCIDENTS_CONFIG": str(config)})


# -- bootstrap: development keys --------------------------------------------------------


def development_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings({"instance_path": str(tmp_path / "instance"), **overrides}, environ={})


def test_development_generates_owner_only_master_key_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = development_settings(tmp_path)
    provider = bootstrap.load_key_provider(settings)
    path = tmp_path / "instance" / bootstrap.DEV_KEY_FILE
    assert mode_of(path) == 0o600
    assert mode_of(tmp_path / "instance") == 0o700
    assert provider.is_development
    assert load_key_file(path).primary() == provider.primary()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("WARNING: ")
    assert "DEVELOPMENT master key" in captured.err
    assert str(path) in captured.err
    assert base64.b64encode(provider.primary().material).decode() not in captured.err


def test_development_master_key_is_reused_quietly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = development_settings(tmp_path)
    first = bootstrap.load_key_provider(settings).primary()
    capsys.readouterr()
    assert bootstrap.load_key_provider(settings).primary() == first
    assert capsys.readouterr().err == ""


def test_development_generates_owner_only_secret_key_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = development_settings(tmp_path)
    secret = bootstrap.load_secret_key(settings)
    path = tmp_path / "instance" / bootstrap.DEV_SECRET_FILE
    assert mode_of(path) == 0o600
    assert secret.startswith(bootstrap.DEV_SECRET_MARKER)
    assert len(secret) >= MIN_SECRET_KEY_LENGTH
    captured = capsys.readouterr()
    assert captured.err.startswith("WARNING: ")
    assert "DEVELOPMENT secret key" in captured.err
    assert secret not in captured.err
    assert bootstrap.load_secret_key(settings) == secret
    assert capsys.readouterr().err == ""


def test_development_secret_keys_differ_between_instances(tmp_path: Path) -> None:
    first = bootstrap.load_secret_key(development_settings(tmp_path / "a"))
    second = bootstrap.load_secret_key(development_settings(tmp_path / "b"))
    assert first != second


def test_configured_keys_generate_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    variable = key_variable()
    settings = development_settings(tmp_path, master_key=variable, secret_key=STRONG_SECRET)
    provider = bootstrap.load_key_provider(settings)
    assert provider.primary().key_id == variable.partition(":")[0]
    assert bootstrap.load_secret_key(settings) == STRONG_SECRET
    assert not (tmp_path / "instance").exists()
    assert capsys.readouterr().err == ""


def test_key_variable_wins_over_key_file(tmp_path: Path) -> None:
    variable = key_variable()
    settings = development_settings(
        tmp_path, master_key=variable, master_key_file=str(tmp_path / "missing.key")
    )
    assert bootstrap.load_key_provider(settings).primary().key_id == variable.partition(":")[0]


@pytest.mark.parametrize("content", ["", '{"format": "incidents-master-keys/1", "pri'])
def test_broken_key_file_is_a_configuration_error_naming_it(tmp_path: Path, content: str) -> None:
    path = write_toml(tmp_path / "master.key", content)
    with pytest.raises(ConfigurationError, match=str(path)):
        bootstrap.load_key_provider(development_settings(tmp_path, master_key_file=str(path)))


def test_malformed_key_variable_is_a_configuration_error() -> None:
    settings = load_settings({"master_key": "mk-a:short"}, environ={})
    with pytest.raises(ConfigurationError, match="INCIDENTS_MASTER_KEY"):
        bootstrap.load_key_provider(settings)


# -- bootstrap: production refusals -----------------------------------------------------


def production_settings(**changes: str) -> Settings:
    return load_settings(environ=production(**changes))


def test_production_refuses_a_key_file_holding_a_development_key(tmp_path: Path) -> None:
    key = generate_master_key(development=True)
    path = tmp_path / "master.key"
    write_key_file(path, [key], key.key_id)
    settings = production_settings(INCIDENTS_MASTER_KEY="", INCIDENTS_MASTER_KEY_FILE=str(path))
    with pytest.raises(ConfigurationError, match="development key") as error:
        bootstrap.load_key_provider(settings)
    assert str(path) in str(error.value)


def test_production_refuses_a_development_key_among_production_keys(tmp_path: Path) -> None:
    production_key, development_key = generate_master_key(), generate_master_key(development=True)
    path = tmp_path / "master.key"
    write_key_file(path, [production_key, development_key], production_key.key_id)
    settings = production_settings(INCIDENTS_MASTER_KEY="", INCIDENTS_MASTER_KEY_FILE=str(path))
    with pytest.raises(ConfigurationError, match="development key"):
        bootstrap.load_key_provider(settings)


def test_production_accepts_a_generated_key_file(tmp_path: Path) -> None:
    key = generate_master_key()
    path = tmp_path / "master.key"
    write_key_file(path, [key], key.key_id)
    settings = production_settings(INCIDENTS_MASTER_KEY="", INCIDENTS_MASTER_KEY_FILE=str(path))
    assert bootstrap.load_key_provider(settings).primary() == key


def test_production_refuses_a_missing_key_file(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    settings = production_settings(INCIDENTS_MASTER_KEY="", INCIDENTS_MASTER_KEY_FILE=str(path))
    with pytest.raises(ConfigurationError, match="does not exist"):
        bootstrap.load_key_provider(settings)
    assert not path.exists(), "production must never generate a key"


def test_production_never_generates_a_master_key(tmp_path: Path) -> None:
    """Even with settings that skipped validation, bootstrap does not fall back."""
    settings = Settings(env="production", instance_path=str(tmp_path / "instance"))
    with pytest.raises(ConfigurationError, match="master keys"):
        bootstrap.load_key_provider(settings)
    with pytest.raises(ConfigurationError, match="secret key"):
        bootstrap.load_secret_key(settings)
    assert not (tmp_path / "instance").exists()


def test_production_refuses_a_development_secret_key() -> None:
    development_secret = bootstrap.DEV_SECRET_MARKER + secrets.token_urlsafe(48)
    settings = production_settings(INCIDENTS_SECRET_KEY=development_secret)
    with pytest.raises(ConfigurationError, match="development secret key") as error:
        bootstrap.load_secret_key(settings)
    assert development_secret not in str(error.value)


def test_production_accepts_a_strong_secret_key() -> None:
    assert bootstrap.load_secret_key(production_settings()) == STRONG_SECRET
