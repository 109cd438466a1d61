"""Survey exports everywhere (issue 14, item 2): ``--duplicates reject|first|last`` on
every reader, ``repprofile convert`` and ``questionnaire template --format mapping``.

Questionnaire: scale alpha = a1 + (6 - a2) + a3, beta = b1 + b2 + (6 - b3) (a2, b3
reverse-keyed), so each expected raw score below is worked out by hand.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

import repprofile
from repprofile.cli import main

QUESTIONNAIRE = """\
id: dup
version: "1.0"
title: Duplicates
response_scale:
  min: 1
  max: 5
  labels: {1: Strongly disagree, 2: Disagree, 3: Neither agree nor disagree, 4: Agree,
           5: Strongly agree}
scales:
  - {id: alpha, name: Alpha}
  - {id: beta, name: Beta}
items:
  - {id: a1, text: "I like apples.", scale: alpha}
  - {id: a2, text: "I dislike apples.", scale: alpha, keyed: -1}
  - {id: a3, text: "Apples, every day.", scale: alpha}
  - {id: b1, text: "I like bananas.", scale: beta}
  - {id: b2, text: "Bananas: yes.", scale: beta}
  - {id: b3, text: "I avoid \\"bananas\\".", scale: beta, keyed: -1}
"""

HEADER = "candidate_id,a1,a2,a3,b1,b2,b3\n"
# ann submitted twice (rows 2 and 4), bob once (row 3), cat three times (rows 5-7).
ROWS = {
    2: "ann,1,1,1,1,1,1",  # alpha 1+5+1 = 7, beta 1+1+5 = 7
    3: "bob,3,3,3,3,3,3",  # 9, 9
    4: "ann,5,1,5,5,5,1",  # 5+5+5 = 15, 5+5+5 = 15
    5: "cat,2,2,2,2,2,2",  # 2+4+2 = 8, 2+2+4 = 8
    6: "cat,4,4,4,4,4,4",  # 4+2+4 = 10, 10
    7: "cat,x,3,3,3,3,3",  # not a number: rejected if read
}


@pytest.fixture(scope="module")
def q(tmp_path_factory: pytest.TempPathFactory) -> repprofile.Questionnaire:
    path = tmp_path_factory.mktemp("q") / "dup.yaml"
    path.write_text(QUESTIONNAIRE, "utf-8")
    return repprofile.load_questionnaire(path)


@pytest.fixture
def answers_csv(tmp_path: Path) -> Path:
    path = tmp_path / "answers.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in ROWS.values()), "utf-8")
    return path


def raw(q: repprofile.Questionnaire, answers: repprofile.AnswerSet) -> dict[str, list[float]]:
    result = repprofile.score(q, answers)
    out = {}
    for i, cid in enumerate(result.candidate_ids):
        if result.scored[i]:
            out[cid] = [float(result.raw[i, result.scale_ids.index(s)]) for s in ("alpha", "beta")]
    return out


def read(
    path: Path, q: repprofile.Questionnaire, policy: str
) -> tuple[repprofile.AnswerSet, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answers = repprofile.read_answers(path, q, duplicates=policy)
    return answers, [
        str(w.message) for w in caught if issubclass(w.category, repprofile.RepprofileWarning)
    ]


def test_reject_is_the_default_and_rejects_every_row_of_a_repeated_id(
    answers_csv: Path, q: repprofile.Questionnaire
) -> None:
    answers = repprofile.read_answers(answers_csv, q)
    assert answers.candidate_ids() == ("ann", "bob", "ann", "cat", "cat", "cat")
    assert answers.rejected is not None
    assert answers.rejected.tolist() == [True, False, True, True, True, True]
    messages = " ".join(e.message for e in answers.errors)
    assert "candidate id 'ann' appears 2 times (rows 2, 4)" in messages
    assert "candidate id 'cat' appears 3 times (rows 5, 6, 7)" in messages
    assert (
        messages.count(
            "If the candidate submitted more than once, read one of the rows with --duplicates "
            "first or last (duplicates= in Python)."
        )
        == 2
    )
    assert raw(q, answers) == {"bob": [9.0, 9.0]}


def test_first_keeps_each_first_submission_and_says_what_it_dropped(
    answers_csv: Path, q: repprofile.Questionnaire
) -> None:
    answers, warned = read(answers_csv, q, "first")
    assert answers.candidate_ids() == ("ann", "bob", "cat")
    assert answers.errors == []
    assert raw(q, answers) == {"ann": [7.0, 7.0], "bob": [9.0, 9.0], "cat": [8.0, 8.0]}
    assert len(warned) == 1
    assert "2 candidate id(s) appear on more than one row" in warned[0]
    assert "'ann' (rows 2, 4: kept row 2)" in warned[0]
    assert "'cat' (rows 5, 6, 7: kept row 5)" in warned[0]


def test_last_keeps_the_resubmission_and_a_bad_last_row_is_still_rejected(
    answers_csv: Path, q: repprofile.Questionnaire
) -> None:
    answers, warned = read(answers_csv, q, "last")
    # rows read, in file order: bob (3), ann (4), cat (7)
    assert answers.candidate_ids() == ("bob", "ann", "cat")
    assert raw(q, answers) == {"bob": [9.0, 9.0], "ann": [15.0, 15.0]}
    assert answers.rejected is not None
    assert answers.rejected.tolist() == [False, False, True]
    (error,) = answers.errors
    assert error.candidate_id == "cat"
    assert error.item_id == "a1"
    assert "row 7" in error.message  # the row number of the file, not of the rows kept
    assert "'cat' (rows 5, 6, 7: kept row 7)" in warned[0]


def test_duplicates_in_json_records_keep_their_record_numbers(
    tmp_path: Path, q: repprofile.Questionnaire
) -> None:
    records = [
        {"candidate_id": "ann", "answers": {"a1": 1}},
        {"candidate_id": "ann", "answers": {"a1": 4}},
        "not a record",
    ]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(records), "utf-8")
    answers, warned = read(path, q, "last")
    assert answers.candidate_ids() == ("ann", "#3")
    assert answers.values[0, 0] == 4.0
    assert "'ann' (records 1, 2: kept record 2)" in warned[0]
    assert "record 3 must be an object" in answers.errors[0].message


def test_duplicates_is_checked(answers_csv: Path, q: repprofile.Questionnaire) -> None:
    with pytest.raises(repprofile.InvalidParameterError) as info:
        repprofile.read_answers(answers_csv, q, duplicates="newest")
    assert str(info.value) == (
        "The 'duplicates' parameter of read_answers must be 'reject', 'first' or 'last', "
        "got 'newest' instead."
    )


# --------------------------------------------------------------------------- survey, CLI

EXPORT_HEADER = [
    "Timestamp",
    "Email Address",
    "I like apples.",
    "I dislike apples.",
    "Apples, every day.",
    "I like bananas.",
    "Bananas: yes.",
    'I avoid "bananas".',
]


def export_text(rows: list[list[str]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EXPORT_HEADER)
    w.writerows(rows)
    return buf.getvalue()


EXPORT_ROWS = [
    ["2026/12/01 10:00", "ann@x.org", "Agree", "Disagree", "Agree", "Agree", "Agree", "Disagree"],
    ["2026/12/01 10:05", "bob@x.org", "Disagree"] + ["Neither agree nor disagree"] * 5,
    ["2026/12/02 09:00", "ann@x.org", "Strongly agree", "", "Agree", "Agree", "Agree", "Agree"],
]
# ann, last row: alpha 5 + (a2 missing) + 4, beta 4 + 4 + (6 - 4) = 10


def test_the_mapping_template_lists_every_item_text_and_reads_an_export(
    tmp_path: Path, q: repprofile.Questionnaire, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "mapping.yaml"
    assert main(["questionnaire", "template", str(tmp_path / "q.yaml"), "--format", "mapping"]) != 0
    capsys.readouterr()
    qfile = tmp_path / "q.yaml"
    qfile.write_text(QUESTIONNAIRE, "utf-8")
    code = main(
        ["questionnaire", "template", str(qfile), "--format", "mapping", "-o", str(mapping)]
    )
    assert code == 0
    data = yaml.safe_load(mapping.read_text("utf-8"))
    assert data["questionnaire"] == "dup"
    assert data["format"] == "generic"
    assert data["candidate_id"] == "Email Address"
    assert data["ignore"] == ["Timestamp"]
    assert data["labels"] == {
        "Strongly disagree": 1,
        "Disagree": 2,
        "Neither agree nor disagree": 3,
        "Agree": 4,
        "Strongly agree": 5,
    }
    assert data["items"] == {
        "I like apples.": "a1",
        "I dislike apples.": "a2",
        "Apples, every day.": "a3",
        "I like bananas.": "b1",
        "Bananas: yes.": "b2",
        'I avoid "bananas".': "b3",
    }
    export = tmp_path / "export.csv"
    export.write_text(export_text(EXPORT_ROWS), "utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answers = repprofile.read_survey(export, q, mapping, duplicates="last")
    assert answers.candidate_ids() == ("bob@x.org", "ann@x.org")
    np.testing.assert_array_equal(answers.values[1], [5, np.nan, 4, 4, 4, 4])
    assert "'ann@x.org' (rows 2, 4: kept row 4)" in str(caught[0].message)


def test_the_bundled_mapping_template_matches_the_google_forms_example() -> None:
    here = Path(__file__).resolve().parent.parent / "docs" / "examples" / "google-forms"
    example = yaml.safe_load((here / "mapping.yaml").read_text("utf-8"))
    q = repprofile.load_questionnaire("rep-types")
    from repprofile._input.templates import answer_template

    template = yaml.safe_load(answer_template(q, "mapping"))
    assert template["items"] == example["items"]
    assert template["labels"] == example["labels"]
    assert len(template["items"]) == len(q.item_ids) == 80


def test_convert_writes_the_answers_csv_that_score_reads_back(
    tmp_path: Path, q: repprofile.Questionnaire, capsys: pytest.CaptureFixture[str]
) -> None:
    qfile = tmp_path / "q.yaml"
    qfile.write_text(QUESTIONNAIRE, "utf-8")
    mapping = tmp_path / "mapping.yaml"
    main(["questionnaire", "template", str(qfile), "--format", "mapping", "-o", str(mapping)])
    export = tmp_path / "export.csv"
    export.write_text(export_text(EXPORT_ROWS), "utf-8")
    out = tmp_path / "answers.csv"
    capsys.readouterr()
    # the default rejects both ann rows: exit 1, bob written, ann named on stderr
    code = main(
        ["convert", str(export), "--mapping", str(mapping), "-q", str(qfile), "-o", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert out.read_text("utf-8") == "candidate_id,a1,a2,a3,b1,b2,b3\nbob@x.org,2,3,3,3,3,3\n"
    assert "candidate 'ann@x.org' rejected: candidate id 'ann@x.org' appears 2 times" in err
    assert "1 candidate(s) written to" in err
    assert "1 of 2 rejected and left out" in err
    code = main(
        [
            "convert",
            str(export),
            "--mapping",
            str(mapping),
            "-q",
            str(qfile),
            "-o",
            str(out),
            "--duplicates",
            "last",
        ]
    )
    assert code == 0
    assert out.read_text("utf-8") == (
        "candidate_id,a1,a2,a3,b1,b2,b3\nbob@x.org,2,3,3,3,3,3\nann@x.org,5,,4,4,4,4\n"
    )
    back = repprofile.read_answers(out, q)
    assert raw(q, back)["bob@x.org"] == [2 + 3 + 3, 3 + 3 + 3]


def test_convert_takes_the_questionnaire_from_the_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    here = Path(__file__).resolve().parent.parent / "docs" / "examples" / "google-forms"
    out = tmp_path / "answers.csv"
    code = main(
        [
            "convert",
            str(here / "responses.csv"),
            "--mapping",
            str(here / "mapping.yaml"),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    q = repprofile.load_questionnaire("rep-types")
    direct = repprofile.read_survey(here / "responses.csv", q, here / "mapping.yaml")
    back = repprofile.read_answers(out, q)
    assert back.candidate_ids() == direct.candidate_ids()
    assert len(back.candidate_ids()) == 30
    np.testing.assert_array_equal(back.values, direct.values)


def test_convert_needs_a_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["convert", "export.csv"])
    assert info.value.code == 2
    assert "the following arguments are required: --mapping" in capsys.readouterr().err


def _commands(parser: object, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    import argparse

    found: dict[tuple[str, ...], object] = {path: parser}
    for action in parser._actions:  # type: ignore[attr-defined]
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_commands(sub, (*path, name)))
    return found


def test_every_command_that_reads_answers_has_the_survey_and_duplicates_options() -> None:
    from repprofile.cli._main import build_parser

    readers = {}
    for path, parser in _commands(build_parser()).items():
        dests = {a.dest: a for a in parser._actions}  # type: ignore[attr-defined]
        if "answers" in dests:
            readers[" ".join(path)] = dests
    assert {
        "score",
        "rank",
        "quality",
        "reliability",
        "norms build",
        "report",
        "fit",
        "calibrate",
        "chart",
        "convert",
    } <= set(readers)
    for name, dests in readers.items():
        assert {"mapping", "survey_format", "encoding", "duplicates"} <= set(dests), name
        assert dests["duplicates"].choices == ["reject", "first", "last"] or tuple(
            dests["duplicates"].choices
        ) == ("reject", "first", "last"), name
        assert dests["duplicates"].default == "reject", name
