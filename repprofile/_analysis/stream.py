"""Streamed scoring to NDJSON: memory stays flat however many candidates a file has.

A CSV answers file is read twice: once for the candidate ids only (so a repeated id is
rejected in every row, as in batch scoring), then in chunks of rows, each scored and
written out before the next is read. Standard input is first spooled to a temporary
file. Each output line is one JSON object:

* a profile, exactly as an element of the score JSON's ``profiles``;
* ``{"error": {"candidate_id", "item_id", "value", "message"}}`` for a rejected
  candidate;
* last, ``{"summary": {"scored": N, "rejected": M, "chunk_rows": K}, "provenance": {...}}``.

Sample-based response-quality indices use each chunk as their reference sample (or the
norm table's reference for a chunk of fewer than 30 candidates).
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from repprofile._analysis.scoring import ScoreResult, _sjt_key, score
from repprofile._errors import InputError
from repprofile._formats.norms import NormTable, ReliabilityChoice
from repprofile._formats.questionnaire import Questionnaire, SjtMethod
from repprofile._input.answers import AnswerSet, CandidateError, csv_chunk, csv_header, read_answers
from repprofile._input.files import decode, open_codec, sniff_delimiter
from repprofile._input.problems import count_candidates

__all__ = ["CHUNK_ROWS", "stream_score"]

CHUNK_ROWS = 10_000


def _chunks(reader: Iterator[list[str]], size: int) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for numbered in enumerate(reader, start=2):
        chunk.append(numbered)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _repeated_ids(path: Path, source: str, codec: str, delimiter: str) -> dict[str, list[int]]:
    """Ids that appear more than once, with their row numbers (first pass: ids only).
    A file that cannot be decoded is an InputError saying where and how to fix it."""
    try:
        return _repeated_ids_of(path, source, codec, delimiter)
    except UnicodeDecodeError:
        decode(path.read_bytes(), source, None if codec == "utf-8-sig" else codec)
        raise  # pragma: no cover - decode raised the InputError


def _repeated_ids_of(path: Path, source: str, codec: str, delimiter: str) -> dict[str, list[int]]:
    with path.open(newline="", encoding=codec) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        _, id_col = csv_header(reader, source)
        counts: Counter[str] = Counter()
        for row in reader:
            if id_col < len(row) and row[id_col].strip():
                counts[row[id_col].strip()] += 1
        repeated = {cid for cid, n in counts.items() if n > 1}
    if not repeated:
        return {}
    rows: dict[str, list[int]] = {cid: [] for cid in repeated}
    with path.open(newline="", encoding=codec) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        csv_header(reader, source)
        for lineno, row in enumerate(reader, start=2):
            cid = row[id_col].strip() if id_col < len(row) else ""
            if cid in rows:
                rows[cid].append(lineno)
    return rows


def stream_score(
    answers: str | Path,
    q: Questionnaire,
    out: TextIO,
    *,
    norms: NormTable | None = None,
    ci: float = 0.90,
    reliability: ReliabilityChoice = "alpha",
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    encoding: str | None = None,
    sjt_method: SjtMethod | None = None,
    sjt_key: Any = None,
) -> tuple[int, int]:
    """Score an answers file chunk by chunk, writing NDJSON to ``out``.

    Returns (scored, rejected), counted in candidates (an id on several rows is one
    rejected candidate). JSON answers files and .xlsx workbooks are read whole and
    then written line by line. A CSV file may be separated by ``,``, ``;`` or tabs
    and be in any ``encoding`` (default UTF-8, or UTF-16 with a byte-order mark).
    ``sjt_method`` and ``sjt_key`` score SJT items as in :func:`repprofile.score` (the
    key file is read once).
    """
    name = str(answers)
    key = _sjt_key(sjt_key)
    spooled: Path | None = None
    try:
        if name == "-":
            tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115 - removed in finally
                "w", suffix=".csv", delete=False, encoding="utf-8", newline=""
            )
            with tmp:
                shutil.copyfileobj(sys.stdin, tmp)
            spooled = Path(tmp.name)
            path, source = spooled, "<stdin>"
        else:
            path, source = Path(name), Path(name).name
        if not path.exists():
            raise InputError(f"{name}: no such answers file")
        codec = open_codec(path, encoding)
        try:
            with path.open(encoding=codec) as fh:
                head = fh.read(65536)
        except UnicodeDecodeError:
            head = ""  # read whole below: the error says where
        first = head.lstrip()[:1]
        suffix = path.suffix.lower()
        if (
            suffix in (".json", ".xlsx", ".xls", ".ods")
            or (suffix != ".csv" and first in "[{")
            or not head
        ):
            answers_set = read_answers(path, q, encoding=encoding)
            return _write_result(
                score(
                    q,
                    answers_set,
                    norms=norms,
                    ci=ci,
                    reliability=reliability,
                    sjt_method=sjt_method,
                    sjt_key=key,
                ),
                out,
                chunk_rows,
                progress,
            )
        delimiter = sniff_delimiter(head)
        repeated = _repeated_ids(path, source, codec, delimiter)
        scored = rejected = 0
        provenance: dict[str, Any] = {}
        with path.open(newline="", encoding=codec) as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header, id_col = csv_header(reader, source, delimiter)
            for i, chunk in enumerate(_chunks(reader, chunk_rows)):
                part = csv_chunk(
                    q,
                    header,
                    id_col,
                    chunk,
                    source,
                    warn=i == 0,
                    decimal_comma=delimiter in (";", "\t"),
                )
                _reject_repeated(part, repeated)
                result = score(
                    q,
                    part,
                    norms=norms,
                    ci=ci,
                    reliability=reliability,
                    sjt_method=sjt_method,
                    sjt_key=key,
                )
                s, r = _write_rows(result, out)
                scored += s
                rejected += r
                provenance = result.provenance.model_dump(mode="json")
                if progress is not None:
                    progress(scored + rejected)
        rejected -= sum(len(rows) - 1 for rows in repeated.values())  # candidates, not rows
        _write_summary(out, scored, rejected, chunk_rows, provenance)
        return scored, rejected
    finally:
        if spooled is not None:
            spooled.unlink(missing_ok=True)


def _reject_repeated(part: AnswerSet, repeated: dict[str, list[int]]) -> None:
    rejected = part.rejected  # csv_chunk always fills it
    if not repeated or rejected is None:
        return
    for row, cid in enumerate(part.candidate_ids()):
        if cid in repeated and not rejected[row]:
            rejected[row] = True
            listed = ", ".join(str(n) for n in repeated[cid])
            part.errors.append(
                CandidateError(
                    candidate_id=cid,
                    item_id=None,
                    value=cid,
                    message=(
                        f"candidate id {cid!r} appears {len(repeated[cid])} times (rows "
                        f"{listed}); expected each candidate id once. None of them was scored."
                    ),
                )
            )


def _write_rows(result: ScoreResult, out: TextIO) -> tuple[int, int]:
    n = 0
    encode = json.JSONEncoder(allow_nan=False, ensure_ascii=False).encode
    for row in result._rows():
        out.write(encode(row) + "\n")
        n += 1
    for e in result.errors:
        out.write(encode({"error": e.model_dump(mode="json")}) + "\n")
    return n, len(result) - n


def _write_result(
    result: ScoreResult, out: TextIO, chunk_rows: int, progress: Callable[[int], None] | None
) -> tuple[int, int]:
    scored, _ = _write_rows(result, out)
    rejected = count_candidates(result.candidate_ids, ~result.scored)[0]
    if progress is not None:
        progress(scored + rejected)
    _write_summary(out, scored, rejected, chunk_rows, result.provenance.model_dump(mode="json"))
    return scored, rejected


def _write_summary(
    out: TextIO, scored: int, rejected: int, chunk_rows: int, provenance: dict[str, Any]
) -> None:
    summary = {"scored": scored, "rejected": rejected, "chunk_rows": chunk_rows}
    out.write(json.dumps({"summary": summary, "provenance": provenance}, allow_nan=False) + "\n")
