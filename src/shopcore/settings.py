"""Settings: one table of defaults, overlaid by the ini file and then the environment, validated once."""
from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, MutableMapping
from urllib.parse import quote

from shopcore.private_files import make_private_dir


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names it."""


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_positive_int(value: Any) -> int:
    number = int(str(value).strip())
    if number <= 0:
        raise ValueError(f"expected a positive whole number, got {value!r}")
    return number


def parse_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [part for part in str(value).replace(",", " ").split() if part]


def parse_choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return text

    return parse


def parse_str(value: Any) -> str:
    return str(value).strip()


def parse_optional_seconds(value: Any) -> int | None:
    """A number of seconds (0 or more), or None when left empty (the environment's default applies)."""
    text = str(value).strip()
    if text == "" or value is None:
        return None
    number = int(text)
    if number < 0:
        raise ValueError(f"expected 0 or more seconds, got {value!r}")
    return number


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    parse: Callable[[Any], Any]
    env: tuple[str, ...] = ()
    doc: str = ""


# The one table of core settings. Plugins validate their own `shopcore.<plugin>.` keys.
SETTINGS: tuple[Setting, ...] = (
    Setting("shopcore.env", "development", parse_choice("development", "production", "testing"),
            ("SHOPCORE_ENV",), "Which environment this is; production enforces a real secret."),
    Setting("shopcore.debug", False, parse_bool, ("DEBUG",), "Verbose errors in logs (never in responses)."),
    Setting("shopcore.secret", "", parse_str, ("SECRET_KEY",),
            "Signing key for tokens; at least 32 bytes in production."),
    Setting("shopcore.secret_file", "", parse_str, (),
            "Development only: where a generated secret is kept when none is given."),
    Setting("sqlalchemy.url", "", parse_str, ("DATABASE_URL",),
            "Database URL; or the seed's DB_NAME, DB_USER, DB_PASSWORD, DB_HOST, DB_PORT for PostgreSQL."),
    Setting("shopcore.db.connect_timeout", 5, parse_positive_int, (),
            "Seconds to wait for a database connection before answering 503."),
    Setting("shopcore.plugins", ["catalog", "cart", "orders", "notifications", "payments"], parse_list,
            ("SHOPCORE_PLUGINS",), "Allow-list of plugins to load, by name."),
    Setting("shopcore.redis_url", "", parse_str, ("REDIS_URL",),
            "Redis for cache, token revocation and rate limits; empty keeps them in process memory."),
    Setting("shopcore.cache.backend", "", parse_str, (),
            "dogpile.cache backend; defaults to redis when a Redis URL is set, else process memory "
            "(bounded, refused in production)."),
    Setting("shopcore.cache.redis_url", "", parse_str, ("CACHE_REDIS_URL",),
            "A Redis of its own for the cache (maxmemory with allkeys-lru); defaults to shopcore.redis_url."),
    Setting("shopcore.cache.ttl", 600, parse_positive_int, ("SHOPCORE_CACHE_TTL",), "Cache lifetime in seconds."),
    Setting("shopcore.cache.max_entries", 1000, parse_positive_int, (),
            "Most entries the in-memory cache keeps per process, least recently used evicted first."),
    Setting("shopcore.cache.shared_file", "", parse_str, (),
            "With the in-memory cache: a file through which processes (the server, an admin command) tell "
            "each other of invalidations; empty: none (development.ini sets it under var/)."),
    Setting("shopcore.broker_url", "", parse_str, ("BROKER_URL",),
            "Kombu broker URL for background jobs; empty runs jobs in process after commit."),
    Setting("shopcore.mail.backend", "file", parse_choice("file", "smtp"), ("SHOPCORE_MAIL_BACKEND",),
            "file writes .eml files under shopcore.mail.dir; smtp sends them."),
    Setting("shopcore.mail.dir", "var/mail", parse_str, (), "Folder for the file mail backend."),
    Setting("shopcore.mail.host", "localhost", parse_str, ("EMAIL_HOST",), "SMTP host."),
    Setting("shopcore.mail.port", 25, parse_positive_int, ("EMAIL_PORT",), "SMTP port."),
    Setting("shopcore.mail.user", "", parse_str, ("EMAIL_HOST_USER",), "SMTP user."),
    Setting("shopcore.mail.password", "", parse_str, ("EMAIL_HOST_PASSWORD",), "SMTP password."),
    Setting("shopcore.mail.security", "starttls", parse_choice("none", "starttls", "ssl"), ("EMAIL_SECURITY",),
            "SMTP transport security: starttls (port 587 or 25), ssl (implicit TLS, port 465) or none."),
    Setting("shopcore.mail.allow_insecure_login", False, parse_bool, ("EMAIL_ALLOW_INSECURE_LOGIN",),
            "Let the SMTP login go without TLS (security none); refused at start-up otherwise."),
    Setting("shopcore.mail.sender", "shop@example.com", parse_str, ("EMAIL_FROM",), "From address of mails."),
    Setting("shopcore.shop_name", "shopcore", parse_str, ("SHOPCORE_SHOP_NAME",), "Shown in mails."),
    Setting("shopcore.base_url", "http://127.0.0.1:6543", parse_str, ("SHOPCORE_BASE_URL",),
            "Public base URL: links sent by mail and the API's page links start with it (never with the Host header)."),
    Setting("shopcore.jwt.access_ttl", 900, parse_positive_int, (), "Access token lifetime in seconds."),
    Setting("shopcore.jwt.refresh_ttl", 7 * 24 * 3600, parse_positive_int, (),
            "Refresh token lifetime in seconds."),
    Setting("shopcore.openapi.validate_responses", True, parse_bool, (),
            "Validate responses against the spec (on in development and tests, off in production)."),
    Setting("shopcore.log.format", "", parse_choice("", "text", "json"), ("SHOPCORE_LOG_FORMAT",),
            "Request log lines: text (development default) or json (production default)."),
    Setting("shopcore.metrics.public", "", parse_str, ("SHOPCORE_METRICS_PUBLIC",),
            "Serve /metrics to anyone (default: yes except in production)."),
    Setting("shopcore.metrics.token", "", parse_str, ("SHOPCORE_METRICS_TOKEN",),
            "Bearer token that may read /metrics when it is not public."),
    Setting("shopcore.cors.origins", [], parse_list, ("SHOPCORE_CORS_ORIGINS",),
            "Origins allowed to call the API from a browser (CORS); none by default."),
    Setting("shopcore.max_body_bytes", 1024 * 1024, parse_positive_int, (),
            "Requests with a larger body get 413."),
    Setting("shopcore.hsts_max_age", "", parse_optional_seconds, ("SHOPCORE_HSTS_MAX_AGE",),
            "Strict-Transport-Security max-age in seconds; default a year in production, off elsewhere; 0 is off."),
)

SETTINGS_BY_KEY = {setting.key: setting for setting in SETTINGS}
MIN_PRODUCTION_SECRET_BYTES = 32


def database_url_from_parts(environ: Mapping[str, str]) -> str | None:
    """The seed's DB_* variables, composed into a PostgreSQL URL."""
    name = environ.get("DB_NAME")
    if not name:
        return None
    user = quote(environ.get("DB_USER", ""), safe="")
    password = quote(environ.get("DB_PASSWORD", ""), safe="")
    host = environ.get("DB_HOST", "localhost")
    port = environ.get("DB_PORT", "5432")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgresql+psycopg://{auth}{host}:{port}/{name}"


def load_settings(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults < ini < environment; every core setting parsed, or SettingsError naming it."""
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = dict(raw)
    for setting in SETTINGS:
        value = settings.get(setting.key, setting.default)
        for name in setting.env:
            if environ.get(name, "") != "":
                value = environ[name]
                break
        if setting.key == "sqlalchemy.url" and not any(environ.get(n) for n in setting.env):
            value = database_url_from_parts(environ) or value
        try:
            settings[setting.key] = setting.parse(value)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"setting {setting.key}: {exc}") from None
    if not settings["sqlalchemy.url"]:
        raise SettingsError("setting sqlalchemy.url: missing (set DATABASE_URL or DB_NAME, DB_USER, ...)")
    if not settings["shopcore.cache.backend"]:
        redis_url = settings["shopcore.cache.redis_url"] or settings["shopcore.redis_url"]
        settings["shopcore.cache.backend"] = "dogpile.cache.redis" if redis_url else "shopcore.cache.memory"
    production = settings["shopcore.env"] == "production"
    settings["shopcore.log.format"] = settings["shopcore.log.format"] or ("json" if production else "text")
    try:
        public = settings["shopcore.metrics.public"]
        settings["shopcore.metrics.public"] = (not production) if public == "" else parse_bool(public)
    except ValueError as exc:
        raise SettingsError(f"setting shopcore.metrics.public: {exc}") from None
    _check_mail_login(settings)
    settings["shopcore.secret"] = _resolve_secret(settings)
    if production and "memory" in settings["shopcore.cache.backend"]:
        # Each worker would keep a cache of its own: a write invalidates only the worker that made it,
        # the others serve the old pages for a whole TTL, and every worker holds its own copy.
        raise SettingsError("setting shopcore.cache.backend: production needs a shared cache; set REDIS_URL "
                            "(or CACHE_REDIS_URL), not a per-process memory cache")
    return settings


def _check_mail_login(settings: Mapping[str, Any]) -> None:
    """Credentials are never sent to the SMTP server in clear unless a deployment says it wants that."""
    if settings["shopcore.mail.backend"] != "smtp" or settings["shopcore.mail.security"] != "none":
        return
    if not (settings["shopcore.mail.user"] or settings["shopcore.mail.password"]):
        return
    if settings["shopcore.mail.allow_insecure_login"]:
        return
    raise SettingsError(
        "setting shopcore.mail.security: none would send the SMTP user and password in clear; use starttls "
        "or ssl (EMAIL_SECURITY), or set shopcore.mail.allow_insecure_login (EMAIL_ALLOW_INSECURE_LOGIN) "
        "to true for a server on a trusted network")


def _resolve_secret(settings: Mapping[str, Any]) -> str:
    secret = settings["shopcore.secret"]
    if settings["shopcore.env"] == "production":
        if not secret:
            raise SettingsError("setting shopcore.secret: missing; production needs SECRET_KEY")
        if len(secret.encode()) < MIN_PRODUCTION_SECRET_BYTES:
            raise SettingsError(
                f"setting shopcore.secret: too short; production needs at least "
                f"{MIN_PRODUCTION_SECRET_BYTES} bytes"
            )
        return secret
    if secret:
        return secret
    secret_file = settings["shopcore.secret_file"]
    if not secret_file:
        raise SettingsError("setting shopcore.secret: missing (set SECRET_KEY or shopcore.secret_file)")
    # Development keeps a generated secret so tokens survive a restart.
    path = Path(secret_file)
    if path.exists():
        return path.read_text().strip()
    folder = make_private_dir(path.parent)
    generated = secrets.token_urlsafe(48)
    # Written whole to a temporary file (mkstemp makes it 0600), then linked into place: the secret is
    # never readable by others, never seen half-written, and two processes starting together agree on
    # one (the second link fails and that process reads the first one's secret).
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".secret-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(generated)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return path.read_text().strip()
    finally:
        os.unlink(temporary)
    return generated


def plugin_settings(settings: Mapping[str, Any], plugin: str) -> dict[str, Any]:
    """The `shopcore.<plugin>.` keys of one plugin, prefix removed."""
    prefix = f"shopcore.{plugin}."
    return {key[len(prefix):]: value for key, value in settings.items() if key.startswith(prefix)}


@dataclass(frozen=True)
class SettingsTable:
    """The settings one owner (the core, a core package or a plugin) reads under its prefix."""

    prefix: str
    settings: tuple[Setting, ...]
    owner: str = ""  # allow-list name; "" for the core


SETTINGS_TABLES = "shopcore.settings_tables"  # registry key: {prefix: SettingsTable}, in registration order
# The core's own table, listed first in the README; its values are parsed by load_settings.
CORE_TABLE = SettingsTable("shopcore.", SETTINGS)


def parse_table(settings: MutableMapping[str, Any], prefix: str, rows: Iterable[Setting],
                environ: Mapping[str, str] | None = None) -> None:
    """Parse every row of a table in place (default when absent, environment first), or SettingsError.

    A key under `prefix` that no row declares is refused too, so a misspelt setting is not ignored.
    """
    environ = {} if environ is None else environ
    rows = tuple(rows)
    known = {row.key for row in rows}
    for key in list(settings):
        if key.startswith(prefix) and key not in known:
            raise SettingsError(f"setting {key}: unknown (known: {', '.join(sorted(known)) or 'none'})")
    for row in rows:
        value = settings.get(row.key, row.default)
        for name in row.env:
            if environ.get(name, "") != "":
                value = environ[name]
                break
        try:
            settings[row.key] = row.parse(value)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"setting {row.key}: {exc}") from None


def add_settings_table(config, prefix: str, settings: Iterable[Setting]) -> None:
    """`config.add_settings_table("shopcore.wishlist.", (Setting(...), ...))`: declare a plugin's settings.

    Each row's value (the ini's, else the environment's when the row names variables, else its
    default) is parsed at once, so the plugin reads the parsed value from `config.get_settings()`
    right after, in its own includeme; a wrong value stops start-up with `SettingsError` naming the
    setting, and so does a key under the prefix that no row declares. The table joins the README's
    generated settings table. Two tables with the same prefix stop start-up naming both owners.
    """
    from shopcore.plugins import current_owner

    rows = tuple(settings)
    if not (isinstance(prefix, str) and prefix.startswith("shopcore.") and prefix.endswith(".")
            and prefix.count(".") >= 2):
        raise SettingsError(f"settings prefix must look like 'shopcore.<name>.', got {prefix!r}")
    for row in rows:
        if not isinstance(row, Setting) or not row.key.startswith(prefix) or row.key == prefix:
            raise SettingsError(f"settings table {prefix}: {getattr(row, 'key', row)!r} is not a Setting "
                                f"under {prefix}")
    table = SettingsTable(prefix, rows, current_owner(config))
    parse_table(config.registry.settings, prefix, rows, config.registry.get("shopcore.environ", os.environ))

    def register():
        config.registry.setdefault(SETTINGS_TABLES, {})[prefix] = table

    config.action(("shopcore.settings_prefix", prefix), register)


def includeme(config) -> None:
    config.add_directive("add_settings_table", add_settings_table)


def settings_table_markdown(tables: Iterable[SettingsTable] | None = None) -> str:
    """The configuration table of the README, made from the settings tables so the two cannot drift apart.

    Without `tables`, those of the shop as the README describes it (`readme_settings_tables`).
    """
    tables = readme_settings_tables() if tables is None else tables
    rows = ["| Setting | Environment | Default | Meaning |", "|---|---|---|---|"]
    for setting in (row for table in tables for row in table.settings):
        default = " ".join(setting.default) if isinstance(setting.default, list) else setting.default
        default = f"`{default}`" if default not in ("", None) else "—"
        env = ", ".join(f"`{name}`" for name in setting.env) or "—"
        rows.append(f"| `{setting.key}` | {env} | {default} | {setting.doc} |")
    return "\n".join(rows)


# The plugins whose settings the README lists: the shop's own, payments and stripe, the optional coupons,
# shipping and tax, and apps (keys, webhooks).
README_PLUGINS = ("catalog", "cart", "orders", "notifications", "payments", "stripe", "coupons", "shipping", "tax",
                  "apps")
README_BLOCK_START = "<!-- settings-table"
README_BLOCK_END = "<!-- end settings-table -->"


def readme_settings_tables() -> list[SettingsTable]:
    """The core's table, then every table the core packages and README_PLUGINS register."""
    from shopcore import make_configurator

    raw = {"sqlalchemy.url": "sqlite://", "shopcore.secret": "readme" * 8, "shopcore.plugins": README_PLUGINS,
           "shopcore.env": "testing"}
    registry = make_configurator(raw, environ={}).registry
    return [CORE_TABLE, *registry.get(SETTINGS_TABLES, {}).values()]


def update_readme(path: str | Path) -> None:
    """Rewrite the README's settings-table block (run `update_readme("README.md")` after changing a table)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start = text.index(README_BLOCK_START)
    header_end = text.index("\n", start) + 1
    end = text.index(README_BLOCK_END)
    path.write_text(text[:header_end] + settings_table_markdown() + "\n" + text[end:], encoding="utf-8")

