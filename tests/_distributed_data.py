"""Data and checks shared by the Dask and Spark tests (tests/test_dask.py,
tests/test_spark.py): a simulated answers table with careless and rejected rows,
uneven partition sizes, and the single-machine result in the distributed columns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import repprofile
from repprofile._analysis.simulate import simulate_batch, trait_only
from repprofile._formats.questionnaire import Questionnaire, load_questionnaire

Q: Questionnaire = trait_only(load_questionnaire("rep-types"))
CREATED = "2026-01-01"
# simulated items correlate about .55: a lower critical value gives synonym pairs, and
# psychsyn flags the random responders below 0
QUALITY = {"psychsyn_critval": 0.45, "psychsyn_min": 0.0}


def answers_table(n: int) -> Any:
    """n simulated candidates (2% missing answers) with string ids, some careless ones
    (random answers, straight lines) and a few rejected rows: a value above the response
    scale and a fractional value."""
    import pandas as pd

    values = simulate_batch(Q, n, missing=0.02)
    rng = np.random.default_rng(19)
    careless = rng.choice(n, n // 50, replace=False)  # 2% answer at random: D^2, psychsyn
    values[careless] = rng.integers(1, 6, size=(careless.size, values.shape[1]))
    values[rng.choice(n, n // 300, replace=False)] = 3.0  # straight-liners: longstring
    frame = pd.DataFrame(values, columns=list(Q.item_ids))
    for row in (5, n // 3, n - 2):  # out of range: 9 on a 1-5 scale
        frame.iloc[row, 3] = 9.0
    for row in (20, n // 2):  # a fractional answer
        frame.iloc[row, 10] = 2.5
    frame.insert(0, "candidate_id", [f"c{i:07d}" for i in range(n)])
    return frame


def rejected_rows(n: int) -> list[int]:
    """The rows answers_table rejects, in order."""
    return sorted({5, n // 3, n - 2, 20, n // 2})


def uneven_sizes(n: int) -> list[int]:
    """Partition sizes 1, 0 (an empty partition), 17, 40%, 10%, 7% and the rest."""
    sizes = [1, 0, 17, int(0.4 * n), int(0.1 * n), int(0.07 * n)]
    return [*sizes, n - sum(sizes)]


def expected_frame(result: repprofile.ScoreResult, string: Any = None) -> Any:
    """The single-machine result in the Dask output columns, built from its arrays."""
    rows = np.flatnonzero(result.scored)
    ids = np.array(result.candidate_ids, dtype=object)
    data: dict[str, Any] = {"candidate_id": ids[rows]}
    for j, sid in enumerate(result.scale_ids):
        data[f"{sid}_mean"] = result.mean[rows, j]
        data[f"{sid}_pomp"] = result.pomp[rows, j]
        if result.norms is not None:
            data[f"{sid}_t"] = result.normed.t[rows, j]
            data[f"{sid}_percentile"] = result.normed.percentile[rows, j]
    data["primary_type"] = result.primary_type[rows]
    data["secondary_type"] = result.secondary_type[rows]
    qr = result.quality
    valid = qr.valid
    data["quality_valid"] = valid[rows]
    matrix = qr.flag_matrix()
    flags = np.full(rows.size, "", dtype=object)
    for i in np.flatnonzero(~valid[rows]).tolist():  # only flagged rows have flags
        flags[i] = ";".join(name for name, hit in matrix.items() if hit[rows[i]])
    data["quality_flags"] = flags
    import pandas as pd

    string = pd.StringDtype("pyarrow") if string is None else string
    frame = pd.DataFrame(data)
    for name in ("candidate_id", "primary_type", "secondary_type", "quality_flags"):
        frame[name] = frame[name].astype(string)
    return frame


def assert_close(a: Any, b: Any, path: str = "") -> None:
    """model_dump trees equal: floats to 1e-12 (relative above 1), the rest exactly."""
    if isinstance(a, dict):
        assert isinstance(b, dict), path
        assert a.keys() == b.keys(), path
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple), path
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert isinstance(b, float | int), path
        if math.isnan(a):
            assert math.isnan(b), path
        else:
            assert abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b)), (path, a, b)
    else:
        assert a == b, (path, a, b)
