"""Typed, frozen settings read from TOML files and INCIDENTS_* environment variables.

Order of precedence, lowest first: config/default.toml, the file named by
INCIDENTS_CONFIG, INCIDENTS_<KEY> environment variables, then `overrides` given to
create_app (tests). Every problem raises ConfigurationError with one line saying what
to fix; nothing here generates a secret (see keyfiles for the development key).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from incidents.errors import ConfigurationError
from incidents.paths import data_dir

Environment = Literal["development", "production", "testing"]
EvidenceStoreKind = Literal["directory", "database"]
ENV_PREFIX = "INCIDENTS_"
MIN_SECRET_KEY_LENGTH = 32
# Evidence files are encrypted in chunks of this many bytes (see incidents/crypto/stream.py).
MIN_EVIDENCE_CHUNK_BYTES = 4 * 1024
MAX_EVIDENCE_CHUNK_BYTES = 16 * 1024 * 1024
# The drivers installed with the package; any other one fails later with a traceback.
SUPPORTED_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}
# Bytes kept of each blind-index HMAC (README: "Finding people without decrypting
# everything"); 32 is all of HMAC-SHA256.
BLIND_INDEX_BYTES_RANGE = (2, 32)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting the application reads; the TOML keys are the field names."""

    env: Environment = "development"
    instance_path: str = ""
    database_url: str = ""
    secret_key: str = ""
    master_key_file: str = ""
    master_key: str = ""
    # The audit log (README: "The audit log: what it proves and what it does not").
    audit_signing_key_file: str = ""
    audit_log_origin: str = "incidents.example/audit-log"
    # Queued audit leaves before writers wait to integrate them (PostgreSQL; README ibid.).
    audit_queue_max_leaves: int = 1000
    audit_queue_max_seconds: int = 5
    log_level: str = "INFO"
    max_content_length: int = 16 * 1024 * 1024
    evidence_max_bytes: int = 200 * 1024 * 1024
    evidence_chunk_bytes: int = 1024 * 1024
    # Where evidence files are kept: the instance folder, or PostgreSQL (README: "Evidence files").
    evidence_store: EvidenceStoreKind = "directory"
    blind_index_bytes: int = 8
    # Accounts and sessions (README: "Security model").
    require_two_factor: bool = True
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    reauth_minutes: int = 10
    # What was typed when a session ended is kept this long for its user (services/drafts.py).
    draft_lifetime_hours: int = 12
    ratelimit_storage_uri: str = "memory://"
    login_limit_per_account: str = "10 per 15 minutes"
    login_limit_per_address: str = "60 per 15 minutes"
    # Calls to the JSON API allowed per token (per address for calls without a valid one).
    api_rate_limit: str = "300 per minute"
    trusted_proxies: int = 0
    # Where the quick exit sends the browser; empty: a neutral weather page of this site.
    quick_exit_url: str = ""

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def instance_dir(self) -> Path:
        """The instance folder, absolute."""
        return Path(self.instance_path or "instance").resolve()

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to SQLite in the instance folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_dir / 'incidents.db'}"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
# Whole-number settings for which 0 means "none" rather than a mistake.
ZERO_ALLOWED = {"trusted_proxies"}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigurationError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigurationError(f"config file {path} cannot be read: {exc.strerror}") from None


def _check_keys(values: Mapping[str, Any], origin: str) -> None:
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        known = ", ".join(sorted(_FIELDS))
        raise ConfigurationError(
            f"{origin}: unknown setting {', '.join(unknown)} (known settings: {known})"
        )


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Convert a value to the declared type of setting `name`, or say what is wrong."""
    expected = _FIELDS[name].type
    if expected == "bool":
        return _coerce_bool(name, value, origin)
    if expected == "int":
        if isinstance(value, bool | float):  # int() would turn 1.5 into 1 without a word
            raise ConfigurationError(f"{origin}: {name} must be a whole number")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{origin}: {name} must be a whole number") from None
        if name in ZERO_ALLOWED and number == 0:
            return number
        if number <= 0:
            raise ConfigurationError(f"{origin}: {name} must be greater than zero")
        low, high = BLIND_INDEX_BYTES_RANGE
        if name == "blind_index_bytes" and not low <= number <= high:
            raise ConfigurationError(f"{origin}: {name} must be between {low} and {high}")
        return number
    if not isinstance(value, str):
        raise ConfigurationError(f"{origin}: {name} must be a string")
    if name.startswith("login_limit_") or name == "api_rate_limit":
        _check_rate_limit(name, value, origin)
    if name == "env" and value not in get_args(Environment):
        choices = ", ".join(get_args(Environment))
        raise ConfigurationError(f"{origin}: env must be one of {choices}, not {value!r}")
    if name == "log_level" and value.upper() not in logging.getLevelNamesMapping():
        raise ConfigurationError(
            f"{origin}: log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, "
            f"not {value!r}"
        )
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce_bool(name: str, value: Any, origin: str) -> bool:
    """TOML gives a real boolean; an environment variable gives a word."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigurationError(f"{origin}: {name} must be true or false, not {value!r}")


def _check_rate_limit(name: str, value: str, origin: str) -> None:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigurationError(
            f"{origin}: {name} must be a rate such as '5 per 15 minutes', not {value!r}"
        ) from None


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    refuse_production_problems: bool = True,
) -> Settings:
    """Build Settings from files, environment and overrides; raise ConfigurationError.

    With `refuse_production_problems` false, settings production would refuse still load
    (for `incidents check-config`, which lists them: production_problems)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    default_file = data_dir("config") / "default.toml"
    layers: list[tuple[str, Mapping[str, Any]]] = [(str(default_file), _read_toml(default_file))]
    chosen = environ.get(f"{ENV_PREFIX}CONFIG")
    if chosen:
        layers.append((chosen, _read_toml(Path(chosen))))
    from_env = {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and key != f"{ENV_PREFIX}CONFIG"
    }
    # Environment variables the application does not read are ignored rather than fatal:
    # INCIDENTS_* names may belong to tests, CI or a later version.
    layers.append(("environment", {k: v for k, v in from_env.items() if k in _FIELDS}))
    if overrides:
        layers.append(("overrides", overrides))

    for origin, layer in layers:
        _check_keys(layer, origin)
        for name, value in layer.items():
            values[name] = _coerce(name, value, origin)

    settings = Settings(**values)
    _validate(settings, refuse_production_problems)
    return settings


def _validate(settings: Settings, refuse_production_problems: bool = True) -> None:
    try:
        url = make_url(settings.sqlalchemy_url)
    except ArgumentError:
        raise ConfigurationError(
            "database_url is not a database URL; expected e.g. "
            "postgresql+psycopg://user@host/dbname or sqlite:///path/to/file.db"
        ) from None
    backend = url.get_backend_name()
    if backend not in SUPPORTED_DRIVERS:
        raise ConfigurationError(
            f"database_url uses {backend!r}; Incidents runs on sqlite or postgresql"
        )
    driver = url.get_driver_name()
    if driver != SUPPORTED_DRIVERS[backend]:
        raise ConfigurationError(
            f"database_url uses the driver {driver!r}; use {backend}+{SUPPORTED_DRIVERS[backend]}"
        )
    if not MIN_EVIDENCE_CHUNK_BYTES <= settings.evidence_chunk_bytes <= MAX_EVIDENCE_CHUNK_BYTES:
        raise ConfigurationError(
            f"evidence_chunk_bytes must be between {MIN_EVIDENCE_CHUNK_BYTES} and "
            f"{MAX_EVIDENCE_CHUNK_BYTES} (default 1048576)"
        )
    if settings.evidence_store not in get_args(EvidenceStoreKind):
        raise ConfigurationError(
            f'evidence_store must be "directory" or "database", not {settings.evidence_store!r}'
        )
    if settings.evidence_store == "database" and backend != "postgresql":
        raise ConfigurationError(
            'evidence_store = "database" needs PostgreSQL: set INCIDENTS_DATABASE_URL to a '
            'postgresql+psycopg:// URL, or keep evidence_store = "directory"'
        )
    origin = settings.audit_log_origin
    if not origin or not origin.isprintable() or " " in origin or "+" in origin:
        raise ConfigurationError(
            "audit_log_origin must name the log in one word without '+', e.g. "
            "audit.example.org/incidents"
        )
    exit_url = settings.quick_exit_url
    if exit_url and not (
        (exit_url.startswith(("https://", "http://")) or _is_local_path(exit_url))
        and all(c.isprintable() and not c.isspace() for c in exit_url)
    ):
        raise ConfigurationError(
            "quick_exit_url must be an address such as https://www.example.org/ or a path "
            f"of this site such as /weather, not {exit_url!r}"
        )
    problems = production_problems(settings) if refuse_production_problems else []
    if problems:
        raise ConfigurationError(problems[0])


def _is_local_path(value: str) -> bool:
    return value.startswith("/") and not value.startswith("//") and "\\" not in value


# -- production -----------------------------------------------------------------------
# What production refuses to start with: one rule per setting, each answering what to set
# or None. Loading the settings raises the first problem; `incidents check-config` lists
# every one (load_settings(refuse_production_problems=False), then production_problems).


def _secret_key_rule(settings: Settings) -> str | None:
    if not settings.secret_key:
        return (
            "production needs a secret key: set INCIDENTS_SECRET_KEY "
            f"(at least {MIN_SECRET_KEY_LENGTH} random characters)"
        )
    if len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
        return (
            f"INCIDENTS_SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} "
            "random characters, e.g. from `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`"
        )
    return None


def _master_keys_rule(settings: Settings) -> str | None:
    if settings.master_key_file or settings.master_key:
        return None
    return (
        "production needs master keys: set INCIDENTS_MASTER_KEY_FILE to a key file made "
        "by `incidents keys generate`, or INCIDENTS_MASTER_KEY"
    )


def _database_rule(settings: Settings) -> str | None:
    if make_url(settings.sqlalchemy_url).get_backend_name() != "sqlite":
        return None
    return (
        "production runs on PostgreSQL: set INCIDENTS_DATABASE_URL to a postgresql+psycopg:// URL"
    )


def _two_factor_rule(settings: Settings) -> str | None:
    if settings.require_two_factor:
        return None
    return (
        "production requires two-factor authentication for every account: "
        "remove require_two_factor = false"
    )


def _rate_limit_store_rule(settings: Settings) -> str | None:
    if not settings.ratelimit_storage_uri.startswith("memory://"):
        return None
    return (
        "production keeps login throttling in Redis, shared by every worker: set "
        "INCIDENTS_RATELIMIT_STORAGE_URI=redis://host:6379"
    )


PRODUCTION_RULES: tuple[Callable[[Settings], str | None], ...] = (
    _secret_key_rule,
    _master_keys_rule,
    _database_rule,
    _two_factor_rule,
    _rate_limit_store_rule,
)


def production_problems(settings: Settings) -> list[str]:
    """Every reason production would refuse these settings, in order; none elsewhere."""
    if not settings.is_production:
        return []
    return [problem for rule in PRODUCTION_RULES if (problem := rule(settings)) is not None]
