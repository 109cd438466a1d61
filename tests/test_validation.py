"""One validation path (issue 13): parameters checked on entry, before any work, with one
message shape naming the public function called; one candidate lookup; reports refuse a
fit for another role."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import repprofile
from repprofile import InputError, InvalidParameterError, UnknownCandidateError
from repprofile._formats.files import bundled_dir

HERE = Path(__file__).parent
BUNDLED = bundled_dir()
SAMPLE = BUNDLED / "samples" / "rep-types-simulated.csv"
NORMS = BUNDLED / "norms" / "rep-types-simulated.json"
MISSING = HERE / "data" / "no-such-answers.csv"  # reading it would fail


@pytest.fixture(scope="module")
def scores() -> repprofile.ScoreResult:
    return repprofile.score("rep-types", SAMPLE, norms=NORMS)


@pytest.fixture(scope="module")
def with_rejected() -> repprofile.ScoreResult:
    q = repprofile.load_questionnaire("rep-types")
    answers = np.full((3, len(q.item_ids)), 3.0)
    answers[1, 0] = 9.0  # outside the response scale: rejected
    return repprofile.score(q, answers, candidate_ids=["ok", "bad", "fine"])


def message(call: Callable[[], object], error: type[Exception] = InvalidParameterError) -> str:
    with pytest.raises(error) as info:
        call()
    return str(info.value)


# --------------------------------------------------------------------------- the errors


def test_the_error_classes_keep_the_old_except_clauses_working() -> None:
    # a parameter error is an InputError (so a ValueError) and a TypeError
    assert issubclass(InvalidParameterError, InputError)
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)
    # an unknown candidate is an InputError and a KeyError, with a plain message
    assert issubclass(UnknownCandidateError, InputError)
    assert issubclass(UnknownCandidateError, KeyError)
    assert str(UnknownCandidateError("no such id")) == "no such id"  # not KeyError's repr


# --------------------------------------------------------------------------- one per kind


def test_interval_of_reals_open_on_both_sides() -> None:
    assert message(lambda: repprofile.reliability("rep-types", SAMPLE, ci=2.0)) == (
        "The 'ci' parameter of reliability must be in (0, 1), got 2.0 instead."
    )
    for bad in (0, 1.0, -0.5, math.nan):
        with pytest.raises(InvalidParameterError) as info:
            repprofile.score("rep-types", SAMPLE, ci=bad)
        assert (
            str(info.value)
            == f"The 'ci' parameter of score must be in (0, 1), got {bad!r} instead."
        )
    # numpy numbers are numbers
    assert repprofile.score("rep-types", SAMPLE, ci=np.float64(0.8)).normed.level == 0.8


def test_interval_of_whole_numbers(scores: repprofile.ScoreResult) -> None:
    perf = dict.fromkeys(scores.candidate_ids, 1.0)
    assert message(lambda: repprofile.calibrate(scores, perf, folds=1)) == (
        "The 'folds' parameter of calibrate must be at least 2 (a whole number), got 1 instead."
    )
    assert message(lambda: repprofile.calibrate(scores, perf, bootstrap=9)) == (
        "The 'bootstrap' parameter of calibrate must be at least 10 (a whole number), "
        "got 9 instead."
    )
    # a float is not a whole number, even 2.0; a bool is not a number
    assert "got 2.0 instead" in message(lambda: repprofile.calibrate(scores, perf, folds=2.0))  # type: ignore[arg-type]
    fitted = repprofile.fit(scores, "escalations")
    assert message(lambda: repprofile.rank(fitted, top=True)) == (
        "The 'top' parameter of rank must be at least 1 (a whole number) or None, got True instead."
    )


def test_interval_with_a_requirement_in_words(scores: repprofile.ScoreResult) -> None:
    # the wording tests/test_fit.py pins for fit's cut is kept
    assert message(lambda: repprofile.fit(scores, "escalations", cut=100.0)) == (
        "The 'cut' parameter of fit must be between 0 and 100, got 100.0 instead."
    )


def test_none_is_allowed_only_where_declared(scores: repprofile.ScoreResult) -> None:
    fitted = repprofile.fit(scores, "escalations")
    assert len(repprofile.rank(fitted, top=None)["ranking"]) == 12
    assert message(lambda: repprofile.fit(scores, None)) == (  # type: ignore[arg-type]
        "The 'role' parameter of fit must be a string, a path or a Role, got None instead."
    )


def test_string_options() -> None:
    assert message(lambda: repprofile.score("rep-types", SAMPLE, reliability="beta")) == (  # type: ignore[arg-type]
        "The 'reliability' parameter of score must be 'alpha' or 'omega_total', got 'beta' instead."
    )


def test_instance_of_a_type(scores: repprofile.ScoreResult) -> None:
    assert message(lambda: repprofile.rank(scores)) == (  # type: ignore[arg-type]
        "The 'result' parameter of rank must be a FitResult, got ScoreResult instead."
    )
    assert message(lambda: repprofile.load_norms(3)) == (  # type: ignore[arg-type]
        "The 'source' parameter of load_norms must be a string, a path, a NormTable or a "
        "dict, got 3 instead."
    )


def test_boolean(scores: repprofile.ScoreResult) -> None:
    fitted = repprofile.fit(scores, "escalations")
    assert message(lambda: repprofile.rank(fitted, exclude_flagged="yes")) == (  # type: ignore[arg-type]
        "The 'exclude_flagged' parameter of rank must be True or False, got 'yes' instead."
    )
    assert repprofile.rank(fitted, exclude_flagged=np.bool_(False))["ranking"]  # type: ignore[arg-type]


def test_sequence_of(scores: repprofile.ScoreResult) -> None:
    # a string is not a sequence of roles (it used to be read letter by letter)
    assert message(lambda: repprofile.fit_many(scores, "escalations")) == (
        "The 'roles' parameter of fit_many must be a sequence whose items are each a string, "
        "a path or a Role, got 'escalations' instead."
    )
    records = [{"sex": "A", "selected": 1}]
    assert message(lambda: repprofile.audit(records, groups=[], selected="selected")) == (
        "The 'groups' parameter of audit must be a non-empty sequence of strings, got [] instead."
    )
    # the old TypeError for a non-string id still holds
    with pytest.raises(TypeError, match="must be strings"):
        repprofile.radar_chart(scores, [1])  # type: ignore[list-item]


@pytest.mark.filterwarnings("ignore:.*under 30:repprofile.RepprofileWarning")
def test_duck_typed_table() -> None:
    records = [{"sex": s, "selected": i % 2} for i, s in enumerate("AABBAB")]
    frame = repprofile.audit(pd.DataFrame(records), groups=["sex"], selected="selected")
    assert frame == repprofile.audit(records, groups=["sex"], selected="selected")
    assert message(lambda: repprofile.audit(42, groups=["sex"], selected="selected")) == (
        "The 'data' parameter of audit must be a CSV path, a list of records or a pandas "
        "DataFrame, got 42 instead."
    )


def test_path_with_a_suffix(scores: repprofile.ScoreResult, tmp_path: Path) -> None:
    bad = tmp_path / "report.docx"
    assert message(lambda: repprofile.write_report(scores, "SIMULATED-01", "escalations", bad)) == (
        f"The 'path' parameter of write_report must end in .pdf or .html, got {str(bad)!r} instead."
    )
    assert message(lambda: repprofile.save_figure(Figure(), tmp_path / "chart.gif")).startswith(
        "The 'path' parameter of save_figure must end in .png, .svg or .pdf, got "
    )
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- before any work


def test_score_checks_ci_before_reading_or_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    # an answers file that does not exist would fail later: the ci error comes first
    assert message(lambda: repprofile.score("rep-types", MISSING, ci=0)) == (
        "The 'ci' parameter of score must be in (0, 1), got 0 instead."
    )
    assert message(lambda: repprofile.reliability("rep-types", MISSING, ci=2.0)) == (
        "The 'ci' parameter of reliability must be in (0, 1), got 2.0 instead."
    )

    # and nothing is read or scored at all
    def no_work(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("work was done before the parameters were checked")

    from repprofile._analysis import scoring

    monkeypatch.setattr(scoring, "as_answer_set", no_work)
    monkeypatch.setattr(scoring, "_score_kernel", no_work)
    huge = np.zeros((1, 1))  # never looked at
    with pytest.raises(InvalidParameterError, match="'ci' parameter of score"):
        repprofile.score("rep-types", huge, ci=0)
    with pytest.raises(InvalidParameterError, match="'quality' parameter of score"):
        repprofile.score("rep-types", huge, quality=[("even_odd_min", 0.5)])  # type: ignore[arg-type]


def test_reliability_with_a_bad_ci_no_longer_returns_a_null_interval() -> None:
    # ci=2.0 used to give alpha_ci=None silently
    with pytest.raises(InvalidParameterError):
        repprofile.reliability("rep-types", SAMPLE, ci=2.0)


def test_report_checks_the_path_before_rendering(
    scores: repprofile.ScoreResult, tmp_path: Path
) -> None:
    # unknown candidate and a bad path: the path (checked on entry) is reported
    with pytest.raises(InvalidParameterError, match="'path' parameter of write_report"):
        repprofile.write_report(scores, "nobody", "escalations", tmp_path / "x.txt")


# --------------------------------------------------------------------------- real caller


def test_errors_name_the_public_function_called_not_the_one_it_uses() -> None:
    wrong = np.ones((2, 3))
    for name, call in [
        ("score", lambda: repprofile.score("rep-types", wrong)),
        ("reliability", lambda: repprofile.reliability("rep-types", wrong)),
        ("build_norms", lambda: repprofile.build_norms("rep-types", wrong, description="x")),
    ]:
        assert message(call).startswith(
            f"The 'answers' parameter of {name} must be a 2-D array with one column per item"
        ), name
    assert message(lambda: repprofile.build_norms("rep-types", 42, description="x")).startswith(
        "The 'answers' parameter of build_norms must be a mapping of item id to answer"
    )


def test_fit_many_names_itself(scores: repprofile.ScoreResult) -> None:
    assert message(lambda: repprofile.fit_many(scores, ["escalations"], cut=0.0)) == (
        "The 'cut' parameter of fit_many must be between 0 and 100, got 0.0 instead."
    )


def test_methods_and_constructors_name_their_class(scores: repprofile.ScoreResult) -> None:
    assert message(lambda: scores.profile(5)) == (  # type: ignore[arg-type]
        "The 'candidate_id' parameter of ScoreResult.profile must be a string, got 5 instead."
    )
    assert message(lambda: scores.to_pandas("questionnaire")) == (  # type: ignore[arg-type]
        "The 'metric' parameter of ScoreResult.to_pandas must be 'mean', 'raw', 'pomp', "
        "'z', 't' or 'percentile', got 'questionnaire' instead."
    )
    assert message(lambda: repprofile.RadarRenderer(scores, metric="z")) == (  # type: ignore[arg-type]
        "The 'metric' parameter of RadarRenderer must be 'auto', 'pomp' or 'percentile', "
        "got 'z' instead."
    )


# Every public function that takes parameters checks them on entry.
CHECKED = [
    "audit",
    "build_norms",
    "build_sjt_key",
    "calibrate",
    "candidate_report",
    "fit",
    "fit_many",
    "load_norms",
    "load_questionnaire",
    "load_role",
    "load_sjt_key",
    "radar_chart",
    "radar_grid",
    "rank",
    "read_answers",
    "read_performance",
    "read_survey",
    "reliability",
    "save_figure",
    "score",
    "write_report",
]


def test_every_public_function_with_parameters_is_checked() -> None:
    functions = [
        n
        for n in vars(repprofile)["__all__"]
        if inspect.isfunction(getattr(repprofile, n))
        and inspect.signature(getattr(repprofile, n)).parameters
        and n != "create_app"  # the server validates its own settings
    ]
    assert sorted(functions) == CHECKED
    for name in CHECKED:
        assert hasattr(getattr(repprofile, name), "__wrapped__"), name
    for method in (
        repprofile.RadarRenderer.__init__,
        repprofile.RadarRenderer.render,
        repprofile.ScoreResult.profile,
        repprofile.ScoreResult.to_pandas,
    ):
        assert hasattr(method, "__wrapped__"), method


def test_a_constraint_for_every_parameter_is_required() -> None:
    from repprofile._validation import validate_params

    with pytest.raises(TypeError, match=r"constraints for \['a'\], but the parameters are"):

        @validate_params({"a": [int]})
        def f(a: int, b: int) -> None:  # pragma: no cover - never defined
            pass


# --------------------------------------------------------------------------- candidate ids

UNKNOWN = "There is no candidate 'c999' among the 12 candidates of this result."


def test_unknown_candidate_id_everywhere(scores: repprofile.ScoreResult, tmp_path: Path) -> None:
    renderer = repprofile.RadarRenderer(scores)
    fitted = repprofile.fit(scores, "escalations")
    calls: list[Callable[[], object]] = [
        lambda: scores.profile("c999"),
        lambda: repprofile.radar_chart(scores, "c999"),
        lambda: repprofile.radar_chart(scores, ["SIMULATED-01", "c999"]),
        lambda: repprofile.radar_grid(scores, ["SIMULATED-01", "c999"]),
        lambda: renderer.render("c999"),
        lambda: repprofile.candidate_report(scores, "c999", "escalations"),
        lambda: repprofile.candidate_report(scores, "c999", "escalations", fit_result=fitted),
        lambda: repprofile.write_report(scores, "c999", "escalations", tmp_path / "r.pdf"),
    ]
    for call in calls:
        assert message(call, UnknownCandidateError) == UNKNOWN
        with pytest.raises(KeyError):  # as before
            call()
    assert not list(tmp_path.iterdir())


def test_unknown_id_counts_the_scored_candidates(with_rejected: repprofile.ScoreResult) -> None:
    assert message(lambda: with_rejected.profile("nobody"), UnknownCandidateError) == (
        "There is no candidate 'nobody' among the 3 candidates of this result (2 scored)."
    )


def test_rejected_candidate_names_its_problems(with_rejected: repprofile.ScoreResult) -> None:
    expected = (
        "The candidate 'bad' was rejected, so it has no scores: item 'acc01': answer 9 is "
        "outside the response scale; expected"
    )
    for call in (
        lambda: with_rejected.profile("bad"),
        lambda: repprofile.radar_chart(with_rejected, "bad"),
        lambda: repprofile.candidate_report(with_rejected, "bad", "escalations"),
    ):
        assert message(call, UnknownCandidateError).startswith(expected)
    assert with_rejected.profile("fine").candidate_id == "fine"


# --------------------------------------------------------------------------- report and fit


def test_report_refuses_a_fit_for_another_role(scores: repprofile.ScoreResult) -> None:
    # The bug: a report titled with role B carried role A's fit.
    cid = "SIMULATED-01"
    row = scores.candidate_ids.index(cid)
    escalations = repprofile.fit(scores, "escalations")
    retention = repprofile.load_role("retention")
    assert round(escalations.fit[row], 1) == 85.6
    assert round(repprofile.fit(scores, retention).fit[row], 1) == 60.7
    for role in (retention, "retention"):
        with pytest.raises(InvalidParameterError) as info:
            repprofile.candidate_report(scores, cid, role, fit_result=escalations)
        assert str(info.value) == (
            "The 'fit_result' parameter of candidate_report must be the fit for the report's "
            "role 'retention', got the fit for role 'escalations' instead. Pass "
            "fit_result=fit(scores, 'retention'), or leave it out."
        )
    # without fit_result, or with the right one, the report carries the role's own fit
    own = repprofile.candidate_report(scores, cid, retention, date="2026-01-01")
    reused = repprofile.candidate_report(
        scores, cid, retention, date="2026-01-01", fit_result=repprofile.fit(scores, "retention")
    )
    assert own == reused
    assert (own.role_id, round(own.fit or 0.0, 1)) == ("retention", 60.7)


def test_write_report_refuses_a_fit_for_another_role(
    scores: repprofile.ScoreResult, tmp_path: Path
) -> None:
    escalations = repprofile.fit(scores, "escalations")
    with pytest.raises(InvalidParameterError, match="'fit_result' parameter of write_report"):
        repprofile.write_report(
            scores, "SIMULATED-01", "retention", tmp_path / "r.html", fit_result=escalations
        )
    assert not list(tmp_path.iterdir())


def test_report_refuses_a_fit_of_another_result(scores: repprofile.ScoreResult) -> None:
    other = repprofile.score("rep-types", SAMPLE, norms=NORMS)
    assert message(
        lambda: repprofile.candidate_report(
            scores, "SIMULATED-01", "escalations", fit_result=repprofile.fit(other, "escalations")
        )
    ) == (
        "The 'fit_result' parameter of candidate_report must be a fit of the 'scores' given, "
        "got a fit of another ScoreResult instead."
    )
