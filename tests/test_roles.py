"""Role files (docs/roles.md): the bundled roles, every rejection and the ``roles`` CLI.

Every rejection message must name the file and the field, in the shape
``FILE: field.path: what is wrong``. The messages asserted here are the ones
docs/roles.md shows, with the file name of the test.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import repprofile
from repprofile import QuestionnaireError, Role, list_roles, load_role
from repprofile._formats.files import bundled_dir

SCRIPT = Path(sys.executable).parent / "repprofile"
ROOT = Path(__file__).resolve().parent.parent
ROLES_DIR = bundled_dir() / "roles"

TRAITS = [
    "accommodator",
    "competitor",
    "controller",
    "empathizer",
    "hard_worker",
    "innovator",
    "rock",
]
BUNDLED = [
    "back-office-quality",
    "complex-support",
    "cx-improvement",
    "escalations",
    "general-frontline",
    "retention",
]
# the same six roles for the rep-hiring questionnaire (rep-types + service-recovery SJT):
# the trait weights of the rep-types role plus weights on the SJT's skill scales
SJT_BUNDLED = [f"{r}-sjt" for r in BUNDLED]
ALL_BUNDLED = sorted(BUNDLED + SJT_BUNDLED)
SKILLS = [
    "action",
    "apology",
    "de_escalation",
    "empathy",
    "listening",
    "ownership",
    "plan",
    "validation",
]

# A small questionnaire with another id, for the "applies to another questionnaire" check.
OTHER_YAML = """\
id: other
version: "1.0"
title: Other
response_scale: {min: 1, max: 5}
scales:
  - {id: rock, name: Rock}
  - {id: flair, name: Flair}
items:
  - {id: r1, text: R1, scale: rock}
  - {id: r2, text: R2, scale: rock}
  - {id: f1, text: F1, scale: flair}
  - {id: f2, text: F2, scale: flair}
"""

GOOD_ROLE = """\
id: night-shift
name: "Night shift"
description: "Takes the calls nobody else is awake for."
questionnaire: "rep-types"
weights:
  rock: 0.6
  hard_worker: 0.3
  competitor: -0.1
minimums:
  rock: 0
target:
  rock: 100
  hard_worker: 70
rationale: "Steadiness matters most when nobody can be asked for help."
references:
  - "A. Author (2020). A paper."
"""


def write(tmp_path: Path, text: str, name: str = "f.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def role_text(**fields: str) -> str:
    """A valid rep-types role file with some top-level fields replaced (value: YAML text)."""
    base = {
        "id": "r",
        "name": '"R"',
        "description": '"D"',
        "questionnaire": '"rep-types"',
        "weights": "{rock: 1, controller: 0.5}",
        "rationale": '"Why."',
    }
    base.update(fields)
    return "".join(f"{k}: {v}\n" for k, v in base.items() if v != "")


def rejection(path: Path, q: repprofile.Questionnaire | None = None) -> str:
    with pytest.raises(QuestionnaireError) as info:
        load_role(path, q)
    return str(info.value)


# --------------------------------------------------------------------------- bundled roles


def test_at_least_five_bundled_roles_sorted_by_id() -> None:
    ids = [r.id for r in list_roles()]
    assert ids == ALL_BUNDLED  # twelve files in questionnaires/roles, sorted by id
    assert len(ids) >= 5


@pytest.mark.parametrize("role_id", BUNDLED)
def test_bundled_role_loads_and_validates_against_rep_types(role_id: str) -> None:
    q = repprofile.load_questionnaire("rep-types")
    role = load_role(role_id, q)  # checked against the explicit questionnaire: no error
    role.check_against(q, "x")
    path = ROLES_DIR / f"{role_id}.yaml"
    assert role.id == path.stem  # a bundled id matches its file name
    assert role.questionnaire == "rep-types"
    # docs/roles.md: the bundled roles list all seven trait scales, weights within -1..1,
    # at least one non-zero, no validity scale, a target for all seven scales in 0..100
    assert sorted(role.weights) == TRAITS
    assert all(-1.0 <= w <= 1.0 for w in role.weights.values())
    assert any(w != 0 for w in role.weights.values())
    assert sorted(role.target) == TRAITS
    assert all(0.0 <= v <= 100.0 for v in role.target.values())
    assert set(role.minimums) <= set(TRAITS)
    assert role.rationale.strip()
    assert role.description.strip()
    assert role.name.strip()
    assert role.references  # each cites its sources
    # the rationale says the weights are not derived from performance data
    assert "calibrate" in role.rationale


def test_bundled_hurdles_are_the_two_documented_ones() -> None:
    # docs/roles.md: only escalations (rock: 25) and back-office-quality
    # (hard_worker: 25) have a hurdle; their -sjt versions keep it and add no skill hurdle
    hurdles = {r.id: r.minimums for r in list_roles() if r.minimums}
    assert hurdles == {
        "back-office-quality": {"hard_worker": 25.0},
        "back-office-quality-sjt": {"hard_worker": 25.0},
        "escalations": {"rock": 25.0},
        "escalations-sjt": {"rock": 25.0},
    }


@pytest.mark.parametrize("role_id", SJT_BUNDLED)
def test_bundled_sjt_role_loads_against_rep_hiring(role_id: str) -> None:
    q = repprofile.load_questionnaire("rep-hiring")
    role = load_role(role_id, q)
    base = load_role(role_id.removesuffix("-sjt"))
    assert role.questionnaire == "rep-hiring"
    assert role.id == (ROLES_DIR / f"{role_id}.yaml").stem
    # the trait part is the rep-types role's, unchanged; the rest are skill scales
    assert {k: v for k, v in role.weights.items() if k in TRAITS} == base.weights
    assert role.target == base.target
    assert role.minimums == base.minimums
    skill = {k: v for k, v in role.weights.items() if k not in TRAITS}
    assert set(skill) <= {*SKILLS, "service_recovery"}
    assert all(0 < w <= 1 for w in skill.values())
    kinds = {s.id: s.kind for s in q.scales}
    assert {kinds[k] for k in skill} == {"skill"}
    assert "calibrate" in role.rationale
    assert "draft" in role.rationale


def test_roles_may_weigh_skill_scales_but_not_validity_scales() -> None:
    # a rep-types questionnaire whose impression scale is relabelled a skill scale: the
    # role that weighs it now passes, and the same role against the real file is refused
    q = repprofile.load_questionnaire("rep-types")
    scales = [
        s.model_copy(update={"kind": "skill"}) if s.id == "impression" else s for s in q.scales
    ]
    with_skill = q.model_copy(update={"scales": scales})
    role = Role.model_validate(
        {
            "id": "r",
            "name": "R",
            "description": "D",
            "questionnaire": "rep-types",
            "weights": {"rock": 1.0, "impression": 0.5},
            "target": {"impression": 70.0},
            "rationale": "Why.",
        }
    )
    role.check_against(with_skill, "x")  # no error: trait and skill scales
    with pytest.raises(QuestionnaireError) as info:
        role.check_against(q, "x")
    assert str(info.value).splitlines() == [
        "x: weights.impression: 'impression' is a validity scale; roles weigh trait and skill "
        "scales only",
        "x: target.impression: 'impression' is a validity scale; roles weigh trait and skill "
        "scales only",
    ]


def test_bundled_weights_match_the_tables_of_docs_roles_md() -> None:
    text = (ROOT / "docs" / "roles.md").read_text(encoding="utf-8")
    seen = []
    for section in text.split("\n### ")[1:]:
        heading = section.splitlines()[0]
        found = re.search(r": `([a-z-]+)`$", heading)
        if found is None:
            continue
        rows = re.findall(r"^\| ([a-z_]+) \| (-?[0-9.]+) \|", section, re.MULTILINE)
        doc = {scale: float(w) for scale, w in rows}
        assert doc == load_role(found.group(1)).weights, found.group(1)
        seen.append(found.group(1))
    assert sorted(seen) == BUNDLED


def test_escalations_has_the_documented_weights() -> None:
    # the full example of docs/roles.md
    role = load_role("escalations")
    assert role.weights == {
        "rock": 0.5,
        "controller": 0.35,
        "empathizer": 0.3,
        "hard_worker": 0.15,
        "accommodator": 0.05,
        "innovator": 0.0,
        "competitor": -0.1,
    }
    assert role.minimums == {"rock": 25.0}
    assert role.target == {
        "accommodator": 50.0,
        "competitor": 35.0,
        "controller": 65.0,
        "empathizer": 65.0,
        "hard_worker": 60.0,
        "innovator": 45.0,
        "rock": 80.0,
    }
    assert role.name == "Escalations and complaints"
    assert len(role.references) == 2


def test_load_by_id_equals_load_by_path_and_role_passes_through() -> None:
    by_id = load_role("escalations")
    by_path = load_role(ROLES_DIR / "escalations.yaml")
    by_str_path = load_role(str(ROLES_DIR / "escalations.yaml"))
    assert by_id == by_path == by_str_path
    assert by_id.model_dump() == by_path.model_dump()
    assert load_role(by_id) is by_id  # a Role is returned unchanged
    assert repprofile.load_role is load_role  # the public name


def test_own_role_file_loads(tmp_path: Path) -> None:
    role = load_role(write(tmp_path, GOOD_ROLE))
    assert role.id == "night-shift"
    assert role.weights == {"rock": 0.6, "hard_worker": 0.3, "competitor": -0.1}
    # POMP 0 and 100 are inside 0..100: both accepted
    assert role.minimums == {"rock": 0.0}
    assert role.target == {"rock": 100.0, "hard_worker": 70.0}
    assert role.references == ["A. Author (2020). A paper."]


def test_optional_fields_default_to_empty(tmp_path: Path) -> None:
    role = load_role(write(tmp_path, role_text()))
    assert role.minimums == {}
    assert role.target == {}
    assert role.references == []


def test_role_is_frozen() -> None:
    role = load_role("escalations")
    with pytest.raises(ValueError, match="frozen"):
        role.name = "other"  # type: ignore[misc]


def test_unknown_role_id_lists_the_bundled_ones() -> None:
    with pytest.raises(QuestionnaireError) as info:
        load_role("escalation")  # typo
    assert str(info.value) == (
        "The 'role' parameter must be a bundled role id or a role file path, got "
        "'escalation' instead. Bundled roles: " + ", ".join(ALL_BUNDLED) + "."
    )


# --------------------------------------------------------------------------- rejections


def test_rejects_a_scale_the_questionnaire_lacks(tmp_path: Path) -> None:
    path = write(tmp_path, role_text(weights="{rok: 1}"))
    assert rejection(path) == (
        f"{path}: weights.rok: questionnaire 'rep-types' has no scale 'rok'; expected one of "
        "['accommodator', 'competitor', 'controller', 'empathizer', 'hard_worker', "
        "'innovator', 'rock']"
    )


@pytest.mark.parametrize("field", ["minimums", "target"])
def test_rejects_an_unknown_scale_in_minimums_and_target(tmp_path: Path, field: str) -> None:
    path = write(tmp_path, role_text(**{field: "{rok: 40}"}))
    message = rejection(path)
    assert message.startswith(f"{path}: {field}.rok: questionnaire 'rep-types' has no scale")


@pytest.mark.parametrize(
    ("field", "value"),
    [("weights", "{rock: 1, impression: 0.5}"), ("minimums", "{impression: 10}")],
)
def test_rejects_the_validity_scale(tmp_path: Path, field: str, value: str) -> None:
    path = write(tmp_path, role_text(**{field: value}))
    assert rejection(path) == (
        f"{path}: {field}.impression: 'impression' is a validity scale; roles weigh trait "
        "and skill scales only"
    )


def test_rejects_the_validity_scale_in_target_with_zero_weight_too(tmp_path: Path) -> None:
    # even a zero weight on impression is refused, and every problem is listed
    path = write(tmp_path, role_text(weights="{rock: 1, impression: 0}", target="{impression: 5}"))
    message = rejection(path)
    assert message.splitlines() == [
        f"{path}: weights.impression: 'impression' is a validity scale; roles weigh trait "
        "and skill scales only",
        f"{path}: target.impression: 'impression' is a validity scale; roles weigh trait "
        "and skill scales only",
    ]


@pytest.mark.parametrize("weights", ["{rock: 0, controller: 0.0}", "{rock: -0.0}", "{}"])
def test_rejects_all_zero_weights(tmp_path: Path, weights: str) -> None:
    path = write(tmp_path, role_text(weights=weights))
    assert rejection(path) == f"{path}: weights: at least one weight must be non-zero"


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("target", "{rock: 120}", "120.0"),
        ("minimums", "{rock: -5}", "-5.0"),
        ("minimums", "{rock: 100.5}", "100.5"),
        ("target", "{rock: -0.01}", "-0.01"),
    ],
)
def test_rejects_a_pomp_outside_0_to_100(
    tmp_path: Path, field: str, value: str, shown: str
) -> None:
    path = write(tmp_path, role_text(**{field: value}))
    assert rejection(path) == (
        f"{path}: {field}.rock: a POMP score from 0 to 100 is expected, got {shown}"
    )


def test_rejects_an_unknown_field(tmp_path: Path) -> None:
    path = write(tmp_path, role_text(weigths_note='"typo"'))
    assert rejection(path) == (
        f"{path}: weigths_note: unknown field; remove it or check its spelling"
    )


def test_rejects_a_missing_required_field(tmp_path: Path) -> None:
    path = write(tmp_path, role_text(rationale=""))
    assert rejection(path) == f"{path}: rationale: required field is missing"


@pytest.mark.parametrize("bad_id", ["Night-Shift", "night shift", "night_shift"])
def test_rejects_an_id_outside_its_pattern(tmp_path: Path, bad_id: str) -> None:
    path = write(tmp_path, role_text(id=json.dumps(bad_id)))
    message = rejection(path)
    assert message.startswith(f"{path}: id: String should match pattern '^[a-z0-9-]+$'")
    assert repr(bad_id) in message


def test_rejects_a_questionnaire_that_does_not_exist(tmp_path: Path) -> None:
    path = write(tmp_path, role_text(questionnaire='"other"'))
    assert rejection(path) == (
        "The 'questionnaire' parameter must be a bundled questionnaire id or a file path, "
        "got 'other' instead. Bundled ids: rep-hiring, rep-types, service-recovery."
    )


def test_rejects_a_repeated_key(tmp_path: Path) -> None:
    path = write(tmp_path, role_text() + "weights: {rock: 2}\n")
    # line 7: the second 'weights' key (six fields written first)
    assert rejection(path) == (
        f"{path}: line 7: key 'weights' appears twice in one mapping; expected each key once"
    )


def test_rejects_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- rock\n- controller\n")
    assert rejection(path) == (
        f"{path}: a role file must be a mapping with id, name, description, questionnaire, "
        "weights and rationale, got list instead"
    )


def test_reports_every_problem_of_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, role_text(weights="{rock: 0}", target="{rock: 101}"))
    message = rejection(path)
    # both model-level problems, one pydantic error joined with "; "
    assert message == (
        f"{path}: weights: at least one weight must be non-zero; target.rock: a POMP "
        "score from 0 to 100 is expected, got 101.0"
    )


def test_rejects_a_role_for_another_questionnaire(tmp_path: Path) -> None:
    other = repprofile.load_questionnaire(write(tmp_path, OTHER_YAML, "other.yaml"))
    path = write(tmp_path, role_text(weights="{rock: 1}"))
    # rock exists in both questionnaires: only the questionnaire id differs
    assert rejection(path, other) == (
        f"{path}: role 'r' applies to questionnaire 'rep-types', not 'other'"
    )
    with pytest.raises(QuestionnaireError) as info:
        load_role("escalations", other)
    assert str(info.value) == (
        "escalations.yaml: role 'escalations' applies to questionnaire 'rep-types', not 'other'"
    )


def test_role_for_its_own_questionnaire_file_loads(tmp_path: Path) -> None:
    other = repprofile.load_questionnaire(write(tmp_path, OTHER_YAML, "other.yaml"))
    path = write(
        tmp_path, role_text(questionnaire='"other"', weights="{flair: 1, rock: -1}"), "o.yaml"
    )
    role = load_role(path, other)
    assert role.questionnaire == "other"
    assert role.weights == {"flair": 1.0, "rock": -1.0}


def test_check_against_names_the_source(tmp_path: Path) -> None:
    other = repprofile.load_questionnaire(write(tmp_path, OTHER_YAML, "other.yaml"))
    role = Role(
        id="x",
        name="X",
        description="d",
        questionnaire="other",
        weights={"rock": 1.0, "controller": 1.0},
        rationale="r",
    )
    with pytest.raises(QuestionnaireError) as info:
        role.check_against(other, "mine.yaml")
    assert str(info.value) == (
        "mine.yaml: weights.controller: questionnaire 'other' has no scale 'controller'; "
        "expected one of ['rock', 'flair']"
    )


@pytest.mark.parametrize(
    ("weights", "shown"), [("{rock: .nan}", "nan"), ("{rock: .inf, controller: 1}", "inf")]
)
def test_rejects_a_non_finite_weight(tmp_path: Path, weights: str, shown: str) -> None:
    # a NaN or infinite weight would make every composite NaN
    path = write(tmp_path, role_text(weights=weights))
    assert rejection(path) == (
        f"{path}: weights.rock: Input should be a finite number, got {shown} instead"
    )


@pytest.mark.parametrize("field", ["weights", "minimums", "target"])
def test_role_model_refuses_a_nan(field: str) -> None:
    fields: dict[str, Any] = {
        "id": "x",
        "name": "X",
        "description": "d",
        "questionnaire": "rep-types",
        "weights": {"rock": 1.0},
        "rationale": "r",
    }
    fields[field] = {"rock": math.nan}
    with pytest.raises(ValueError, match=rf"{field}\.rock"):
        Role.model_validate(fields)


# --------------------------------------------------------------------------- CLI


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_cli_roles_list_lists_every_bundled_role() -> None:
    proc = run("roles", "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["ID", "QUESTIONNAIRE", "NAME", "TOP", "WEIGHTS"]
    assert [line.split()[0] for line in lines[1:]] == ALL_BUNDLED
    assert [line.split()[1] for line in lines[1:]] == [
        "rep-hiring" if r.endswith("-sjt") else "rep-types" for r in ALL_BUNDLED
    ]
    # top weights by absolute value, signed: escalations rock 0.5, controller 0.35,
    # empathizer 0.3; back-office-quality hard_worker 0.6, accommodator -0.2, innovator 0.15
    esc = next(line for line in lines if line.startswith("escalations "))
    assert esc.endswith("rock +0.5, controller +0.35, empathizer +0.3")
    back = next(line for line in lines if line.startswith("back-office-quality "))
    assert back.endswith("hard_worker +0.6, accommodator -0.2, innovator +0.15")


def test_cli_roles_show_json_has_the_contract_fields() -> None:
    proc = run("roles", "show", "escalations", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {
        "id",
        "name",
        "description",
        "questionnaire",
        "weights",
        "minimums",
        "target",
        "rationale",
        "references",
    }
    role = load_role("escalations")
    assert doc["id"] == "escalations"
    assert doc["questionnaire"] == "rep-types"
    assert doc["weights"] == role.weights
    assert doc["minimums"] == {"rock": 25.0}
    assert doc["target"]["rock"] == 80.0
    assert doc["rationale"] == role.rationale
    assert doc["references"] == role.references
    assert Role.model_validate(doc) == role  # the JSON is a valid role


def test_cli_roles_show_text() -> None:
    proc = run("roles", "show", "escalations")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Escalations and complaints (escalations), for questionnaire rep-types"
    rock = next(line for line in lines if line.startswith("rock "))
    assert rock.split() == ["rock", "+0.5", "25", "80"]
    competitor = next(line for line in lines if line.startswith("competitor "))
    assert competitor.split() == ["competitor", "-0.1", "-", "35"]
    assert "Rationale:" in lines


def test_cli_roles_show_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROLE, "night.yaml")
    proc = run("roles", "show", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["weights"] == {
        "rock": 0.6,
        "hard_worker": 0.3,
        "competitor": -0.1,
    }


def test_cli_roles_validate_good_file(tmp_path: Path) -> None:
    write(tmp_path, GOOD_ROLE, "good.yaml")
    proc = run("roles", "validate", "good.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "good.yaml: valid role 'night-shift' for questionnaire 'rep-types'\n"


def test_cli_roles_validate_bad_file_exits_2(tmp_path: Path) -> None:
    write(tmp_path, role_text(weights="{rok: 1}"), "bad.yaml")
    proc = run("roles", "validate", "bad.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("repprofile: error: bad.yaml: weights.rok: ")
    assert "Traceback" not in proc.stderr


def test_cli_roles_validate_missing_file_exits_2(tmp_path: Path) -> None:
    proc = run("roles", "validate", "nope.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "'nope.yaml'" in proc.stderr
    assert "Traceback" not in proc.stderr
