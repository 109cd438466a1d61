"""The web assessment's commands: ``repprofile db upgrade`` (and the database options that
``serve`` and the invitation commands share). Needs repprofile[server]."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from repprofile.cli._common import EXIT_OK, UsageError

if TYPE_CHECKING:
    from repprofile.cli._common import Subparsers
    from repprofile.web import WebSettings

__all__ = ["add_database_options", "register", "web_settings"]


def add_database_options(p: argparse.ArgumentParser) -> None:
    """``--database-url`` and ``--data-dir`` (each also REPPROFILE_DATABASE_URL /
    REPPROFILE_DATA_DIR)."""
    p.add_argument(
        "--database-url",
        metavar="URL",
        help="database, e.g. postgresql://user@host/db (default: REPPROFILE_DATABASE_URL, "
        "else a SQLite file in the data directory)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder of the default SQLite database (default: REPPROFILE_DATA_DIR, "
        "else ./repprofile-data)",
    )


def web_settings(args: argparse.Namespace, **update: Any) -> WebSettings:
    """The web settings of the environment, changed by the database options."""
    try:
        from repprofile.web import WebSettings
    except ImportError as exc:
        raise UsageError(
            f"this command needs the server extra ({exc.name} is not installed): "
            "pip install 'repprofile[server]'"
        ) from None
    base = WebSettings.from_env()
    if getattr(args, "database_url", None):
        update["database_url"] = args.database_url
    if getattr(args, "data_dir", None):
        update["data_dir"] = args.data_dir
    return WebSettings.model_validate(base.model_dump() | update)


def register(sub: Subparsers) -> None:
    """Add ``db`` (``db upgrade``)."""
    p = sub.add_parser(
        "db",
        help="the web assessment's database (needs repprofile[server])",
        description="Manage the database of the web assessment (docs/web-assessment.md).",
    )
    dsub = p.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    up = dsub.add_parser(
        "upgrade",
        help="create the tables or apply new migrations",
        description=(
            "Bring the database up to this version of repprofile (Alembic migrations); "
            "safe to run again. 'repprofile serve' does it on start unless --no-upgrade."
        ),
    )
    add_database_options(up)
    up.set_defaults(func=_cmd_upgrade)


def upgrade_database(settings: WebSettings) -> tuple[str | None, str]:
    """Apply the migrations to the database of ``settings``; (before, after)."""
    from repprofile.web._db import make_engine, upgrade

    engine = make_engine(settings.url)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()


def _cmd_upgrade(args: argparse.Namespace) -> int:
    import sys

    settings = web_settings(args)
    before, after = upgrade_database(settings)
    where = f"the SQLite database in {settings.data_dir}" if settings.is_sqlite else "the database"
    if before == after:
        sys.stdout.write(f"{where} is up to date (migration {after})\n")
    else:
        sys.stdout.write(f"{where}: migration {before or '(empty)'} -> {after}\n")
    return EXIT_OK
