"""Atomic file output: a crash never leaves a half-written result."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal, TextIO, cast

__all__ = ["atomic_text", "write_atomic"]


@contextmanager
def _atomic(path: str | Path, mode: Literal["w", "wb"]) -> Iterator[IO[bytes] | IO[str]]:
    """A file in the target's folder that replaces ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        text = mode == "w"
        with os.fdopen(
            fd, mode, encoding="utf-8" if text else None, newline="" if text else None
        ) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    with _atomic(path, "wb") as fh:
        cast(IO[bytes], fh).write(data)
    return Path(path)


@contextmanager
def atomic_text(path: str | Path) -> Iterator[TextIO]:
    """A text file to stream into; it replaces ``path`` only if the block succeeds."""
    with _atomic(path, "w") as fh:
        yield cast(TextIO, fh)
