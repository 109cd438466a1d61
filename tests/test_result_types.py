"""The typed result documents (``repprofile/_formats/results.py``) say what the
producers build: each ``TypedDict`` has the keys of its pydantic twin, and real
documents have exactly the declared keys, all the way down. Also the helpers shared
by several modules: the canonical-JSON fingerprint, the validation-error formatter,
the bundled-or-path resolver and the response-quality rules."""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from pydantic import BaseModel

import repprofile
from repprofile import (
    CandidateError,
    Profile,
    Provenance,
    QualityFlag,
    QualitySettings,
    QualityVerdict,
    ScaleScore,
)
from repprofile._analysis import fit as fit_module
from repprofile._analysis.scoring import quality_document
from repprofile._formats import results
from repprofile._formats.files import bundled_dir, bundled_files, find_source
from repprofile._formats.mapping import load_mapping
from repprofile._formats.provenance import NormsProvenance, RoleProvenance
from repprofile._formats.questionnaire import QUALITY_RULES
from repprofile._util import canonical_sha256, finite_or_none

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "questionnaires" / "samples" / "rep-types-simulated.csv"
NORMS = ROOT / "questionnaires" / "norms" / "rep-types-simulated.json"
BITWISE = ROOT / "tests" / "reference" / "bitwise"

TWINS: list[tuple[Any, type[BaseModel]]] = [
    (results.CandidateErrorDict, CandidateError),
    (results.NormsProvenanceDict, NormsProvenance),
    (results.RoleProvenanceDict, RoleProvenance),
    (results.ProvenanceDict, Provenance),
    (results.ScaleScoreDict, ScaleScore),
    (results.QualityFlagDict, QualityFlag),
    (results.QualityVerdictDict, QualityVerdict),
    (results.ProfileDict, Profile),
    (results.RoleSummaryDict, fit_module.RoleSummary),
    (results.FitScoresDict, fit_module.FitScores),
    (results.RoleFitDict, fit_module.RoleFit),
    (results.CandidateFitsDict, fit_module.CandidateFits),
    (results.FitReportDict, fit_module.FitReport),
    (results.RankedCandidateDict, fit_module.RankedCandidate),
    (results.RankingDict, fit_module.Ranking),
]


def keys(td: Any) -> set[str]:
    return set(td.__required_keys__) | set(td.__optional_keys__)


@pytest.mark.parametrize(("td", "model"), TWINS, ids=[t.__name__ for t, _ in TWINS])
def test_each_typed_dict_has_the_fields_of_its_model(td: Any, model: type[BaseModel]) -> None:
    assert keys(td) == set(model.model_fields)


def test_every_typed_dict_is_listed_and_documented() -> None:
    declared = {
        name for name, obj in vars(results).items() if typing.is_typeddict(obj) and name[0] != "_"
    }
    assert declared == set(results.__all__)
    for name in declared:
        assert getattr(results, name).__doc__, name


def conforms(value: Any, hint: Any, where: str) -> None:
    """``value`` has the shape ``hint`` declares (TypedDicts: exactly their keys)."""
    if typing.is_typeddict(hint):
        assert isinstance(value, dict), where
        hints = get_type_hints(hint)
        assert set(value) <= set(hints), (where, set(value) - set(hints))
        assert set(hint.__required_keys__) <= set(value), where
        for key, sub in value.items():
            conforms(sub, hints[key], f"{where}.{key}")
        return
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None:
            assert type(None) in options, where
            return
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                conforms(value, option, where)
                return
            except AssertionError as exc:
                errors.append(exc)
        raise AssertionError(where, errors)
    if origin is list:
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            conforms(item, get_args(hint)[0], f"{where}[{i}]")
        return
    if origin is dict:
        assert isinstance(value, dict), where
        for k, item in value.items():
            assert isinstance(k, str), where
            conforms(item, get_args(hint)[1], f"{where}.{k}")
        return
    if origin is typing.Literal:
        assert value in get_args(hint), where
        return
    if hint is float:
        assert isinstance(value, int | float), where
        assert not isinstance(value, bool), where
        return
    assert isinstance(value, hint), (where, value, hint)


@pytest.fixture(scope="module")
def normed() -> repprofile.ScoreResult:
    return repprofile.score("rep-types", SAMPLE, norms=NORMS)


def test_profiles_rankings_and_fit_documents_have_their_declared_shape(
    normed: repprofile.ScoreResult,
) -> None:
    for profile in normed._rows():
        conforms(profile, results.ProfileDict, "profile")
    plain = repprofile.score("rep-types", SAMPLE)
    for scores in (normed, plain):
        fits = repprofile.fit_many(scores, ["escalations", "complex-support"])
        conforms(repprofile.rank(fits[0]), results.RankingDict, "ranking")
        conforms(fit_module.fit_report(scores, fits), results.FitReportDict, "fit report")
        conforms(fits[1].row(0), results.FitRowDict, "row")
        conforms(fits[1].role_summary(), results.RoleSummaryDict, "role")
        conforms(quality_document(scores), results.QualityDocumentDict, "quality")


@pytest.mark.parametrize("label", ["sample", "batch600"])
@pytest.mark.parametrize("with_norms", [False, True])
def test_quality_document_is_the_recorded_quality_command_output(
    label: str, with_norms: bool
) -> None:
    expected = json.loads((BITWISE / "digests.json").read_text())
    data = SAMPLE if label == "sample" else BITWISE / "batch600.csv"
    result = repprofile.score(
        "rep-types",
        repprofile.read_answers(data, repprofile.load_questionnaire("rep-types")),
        norms=NORMS if with_norms else None,
    )
    text = json.dumps(quality_document(result), indent=2) + "\n"
    name = f"{label}/quality{'-normed' if with_norms else ''}.json"
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == expected[name]


# --------------------------------------------------------------------------- helpers


def test_finite_or_none() -> None:
    assert finite_or_none(1.5) == 1.5
    assert isinstance(finite_or_none(repprofile.score("rep-types", SAMPLE).pomp[0, 0]), float)
    for bad in (float("nan"), float("inf"), float("-inf")):
        assert finite_or_none(bad) is None


def test_fingerprints_are_the_canonical_json_sha256() -> None:
    def by_hand(model: BaseModel) -> str:
        text = json.dumps(model.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    q = repprofile.load_questionnaire("rep-types")
    role = repprofile.load_role("escalations")
    table = repprofile.load_norms(NORMS)
    # the fields added for SJTs are left out while at their defaults, so a Likert
    # questionnaire keeps the fingerprint it had before they existed
    doc = q.model_dump(mode="json")
    assert doc.pop("sjt") is None
    assert doc.pop("included") == []
    for scale in doc["scales"]:
        assert scale.pop("total") is False
    for name in ("sjt_straightline_max", "seconds_per_scenario_min", "seconds_per_option_min"):
        doc["quality"].pop(name)
    assert q.fingerprint == canonical_sha256(doc)
    assert q.fingerprint == "f546475a1988ebe907a5f9ca0cf32fd7c01e0c335ae854b566c42acba823c5d3"
    assert role.fingerprint == by_hand(role)
    assert table.fingerprint() == by_hand(table)
    changed = role.model_copy(update={"weights": {**role.weights, "controller": 0.5}})
    assert changed.fingerprint == by_hand(changed) != role.fingerprint  # not a stale copy
    assert canonical_sha256({"é": 1}) == hashlib.sha256(b'{"\\u00e9": 1}').hexdigest()


def test_one_validation_error_format_for_files_and_mappings(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    text = (bundled_dir() / "rep-types.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("labels: {1: ", 'labels: {one: "x", 1: ', 1), encoding="utf-8")
    with pytest.raises(repprofile.QuestionnaireError) as caught:
        repprofile.load_questionnaire(path)
    assert f"{path}: response_scale.labels.one (key): " in str(caught.value)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("questionnaire: rep-types\nitems: {Q: acc01}\ncolour: blue\n")
    with pytest.raises(repprofile.InputError, match=r"m\.yaml: colour: unknown field; expected"):
        load_mapping(mapping)


def test_bundled_id_or_path(tmp_path: Path) -> None:
    bundled = bundled_files(bundled_dir())
    found = find_source("rep-types", bundled)
    assert found is not None
    assert found.bundled
    assert found.name == "rep-types.yaml"
    assert find_source(Path("rep-types"), bundled) is None  # a Path is never an id
    own = tmp_path / "mine.yaml"
    own.write_text("id: x\n")
    found = find_source(own, bundled)
    assert found is not None
    assert not found.bundled
    assert found.name == str(own)
    assert find_source(tmp_path / "missing.yaml", bundled) is None


# --------------------------------------------------------------------------- quality rules


def test_every_quality_rule_names_a_setting_and_flags_in_rule_order() -> None:
    fields = QualitySettings.model_fields
    for rule in QUALITY_RULES:
        assert rule.setting in fields
        assert set(re.findall(r"{(\w+)", rule.reason)) <= {"v", "t", "scale"}
    result = repprofile.score("rep-types", SAMPLE)
    order = [r.index.format(scale="impression") for r in QUALITY_RULES]
    assert list(result.quality.flag_matrix()) == order


def test_the_documented_default_thresholds_are_the_settings_defaults() -> None:
    text = (ROOT / "docs" / "response-quality.md").read_text(encoding="utf-8")
    table = text.split("## Default thresholds and their sources", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in table.splitlines() if line.startswith("| `")]
    documented: dict[str, str] = {}
    for names, default in rows:
        settings = re.findall(r"`(\w+)`", names)
        numbers = re.findall(r"-?\d+(?:\.\d+)?", default) if "/" not in default else []
        for i, setting in enumerate(settings):
            documented[setting] = numbers[i] if i < len(numbers) else default.strip()
    defaults = QualitySettings()
    assert set(documented) == {r.setting for r in QUALITY_RULES} | {"psychsyn_critval"}
    for setting, shown in documented.items():
        value = getattr(defaults, setting)
        if value is None:  # depends on the questionnaire: said in words
            assert shown.startswith(("half the items", "1/8 of the scale range")), setting
        else:
            assert float(shown) == value, setting
    assert f"`reference_min` ({defaults.reference_min})" in text
