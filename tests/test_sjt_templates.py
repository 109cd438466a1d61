"""``repprofile questionnaire template`` for SJT questionnaires (issue 16)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml

import repprofile as rp
from repprofile._input.templates import answer_template

DATA = Path(__file__).parent / "data" / "sjt"


def test_csv_template_has_the_answer_columns() -> None:
    q = rp.load_questionnaire(str(DATA / "mini-rate.yaml"))
    header = next(csv.reader(io.StringIO(answer_template(q, "csv"))))
    assert header == [
        "candidate_id",
        "s1.a",
        "s1.b",
        "s1.c",
        "s2.a",
        "s2.b",
        "s3.a",
        "s3.b",
        "s3.c",
    ]
    q = rp.load_questionnaire(str(DATA / "mini-most-least.yaml"))
    header = next(csv.reader(io.StringIO(answer_template(q, "csv"))))
    assert header == ["candidate_id", "m1.most", "m1.least", "m2.most", "m2.least"]


def test_mapping_lists_grid_columns_as_forms_export_them() -> None:
    q = rp.load_questionnaire(str(DATA / "mini-rate.yaml"))
    doc = yaml.safe_load(answer_template(q, "mapping"))
    assert doc["items"] == {
        "Scenario one [A]": "s1.a",
        "Scenario one [B]": "s1.b",
        "Scenario one [C]": "s1.c",
        "Scenario two [A]": "s2.a",
        "Scenario two [B]": "s2.b",
        "Scenario three [A]": "s3.a",
        "Scenario three [B]": "s3.b",
        "Scenario three [C]": "s3.c",
    }
    q = rp.load_questionnaire(str(DATA / "mini-most-least.yaml"))
    doc = yaml.safe_load(answer_template(q, "mapping"))
    assert doc["items"] == {
        "One [Most effective]": "m1.most",
        "One [Least effective]": "m1.least",
        "Two [Most effective]": "m2.most",
        "Two [Least effective]": "m2.least",
    }
    q = rp.load_questionnaire(str(DATA / "mini-best.yaml"))
    doc = yaml.safe_load(answer_template(q, "mapping"))
    assert all(v.endswith(".best") for v in doc["items"].values())


def test_forms_show_the_scenario_and_every_response() -> None:
    q = rp.load_questionnaire(str(DATA / "mini-most-least.yaml"))
    md = answer_template(q, "md")
    assert "Pick the most effective and the least effective response." in md
    assert md.count("[ ] most  [ ] least") == 6  # 2 scenarios x 3 responses
    page = answer_template(q, "html")
    assert page.count('type="radio"') == 12  # most and least per response
    q = rp.load_questionnaire(str(DATA / "mini-rate.yaml"))
    md = answer_template(q, "md")
    # 8 responses, each with the six ratings of the 1-6 scale
    assert md.count("[ ] 1  [ ] 2  [ ] 3  [ ] 4  [ ] 5  [ ] 6") == 8
    assert answer_template(q, "html").count('type="radio"') == 48
