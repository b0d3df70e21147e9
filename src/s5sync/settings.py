"""Settings from `S5SYNC_*` environment variables or an env file (pydantic-settings).

Nothing is read at import: `load_settings()` builds a `Settings` when a command starts,
and `SettingsError` carries one line naming the setting and what is wrong with it.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line naming it."""


class Settings(BaseSettings):
    """Everything an s5sync process needs to know about its deployment."""

    model_config = SettingsConfigDict(env_prefix="S5SYNC_", env_file=".env", extra="ignore")

    database_url: str = Field(
        description="The CALENDAREVENT database: sqlite+aiosqlite:///… or postgresql+asyncpg://…"
    )
    tenant_database_url: str = Field(
        default="",
        description=(
            "PostgreSQL only: the same database as a role that neither owns the tables nor "
            "has BYPASSRLS, for every store-bound transaction, so row-level security binds "
            "the web app and the workers (R22); empty: database_url for everything"
        ),
    )
    database_ca: Path | None = Field(
        default=None,
        description=(
            "PEM file of the CA that signed the CALENDAREVENT PostgreSQL server's certificate; "
            "with it the connection is sslmode=verify-full unless the URL names a mode "
            "(store/tls.py)"
        ),
    )
    secret_keys: SecretStr = Field(
        description="Comma-separated Fernet keys, newest first (R22: secrets at rest)"
    )
    session_secret: SecretStr = Field(
        default=SecretStr(""), description="Signs the session cookie (web app)"
    )
    authority: str = "https://login.microsoftonline.com/organizations"
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    # Or a certificate registered on the Entra application instead of a secret: the PEM
    # private key's file and the certificate's SHA-1 thumbprint (hex).
    client_certificate: Path | None = None
    client_certificate_thumbprint: str = ""
    redirect_uri: str = ""
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    ca_bundle: Path | None = None
    scheduler: Literal["local", "procrastinate"] = "local"
    procrastinate_dsn: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Issue 20 item 4: the activity log links each line to where the store opens its
    # task and its event; `{id}` is replaced by the (URL-encoded) id. System Five has no
    # web address of its own: empty, no link. Outlook on the web opens an event by its id.
    task_link: str = ""
    event_link: str = "https://outlook.office.com/calendar/item/{id}"
    # R14b: Graph delivers change notifications to `public_url` only over https; the
    # demo's emulator delivers over loopback http, so the demo sets this.
    push_http: bool = False
    secure_cookies: bool = True
    # R21d: alerts by e-mail through any SMTP relay; empty host: alerts on the health page
    # only. Port 587 with STARTTLS by default; S5SYNC_SMTP_TLS for implicit TLS (465).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    smtp_tls: bool = False
    smtp_ca_bundle: Path | None = None
    smtp_timeout_seconds: float = 30.0
    mail_from: str = ""
    # How often alerts are decided and the outbox delivered (tests and demos go faster).
    alert_every_seconds: float = 60.0
    log_level: str = "INFO"
    log_json: bool = False
    # Who may read /healthz and /metrics (web app and workers; issue 22). Both empty:
    # anyone (the demo). Otherwise a request from an allowed network, or one bearing the
    # token, is answered; any other is refused.
    metrics_allow: str = Field(
        default="", description="Comma-separated networks (CIDR) allowed /healthz and /metrics"
    )
    metrics_token: SecretStr = Field(
        default=SecretStr(""), description="Bearer token that opens /healthz and /metrics"
    )
    # `s5sync worker` serves /healthz and /metrics here (0: not at all).
    worker_health_port: int = Field(default=0, ge=0, le=65535)
    worker_health_host: str = "0.0.0.0"  # noqa: S104 - a container's probes come from outside

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("tenant_database_url")
    @classmethod
    def _postgresql_role(cls, value: str) -> str:
        if value and not value.startswith("postgresql"):
            raise ValueError("must be empty or a postgresql:// URL (row-level security)")
        return value

    @model_validator(mode="after")
    def _same_kind_of_database(self) -> Settings:
        if self.tenant_database_url and not self.database_url.startswith("postgresql"):
            raise ValueError(
                "S5SYNC_TENANT_DATABASE_URL needs S5SYNC_DATABASE_URL on PostgreSQL "
                "(SQLite has no roles)"
            )
        return self

    @model_validator(mode="after")
    def _mail_sender(self) -> Settings:
        if self.smtp_host and "@" not in self.mail_from:
            raise ValueError(
                "S5SYNC_MAIL_FROM must be an e-mail address when S5SYNC_SMTP_HOST is set"
            )
        return self

    @field_validator("database_ca")
    @classmethod
    def _ca_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no file {value}")
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        for network in (n.strip() for n in value.split(",") if n.strip()):
            try:
                ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network (CIDR, e.g. 10.0.0.0/8)") from None
        return value

    def metrics_networks(self) -> list[IPv4Network | IPv6Network]:
        """The networks of `S5SYNC_METRICS_ALLOW`."""
        return [
            ip_network(n.strip(), strict=False) for n in self.metrics_allow.split(",") if n.strip()
        ]

    @field_validator("secret_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        keys = [k.strip() for k in value.get_secret_value().split(",") if k.strip()]
        if not keys:
            raise ValueError("needs at least one Fernet key (s5sync keys generate prints one)")
        for key in keys:
            try:
                Fernet(key.encode())
            except (ValueError, TypeError):
                raise ValueError("each key must be a url-safe base64 32-byte Fernet key") from None
        return value

    def fernet_keys(self) -> list[str]:
        """The encryption keys, newest first."""
        return [k.strip() for k in self.secret_keys.get_secret_value().split(",") if k.strip()]


REQUIRED_FOR_SERVE = ("session_secret", "client_id", "client_secret", "redirect_uri")


def load_settings(env_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, turning pydantic's report into one actionable line."""
    try:
        if env_file is not None:
            if not env_file.is_file():
                raise SettingsError(f"--env-file {env_file}: no such file")
            return Settings(_env_file=env_file, **overrides)
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    """One line for the first problem: `S5SYNC_NAME: what is wrong`."""
    first = error.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    if not first["loc"] and message.startswith("S5SYNC_"):
        return message  # a check across settings names them itself
    name = "S5SYNC_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
    if first["type"] == "missing":
        return f"{name} is not set"
    return f"{name} is invalid: {message}"


def require_for_serve(settings: Settings) -> None:
    """`s5sync serve` needs the Entra application and a session secret (R19)."""
    if settings.client_certificate is not None:
        if not settings.client_certificate.is_file():
            raise SettingsError(
                f"S5SYNC_CLIENT_CERTIFICATE is invalid: no file {settings.client_certificate}"
            )
        if not settings.client_certificate_thumbprint:
            raise SettingsError(
                "S5SYNC_CLIENT_CERTIFICATE_THUMBPRINT is not set (needed with "
                "S5SYNC_CLIENT_CERTIFICATE)"
            )
    for field in REQUIRED_FOR_SERVE:
        if field == "client_secret" and settings.client_certificate is not None:
            continue  # the certificate stands in for the secret
        value = getattr(settings, field)
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not text:
            raise SettingsError(f"S5SYNC_{field.upper()} is not set (needed by s5sync serve)")
