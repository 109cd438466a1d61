"""Calibration of role weights from performance data (repprofile._analysis.calibrate).

The main check simulates rep-types answers with known latent traits
(``repprofile._analysis.simulate.simulate_answers``), builds a criterion from the seven trait
latents with known weights ``BETA`` and a criterion reliability of 0.6, and asks
calibrate() to recover the weights and the validity.

Criterion: ``y = T @ BETA + e`` with ``var(T @ BETA) = BETA' S BETA`` (S: unit variances,
trait correlation 0.1, the simulator's default) and ``var(e) = var(true) * 0.4 / 0.6``, so
that ``var(true) / var(y) = 0.6``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

import repprofile
from repprofile import (
    Calibration,
    InputError,
    RepprofileWarning,
    calibrate,
    load_role,
    read_performance,
)
from repprofile._analysis.calibrate import LAMBDAS, role_yaml
from repprofile._analysis.simulate import simulate_answers

SCRIPT = Path(sys.executable).parent / "repprofile"
Q = repprofile.load_questionnaire("rep-types")
TRAITS = list(Q.scale_ids[:7])
BETA = np.array([0.1, -0.2, 0.5, 0.3, 0.15, 0.0, 0.4])  # accommodator .. rock
SIGMA = np.full((7, 7), 0.1) + 0.9 * np.eye(7)  # simulate_answers' trait correlation 0.1
# var(true) = BETA' SIGMA BETA = 0.9 * sum(BETA^2) + 0.1 * sum(BETA)^2
#   sum(BETA^2) = 0.01 + 0.04 + 0.25 + 0.09 + 0.0225 + 0 + 0.16 = 0.5725
#   sum(BETA) = 0.1 - 0.2 + 0.5 + 0.3 + 0.15 + 0 + 0.4 = 1.25
#   = 0.9 * 0.5725 + 0.1 * 1.5625 = 0.51525 + 0.15625 = 0.6715
VAR_TRUE = 0.6715
NOISE_SD = math.sqrt(VAR_TRUE * 0.4 / 0.6)  # sqrt(0.447667) = 0.669079

Array = NDArray[np.float64]


def test_criterion_constants() -> None:
    assert float(BETA @ SIGMA @ BETA) == pytest.approx(VAR_TRUE, abs=1e-12)
    reliability = VAR_TRUE / (VAR_TRUE + NOISE_SD**2)
    assert reliability == pytest.approx(0.6, abs=1e-12)


def simulate(n: int, seed: int) -> tuple[Array, Array]:
    """Answers (n x items) and a criterion with known weights and reliability 0.6."""
    answers, traits = simulate_answers(Q, n, seed=seed, missing=0.01)
    noise = np.random.default_rng(seed + 10_000).normal(0.0, NOISE_SD, size=n)
    return np.asarray(answers, dtype=np.float64), traits[:, :7] @ BETA + noise


def scale_means(answers: Array) -> Array:
    """Trait scale means over the answered items, reverse-keyed x counted as 6 - x
    (computed here from the item list, not with the scoring engine)."""
    out = np.empty((answers.shape[0], 7))
    for j, sid in enumerate(TRAITS):
        cols = [i for i, it in enumerate(Q.likert_items) if it.scale == sid]
        keyed = np.array([Q.likert_items[i].keyed for i in cols])
        x = answers[:, cols]
        x = np.where(keyed < 0, 6.0 - x, x)
        answered = ~np.isnan(x)
        out[:, j] = np.where(answered, x, 0.0).sum(axis=1) / answered.sum(axis=1)
    return out


def ids(n: int, prefix: str = "c") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n)]


def scored(n: int, seed: int) -> tuple[repprofile.ScoreResult, dict[str, float]]:
    answers, y = simulate(n, seed)
    cids = ids(n)
    return repprofile.score(Q, answers, candidate_ids=cids), dict(
        zip(cids, y.tolist(), strict=True)
    )


# --------------------------------------------------------------------------- recovery


@pytest.fixture(scope="module")
def big() -> tuple[Calibration, repprofile.ScoreResult, dict[str, float]]:
    scores, perf = scored(2000, seed=2026)
    cal = calibrate(scores, perf, criterion="qa", bootstrap=200, seed=7, created="2026-11-22")
    return cal, scores, perf


@pytest.fixture(scope="module")
def true_validity() -> float:
    """Correlation of the OLS prediction from observed scale means with y, n = 100,000."""
    answers, y = simulate(100_000, seed=99)
    m = scale_means(answers)
    ok = np.isfinite(m).all(axis=1)
    x = np.column_stack([np.ones(int(ok.sum())), m[ok]])
    b = np.linalg.lstsq(x, y[ok], rcond=None)[0]
    return float(np.corrcoef(x @ b, y[ok])[0, 1])


def test_true_validity_is_below_the_criterion_ceiling(true_validity: float) -> None:
    # the criterion's reliability 0.6 caps any validity at sqrt(0.6) = 0.7746; the scale
    # means measure the traits with error, so the true validity is a little lower
    assert 0.65 < true_validity < math.sqrt(0.6)


def test_recovers_the_true_weights(
    big: tuple[Calibration, repprofile.ScoreResult, dict[str, float]],
) -> None:
    cal = big[0]
    w = np.array([cal.weights[s] for s in TRAITS])
    assert list(cal.weights) == TRAITS  # the seven trait scales, no impression
    r = float(np.corrcoef(w, BETA)[0, 1])
    assert r >= 0.9
    # the largest true weight (controller 0.5) is the largest recovered one, and the
    # only negative one (competitor -0.2) is recovered negative
    assert TRAITS[int(np.argmax(w))] == "controller"
    assert cal.weights["competitor"] < 0


def test_cross_validated_validity_is_close_to_the_true_validity(
    big: tuple[Calibration, repprofile.ScoreResult, dict[str, float]], true_validity: float
) -> None:
    cal = big[0]
    assert abs(cal.validity - true_validity) <= 0.05
    assert cal.n == 2000
    # Fisher interval: atanh(hi) - atanh(lo) = 2 * 1.959964 / sqrt(2000 - 3) = 0.087718
    lo, hi = cal.validity_ci
    assert math.atanh(hi) - math.atanh(lo) == pytest.approx(2 * 1.959963984540054 / math.sqrt(1997))
    assert math.atanh(cal.validity) == pytest.approx((math.atanh(lo) + math.atanh(hi)) / 2)
    assert cal.validity_ci_level == 0.95


def test_weights_are_ridge_weights_at_the_chosen_penalty(
    big: tuple[Calibration, repprofile.ScoreResult, dict[str, float]],
) -> None:
    cal, scores, perf = big
    assert cal.penalty in LAMBDAS
    # (Z'Z + lambda n I)^-1 Z'y with Z the centred scale scores in fit()'s metric
    # (no norms here: z = (pomp - 50) / 25) and y the criterion standardized (SD n - 1)
    pomp = scores.pomp[:, :7]
    keep = np.asarray(np.isfinite(pomp).all(axis=1), dtype=bool)
    x = (pomp[keep] - 50.0) / 25.0
    cids = np.array(scores.candidate_ids)[keep]
    y = np.array([perf[str(c)] for c in cids])
    assert x.shape[0] == cal.n
    z = x - x.mean(axis=0)
    yz = (y - y.mean()) / y.std(ddof=1)
    n = x.shape[0]
    beta = np.linalg.solve(z.T @ z + cal.penalty * n * np.eye(7), z.T @ yz)
    np.testing.assert_allclose([cal.weights[s] for s in TRAITS], beta, atol=1e-10)
    # the role's weights are the same, rounded to 4 decimals
    assert cal.role.weights == {s: round(float(b), 4) for s, b in zip(TRAITS, beta, strict=True)}


def test_bootstrap_intervals_surround_the_weights(
    big: tuple[Calibration, repprofile.ScoreResult, dict[str, float]],
) -> None:
    cal = big[0]
    assert cal.bootstrap == 200
    assert set(cal.weights_ci) == set(TRAITS)
    for s in TRAITS:
        lo, hi = cal.weights_ci[s]
        assert lo < cal.weights[s] < hi, s
        assert hi - lo < 0.2, s  # n = 2000: standard errors near 0.02


def test_the_scale_means_here_are_the_engines(
    big: tuple[Calibration, repprofile.ScoreResult, dict[str, float]],
) -> None:
    # the independent scale_means() above agrees with the scoring engine
    scores = big[1]
    answers, _ = simulate(2000, seed=2026)
    np.testing.assert_allclose(scale_means(answers), scores.mean[:, :7], atol=1e-12)


# --------------------------------------------------------------------------- behaviour


@pytest.fixture(scope="module")
def medium() -> tuple[repprofile.ScoreResult, dict[str, float]]:
    return scored(300, seed=5)


def test_same_seed_same_calibration(
    medium: tuple[repprofile.ScoreResult, dict[str, float]],
) -> None:
    scores, perf = medium
    a = calibrate(scores, perf, criterion="qa", bootstrap=50, seed=3, created="2026-11-22")
    b = calibrate(scores, perf, criterion="qa", bootstrap=50, seed=3, created="2026-11-22")
    assert a == b
    assert a.model_dump() == b.model_dump()
    c = calibrate(scores, perf, criterion="qa", bootstrap=50, seed=4, created="2026-11-22")
    assert c.weights_ci != a.weights_ci  # another seed: other bootstrap resamples
    # the point weights do not depend on the bootstrap; only the penalty choice uses folds
    if c.penalty == a.penalty:
        assert c.weights == a.weights


def test_role_of_a_calibration(medium: tuple[repprofile.ScoreResult, dict[str, float]]) -> None:
    scores, perf = medium
    cal = calibrate(scores, perf, criterion="qa_score", bootstrap=50, created=dt.date(2026, 11, 22))
    role = cal.role
    assert role.id == "calibrated-qa-score"  # "_" becomes "-"
    assert role.questionnaire == "rep-types"
    assert role.name == "Calibrated on qa_score"
    assert role.description == "Weights learned from 300 candidates' qa_score (2026-11-22)."
    assert role.minimums == {}
    assert role.target == {}
    assert cal.warnings == []
    assert calibrate(scores, perf, role_id="my-role", bootstrap=10).role.id == "my-role"


def test_warns_below_100_candidates() -> None:
    scores, perf = scored(60, seed=11)
    with pytest.warns(RepprofileWarning, match=r"only 60 candidates: a validity from fewer "):
        cal = calibrate(scores, perf, criterion="qa", bootstrap=20, created="2026-11-22")
    assert cal.n == 60
    assert len(cal.warnings) == 1
    assert cal.warnings[0].startswith("only 60 candidates")
    assert "Warning: only 60 candidates" in cal.role.rationale


def test_no_warning_at_100_candidates() -> None:
    scores, perf = scored(100, seed=12)
    cal = calibrate(scores, perf, bootstrap=20)  # warnings are errors in this suite
    assert cal.warnings == []


def test_too_few_matched_candidates() -> None:
    scores, perf = scored(19, seed=13)
    with pytest.raises(InputError) as info:
        calibrate(scores, perf, bootstrap=10)
    assert str(info.value) == (
        "calibration needs performance data for at least 20 scored candidates with every "
        "trait score; 19 matched by candidate_id"
    )


def test_matching_leaves_out_unmatched_unscored_and_incomplete_candidates() -> None:
    answers, y = simulate(23, seed=14)
    answers[0, [i for i, it in enumerate(Q.likert_items) if it.scale == "rock"]] = np.nan  # no rock
    answers[1, 0] = 9  # outside 1-5: rejected
    cids = ids(23)
    scores = repprofile.score(Q, answers, candidate_ids=cids)
    perf = dict(zip(cids, y.tolist(), strict=True))
    perf[cids[2]] = math.nan  # no criterion value
    del perf[cids[3]]  # no performance row
    perf["stranger"] = 1.0  # no answers
    # 23 - 4 = 19 candidates usable
    with pytest.raises(InputError, match=r"; 19 matched by candidate_id$"):
        calibrate(scores, perf, bootstrap=10)


def test_folds_raise_the_minimum() -> None:
    scores, perf = scored(25, seed=15)
    # 25 >= 20, but 15 folds need 2 * 15 = 30
    with pytest.raises(InputError, match=r"at least 30 scored candidates .*; 25 matched"):
        calibrate(scores, perf, folds=15, bootstrap=10)


def test_no_matching_ids() -> None:
    scores, _ = scored(30, seed=16)
    with pytest.raises(InputError, match=r"; 0 matched by candidate_id"):
        calibrate(scores, {f"x{i}": float(i) for i in range(30)}, bootstrap=10)


def test_constant_criterion() -> None:
    scores, perf = scored(120, seed=17)
    with pytest.raises(InputError) as info:
        calibrate(scores, dict.fromkeys(perf, 3.5), criterion="csat", bootstrap=10)
    assert str(info.value) == "the criterion 'csat' has the same value for everyone"


def test_criterion_with_a_space_gives_a_valid_role_or_an_input_error(
    medium: tuple[repprofile.ScoreResult, dict[str, float]],
) -> None:
    scores, perf = medium
    try:
        cal = calibrate(scores, perf, criterion="QA score", bootstrap=10)
    except InputError:
        return
    assert re.fullmatch(r"[a-z0-9-]+", cal.role.id)


@pytest.mark.parametrize(
    ("folds", "bootstrap", "name"),
    [(1, 10, "folds"), (0, 10, "folds"), (10, 0, "bootstrap")],
    ids=["folds1", "folds0", "bootstrap0"],
)
def test_bad_folds_or_bootstrap_give_an_input_error(
    medium: tuple[repprofile.ScoreResult, dict[str, float]], folds: int, bootstrap: int, name: str
) -> None:
    scores, perf = medium
    with pytest.raises(InputError, match=name):
        calibrate(scores, perf, folds=folds, bootstrap=bootstrap)


# --------------------------------------------------------------------------- read_performance


def write(tmp_path: Path, text: str, name: str = "perf.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_performance(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufeffcandidate_id,qa,csat\n c1 , 85.5,4\nc2,,5\n,70,3\nc3,-2e1,\nc4,90,1\n",
    )
    # BOM stripped, ids and values stripped, blank values and blank ids skipped
    assert read_performance(path, "qa") == {"c1": 85.5, "c3": -20.0, "c4": 90.0}
    assert read_performance(path, "csat") == {"c1": 4.0, "c2": 5.0, "c4": 1.0}


def test_read_performance_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path, "candidate_id,csat\nc1,4\n")
    with pytest.raises(InputError) as info:
        read_performance(path, "qa")
    assert str(info.value) == (
        f"{path}: the performance file needs columns 'candidate_id' and 'qa', got "
        "['candidate_id', 'csat'] instead"
    )
    path2 = write(tmp_path, "id,qa\nc1,4\n", "noid.csv")
    with pytest.raises(
        InputError, match=r"needs columns 'candidate_id' and 'qa', got \['id', 'qa'\]"
    ):
        read_performance(path2, "qa")


def test_read_performance_non_numeric_names_row_and_candidate(tmp_path: Path) -> None:
    path = write(tmp_path, "candidate_id,qa\nc1,80\nc2,abc\n")
    with pytest.raises(InputError) as info:
        read_performance(path, "qa")
    # row 3 of the file (row 1 is the header)
    assert str(info.value) == (
        f"{path} row 3: qa must be a finite number, got 'abc' (candidate 'c2')"
    )


def test_read_performance_duplicate_id(tmp_path: Path) -> None:
    path = write(tmp_path, "candidate_id,qa\nc1,80\nc2,70\nc1,75\n")
    with pytest.raises(InputError) as info:
        read_performance(path, "qa")
    assert str(info.value) == f"{path} row 4: candidate 'c1' appears twice"


def test_read_performance_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(InputError, match=r"nope.csv: cannot read the performance file"):
        read_performance(path, "qa")


# --------------------------------------------------------------------------- role_yaml


def test_role_yaml_round_trips_through_load_role(
    tmp_path: Path, medium: tuple[repprofile.ScoreResult, dict[str, float]]
) -> None:
    scores, perf = medium
    cal = calibrate(scores, perf, criterion="qa", bootstrap=50, created="2026-11-22")
    path = write(tmp_path, role_yaml(cal.role), "role.yaml")
    loaded = load_role(path, Q)
    assert loaded == cal.role
    assert loaded.weights == cal.role.weights
    assert sorted(loaded.weights) == TRAITS
    rationale = loaded.rationale
    assert "from 300 candidates' rep-types" in rationale  # the n
    assert "their 'qa'" in rationale  # the criterion
    lo, hi = cal.validity_ci
    assert f"validity r = {cal.validity:.3f} (95% CI {lo:.3f} to {hi:.3f})" in rationale
    assert "on 2026-11-22" in rationale
    assert "Bootstrap (50 resamples)" in rationale
    # the role works for fit: the calibrated weights rank the batch
    result = repprofile.fit(scores, loaded)
    assert np.isfinite(result.composite).sum() == cal.n


# --------------------------------------------------------------------------- CLI


def test_cli_calibrate(tmp_path: Path) -> None:
    answers, y = simulate(300, seed=21)
    cids = ids(300)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["candidate_id", *Q.item_ids])
    for cid, row in zip(cids, answers, strict=True):
        writer.writerow([cid, *["" if math.isnan(v) else int(v) for v in row]])
    (tmp_path / "answers.csv").write_text(buf.getvalue(), encoding="utf-8")
    perf_lines = ["candidate_id,qa,other"] + [
        f"{c},{v!r},1" for c, v in zip(cids, y.tolist(), strict=True)
    ]
    (tmp_path / "perf.csv").write_text("\n".join(perf_lines) + "\n", encoding="utf-8")
    args = [
        "calibrate",
        "answers.csv",
        "--performance",
        "perf.csv",
        "--column",
        "qa",
        "-o",
        "role.yaml",
        "--bootstrap",
        "100",
        "--date",
        "2026-11-22",
    ]
    proc = subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    role = load_role(tmp_path / "role.yaml")  # a valid role file
    assert role.id == "calibrated-qa"
    assert "2026-11-22" in role.description
    # the same calibration in this process: same answers, criterion, folds, seed 0
    scores = repprofile.score(Q, repprofile.read_answers(tmp_path / "answers.csv", Q))
    cal = calibrate(
        scores,
        read_performance(tmp_path / "perf.csv", "qa"),
        criterion="qa",
        bootstrap=100,
        created="2026-11-22",
    )
    assert role == cal.role
    lo, hi = cal.validity_ci
    assert proc.stderr.startswith(
        f"repprofile: calibrated on 300 candidates: cross-validated validity "
        f"r = {cal.validity:.3f} (95% CI {lo:.3f} to {hi:.3f}); role written to role.yaml\n"
    )
    for s in TRAITS:
        line = rf"^  {s} +{re.escape(f'{cal.weights[s]:+.3f}')}  \["
        assert re.search(line, proc.stderr, re.MULTILINE), s
    validate = subprocess.run(
        [str(SCRIPT), "roles", "validate", "role.yaml"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert validate.returncode == 0, validate.stderr


def test_cli_calibrate_missing_column_exits_2(tmp_path: Path) -> None:
    answers, _ = simulate(30, seed=22)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["candidate_id", *Q.item_ids])
    for cid, row in zip(ids(30), answers, strict=True):
        writer.writerow([cid, *["" if math.isnan(v) else int(v) for v in row]])
    (tmp_path / "a.csv").write_text(buf.getvalue(), encoding="utf-8")
    (tmp_path / "p.csv").write_text("candidate_id,csat\nc00000,1\n", encoding="utf-8")
    proc = subprocess.run(
        [
            str(SCRIPT),
            "calibrate",
            "a.csv",
            "--performance",
            "p.csv",
            "--column",
            "qa",
            "-o",
            "r.yaml",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "p.csv: the performance file needs columns 'candidate_id' and 'qa'" in proc.stderr
    assert not (tmp_path / "r.yaml").exists()
    assert "Traceback" not in proc.stderr
