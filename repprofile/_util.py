"""Small helpers shared by every layer (base layer: the standard library and numpy only).

* :func:`finite_or_none`: a number as it appears in a JSON document (NaN and
  infinities are ``null``);
* :func:`csv_number`: a number as it appears in a CSV output (rounded to
  :data:`CSV_DECIMALS` places);
* :func:`canonical_sha256`: the fingerprint of a parsed file (questionnaire, norm
  table, role) recorded in provenance;
* :func:`json_loads`: JSON text parsed strictly: ``NaN``, ``Infinity`` and
  ``-Infinity`` (which Python's :mod:`json` accepts by default) are refused.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

import numpy as np

__all__ = [
    "CSV_DECIMALS",
    "SHOWN",
    "NonFiniteJSONError",
    "canonical_sha256",
    "clip",
    "csv_number",
    "finite_or_none",
    "json_loads",
    "non_finite_tokens",
    "read_only",
]

CSV_DECIMALS = 4
"""Decimal places of the numbers in CSV outputs (scores, rankings, fits): 0.0001 of a
POMP or fit point, far below any score's standard error; JSON keeps full precision."""


def finite_or_none(value: float | np.floating[Any]) -> float | None:
    """``float(value)``, or None where it is NaN or infinite (JSON has neither)."""
    x = float(value)
    return x if math.isfinite(x) else None


def csv_number(value: float | None) -> str:
    """A CSV cell: ``value`` rounded to :data:`CSV_DECIMALS` places (Python's ``round``,
    half to even on the binary value), written as the shortest text that reads back as
    the rounded number (``63.8889``, ``50.0``); empty for no value; never ``-0.0``."""
    if value is None:
        return ""
    return repr(round(float(value), CSV_DECIMALS) + 0.0)


def canonical_sha256(data: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``data``: keys sorted, ASCII only.

    ``data`` is a JSON-mode dump (``model.model_dump(mode="json")``), so the hash
    depends on what a file says, not on how it was written (order of keys, YAML or
    JSON, comments).
    """
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


SHOWN = 80
"""Characters of a client's value (an answer, an id, a field name, a header) quoted back
in a message: a value can be huge, and an echo must not be."""


def clip(text: str, width: int = SHOWN) -> str:
    """``text`` cut to ``width`` characters, ending in "..." when cut."""
    return text if len(text) <= width else text[: width - 3] + "..."


class NonFiniteJSONError(ValueError):
    """JSON text holds ``NaN``, ``Infinity`` or ``-Infinity``: not JSON (RFC 8259)."""


def _refuse_constant(token: str) -> Any:
    raise NonFiniteJSONError(
        f"{token} is not a JSON number (JSON has no NaN or infinities): "
        "send a finite number, or null for a missing value"
    )


def json_loads(text: str | bytes) -> Any:
    """``json.loads(text)``, refusing ``NaN``, ``Infinity`` and ``-Infinity``.

    Raises
    ------
    NonFiniteJSONError
        One of those tokens (a :class:`ValueError`).
    json.JSONDecodeError
        Text that is not JSON at all.
    """
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


class _Token:
    """Where a non-finite number stood in text parsed by :func:`non_finite_tokens`."""

    def __init__(self, token: str) -> None:
        self.token = token


def _token_or_float(token: str) -> Any:
    value = float(token)
    return _Token(token) if math.isinf(value) else value


def _token_paths(node: object, path: tuple[str | int, ...]) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, _Token):
        yield (*path, node.token)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _token_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _token_paths(value, (*path, i))


def non_finite_tokens(text: str | bytes) -> list[tuple[Any, ...]]:
    """Every number of the JSON ``text`` that :func:`json_loads` refuses (``NaN``,
    ``Infinity``, ``-Infinity``, or one beyond a double's range such as ``1e999``), as
    its path of keys and indexes followed by its spelling, e.g.
    ``("candidates", 0, "answers", "acc01", "-1e999")``; empty for text that is not
    JSON (its parser says where it breaks). For a caller that reports them all, as the
    HTTP API's 422 does."""
    try:
        doc = json.loads(text, parse_constant=_Token, parse_float=_token_or_float)
    except (ValueError, RecursionError):
        return []
    return list(_token_paths(doc, ()))


def _finite_float(token: str) -> float:
    """A JSON number with a fraction or exponent; one that overflows a double (``1e999``)
    is refused like ``Infinity``, not read as an infinity."""
    value = float(token)
    if math.isinf(value):
        raise NonFiniteJSONError(
            f"{clip(token, 40)} is beyond the range of a double (about 1.8e308): send a finite "
            "number, or null for a missing value"
        )
    return value


def read_only(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``a`` marked read-only (for arrays derived once and shared, e.g. cached on a
    frozen questionnaire), returned for chaining."""
    a.flags.writeable = False
    return a


# --------------------------------------------------------------------------- threads


def workers() -> int:
    """Threads for block-wise kernels: the CPUs this process may run on (at most 8)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


@functools.cache
def _blas_controller() -> Any:
    """threadpoolctl's controller of the loaded BLAS (built once: it scans the libraries)."""
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

    return ThreadpoolController()


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """BLAS on one thread while a kernel's own threads each multiply their blocks:
    otherwise every small product wakes BLAS's threads too, and they spin against the
    kernel's threads (and the machine's other work) for the same cores."""
    return cast(
        contextlib.AbstractContextManager[Any],
        _blas_controller().limit(limits=1, user_api="blas"),
    )


def in_threads(work: Callable[[Iterable[int]], None], starts: Sequence[int]) -> None:
    """Run ``work`` on the block starts, one thread per core (numpy releases the GIL in
    its loops); in this thread when one core or one block. BLAS is pinned to one thread
    either way, so a product's last bit (OpenBLAS's differs with its thread count) does
    not depend on how many blocks the batch has.

    Each thread's ``work`` draws the next block start from one shared queue as it goes,
    so a thread slowed by other work on the machine does not leave the others idle at
    the end. ``work`` must write only its own blocks' rows: the results are then those
    of one thread, element for element, whichever thread took which block.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    n = min(workers(), len(starts))
    with one_blas_thread():  # in one thread too: BLAS's last bits follow its threads
        if n <= 1:
            work(starts)
            return
        queue = iter(starts)
        lock = threading.Lock()

        def draw() -> Iterator[int]:
            while True:
                with lock:
                    start = next(queue, None)
                if start is None:
                    return
                yield start

        with ThreadPoolExecutor(n) as pool:
            for done in [pool.submit(work, draw()) for _ in range(n)]:
                done.result()
