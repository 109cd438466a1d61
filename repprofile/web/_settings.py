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

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

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
ENV_SECRET_KEY = "REPPROFILE_SECRET_KEY"
MIN_SECRET_KEY = 32
"""The fewest characters of REPPROFILE_SECRET_KEY."""
ENV_GREENHOUSE_KEYS = "REPPROFILE_GREENHOUSE_KEYS"
ENV_ATS_CONFIG = "REPPROFILE_ATS_CONFIG"
ENV_SMTP_URL = "REPPROFILE_SMTP_URL"
ENV_SMTP_USERNAME = "REPPROFILE_SMTP_USERNAME"
ENV_SMTP_PASSWORD = "REPPROFILE_SMTP_PASSWORD"
ENV_SMTP_CAFILE = "REPPROFILE_SMTP_CAFILE"
ENV_SMTP_DRY_RUN = "REPPROFILE_SMTP_DRY_RUN"
ENV_MAIL_FROM = "REPPROFILE_MAIL_FROM"
ENV_REMINDER_DAYS = "REPPROFILE_REMINDER_DAYS"
ENV_EMAIL_TEMPLATES = "REPPROFILE_EMAIL_TEMPLATES"
ENV_REPORT_LINK_DAYS = "REPPROFILE_REPORT_LINK_DAYS"
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

    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs report links and seals the link tokens of unsent emails (at "
        "least 32 characters: a short key is guessed offline from one report link); "
        "default: a random key kept in DATA_DIR/secret.key (every server sharing the "
        "database must use the same key).",
    )
    greenhouse_keys: tuple[SecretStr, ...] = Field(
        default=(),
        description="Keys Greenhouse may use (HTTP Basic user name) on /integrations/greenhouse/; "
        "default: the server's API keys.",
    )
    ats_config: Path | None = Field(
        default=None,
        description="YAML file with the ATS test catalogue (a 'tests:' list); default: every "
        "role the server knows, on its questionnaire.",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://HOST[:PORT] (STARTTLS, required), smtps://HOST[:PORT] (TLS) or "
        "smtp+plain://HOST[:PORT] (no TLS: a relay on this machine only); none: no email.",
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_cafile: Path | None = Field(
        default=None, description="CA bundle to check the SMTP server's certificate with."
    )
    smtp_dry_run: Path | None = Field(
        default=None,
        description="Write each email to a file in this folder instead of sending it.",
    )
    mail_from: str | None = Field(
        default=None,
        description="The From address of candidate emails; default no-reply@ the public host.",
    )
    reminder_days: float = Field(
        default=3.0,
        ge=0,
        le=365,
        allow_inf_nan=False,
        description="Days after the invitation when a reminder is sent to a candidate who "
        "has not finished (0: no reminder). None after completion or expiry.",
    )
    email_templates: Path | None = Field(
        default=None,
        description="Folder of email templates replacing the bundled ones (same file names).",
    )
    report_link_days: int = Field(
        default=30,
        ge=1,
        le=366,
        description="Days a signed report link (partner_profile_url, result_url) stays valid.",
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

    @property
    def sender(self) -> str:
        """The From address of candidate emails: ``mail_from``, else
        ``Candidate assessment <no-reply@HOST>`` with the public URL's host."""
        if self.mail_from:
            return self.mail_from
        from urllib.parse import urlsplit

        host = urlsplit(self.public_url).hostname or "localhost"
        return f"Candidate assessment <no-reply@{host}>"

    def take_url(self, token: str) -> str:
        """The candidate's link for ``token``."""
        return f"{self.public_url.rstrip('/')}/take/{token}"

    @field_validator("secret_key")
    @classmethod
    def _long_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        """At least :data:`MIN_SECRET_KEY` characters; the message never quotes the key."""
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY:
            raise ValueError(
                f"the secret key must be at least {MIN_SECRET_KEY} characters (a random "
                "one: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        """Settings from ``REPPROFILE_DATABASE_URL``, ``REPPROFILE_DATA_DIR``,
        ``REPPROFILE_PUBLIC_URL``, ``REPPROFILE_WEBHOOK_SECRET``,
        ``REPPROFILE_SECURE_COOKIES`` (0/1), ``REPPROFILE_AUTO_UPGRADE`` (0/1),
        ``REPPROFILE_TOKEN_GUESS_LIMIT``, ``REPPROFILE_OUTBOX`` (0/1),
        ``REPPROFILE_WEBHOOK_BACKOFF`` (seconds), ``REPPROFILE_WEBHOOK_MAX_ATTEMPTS``,
        ``REPPROFILE_WEBHOOK_ALLOW_PRIVATE`` (0/1), and for ATS integration and email
        ``REPPROFILE_SECRET_KEY``, ``REPPROFILE_GREENHOUSE_KEYS`` (comma-separated),
        ``REPPROFILE_ATS_CONFIG``, ``REPPROFILE_SMTP_URL``, ``REPPROFILE_SMTP_USERNAME``,
        ``REPPROFILE_SMTP_PASSWORD``, ``REPPROFILE_SMTP_CAFILE``, ``REPPROFILE_SMTP_DRY_RUN``,
        ``REPPROFILE_MAIL_FROM``, ``REPPROFILE_REMINDER_DAYS``,
        ``REPPROFILE_EMAIL_TEMPLATES`` and ``REPPROFILE_REPORT_LINK_DAYS``."""
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
            (ENV_SECRET_KEY, "secret_key"),
            (ENV_ATS_CONFIG, "ats_config"),
            (ENV_SMTP_URL, "smtp_url"),
            (ENV_SMTP_USERNAME, "smtp_username"),
            (ENV_SMTP_PASSWORD, "smtp_password"),
            (ENV_SMTP_CAFILE, "smtp_cafile"),
            (ENV_SMTP_DRY_RUN, "smtp_dry_run"),
            (ENV_MAIL_FROM, "mail_from"),
            (ENV_REMINDER_DAYS, "reminder_days"),
            (ENV_EMAIL_TEMPLATES, "email_templates"),
            (ENV_REPORT_LINK_DAYS, "report_link_days"),
        ):
            if env.get(name):
                data[field] = env[name]
        keys = tuple(k.strip() for k in env.get(ENV_GREENHOUSE_KEYS, "").split(",") if k.strip())
        if keys:
            data["greenhouse_keys"] = keys
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
        env[ENV_REMINDER_DAYS] = repr(self.reminder_days)
        env[ENV_REPORT_LINK_DAYS] = str(self.report_link_days)
        for name, path in (
            (ENV_ATS_CONFIG, self.ats_config),
            (ENV_SMTP_CAFILE, self.smtp_cafile),
            (ENV_SMTP_DRY_RUN, self.smtp_dry_run),
            (ENV_EMAIL_TEMPLATES, self.email_templates),
        ):
            if path is not None:
                env[name] = str(path)
        for name, text in (
            (ENV_SMTP_USERNAME, self.smtp_username),
            (ENV_MAIL_FROM, self.mail_from),
        ):
            if text is not None:
                env[name] = text
        for name, secret in (
            (ENV_SECRET_KEY, self.secret_key),
            (ENV_SMTP_URL, self.smtp_url),
            (ENV_SMTP_PASSWORD, self.smtp_password),
        ):
            if secret is not None:
                env[name] = secret.get_secret_value()
        if self.greenhouse_keys:
            env[ENV_GREENHOUSE_KEYS] = ",".join(k.get_secret_value() for k in self.greenhouse_keys)
        if self.database_url is not None:
            env[ENV_DATABASE_URL] = self.database_url.get_secret_value()
        if self.webhook_secret is not None:
            env[ENV_WEBHOOK_SECRET] = self.webhook_secret.get_secret_value()
        return env
