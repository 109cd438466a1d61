"""Databases for the web-assessment tests: SQLite files and a throwaway PostgreSQL cluster.

The PostgreSQL cluster is Debian's ``postgresql`` package run from its binaries
(``/usr/lib/postgresql/<newest>/bin``): ``initdb`` into a temporary directory, ``pg_ctl
start`` listening only on a Unix socket in that directory (no TCP port at all), and
``pg_ctl stop -m immediate`` at the end of the session. ``initdb`` refuses to run as root,
so as root the cluster belongs to the ``postgres`` user (the directory is handed to it and
every binary runs through ``runuser``).

Each test that asks for it gets a fresh database (``CREATE DATABASE test_N``), upgraded
to the newest migration like SQLite files are.

Missing binaries are a failure, not a skip: CI must test both databases (``make test``
installs the package, see tools/ci-system-deps.sh). ``REPPROFILE_TEST_POSTGRES=0`` turns
the PostgreSQL half off on a developer's machine.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "PgCluster",
    "postgres_bin",
    "postgres_disabled",
    "sqlite_url",
]

ENV_SWITCH = "REPPROFILE_TEST_POSTGRES"
INSTALL_HINT = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install "
    "Debian's postgresql package (apt-get install postgresql, or run "
    "tools/ci-system-deps.sh), or set REPPROFILE_TEST_POSTGRES=0 to test SQLite only"
)


def postgres_disabled() -> bool:
    """True when ``REPPROFILE_TEST_POSTGRES=0`` (or false/no/off) asks for SQLite only."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() in ("0", "false", "no", "off")


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding initdb and pg_ctl (None: none)."""
    root = Path("/usr/lib/postgresql")
    found: list[tuple[float, Path]] = []
    if root.is_dir():
        for d in root.iterdir():
            b = d / "bin"
            if (b / "initdb").exists() and (b / "pg_ctl").exists():
                try:
                    found.append((float(d.name), b))
                except ValueError:
                    continue
    return max(found)[1] if found else None


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


@dataclass
class PgCluster:
    """A PostgreSQL cluster in a temporary directory, reachable only through its socket."""

    bindir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="repprofile-pg-")))
    user: str | None = None  # the OS user running the server (None: this one)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def role(self) -> str:
        """The database superuser (the OS user that ran initdb)."""
        return self.user or pwd.getpwuid(os.getuid()).pw_name

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def start(self) -> None:
        """initdb, then pg_ctl start on a socket in ``root`` (no TCP), waiting until ready."""
        self.socket_dir.mkdir(parents=True)
        if os.getuid() == 0 and self.user is None:
            self.user = "postgres"
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            for p in (self.root, self.socket_dir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            self.root.chmod(0o755)  # the tests (root) reach the socket through it
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.role,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        opts = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.socket_dir}' "
            "-c max_connections=200 -c shared_buffers=32MB -c log_min_messages=warning"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "start",
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.root / "server.log"),
            "-o",
            opts,
        )

    def url(self, database: str = "postgres") -> str:
        """The URL of a database of the cluster (psycopg 3, over the Unix socket)."""
        return (
            f"postgresql+psycopg://{quote(self.role)}@/{database}"
            f"?host={quote(str(self.socket_dir), safe='')}"
        )

    def create_database(self) -> str:
        """A new empty database ``test_N``; returns its URL."""
        import psycopg

        name = f"test_{next(self._numbers)}"
        with psycopg.connect(
            host=str(self.socket_dir), user=self.role, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        """The server's log (for failure messages)."""
        p = self.root / "server.log"
        return p.read_text("utf-8", "replace") if p.exists() else ""

    def stop(self) -> None:
        """pg_ctl stop -m immediate, then remove the directory."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(
                    str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate"
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
