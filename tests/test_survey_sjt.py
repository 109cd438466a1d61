"""Survey exports with situational-judgment (SJT) items: Google Forms and Microsoft Forms
export a grid question as one column per grid row, headed ``Scenario text [Option text]``.
A mapping names a grid in ``grids`` (question text -> SJT item id), names single
columns in ``items`` (``ITEM.OPTION``), or leaves a grid out when the form uses the
questionnaire's own scenario text (found by it). Ratings may be labels of the SJT rating
scale (``sjt_labels``, default the scale's own labels); most/least/best cells may hold
an option's id or its text.

The reference for every export is the equivalent ``ITEM.OPTION`` answers file read with
:func:`repprofile.read_answers`: the same answers, so the same scores.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import repprofile
from repprofile import InputError

SR = repprofile.load_questionnaire("service-recovery")
LABELS = {v: t for v, t in SR.response_scale.labels.items()}  # 1 -> 'Very ineffective', ...

CUSTOM_SR01 = "Scenario 1: the app and the bot both failed"


def rating(cand: int, i: int, j: int) -> int:
    """A varied rating 1-6 of option j of scenario i by candidate ``cand``."""
    return 1 + (cand * 3 + i * 5 + j * 2 + (i * j) % 4) % 6


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def google_export(tmp_path: Path, cells: dict[tuple[int, str], str] | None = None) -> Path:
    """A Google Forms export of service-recovery for three candidates: sr01 under a custom
    question title with option-TEXT rows, sr03 under short custom headers (mapped in
    'items'), every other scenario under its own text; ratings as labels for candidate
    1, as numbers for candidate 2, a mix for candidate 3; candidate 3 skips sr05."""
    header = ["Timestamp", "Email Address"]
    for it in SR.sjt_items:
        for o in it.options:
            if it.id == "sr01":
                header.append(f"{CUSTOM_SR01} [{o.text}]")
            elif it.id == "sr03":
                header.append(f"S3 option {o.id.upper()}")
            else:
                header.append(f"{it.scenario} [{o.text}]")
    rows = []
    for c in (1, 2, 3):
        row: list[Any] = [f"2026/12/0{c} 10:00:00", f"cand{c}@example.com"]
        for i, it in enumerate(SR.sjt_items):
            for j, _ in enumerate(it.options):
                r = rating(c, i, j)
                if c == 3 and it.id == "sr05":
                    row.append("")
                elif c == 1 or (c == 3 and j % 2 == 0):
                    row.append(LABELS[r].upper() if j == 0 else LABELS[r])
                else:
                    row.append(str(r))
        rows.append(row)
    for (c, header_text), value in (cells or {}).items():
        rows[c - 1][header.index(header_text)] = value
    return write_csv(tmp_path / "export.csv", header, rows)


def reference_answers(tmp_path: Path) -> Path:
    header = ["candidate_id", *SR.item_ids]
    rows = []
    for c in (1, 2, 3):
        row: list[Any] = [f"cand{c}@example.com"]
        for i, it in enumerate(SR.sjt_items):
            for j, _ in enumerate(it.options):
                row.append("" if c == 3 and it.id == "sr05" else rating(c, i, j))
        rows.append(row)
    return write_csv(tmp_path / "answers.csv", header, rows)


def mapping(tmp_path: Path, text: str | None = None) -> Path:
    sr03 = {f"S3 option {o.id.upper()}": f"sr03.{o.id}" for o in SR.sjt_items[2].options}
    body = text or (
        "questionnaire: service-recovery\n"
        "candidate_id: Email Address\n"
        "ignore: [Timestamp]\n"
        f"grids:\n  {CUSTOM_SR01!r}: sr01\n"
        "items:\n" + "".join(f"  {k!r}: {v}\n" for k, v in sr03.items())
    )
    path = tmp_path / "google-forms.yaml"
    path.write_text(body, "utf-8")
    return path


def test_google_forms_grids_score_as_the_answers_file(tmp_path: Path) -> None:
    got = repprofile.read_survey(google_export(tmp_path), SR, mapping(tmp_path))
    want = repprofile.read_answers(reference_answers(tmp_path), SR)
    assert got.errors == []
    assert got.candidate_ids() == want.candidate_ids()
    np.testing.assert_array_equal(got.values, want.values)  # NaN where candidate 3 skipped
    assert math.isnan(got.values[2, SR.item_ids.index("sr05.a")])
    assert got.values[0, SR.item_ids.index("sr01.a")] == rating(1, 0, 0)
    for method in ("standardized", "distance", "correlation"):
        a = repprofile.score(SR, got, sjt_method=method)
        b = repprofile.score(SR, want, sjt_method=method)
        np.testing.assert_array_equal(a.pomp, b.pomp)
        assert not np.isnan(a.pomp).all()
        np.testing.assert_array_equal(a.sjt_type_preference, b.sjt_type_preference)
        assert a.to_dict()["profiles"] == b.to_dict()["profiles"]


def test_bad_rating_rejects_the_candidate_naming_row_column_option(tmp_path: Path) -> None:
    it = SR.sjt_items[1]
    header = f"{it.scenario} [{it.options[2].text}]"
    export = google_export(tmp_path, {(2, header): "Great"})
    got = repprofile.read_survey(export, SR, mapping(tmp_path))
    assert got.rejected is not None
    assert got.rejected.tolist() == [False, True, False]
    (err,) = got.errors
    assert err.candidate_id == "cand2@example.com"
    assert err.item_id == "sr02.c"
    assert err.value == "Great"
    assert err.message.startswith("export.csv row 3, column ")
    assert "rating 'Great' of option 'c' of SJT item 'sr02' is not a known label; expected " in (
        err.message
    )
    assert "'Very ineffective', 'Ineffective'" in err.message
    assert "add it to 'sjt_labels' in google-forms.yaml" in err.message


def test_unknown_grid_row_and_grid_of_no_sjt_item(tmp_path: Path) -> None:
    export = google_export(tmp_path)
    text = export.read_text("utf-8").replace(
        f"{CUSTOM_SR01} [{SR.sjt_items[0].options[1].text}]", f"{CUSTOM_SR01} [Something else]"
    )
    export.write_text(text, "utf-8")
    with pytest.raises(InputError) as info:
        repprofile.read_survey(export, SR, mapping(tmp_path))
    assert "grid row 'Something else' of SJT item 'sr01' is no answer of it; expected the " in (
        str(info.value)
    )
    m = mapping(tmp_path, "questionnaire: service-recovery\ncandidate_id: E\ngrids: {Q: sr99}\n")
    with pytest.raises(InputError, match="grids: 'Q': 'sr99' name no SJT item of"):
        repprofile.read_survey(google_export(tmp_path), SR, m)


def test_grid_and_items_for_one_scenario_is_refused(tmp_path: Path) -> None:
    m = mapping(
        tmp_path,
        "questionnaire: service-recovery\ncandidate_id: E\ngrids: {Q: sr01}\nitems: {X: sr01.a}\n",
    )
    with pytest.raises(InputError, match="item 'sr01' is a grid \\('Q'\\) and also in 'items'"):
        repprofile.read_survey(google_export(tmp_path), SR, m)


MOST_LEAST = """\
id: ml-survey
version: "0.1.0"
title: "Most/least survey test"
response_scale: {min: 1, max: 6}
scales:
  - {id: calm, name: "Calm", kind: skill}
  - {id: total, name: "Total", kind: skill, total: true}
items:
  - id: m1
    kind: sjt
    scenario: "A customer shouts."
    response_format: most_least
    competencies: [calm]
    options:
      - {id: a, text: "Stay calm and listen", type: rock, key: 6}
      - {id: b, text: "Transfer to a manager", type: accommodator, key: 3}
      - {id: c, text: "Raise your voice", type: competitor, key: 1}
  - id: m2
    kind: sjt
    scenario: "A customer is wrong on the facts."
    response_format: most_least
    competencies: [calm]
    options:
      - {id: a, text: "Correct them bluntly", type: controller, key: 2}
      - {id: b, text: "Show the record and explain", type: empathizer, key: 6}
      - {id: c, text: "Agree to keep the peace", type: accommodator, key: 1}
"""


def test_most_least_grid_with_option_text(tmp_path: Path) -> None:
    qpath = tmp_path / "ml.yaml"
    qpath.write_text(MOST_LEAST, "utf-8")
    q = repprofile.load_questionnaire(qpath)
    header = [
        "Email",
        "A customer shouts. [Most effective]",
        "A customer shouts. [Least effective]",
        "Facts question [Most]",
        "Facts question [Least]",
    ]
    rows = [
        ["x", "Stay calm and listen", "raise your  voice", "b", "Agree to keep the peace"],
        ["y", "Transfer to a manager", "", "Correct them bluntly", "Show the record and explain"],
        ["z", "Stay calm", "c", "a", "b"],
    ]
    export = write_csv(tmp_path / "ms-forms.csv", header, rows)
    m = tmp_path / "m.yaml"
    m.write_text(
        "questionnaire: ml-survey\ncandidate_id: Email\ngrids: {Facts question: m2}\n", "utf-8"
    )
    got = repprofile.read_survey(export, q, m)
    ids = write_csv(
        tmp_path / "ids.csv",
        ["candidate_id", "m1.most", "m1.least", "m2.most", "m2.least"],
        [["x", "a", "c", "b", "c"], ["y", "b", "", "a", "b"]],
    )
    want = repprofile.read_answers(ids, q)
    np.testing.assert_array_equal(got.values[:2], want.values)
    # x: m1 +1 +1, m2 +1 +1 -> sum 4 over n = 2: pomp 100 (4 + 4) / 8 = 100
    # y: m1 has no least answer, so it is no answered scenario; m2 most a (neither keyed)
    #    0, least b (the keyed most chosen as least) -1 -> sum -1, n = 1:
    #    pomp 100 (-1 + 2) / 4 = 25
    a = repprofile.score(q, got)
    b = repprofile.score(q, want)
    np.testing.assert_array_equal(a.pomp[:2], b.pomp)
    total = q.scale_ids.index("total")
    assert a.pomp[0, total] == 100.0
    assert a.pomp[1, total] == 25.0
    (err,) = got.errors
    assert err.candidate_id == "z"
    assert err.item_id == "m1.most"
    assert err.message == (
        "ms-forms.csv row 4, column B ('A customer shouts. [Most effective]'): most answer "
        "'Stay calm' to SJT item 'm1' is not one of its options; expected an option id "
        "['a', 'b', 'c'] or an option's text, or a blank cell for a missing answer"
    )


REP_HIRING_LABELS = """\
questionnaire: rep-hiring
candidate_id: Email
items: {"I offer a refund when a customer is unhappy.": acc01}
labels: {Nope: 1, Sure: 5}
sjt_labels: {Poor: 1, Fair: 3, Great: 6}
"""


def test_rep_hiring_likert_and_sjt_labels_apart(tmp_path: Path) -> None:
    q = repprofile.load_questionnaire("rep-hiring")
    sr01 = q.sjt_item_index["sr01"]
    header = ["Email", "I offer a refund when a customer is unhappy."]
    header += [f"{sr01.scenario} [{o.text}]" for o in sr01.options]
    rows = [["x", "Sure", "Poor", "Fair", "Great", "4", ""], ["y", "Great", "Sure", "", "", "", ""]]
    export = write_csv(tmp_path / "e.csv", header, rows)
    m = tmp_path / "m.yaml"
    m.write_text(REP_HIRING_LABELS, "utf-8")
    with pytest.warns(repprofile.RepprofileWarning, match="no column for item"):
        got = repprofile.read_survey(export, q, m)
    cols = [q.item_ids.index(c) for c in ("acc01", *sr01.columns)]
    assert got.values[0, cols].tolist()[:5] == [5.0, 1.0, 3.0, 6.0, 4.0]
    assert math.isnan(got.values[0, cols[5]])
    assert [e.item_id for e in got.errors] == ["acc01", "sr01.a"]  # labels do not cross
    bad = REP_HIRING_LABELS.replace("Great: 6", "Great: 7")
    m.write_text(bad, "utf-8")
    with pytest.raises(InputError, match="sjt_labels: 'Great' is 7; expected"):
        repprofile.read_survey(export, q, m)
