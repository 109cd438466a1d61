"""Problems found while reading answers: at most ten listed per candidate, the rest counted.

Every reader (CSV, .xlsx, JSON records, DataFrame, survey export) and scoring itself
pass their :class:`~repprofile.CandidateError` list through :func:`cap_problems`, so a
candidate with 77 unreadable answers gets ten errors and one ``and 67 more problem(s)``
line, whatever form the answers came in. A candidate whose id is blank is told apart
from the others by the row (or record) its messages name, and shown as
``(blank id), row 5`` by :func:`who`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar


class CandidateError(Protocol):
    """What this module reads of a :class:`~repprofile.CandidateError`."""

    @property
    def candidate_id(self) -> str | None: ...
    @property
    def item_id(self) -> str | None: ...
    @property
    def message(self) -> str: ...
    def __init__(self, **fields: Any) -> None: ...


E = TypeVar("E", bound=CandidateError)


__all__ = [
    "DUPLICATES",
    "MAX_ERRORS_PER_CANDIDATE",
    "cap_problems",
    "count_candidates",
    "keep_duplicates",
    "more_count",
    "more_message",
    "who",
]

MAX_ERRORS_PER_CANDIDATE = 10
"""Problems listed per candidate; the rest are counted in one more line."""

_MORE = re.compile(r"^and (\d+) more problem\(s\) with this candidate's answers")
_ROW = re.compile(r"\b(row|record) (\d+)\b")


def more_message(n: int) -> str:
    """The message of the line that counts a candidate's ``n`` problems beyond the
    listed ones."""
    return (
        f"and {n} more problem(s) with this candidate's answers; only the first "
        f"{MAX_ERRORS_PER_CANDIDATE} are listed"
    )


def more_count(error: CandidateError) -> int | None:
    """How many problems a :func:`more_problems` line counts (None: not such a line)."""
    if error.item_id is not None:
        return None
    found = _MORE.match(error.message)
    return int(found.group(1)) if found else None


def _key(error: CandidateError, index: int) -> tuple[str, str]:
    if error.candidate_id is not None:
        return ("id", error.candidate_id)
    found = _ROW.search(error.message)
    return (found.group(1), found.group(2)) if found else ("index", str(index))


def cap_problems(errors: Sequence[E]) -> list[E]:
    """At most :data:`MAX_ERRORS_PER_CANDIDATE` problems per candidate, in their order,
    each candidate's others counted in one line after its last listed one."""
    listed: dict[tuple[str, str], int] = {}
    unlisted: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], int] = {}
    out: list[E] = []
    for i, e in enumerate(errors):
        key = _key(e, i)
        counted = more_count(e)
        if counted is not None:
            unlisted[key] = unlisted.get(key, 0) + counted
            continue
        if listed.get(key, 0) >= MAX_ERRORS_PER_CANDIDATE:
            unlisted[key] = unlisted.get(key, 0) + 1
            continue
        listed[key] = listed.get(key, 0) + 1
        last[key] = len(out)
        out.append(e)
    if not unlisted:
        return out
    for key, n in sorted(unlisted.items(), key=lambda kv: -last.get(kv[0], -1)):
        cid = key[1] if key[0] == "id" else None
        more = type(errors[0])(candidate_id=cid, item_id=None, value=None, message=more_message(n))
        out.insert(last.get(key, len(out) - 1) + 1, more)
    return out


def who(error: CandidateError) -> str:
    """The candidate an error is about, for a message: ``candidate 'anna'``, or
    ``(blank id), row 5`` when the id was blank."""
    if error.candidate_id is not None:
        return f"candidate {error.candidate_id!r}"
    found = _ROW.search(error.message)
    return f"(blank id), {found.group(1)} {found.group(2)}" if found else "(blank id)"


def count_candidates(ids: Iterable[str], rejected: Iterable[bool]) -> tuple[int, int]:
    """(rejected, total) counted in candidates, not rows: an id on several rows is one
    candidate, rejected if any of its rows is."""
    seen: dict[str, bool] = {}
    for cid, bad in zip(ids, rejected, strict=True):
        seen[cid] = seen.get(cid, False) or bool(bad)
    return sum(seen.values()), len(seen)


DUPLICATES = ("reject", "first", "last")
"""What to do with a candidate id on several rows: reject them all (the default: an
HR system maps results by id, so a guess could give one person another's result),
keep the first row (the first submission) or keep the last (the resubmission)."""

_SHOWN_DUPLICATES = 5


def keep_duplicates(
    ids: Sequence[str | None], policy: str, numbers: Sequence[int], noun: str = "row"
) -> tuple[list[int], str | None]:
    """Which rows to read when ids repeat, and the warning that says what was dropped.

    ``ids``: each row's candidate id (None or blank: no id; such rows are never
    duplicates). ``numbers``: the row (or record) number each row is named by.
    ``policy`` is one of :data:`DUPLICATES`; with ``"reject"`` every row is kept here
    and the readers reject the repeated ids. Returns the indices of the rows to read,
    in order, and None or a message naming every repeated id (the first five, then a
    count), its rows and the one kept.
    """
    if policy == "reject":
        return list(range(len(ids))), None
    rows: dict[str, list[int]] = {}
    for i, cid in enumerate(ids):
        if cid:
            rows.setdefault(cid, []).append(i)
    repeated = {cid: r for cid, r in rows.items() if len(r) > 1}
    if not repeated:
        return list(range(len(ids))), None
    dropped: set[int] = set()
    shown: list[str] = []
    for cid, r in repeated.items():
        kept = r[0] if policy == "first" else r[-1]
        dropped.update(i for i in r if i != kept)
        if len(shown) < _SHOWN_DUPLICATES:
            listed = ", ".join(str(numbers[i]) for i in r)
            shown.append(f"{cid!r} ({noun}s {listed}: kept {noun} {numbers[kept]})")
    more = len(repeated) - len(shown)
    message = (
        f"{len(repeated)} candidate id(s) appear on more than one {noun}; kept the "
        f"{policy} {noun} of each (duplicates={policy!r}) and did not read the others: "
        + "; ".join(shown)
        + (f"; and {more} more" if more else "")
    )
    return [i for i in range(len(ids)) if i not in dropped], message
