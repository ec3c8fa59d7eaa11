"""Server settings: environment (``LICENTIA_*``) over a TOML file over defaults.

Settings are built once by the CLI (or by a test) and passed to
``create_app``; nothing reads the environment at import time.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATA_DIR = Path("licentia-data")
_PLACEHOLDERS = {"changeme", "change-me", "change-this", "secret", "please-change", "xxx"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LICENTIA_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    # Fernet key that encrypts product signing keys at rest. Every worker and
    # host must share it; by default it lives in ``<data_dir>/secret.key``.
    secret_key: SecretStr | None = None
    # Proxies whose X-Forwarded-For is believed (addresses or CIDR networks).
    trusted_proxies: list[str] = Field(default_factory=list)
    max_body_bytes: int = 256 * 1024
    cookie_secure: bool | None = None
    log_level: str = "info"
    # "text" for a terminal, "json" for one JSON object per line (log shippers).
    log_format: Literal["text", "json"] = "text"
    reverse_dns: bool = True
    # Shared limits (kept in the database, so they hold across workers).
    activation_attempts_per_hour: int = 20
    # How long each worker reuses a product's policy and key id on the hot path:
    # a policy edit or key rotation takes effect everywhere within this time.
    product_cache_seconds: float = 2.0
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "licentia@localhost"
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    # Notification outbox (server/notify): how often each process looks for due
    # messages, and after how many failed attempts a message is marked failed.
    outbox_poll_seconds: float = 2.0
    outbox_max_attempts: int = 16
    # Admin UI sessions (absolute lifetime) and the dashboard's rollup refresh period (0 disables).
    admin_session_hours: int = 12
    rollup_interval_seconds: float = 60.0
    # How often each process frees seats unseen for their policy's seat_release_days (0: only at activations).
    seat_release_interval_seconds: float = 3600.0
    # How often each process looks for trials ending or ended and licenses expired (webhooks; 0 disables).
    notify_sweep_interval_seconds: float = 3600.0
    # Events received longer ago than this are deleted (0: kept forever). On PostgreSQL whole
    # months go at once, when all of a month is past it (docs/operations.md, "Sizing").
    event_retention_days: int = Field(default=0, ge=0)
    # Shared secret of POST /v1/hooks/payment (HMAC-SHA256); unset refuses every delivery.
    payment_webhook_secret: SecretStr | None = None
    # Bearer token Prometheus sends to scrape /metrics; unset, /metrics is not served at all
    # (its counters tell anyone how many installations, activations and failures there are).
    metrics_token: SecretStr | None = None
    # Customer portal (server/portal): sign-in links, sessions, download links.
    portal_link_minutes: int = 15
    portal_session_hours: int = 12
    portal_links_per_address_per_hour: int = 5
    portal_links_per_network_per_hour: int = 30
    portal_download_minutes: int = 10
    # The device sign-in of applications (RFC 8628, server/users/): how long a code lives, the polling
    # interval given to applications, and the wrong codes a signed-in person may type per hour.
    device_code_minutes: int = Field(default=15, ge=1, le=60)
    device_poll_seconds: int = Field(default=5, ge=1, le=60)
    device_code_guesses_per_hour: int = Field(default=10, ge=1)
    # Reply-to of customer emails when a product sets none (None: no Reply-To).
    customer_reply_to: str | None = None
    # Payment providers' webhook signing secrets (server/payments); unset refuses that provider.
    stripe_webhook_secret: SecretStr | None = None
    paddle_webhook_secret: SecretStr | None = None
    fastspring_webhook_secret: SecretStr | None = None
    # Paddle puts no email in a transaction: with an API key it is read from Paddle's API.
    paddle_api_key: SecretStr | None = None
    paddle_sandbox: bool = False
    # Stripe puts no line items in a Checkout event: with an API key they are read from Stripe's API.
    stripe_api_key: SecretStr | None = None
    stripe_api_base: str | None = None  # another address for Stripe's API (an egress proxy)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("LICENTIA_CONFIG", "licentia.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    @field_validator("secret_key")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value()
        if text.lower() in _PLACEHOLDERS:
            raise ValueError("LICENTIA_SECRET_KEY is a placeholder; generate one with `licentia init`")
        try:
            Fernet(text.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError("LICENTIA_SECRET_KEY must be a Fernet key (32 url-safe base64 bytes)") from exc
        return value

    @field_validator("metrics_token")
    @classmethod
    def _strong_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value()
        if text.lower() in _PLACEHOLDERS or len(text) < 16:
            raise ValueError("LICENTIA_METRICS_TOKEN must be a random value of at least 16 characters")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'licentia.db').resolve()}"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def fernet(self) -> Fernet:
        """The key box for signing keys, creating ``secret.key`` on first use."""
        if self.secret_key is not None:
            return Fernet(self.secret_key.get_secret_value().encode())
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        return Fernet(path.read_bytes().strip())


def load_settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
