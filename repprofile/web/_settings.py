"""Settings of the web assessment: the database, the data directory, the public address
of the candidate links, the webhook secret, cookies and the token-guessing limit.

:class:`WebSettings` reads and writes ``REPPROFILE_*`` environment variables, as
:class:`repprofile.server.ServerSettings` does, so that ``repprofile serve`` hands them to
every worker process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from repprofile._errors import InputError

__all__ = ["WebSettings"]

ENV_DATABASE_URL = "REPPROFILE_DATABASE_URL"
ENV_DATA_DIR = "REPPROFILE_DATA_DIR"
ENV_PUBLIC_URL = "REPPROFILE_PUBLIC_URL"
ENV_WEBHOOK_SECRET = "REPPROFILE_WEBHOOK_SECRET"
ENV_SECURE_COOKIES = "REPPROFILE_SECURE_COOKIES"
ENV_AUTO_UPGRADE = "REPPROFILE_AUTO_UPGRADE"
ENV_GUESS_LIMIT = "REPPROFILE_TOKEN_GUESS_LIMIT"
ENV_OUTBOX = "REPPROFILE_OUTBOX"
ENV_WEBHOOK_BACKOFF = "REPPROFILE_WEBHOOK_BACKOFF"
ENV_WEBHOOK_MAX_ATTEMPTS = "REPPROFILE_WEBHOOK_MAX_ATTEMPTS"
ENV_WEBHOOK_ALLOW_PRIVATE = "REPPROFILE_WEBHOOK_ALLOW_PRIVATE"
DEFAULT_DATA_DIR = "repprofile-data"
_FALSE = ("0", "false", "no", "off")


class WebSettings(BaseModel):
    """Configuration of the web assessment.

    The database URL and the webhook secret are secret strings: never shown in ``repr``,
    dumps or logs (a URL may hold a password).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL; default a SQLite file repprofile.db in data_dir.",
    )
    data_dir: Path = Field(default=Path(DEFAULT_DATA_DIR))
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address candidates reach the server at; links are PUBLIC_URL/take/TOKEN.",
    )
    webhook_secret: SecretStr | None = None
    secure_cookies: bool = Field(
        default=True, description="Cookies carry Secure; turn off only for plain http on localhost."
    )
    auto_upgrade: bool = Field(default=True, description="Upgrade the database when serve starts.")
    token_guess_limit: int = Field(
        default=20,
        gt=0,
        description="Unknown candidate links one client address may try per minute (then 429).",
    )
    outbox: bool = Field(default=True, description="Deliver webhooks from this process.")
    webhook_backoff: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="Seconds before the first retry of a failed webhook; doubled after each "
        "failure, at most one hour.",
    )
    webhook_max_attempts: int = Field(
        default=15,
        ge=1,
        le=100,
        description="Delivery attempts of a webhook before it is given up (last_error kept).",
    )

    webhook_allow_private: bool = Field(
        default=False,
        description="Accept callback URLs on loopback, private or link-local addresses "
        "(a receiver on this machine or network); off: such invitations are refused.",
    )

    @property
    def url(self) -> str:
        """The database URL (the SQLite file in ``data_dir`` unless one is set)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'repprofile.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def take_url(self, token: str) -> str:
        """The candidate's link for ``token``."""
        return f"{self.public_url.rstrip('/')}/take/{token}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        """Settings from ``REPPROFILE_DATABASE_URL``, ``REPPROFILE_DATA_DIR``,
        ``REPPROFILE_PUBLIC_URL``, ``REPPROFILE_WEBHOOK_SECRET``,
        ``REPPROFILE_SECURE_COOKIES`` (0/1), ``REPPROFILE_AUTO_UPGRADE`` (0/1),
        ``REPPROFILE_TOKEN_GUESS_LIMIT``, ``REPPROFILE_OUTBOX`` (0/1),
        ``REPPROFILE_WEBHOOK_BACKOFF`` (seconds), ``REPPROFILE_WEBHOOK_MAX_ATTEMPTS`` and
        ``REPPROFILE_WEBHOOK_ALLOW_PRIVATE`` (0/1)."""
        env = os.environ if environ is None else environ
        data: dict[str, object] = {}
        for name, field in (
            (ENV_DATABASE_URL, "database_url"),
            (ENV_DATA_DIR, "data_dir"),
            (ENV_PUBLIC_URL, "public_url"),
            (ENV_WEBHOOK_SECRET, "webhook_secret"),
            (ENV_GUESS_LIMIT, "token_guess_limit"),
            (ENV_WEBHOOK_BACKOFF, "webhook_backoff"),
            (ENV_WEBHOOK_MAX_ATTEMPTS, "webhook_max_attempts"),
        ):
            if env.get(name):
                data[field] = env[name]
        for name, field in (
            (ENV_SECURE_COOKIES, "secure_cookies"),
            (ENV_AUTO_UPGRADE, "auto_upgrade"),
            (ENV_OUTBOX, "outbox"),
            (ENV_WEBHOOK_ALLOW_PRIVATE, "webhook_allow_private"),
        ):
            if env.get(name):
                data[field] = env[name].strip().lower() not in _FALSE
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            from repprofile._formats.files import format_validation_error

            raise InputError(format_validation_error("web settings", exc)) from None

    def to_env(self) -> dict[str, str]:
        """The environment variables that :meth:`from_env` reads back to these settings."""
        env = {
            ENV_DATA_DIR: str(self.data_dir),
            ENV_PUBLIC_URL: self.public_url,
            ENV_SECURE_COOKIES: "1" if self.secure_cookies else "0",
            ENV_AUTO_UPGRADE: "1" if self.auto_upgrade else "0",
            ENV_GUESS_LIMIT: str(self.token_guess_limit),
            ENV_OUTBOX: "1" if self.outbox else "0",
            ENV_WEBHOOK_BACKOFF: repr(self.webhook_backoff),
            ENV_WEBHOOK_MAX_ATTEMPTS: str(self.webhook_max_attempts),
            ENV_WEBHOOK_ALLOW_PRIVATE: "1" if self.webhook_allow_private else "0",
        }
        if self.database_url is not None:
            env[ENV_DATABASE_URL] = self.database_url.get_secret_value()
        if self.webhook_secret is not None:
            env[ENV_WEBHOOK_SECRET] = self.webhook_secret.get_secret_value()
        return env
