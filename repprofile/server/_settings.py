"""Settings of the HTTP API: limits, CORS origins, docs switches and the API keys.

:class:`ServerSettings` reads and writes the ``REPPROFILE_*`` environment variables (how
``repprofile serve`` hands its options to every worker process) and turns the configured
keys into the SHA-256 digests that the guard (:mod:`repprofile.server._security`) compares.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from repprofile._errors import InputError

__all__ = ["ServerSettings"]

MIN_KEY_LENGTH = 16
ENV_KEYS = "REPPROFILE_API_KEYS"
ENV_KEY_FILE = "REPPROFILE_API_KEY_FILE"
ENV_MAX_BODY = "REPPROFILE_MAX_BODY_BYTES"
ENV_MAX_CANDIDATES = "REPPROFILE_MAX_CANDIDATES"
ENV_CORS = "REPPROFILE_CORS_ORIGINS"
ENV_DOCS = "REPPROFILE_DOCS"
ENV_PUBLIC_DOCS = "REPPROFILE_PUBLIC_DOCS"
# Transport limits (docs/server.md, "Transport limits"): variable -> field.
ENV_TRANSPORT = {
    "REPPROFILE_MAX_HEADER_BYTES": "max_header_bytes",
    "REPPROFILE_MAX_HEADERS": "max_headers",
    "REPPROFILE_HEADER_TIMEOUT": "header_timeout",
    "REPPROFILE_BODY_TIMEOUT": "body_timeout",
    "REPPROFILE_KEEP_ALIVE_TIMEOUT": "keep_alive_timeout",
    "REPPROFILE_LIMIT_CONCURRENCY": "limit_concurrency",
    "REPPROFILE_BACKLOG": "backlog",
}
ENV_RENDER_WORKERS = "REPPROFILE_RENDER_WORKERS"
ENV_RENDER_TIMEOUT = "REPPROFILE_RENDER_TIMEOUT"
ENV_RENDER_MAX_RSS = "REPPROFILE_RENDER_MAX_RSS_MB"


def _default_render_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


class ServerSettings(BaseModel):
    """Configuration of the HTTP API.

    Keys are secret strings: never shown in ``repr``, dumps or logs. :meth:`from_env` reads the
    ``REPPROFILE_*`` environment variables (how ``repprofile serve`` hands its options
    to every worker process).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_keys: tuple[SecretStr, ...] = Field(default=())
    key_file: Path | None = None
    max_body_bytes: int = Field(default=5_000_000, gt=0)
    max_candidates: int = Field(default=10_000, gt=0)
    cors_origins: tuple[str, ...] = ()
    docs: bool = True
    public_docs: bool = Field(
        default=False,
        description="Serve /docs and /openapi.json without a key (default: they need one).",
    )
    max_header_bytes: int = Field(
        default=16_384, gt=0, description="Largest request line plus headers, in bytes (431)."
    )
    max_headers: int = Field(default=100, gt=0, description="Most header fields (431).")
    header_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to receive a request's headers (408, or close)."
    )
    body_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to receive a whole request body (408)."
    )
    keep_alive_timeout: int = Field(
        default=5, gt=0, description="Seconds an idle keep-alive connection stays open."
    )
    limit_concurrency: int = Field(
        default=100,
        gt=0,
        description="Connections plus requests in progress per worker before a JSON 503.",
    )
    backlog: int = Field(default=2048, gt=0, description="Pending connections the OS queues.")
    render_workers: int = Field(
        default_factory=_default_render_workers,
        ge=1,
        le=64,
        description="Worker processes drawing charts and reports (default: min(2, CPUs)).",
    )
    render_timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds a chart or report request may take; then 503 and the drawing stops.",
    )
    render_max_rss_mb: int = Field(
        default=400,
        ge=1,
        description="A drawing worker using more memory than this after a request is replaced.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from ``REPPROFILE_API_KEYS`` (comma-separated), ``REPPROFILE_API_KEY_FILE``,
        ``REPPROFILE_MAX_BODY_BYTES``, ``REPPROFILE_MAX_CANDIDATES``,
        ``REPPROFILE_CORS_ORIGINS`` (comma-separated), ``REPPROFILE_DOCS`` (0/1), the
        transport limits (``REPPROFILE_MAX_HEADER_BYTES``, ``REPPROFILE_MAX_HEADERS``,
        ``REPPROFILE_HEADER_TIMEOUT``, ``REPPROFILE_BODY_TIMEOUT``,
        ``REPPROFILE_KEEP_ALIVE_TIMEOUT``, ``REPPROFILE_LIMIT_CONCURRENCY``,
        ``REPPROFILE_BACKLOG``) and the drawing workers (``REPPROFILE_RENDER_WORKERS``,
        ``REPPROFILE_RENDER_TIMEOUT`` in seconds, ``REPPROFILE_RENDER_MAX_RSS_MB``)."""
        env = os.environ if environ is None else environ
        data: dict[str, object] = {
            "api_keys": tuple(k.strip() for k in env.get(ENV_KEYS, "").split(",") if k.strip()),
            "cors_origins": tuple(o.strip() for o in env.get(ENV_CORS, "").split(",") if o.strip()),
        }
        if env.get(ENV_KEY_FILE):
            data["key_file"] = env[ENV_KEY_FILE]
        for name, field in (
            (ENV_MAX_BODY, "max_body_bytes"),
            (ENV_MAX_CANDIDATES, "max_candidates"),
            *ENV_TRANSPORT.items(),
            (ENV_RENDER_WORKERS, "render_workers"),
            (ENV_RENDER_TIMEOUT, "render_timeout"),
            (ENV_RENDER_MAX_RSS, "render_max_rss_mb"),
        ):
            if env.get(name):
                data[field] = env[name]
        for name, field in ((ENV_DOCS, "docs"), (ENV_PUBLIC_DOCS, "public_docs")):
            if env.get(name):
                data[field] = env[name].strip().lower() not in ("0", "false", "no", "off")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            from repprofile._formats.files import format_validation_error

            raise InputError(format_validation_error("server settings", exc)) from None

    def to_env(self) -> dict[str, str]:
        """The environment variables that :meth:`from_env` reads back to these settings."""
        env = {
            ENV_MAX_BODY: str(self.max_body_bytes),
            ENV_MAX_CANDIDATES: str(self.max_candidates),
            ENV_RENDER_WORKERS: str(self.render_workers),
            ENV_RENDER_TIMEOUT: repr(self.render_timeout),
            ENV_RENDER_MAX_RSS: str(self.render_max_rss_mb),
            ENV_CORS: ",".join(self.cors_origins),
            ENV_DOCS: "1" if self.docs else "0",
            ENV_PUBLIC_DOCS: "1" if self.public_docs else "0",
            ENV_KEYS: ",".join(k.get_secret_value() for k in self.api_keys),
        }
        env.update({name: str(getattr(self, field)) for name, field in ENV_TRANSPORT.items()})
        if self.key_file is not None:
            env[ENV_KEY_FILE] = str(self.key_file)
        return env

    def _key_sources(self) -> list[tuple[str, str]]:
        """Every configured key with where it comes from (the settings, the key file)."""
        sources: list[tuple[str, str]] = [
            (f"{ENV_KEYS} key {i}", k.get_secret_value())
            for i, k in enumerate(self.api_keys, start=1)
        ]
        if self.key_file is not None:
            try:  # utf-8-sig: a byte-order mark (Windows editors) is not part of a key
                lines = self.key_file.read_text(encoding="utf-8-sig").splitlines()
            except OSError as exc:
                raise InputError(
                    f"{self.key_file}: cannot read the API key file ({exc.strerror})"
                ) from None
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{self.key_file}: the API key file must be UTF-8 text (byte {exc.start} is "
                    "not); write one key per line"
                ) from None
            for n, line in enumerate(lines, start=1):
                key = line.strip()
                if key and not key.startswith("#"):
                    sources.append((f"{self.key_file} line {n}", key))
        return sources

    def keys(self) -> list[str]:
        """Every configured key (from the settings and the key file), for the integrations
        that must present a key back (the PATCH to Greenhouse); :class:`InputError` as
        :meth:`key_digests` for a bad key file."""
        return [key for _, key in self._key_sources()]

    def key_digests(self) -> tuple[bytes, ...]:
        """SHA-256 digests of every configured key (from the settings and the key file).

        Raises
        ------
        InputError
            No key at all, an unreadable key file, or a key shorter than 16 characters
            or containing whitespace (the message names the source and position, never
            the key).
        """
        sources = self._key_sources()
        if not sources:
            raise InputError(
                "no API key is configured: set REPPROFILE_API_KEYS (comma-separated keys) or "
                "give a key file (--key-file FILE, one key per line). Make a key with: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        for where, key in sources:
            if len(key) < MIN_KEY_LENGTH or any(ch.isspace() or ch == "," for ch in key):
                raise InputError(
                    f"{where}: an API key must be at least {MIN_KEY_LENGTH} characters without "
                    f"spaces or commas, got {len(key)} characters instead"
                )
        return tuple(hashlib.sha256(k.encode("utf-8")).digest() for _, k in sources)
