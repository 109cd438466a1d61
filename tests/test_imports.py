"""Survey-tool exports (with a mapping file) and answer templates.

The fixtures in tests/data/surveys are exports of one small survey, MINI-SURVEY
(mini.yaml: calm = calm1, calm2 reversed, calm3; drive = drive1, drive2, drive3 reversed;
att1 an attention check; answers 1 Strongly disagree ... 5 Strongly agree), answered by
the same three people in each tool. Items in questionnaire order
calm1 drive1 calm2 drive2 att1 calm3 drive3 ("-" = left blank):

    Ana:  5 2 1 3 2 4 4   calm = 5 + (6-1) + 4 = 14 (3 answered); drive = 2 + 3 + (6-4) = 7
    Ben:  3 5 2 5 2 - 1   calm = 3 + (6-2)     =  7 (2 answered); drive = 5 + 5 + (6-1) = 15
    Cleo: 4 4 4 2 2 3 2   calm = 4 + (6-4) + 3 =  9;              drive = 4 + 2 + (6-2) = 10

Answering times, worked out from each export's time columns:

    Microsoft Forms (Start time -> Completion time): 9:02:11 -> 9:06:40 = 269 s;
        10:15:00 -> 10:17:05 = 125 s; 3/6 23:58:30 -> 3/7 0:03:10 = 90 + 190 = 280 s
    Typeform (Start Date (UTC) -> Submitted At): 4 min 30 = 270 s; 1 min 30 = 90 s; 600 s
    SurveyMonkey (Start Date -> End Date): 09:14:02 AM -> 09:19:47 AM = 345 s;
        01:02:03 PM -> 01:05:33 PM = 210 s; 11:59:30 AM -> 12:04:00 PM = 270 s
    Qualtrics: the Duration (in seconds) column, 305, 198, 412
    Google Forms has only a submission Timestamp: no seconds.
"""

from __future__ import annotations

import argparse
import csv
import html
import html.parser
import io
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import repprofile
from repprofile._formats.mapping import load_mapping
from repprofile._input.survey import read_survey
from repprofile._input.templates import answer_template
from repprofile.cli._common import add_survey_options, read_cli_answers
from repprofile.cli._questionnaire import add_template_parser

SURVEYS = Path(__file__).parent / "data" / "surveys"
NAN = math.nan
EXPECTED = [
    [5, 2, 1, 3, 2, 4, 4],
    [3, 5, 2, 5, 2, NAN, 1],
    [4, 4, 4, 2, 2, 3, 2],
]
EMAILS = ("ana@example.com", "ben@example.com", "cleo@example.com")
TOOLS: dict[str, tuple[tuple[str, ...], list[float] | None]] = {
    "google_forms": (EMAILS, None),
    "microsoft_forms": (EMAILS, [269, 125, 280]),
    "typeform": (("T-101", "T-102", "T-103"), [270, 90, 600]),
    "surveymonkey": (("114389022101", "114389022187", "114389023450"), [345, 210, 270]),
    "qualtrics": (("R_1a2B3c4D5e6F7g8", "R_9zY8xW7vU6tS5rQ", "R_2mN3bV4cX5zL6kJ"), [305, 198, 412]),
}
LABELS = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")
TEXTS = (
    "I stay calm when a customer raises their voice.",
    "I like to close my tickets faster than my colleagues do.",
    "An angry customer can ruin my whole day.",
    "I keep track of how my numbers compare with the team's.",
    'To show that you are reading carefully, please choose "Disagree".',
    "I can think clearly under pressure.",
    "Winning matters little to me at work.",
)


@pytest.fixture(scope="module")
def mini() -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(SURVEYS / "mini.yaml")


def rows_of(tool: str) -> list[list[str]]:
    with (SURVEYS / f"{tool}.csv").open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def edited(tool: str, tmp_path: Path, edit: Callable[[list[list[str]]], None]) -> Path:
    """A copy of a fixture export after ``edit`` changed its rows in place."""
    rows = rows_of(tool)
    edit(rows)
    return write_rows(tmp_path / f"{tool}.csv", rows)


def mapping_of(tool: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SURVEYS / f"{tool}.yaml").read_text("utf-8"))
    return data


def write_mapping(tmp_path: Path, data: dict[str, Any], name: str = "mapping.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def read(tool: str, q: repprofile.Questionnaire, **kw: Any) -> repprofile.AnswerSet:
    return read_survey(SURVEYS / f"{tool}.csv", q, SURVEYS / f"{tool}.yaml", **kw)


# --------------------------------------------------------------------------- the exports


@pytest.mark.parametrize("tool", list(TOOLS))
def test_export_gives_the_hand_checked_answers_ids_and_seconds(
    mini: repprofile.Questionnaire, tool: str
) -> None:
    answers = read(tool, mini)
    ids, seconds = TOOLS[tool]
    assert answers.candidate_ids() == ids
    np.testing.assert_array_equal(answers.values, EXPECTED)  # NaN == NaN here
    if seconds is None:
        assert answers.seconds is None
    else:
        assert answers.seconds is not None
        np.testing.assert_array_equal(answers.seconds, seconds)
    assert answers.errors == []
    assert answers.rejected is not None
    assert answers.rejected.tolist() == [False, False, False]


def test_imported_answers_are_scored(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(mini, read("google_forms", mini))
    assert result.scale_ids == ("calm", "drive")
    np.testing.assert_array_equal(result.raw, [[14, 7], [7, 15], [9, 10]])
    np.testing.assert_array_equal(result.n_answered, [[3, 3], [2, 3], [3, 3]])
    assert result.scored.tolist() == [True, True, True]


def test_every_tool_gives_identical_answers(mini: repprofile.Questionnaire) -> None:
    reference = read("google_forms", mini).values
    for tool in TOOLS:
        np.testing.assert_array_equal(read(tool, mini).values, reference)


def test_labels_match_ignoring_case_and_spaces_and_numbers_are_accepted(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[1][2] = "  strongly   AGREE "  # Ana, calm1
        rows[3][3] = "4"  # Cleo, drive1: a plain number

    answers = read_survey(
        edited("google_forms", tmp_path, edit), mini, SURVEYS / "google_forms.yaml"
    )
    np.testing.assert_array_equal(answers.values, EXPECTED)
    assert answers.errors == []


def test_blank_cells_are_missing_answers(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[1][2:9] = [""] * 7  # Ana answered nothing

    answers = read_survey(
        edited("google_forms", tmp_path, edit), mini, SURVEYS / "google_forms.yaml"
    )
    assert np.isnan(answers.values[0]).all()
    np.testing.assert_array_equal(answers.values[1:], EXPECTED[1:])
    assert answers.errors == []


# --------------------------------------------------------------------------- unknown labels


def test_unknown_label_rejects_that_candidate_naming_row_column_value_and_labels(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        assert rows[2][1] == "ben@example.com"
        rows[2][3] = "Agree strongly"  # Ben, drive1: row 3, column D

    path = edited("google_forms", tmp_path, edit)
    answers = read_survey(path, mini, SURVEYS / "google_forms.yaml")
    assert answers.rejected is not None
    assert answers.rejected.tolist() == [False, True, False]
    [error] = answers.errors
    assert (error.candidate_id, error.item_id, error.value) == (
        "ben@example.com",
        "drive1",
        "Agree strongly",
    )
    assert "google_forms.csv row 3, column D" in error.message
    assert repr(TEXTS[1]) in error.message
    assert "'Agree strongly'" in error.message
    for label in LABELS:
        assert repr(label) in error.message
    assert "a whole number from 1 to 5" in error.message
    assert "add it to 'labels' in google_forms.yaml" in error.message

    result = repprofile.score(mini, answers)
    assert result.scored.tolist() == [True, False, True]
    assert [e.candidate_id for e in result.errors] == ["ben@example.com"]
    np.testing.assert_array_equal(result.raw[[0, 2]], [[14, 7], [9, 10]])


def test_unknown_label_row_counts_the_three_qualtrics_header_rows(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[5][rows[0].index("Q1_6")] = "Sometimes"  # Cleo, calm3: row 6, column W

    answers = read_survey(edited("qualtrics", tmp_path, edit), mini, SURVEYS / "qualtrics.yaml")
    [error] = answers.errors
    assert (error.candidate_id, error.item_id, error.value) == (
        "R_2mN3bV4cX5zL6kJ",
        "calm3",
        "Sometimes",
    )
    assert "qualtrics.csv row 6, column W ('Q1_6', " in error.message
    assert "I can think clearly under pressure." in error.message  # row 2 text
    assert answers.rejected is not None
    assert answers.rejected.tolist() == [False, False, True]


@pytest.mark.parametrize("cell", ["inf", "nan", "5 - Strongly agree", "N/A"])
def test_non_finite_numbers_and_other_text_are_unknown_labels(
    mini: repprofile.Questionnaire, tmp_path: Path, cell: str
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[1][1] = cell  # Ana, calm1 (Typeform: numbers)

    answers = read_survey(edited("typeform", tmp_path, edit), mini, SURVEYS / "typeform.yaml")
    [error] = answers.errors
    assert (error.candidate_id, error.item_id, error.value) == ("T-101", "calm1", cell)
    assert "row 2, column B" in error.message


# --------------------------------------------------------------------------- mapping vs export


def test_unmapped_column_is_an_input_error_listing_it_and_the_fix(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        for r, row in enumerate(rows):
            row.insert(2, "How long have you worked in customer service?" if r == 0 else "2 years")

    path = edited("google_forms", tmp_path, edit)
    with pytest.raises(repprofile.InputError) as info:
        read_survey(path, mini, SURVEYS / "google_forms.yaml")
    msg = str(info.value)
    assert "google_forms.csv does not match the mapping google_forms.yaml" in msg
    assert "1 column(s) of the export are not in the mapping (header row 1)" in msg
    assert "column C ('How long have you worked in customer service?')" in msg
    assert "'items' (COLUMN HEADER: item_id)" in msg
    assert "'ignore'" in msg


def test_qualtrics_metadata_is_ignored_but_embedded_data_is_not(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        extra = ["source", "source", '{"ImportId":"source"}', "linkedin", "indeed", "linkedin"]
        for row, cell in zip(rows, extra, strict=True):
            row.append(cell)

    with pytest.raises(repprofile.InputError) as info:
        read_survey(edited("qualtrics", tmp_path, edit), mini, SURVEYS / "qualtrics.yaml")
    msg = str(info.value)
    assert "1 column(s) of the export are not in the mapping (header rows 1-3)" in msg
    assert "column Z ('source')" in msg
    for meta in ("StartDate", "IPAddress", "RecipientEmail", "UserLanguage"):
        assert meta not in msg


def test_mapped_column_missing_from_the_export_is_an_input_error(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    data = mapping_of("google_forms")
    data["items"] = {
        (k.replace("raises", "rises") if v == "calm1" else k): v for k, v in data["items"].items()
    }
    with pytest.raises(repprofile.InputError) as info:
        read_survey(SURVEYS / "google_forms.csv", mini, write_mapping(tmp_path, data))
    msg = str(info.value)
    assert "the mapping names column(s) the export does not have" in msg
    assert "item 'calm1': 'I stay calm when a customer rises their voice.'" in msg
    # the real column is then unmapped, and listed both as a hint and as a problem
    assert "C: 'I stay calm when a customer raises their voice.'" in msg
    assert "column C ('I stay calm when a customer raises their voice.')" in msg


def test_questionnaire_item_without_a_column_warns(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    data = mapping_of("google_forms")
    del data["items"]["Winning matters little to me at work."]
    data["ignore"].append("Winning matters little to me at work.")
    with pytest.warns(repprofile.RepprofileWarning, match=r"no column for item\(s\) drive3"):
        answers = read_survey(SURVEYS / "google_forms.csv", mini, write_mapping(tmp_path, data))
    assert np.isnan(answers.values[:, 6]).all()
    np.testing.assert_array_equal(answers.values[:, :6], np.array(EXPECTED)[:, :6])


def test_empty_column_without_header_is_skipped_but_one_with_data_is_not(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def blank(rows: list[list[str]]) -> None:
        for row in rows:
            row.append("")

    answers = read_survey(
        edited("google_forms", tmp_path, blank), mini, SURVEYS / "google_forms.yaml"
    )
    np.testing.assert_array_equal(answers.values, EXPECTED)

    def filled(rows: list[list[str]]) -> None:
        for row in rows:
            row.append("")
        rows[2][-1] = "x"

    path = edited("google_forms", tmp_path, filled)
    with pytest.raises(repprofile.InputError, match=r"column K \(no header\)"):
        read_survey(path, mini, SURVEYS / "google_forms.yaml")


def test_surveymonkey_row_label_shared_by_two_matrices_is_ambiguous(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[0].append("How would your last manager describe you?")
        rows[1].append(TEXTS[5])  # the same row label as calm3
        for row in rows[2:]:
            row.append("Agree")

    path = edited("surveymonkey", tmp_path, edit)
    with pytest.raises(repprofile.InputError, match="matches 2 columns") as info:
        read_survey(path, mini, SURVEYS / "surveymonkey.yaml")
    assert "'QUESTION - ROW LABEL'" in str(info.value)

    data = mapping_of("surveymonkey")
    del data["items"][TEXTS[5]]
    data["items"][f"How well does each statement describe you at work? - {TEXTS[5]}"] = "calm3"
    data["ignore"].append(f"How would your last manager describe you? - {TEXTS[5]}")
    answers = read_survey(path, mini, write_mapping(tmp_path, data))
    np.testing.assert_array_equal(answers.values, EXPECTED)


def test_duplicate_header_in_a_generic_export_is_ambiguous(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[0][9] = TEXTS[0]  # the free-text question now repeats calm1's text

    with pytest.raises(repprofile.InputError, match=r"matches 2 columns \(column C, column J\)"):
        read_survey(edited("google_forms", tmp_path, edit), mini, SURVEYS / "google_forms.yaml")


# --------------------------------------------------------------------------- layouts


@pytest.mark.parametrize(
    ("tool", "hint"),
    [("qualtrics", "--from qualtrics"), ("surveymonkey", "--from surveymonkey")],
)
def test_multi_header_export_read_as_generic_says_how_to_read_it(
    mini: repprofile.Questionnaire, tool: str, hint: str
) -> None:
    with pytest.raises(repprofile.InputError, match=hint):
        read(tool, mini, kind="generic")


def test_one_header_export_read_as_qualtrics_or_surveymonkey(
    mini: repprofile.Questionnaire,
) -> None:
    path, mapping = SURVEYS / "google_forms.csv", SURVEYS / "google_forms.yaml"
    with pytest.raises(repprofile.InputError, match="ImportIds such as"):
        read_survey(path, mini, mapping, "qualtrics")
    with pytest.raises(repprofile.InputError, match="row 2 starts with '2024/03/05"):
        read_survey(path, mini, mapping, "surveymonkey")
    with pytest.raises(repprofile.InputError, match="must be one of generic, surveymonkey"):
        read_survey(path, mini, mapping, "excel")


def test_kind_overrides_the_mapping_format(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    data = mapping_of("surveymonkey")
    del data["format"]  # generic by default
    mapping = write_mapping(tmp_path, data)
    with pytest.raises(repprofile.InputError, match="--from surveymonkey"):
        read_survey(SURVEYS / "surveymonkey.csv", mini, mapping)
    answers = read_survey(SURVEYS / "surveymonkey.csv", mini, mapping, "surveymonkey")
    np.testing.assert_array_equal(answers.values, EXPECTED)


def test_qualtrics_candidate_id_and_seconds_can_be_other_columns(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    data = mapping_of("qualtrics")
    data.update(candidate_id="RecordedDate", started="StartDate", submitted="EndDate")
    answers = read_survey(SURVEYS / "qualtrics.csv", mini, write_mapping(tmp_path, data))
    assert answers.candidate_ids()[0] == "2024-03-05 09:05:06"
    assert answers.seconds is not None
    np.testing.assert_array_equal(answers.seconds, [305, 198, 412])  # 5:05, 3:18, 6:52


# --------------------------------------------------------------------------- seconds


def test_bad_or_reversed_timestamps_reject_that_candidate(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[2][10] = "2024-03-05 11:00:00"  # Ben submitted before he started
        rows[3][9] = "yesterday"  # Cleo's start
        rows[1][9] = ""  # Ana's start unknown: seconds unknown, not an error

    answers = read_survey(edited("typeform", tmp_path, edit), mini, SURVEYS / "typeform.yaml")
    assert answers.seconds is not None
    assert np.isnan(answers.seconds).all()
    assert answers.rejected is not None
    assert answers.rejected.tolist() == [False, True, True]
    ben, cleo = answers.errors
    assert ben.candidate_id == "T-102"
    assert "row 3, column K ('Submitted At')" in ben.message
    assert "is before started '2024-03-05 11:20:10'" in ben.message
    assert cleo.candidate_id == "T-103"
    assert "row 4, column J ('Start Date (UTC)'): 'yesterday' is not a timestamp" in cleo.message
    assert "time_format" in cleo.message


def test_time_format_reads_day_first_timestamps(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[3][1:3] = ["13/3/24 23:58:30", "14/3/24 0:03:10"]  # Cleo, day first

    path = edited("microsoft_forms", tmp_path, edit)
    month_first = read_survey(path, mini, SURVEYS / "microsoft_forms.yaml")
    assert month_first.rejected is not None
    assert month_first.rejected.tolist() == [False, False, True]  # there is no month 13
    assert "'13/3/24 23:58:30' is not a timestamp" in month_first.errors[0].message
    data = mapping_of("microsoft_forms")
    data["time_format"] = "%d/%m/%y %H:%M:%S"
    day_first = read_survey(path, mini, write_mapping(tmp_path, data))
    # Ana's and Ben's 3/5/24 now read as 3 May; both ends alike, so the same differences
    assert day_first.seconds is not None
    np.testing.assert_array_equal(day_first.seconds, [269, 125, 280])
    assert day_first.errors == []


def test_seconds_column_must_hold_non_negative_numbers(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[3][5] = "-5"  # Ana's Duration (in seconds)
        rows[4][5] = ""  # Ben's: unknown

    answers = read_survey(edited("qualtrics", tmp_path, edit), mini, SURVEYS / "qualtrics.yaml")
    assert answers.seconds is not None
    np.testing.assert_array_equal(answers.seconds, [NAN, NAN, 412])
    [error] = answers.errors
    assert error.candidate_id == "R_1a2B3c4D5e6F7g8"
    assert "row 4, column F ('Duration (in seconds)'): '-5' is not a number of seconds" in (
        error.message
    )


# --------------------------------------------------------------------------- ids and rows


def test_empty_and_repeated_ids_and_ragged_rows_are_rejected(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    def edit(rows: list[list[str]]) -> None:
        rows[1][1] = ""  # Ana: no email
        rows[3][1] = "ben@example.com"  # Cleo uses Ben's email
        rows.append(["2024/03/07 1:00:00 PM GMT+1", "dan@example.com", "Agree"])  # cut off
        rows.append([""] * 10)  # a blank row is skipped

    answers = read_survey(
        edited("google_forms", tmp_path, edit), mini, SURVEYS / "google_forms.yaml"
    )
    assert answers.candidate_ids() == (
        "#2",
        "ben@example.com",
        "ben@example.com",
        "dan@example.com",
    )
    assert answers.rejected is not None
    assert answers.rejected.tolist() == [True, True, True, True]
    messages = [e.message for e in answers.errors]
    assert "google_forms.csv row 2: column B ('Email Address') is empty" in messages[0]
    assert answers.errors[0].candidate_id is None
    assert "row 5 has 3 fields; the header has 10" in messages[1]
    assert "'ben@example.com' appears 2 times (rows 3, 4)" in messages[2]


# --------------------------------------------------------------------------- mapping file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "a mapping file must be a mapping"),
        ("questionnaire: mini-survey\ncandidate_id: E\n", "items: required field is missing"),
        (
            "questionnaire: mini-survey\nitems: {A: calm1}\nitem: {B: calm2}\n",
            "item: unknown field; expected one of questionnaire, format",
        ),
        ("questionnaire: mini-survey\nitems: {}\n", "expected at least one"),
        (
            "questionnaire: mini-survey\nitems: {A: calm1, B: calm1}\n",
            "item 'calm1' is mapped from 2 columns ('A', 'B')",
        ),
        (
            "questionnaire: mini-survey\nitems: {A: calm1}\nignore: [' A ']\n",
            "column ' A ' is also named by items['A']",
        ),
        (
            "questionnaire: mini-survey\nitems: {A: calm1}\nseconds: S\nstarted: T\nsubmitted: U\n",
            "not both",
        ),
        ("questionnaire: mini-survey\nitems: {A: calm1}\nstarted: T\n", "got only one"),
        (
            "questionnaire: mini-survey\nitems: {A: calm1}\nlabels: {Agree: yes}\n",
            "expected answer label -> number",
        ),
        (
            "questionnaire: mini-survey\nitems: {A: calm1}\nlabels: {Agree: 4, ' agree': 4}\n",
            "differ only in case or spaces",
        ),
        (
            "questionnaire: mini-survey\nitems: {A: calm1}\nformat: excel\n",
            "format: Input should be 'generic', 'surveymonkey' or 'qualtrics'",
        ),
        ("questionnaire: mini-survey\nitems: {A: calm1}\nitems: {B: calm2}\n", "appears twice"),
        ("questionnaire: mini-survey\nitems: {1: calm1}\n", "items[1] (key)"),
        ("questionnaire: [\n", "not valid YAML"),
    ],
)
def test_invalid_mapping_file_is_an_input_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(repprofile.InputError) as info:
        load_mapping(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"questionnaire": "rep-types"}, "is for questionnaire 'rep-types'"),
        ({"items": {"A": "calm9"}}, "'A': 'calm9' name no item of 'mini-survey'"),
        ({"labels": {"Agree": 7}}, "'Agree' is 7; expected a whole number from 1 to 5"),
        ({"labels": {"Agree": 3.5}}, "'Agree' is 3.5; expected a whole number"),
        ({"candidate_id": None}, "candidate_id: required field is missing"),
    ],
)
def test_mapping_that_does_not_fit_the_questionnaire(
    mini: repprofile.Questionnaire, tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    data = mapping_of("google_forms")
    data.update(change)
    if data["candidate_id"] is None:
        del data["candidate_id"]
    with pytest.raises(repprofile.InputError, match=r"google_forms.yaml|mapping.yaml") as info:
        read_survey(SURVEYS / "google_forms.csv", mini, write_mapping(tmp_path, data))
    assert expected in str(info.value)


def test_missing_files_and_excel_workbooks(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    mapping = SURVEYS / "google_forms.yaml"
    with pytest.raises(repprofile.InputError, match="no such mapping file"):
        read_survey(SURVEYS / "google_forms.csv", mini, tmp_path / "none.yaml")
    with pytest.raises(repprofile.InputError, match="no such survey export file"):
        read_survey(tmp_path / "none.csv", mini, mapping)
    with pytest.raises(repprofile.InputError, match="no such survey export file"):
        read_survey(tmp_path / "results.xlsx", mini, mapping)
    with pytest.raises(repprofile.InputError, match="save it as 'CSV UTF-8'"):
        read_survey(tmp_path / "results.xls", mini, mapping)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("Timestamp,Email Address\nx,caf\xe9\n".encode("latin-1"))
    with pytest.raises(repprofile.InputError, match="not UTF-8 text"):
        read_survey(latin, mini, mapping)
    semi = tmp_path / "semi.csv"
    semi.write_text("Timestamp;Email Address\nx;y\n", "utf-8")
    # read as two columns (the delimiter is sniffed); the mapped questions are missing
    with pytest.raises(repprofile.InputError, match="the export does not have") as caught:
        read_survey(semi, mini, mapping)
    assert "semicolon" not in str(caught.value)


def test_export_from_stdin(mini: repprofile.Questionnaire, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (SURVEYS / "typeform.csv").read_text("utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    answers = read_survey("-", mini, SURVEYS / "typeform.yaml")
    np.testing.assert_array_equal(answers.values, EXPECTED)


# --------------------------------------------------------------------------- templates


def test_csv_template_header(mini: repprofile.Questionnaire) -> None:
    assert answer_template(mini, "csv") == (
        "candidate_id,calm1,drive1,calm2,drive2,att1,calm3,drive3\n"
    )


def test_csv_template_reads_back_as_answers(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(answer_template(mini, "csv") + "c1,5,2,1,3,2,4,4\n", "utf-8")
    answers = repprofile.read_answers(path, mini)
    np.testing.assert_array_equal(answers.values, [EXPECTED[0]])


def test_markdown_form(mini: repprofile.Questionnaire) -> None:
    md = answer_template(mini, "md")
    assert md.startswith("# Mini Service Survey\n")
    assert mini.instructions is not None
    assert mini.instructions in md
    for n, text in enumerate(TEXTS, start=1):
        assert f"\n{n}. {text}\n" in md
    for label in LABELS:
        assert md.count(f"   - [ ] {label}\n") == len(TEXTS)
    assert md.count("- [ ]") == 5 * len(TEXTS)
    for hidden in ("calm1", "att1", "attention", "Calm", "scale", "keyed"):
        assert hidden not in md  # no item ids, scales or attention marks


def test_markdown_escapes_markup(tmp_path: Path) -> None:
    q = repprofile.load_questionnaire(write_questionnaire(tmp_path, "I *never* use [links]"))
    md = answer_template(q, "md")
    assert r"1. I \*never\* use \[links\]" in md


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_form_is_self_contained(mini: repprofile.Questionnaire) -> None:
    page = answer_template(mini, "html")
    parser = _Tags()
    parser.feed(page)
    tags = [t for t, _ in parser.tags]
    attrs = [a for _, attrs in parser.tags for a in attrs]
    assert "src" not in attrs
    assert "href" not in attrs
    for external in ("script", "link", "img", "iframe", "object", "embed"):
        assert external not in tags
    assert "url(" not in page
    assert "@import" not in page
    assert "http" not in page
    assert "<title>Mini Service Survey</title>" in page
    for text in TEXTS:
        assert html.escape(text) in page
    for label in LABELS:
        assert f"<th>{label}</th>" in page
    radios = [a for t, a in parser.tags if t == "input"]
    assert len(radios) == 5 * len(TEXTS)
    assert {a["value"] for a in radios} == {"1", "2", "3", "4", "5"}
    for hidden in ("calm1", "drive3", "att1", "attention", "keyed"):
        assert hidden not in page  # no item ids or attention marks


def write_questionnaire(tmp_path: Path, text: str, scale: str = "{min: 1, max: 5}") -> Path:
    path = tmp_path / "q.yaml"
    path.write_text(
        f"""\
id: t
version: "1"
title: T
response_scale: {scale}
scales: [{{id: s, name: S}}]
items:
  - {{id: i1, text: {text!r}, scale: s}}
  - {{id: i2, text: Second, scale: s}}
""",
        "utf-8",
    )
    return path


def test_forms_of_unlabelled_and_slider_scales(tmp_path: Path) -> None:
    partly = repprofile.load_questionnaire(
        write_questionnaire(tmp_path, "First", "{min: 1, max: 3, labels: {1: Never}}")
    )
    md = answer_template(partly, "md")
    assert "   - [ ] 1 (Never)\n   - [ ] 2\n   - [ ] 3\n" in md
    assert "<th>1 (Never)</th>\n<th>2</th>\n<th>3</th>\n" in answer_template(partly, "html")
    slider = repprofile.load_questionnaire(
        write_questionnaire(tmp_path, "First", "{min: 0, max: 100, integers: false}")
    )
    md = answer_template(slider, "md")
    assert "   Answer (a number from 0 to 100): __________" in md
    assert "- [ ]" not in md
    page = answer_template(slider, "html")
    assert "<th>Answer (a number from 0 to 100)</th>" in page
    assert "<input" not in page


def test_unknown_template_format(mini: repprofile.Questionnaire) -> None:
    with pytest.raises(repprofile.InputError, match="must be one of csv, md, html"):
        answer_template(mini, "pdf")


# --------------------------------------------------------------------------- CLI wiring


def parser() -> argparse.ArgumentParser:
    """The wiring build_parser gets: questionnaire template, score --mapping/--from."""
    p = argparse.ArgumentParser(prog="repprofile")
    sub = p.add_subparsers(dest="command")
    qsub = sub.add_parser("questionnaire").add_subparsers(dest="qcommand")
    add_template_parser(qsub)
    score = sub.add_parser("score")
    score.add_argument("answers")
    score.add_argument("-q", "--questionnaire", default="rep-types")
    add_survey_options(score)
    return p


@pytest.mark.parametrize("fmt", ["csv", "md", "html"])
def test_template_command(
    mini: repprofile.Questionnaire, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    q = str(SURVEYS / "mini.yaml")
    args = parser().parse_args(["questionnaire", "template", q, "--format", fmt])
    assert args.func(args) == 0
    assert capsys.readouterr().out == answer_template(mini, fmt)
    out = tmp_path / f"form.{fmt}"
    args = parser().parse_args(["questionnaire", "template", q, "--format", fmt, "-o", str(out)])
    assert args.func(args) == 0
    assert out.read_text("utf-8") == answer_template(mini, fmt)
    assert capsys.readouterr().out == ""


def test_template_command_defaults_to_csv(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["questionnaire", "template", str(SURVEYS / "mini.yaml")])
    assert args.func(args) == 0
    assert capsys.readouterr().out.startswith("candidate_id,calm1,")


def test_score_options(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    export = str(SURVEYS / "surveymonkey.csv")
    mapping = str(SURVEYS / "surveymonkey.yaml")
    args = parser().parse_args(["score", export, "--mapping", mapping, "--from", "surveymonkey"])
    np.testing.assert_array_equal(read_cli_answers(args, mini).values, EXPECTED)
    args = parser().parse_args(["score", export, "--mapping", mapping])
    np.testing.assert_array_equal(read_cli_answers(args, mini).values, EXPECTED)

    plain = tmp_path / "answers.csv"
    plain.write_text("candidate_id,calm1\nc1,4\n", "utf-8")
    args = parser().parse_args(["score", str(plain)])
    with pytest.warns(repprofile.RepprofileWarning):
        assert read_cli_answers(args, mini).values[0, 0] == 4

    args = parser().parse_args(["score", export, "--from", "qualtrics"])
    with pytest.raises(repprofile.InputError, match="--from qualtrics needs --mapping FILE"):
        read_cli_answers(args, mini)
    with pytest.raises(SystemExit):
        parser().parse_args(["score", export, "--mapping", mapping, "--from", "excel"])


def test_importing_the_module_stays_light() -> None:
    code = (
        "import sys, repprofile._input.survey, repprofile._input.templates; "
        "print(sorted(m for m in ('numpy', 'pydantic', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
