"""Files as a recruiter has them (issue 14, item 4): semicolons and tabs with decimal
commas, UTF-8 with a BOM, UTF-16, Windows-1252, .xlsx, response labels in a plain CSV,
ten problems per candidate at most, ``(blank id)`` and counts of candidates.

Expected scores are worked out by hand from the questionnaire below: scale alpha is
a1 + (6 - a2) + a3 (a2 reverse-keyed), beta is b1 + b2 + (6 - b3).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import repprofile
from repprofile._input.survey import read_survey  # public in item 2 of issue 14
from repprofile.cli import main

LABELLED_YAML = """\
id: labelled
version: "1.0"
title: Labelled
response_scale:
  min: 1
  max: 5
  integers: {integers}
  labels: {{1: Strongly disagree, 2: Disagree, 3: Neither agree nor disagree, 4: Agree,
           5: Strongly agree}}
scales:
  - {{id: alpha, name: Alpha}}
  - {{id: beta, name: Beta}}
items:
  - {{id: a1, text: A1, scale: alpha}}
  - {{id: a2, text: A2, scale: alpha, keyed: -1}}
  - {{id: a3, text: A3, scale: alpha}}
  - {{id: b1, text: B1, scale: beta}}
  - {{id: b2, text: B2, scale: beta}}
  - {{id: b3, text: B3, scale: beta, keyed: -1}}
"""

# 15 items on one scale: enough for more than ten problems per candidate.
WIDE_ITEMS = [f"i{k:02d}" for k in range(1, 16)]
WIDE_YAML = (
    'id: wide\nversion: "1.0"\ntitle: Wide\nresponse_scale: {min: 1, max: 5}\n'
    "scales:\n  - {id: s, name: S}\nitems:\n"
    + "".join(f"  - {{id: {i}, text: Question {i}, scale: s}}\n" for i in WIDE_ITEMS)
)

HEADER = ["candidate_id", "a1", "a2", "a3", "b1", "b2", "b3"]


@pytest.fixture(scope="module")
def qdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("q")
    (d / "labelled.yaml").write_text(LABELLED_YAML.format(integers="true"), "utf-8")
    (d / "decimal.yaml").write_text(LABELLED_YAML.format(integers="false"), "utf-8")
    (d / "wide.yaml").write_text(WIDE_YAML, "utf-8")
    return d


@pytest.fixture(scope="module")
def labelled(qdir: Path) -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(qdir / "labelled.yaml")


@pytest.fixture(scope="module")
def decimal(qdir: Path) -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(qdir / "decimal.yaml")


@pytest.fixture(scope="module")
def wide(qdir: Path) -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(qdir / "wide.yaml")


def lines(*rows: list[str], sep: str = ",") -> str:
    return "".join(sep.join(r) + "\n" for r in rows)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------------- 1. delimiters


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_files_with_decimal_commas_are_read(
    decimal: repprofile.Questionnaire, tmp_path: Path, sep: str
) -> None:
    text = lines(
        HEADER,
        ["c1", "5", "1", "4", "2", "3", "3"],
        ["c2", "3,5", "2", "4", "1", "5", "2,5"],
        sep=sep,
    )
    path = tmp_path / "answers.csv"
    path.write_text(text, "utf-8")
    result = repprofile.score(decimal, path)
    assert result.errors == []
    # c1: alpha 5 + (6-1) + 4 = 14, beta 2 + 3 + (6-3) = 8
    # c2: alpha 3.5 + (6-2) + 4 = 11.5, beta 1 + 5 + (6-2.5) = 9.5
    np.testing.assert_array_equal(result.raw, [[14.0, 8.0], [11.5, 9.5]])


def test_a_comma_file_keeps_a_decimal_comma_as_an_error(
    decimal: repprofile.Questionnaire, tmp_path: Path
) -> None:
    # with "," as the separator a quoted "3,5" is not the number 3.5
    path = tmp_path / "comma.csv"
    path.write_text(lines(HEADER, ["c1", '"3,5"', "2", "4", "1", "5", "2"]), "utf-8")
    result = repprofile.score(decimal, path)
    [error] = result.errors
    assert "row 2, column B ('a1'): answer '3,5' to item 'a1' is not a number" in error.message


def test_commas_in_the_headers_of_a_semicolon_file_do_not_fool_the_sniffing(
    tmp_path: Path,
) -> None:
    # Excel quotes only cells holding ";", so the question texts' commas are bare
    surveys = Path(__file__).parent / "data" / "surveys"
    mini = repprofile.load_questionnaire(surveys / "mini.yaml")
    export = tmp_path / "export.csv"
    export.write_text(
        "Email;When a customer shouts, I stay calm;Closing fast, I win\n"
        "ana@example.com;Agree;Strongly agree\n"
        "ben@example.com;Disagree;3\n",
        "utf-8",
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "questionnaire: mini-survey\ncandidate_id: Email\nitems:\n"
        '  "When a customer shouts, I stay calm": calm1\n'
        '  "Closing fast, I win": drive1\n',
        "utf-8",
    )
    with pytest.warns(repprofile.RepprofileWarning, match="no column for item"):
        answers = read_survey(export, mini, mapping)
    assert answers.errors == []
    j = [mini.item_ids.index("calm1"), mini.item_ids.index("drive1")]
    np.testing.assert_array_equal(answers.values[:, j], [[4.0, 5.0], [2.0, 3.0]])


def test_a_semicolon_survey_export_is_read(tmp_path: Path) -> None:
    surveys = Path(__file__).parent / "data" / "surveys"
    mini = repprofile.load_questionnaire(surveys / "mini.yaml")
    text = (surveys / "google_forms.csv").read_text("utf-8-sig")
    import csv

    rows = list(csv.reader(io.StringIO(text, newline="")))
    path = tmp_path / "semi.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    answers = read_survey(path, mini, surveys / "google_forms.yaml")
    expected = read_survey(surveys / "google_forms.csv", mini, surveys / "google_forms.yaml")
    np.testing.assert_array_equal(answers.values, expected.values)
    assert answers.errors == expected.errors


# --------------------------------------------------------------------------- 2. encodings


ZOE_TEXT = lines(
    HEADER, ["anna", "5", "1", "4", "2", "3", "3"], ["Zoë", "1", "5", "2", "4", "4", "1"]
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_utf8_with_or_without_bom_and_utf16_are_read(
    labelled: repprofile.Questionnaire, tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes(ZOE_TEXT.encode(encoding))
    result = repprofile.score(labelled, path)
    assert result.candidate_ids == ("anna", "Zoë")
    # Zoë: alpha 1 + (6-5) + 2 = 4, beta 4 + 4 + (6-1) = 13
    np.testing.assert_array_equal(result.raw, [[14.0, 8.0], [4.0, 13.0]])


def test_windows_1252_file_gets_a_clear_message_and_reads_with_encoding(
    labelled: repprofile.Questionnaire, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "zoe.csv"
    data = ZOE_TEXT.encode("cp1252")
    path.write_bytes(data)
    offset = data.index(b"\xeb")  # the "ë" of Zoë, on line 3
    with pytest.raises(repprofile.InputError) as info:
        repprofile.read_answers(path, labelled)
    message = str(info.value)
    assert message.startswith(
        f"zoe.csv: not UTF-8 text: byte 0xeb at byte offset {offset} (line 3) cannot be decoded"
    )
    assert "save it as 'CSV UTF-8' in Excel" in message
    assert "pass --encoding cp1252 (encoding='cp1252' in Python)" in message

    answers = repprofile.read_answers(path, labelled, encoding="cp1252")
    assert answers.candidate_ids() == ("anna", "Zoë")

    q = str(tmp_path / "q.yaml")
    Path(q).write_text(LABELLED_YAML.format(integers="true"), "utf-8")
    code, _, err = run_cli(["score", str(path), "-q", q, "--format", "csv"], capsys)
    assert code == 2
    assert "not UTF-8 text: byte 0xeb" in err
    assert "Traceback" not in err
    for fmt in ("csv", "ndjson"):
        code, out, err = run_cli(
            ["score", str(path), "-q", q, "--format", fmt, "--encoding", "cp1252"], capsys
        )
        assert code == 0, err
        assert "Zoë" in out
    code, _, err = run_cli(["score", str(path), "-q", q, "--format", "ndjson"], capsys)
    assert code == 2
    assert f"byte offset {offset} (line 3)" in err


def test_windows_1252_survey_export(tmp_path: Path) -> None:
    surveys = Path(__file__).parent / "data" / "surveys"
    mini = repprofile.load_questionnaire(surveys / "mini.yaml")
    text = (surveys / "google_forms.csv").read_text("utf-8-sig").replace("ana@", "zoë@")
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("cp1252"))
    mapping = surveys / "google_forms.yaml"
    with pytest.raises(repprofile.InputError, match=r"export\.csv: not UTF-8 text: byte 0xeb"):
        read_survey(path, mini, mapping)
    answers = read_survey(path, mini, mapping, encoding="cp1252")
    assert answers.candidate_ids()[0] == "zoë@example.com"


def test_an_unknown_encoding_name_is_an_input_error(
    labelled: repprofile.Questionnaire, tmp_path: Path
) -> None:
    path = tmp_path / "a.csv"
    path.write_text(ZOE_TEXT, "utf-8")
    with pytest.raises(repprofile.InputError, match="unknown encoding 'latin-9x'"):
        repprofile.read_answers(path, labelled, encoding="latin-9x")


# --------------------------------------------------------------------------- 3. workbooks


def test_xlsx_first_sheet_is_read_like_csv(
    labelled: repprofile.Questionnaire, tmp_path: Path
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["anna", 5, 1, 4, 2, 3, 3])
    sheet.append([1234, "Strongly disagree", 5, 2, 4, "agree", None])  # a numeric id
    book.create_sheet("Notes").append(["not", "read"])
    path = tmp_path / "answers.xlsx"
    book.save(path)
    result = repprofile.score(labelled, path)
    assert result.errors == []
    assert result.candidate_ids == ("anna", "1234")
    # 1234: alpha 1 + (6-5) + 2 = 4; beta 4 + 4 + missing b3 (NaN raw)
    np.testing.assert_array_equal(result.raw[0], [14.0, 8.0])
    assert result.raw[1][0] == 4.0


def test_xlsx_without_openpyxl_is_refused_with_advice(
    labelled: repprofile.Questionnaire, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl fails
    path = tmp_path / "answers.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(repprofile.InputError) as info:
        repprofile.read_answers(path, labelled)
    message = str(info.value)
    assert "reading an .xlsx workbook needs the optional package openpyxl" in message
    assert "install repprofile[xlsx]" in message
    assert "or save the sheet as 'CSV UTF-8'" in message


@pytest.mark.parametrize(
    ("suffix", "kind"), [(".xls", "an Excel 97-2003 workbook"), (".ods", "an OpenDocument")]
)
def test_xls_and_ods_are_refused_with_save_as_csv_advice(
    labelled: repprofile.Questionnaire, tmp_path: Path, suffix: str, kind: str
) -> None:
    path = tmp_path / f"answers{suffix}"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(repprofile.InputError) as info:
        repprofile.read_answers(path, labelled)
    assert kind in str(info.value)
    assert "save it as 'CSV UTF-8'" in str(info.value)


# --------------------------------------------------------------------------- 4. labels


def test_response_labels_in_a_plain_csv_are_read(
    labelled: repprofile.Questionnaire, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        lines(
            HEADER,
            ["c1", "Strongly agree", "strongly  DISAGREE", " Agree ", "Disagree", "3", "3"],
        ),
        "utf-8",
    )
    result = repprofile.score(labelled, path)
    assert result.errors == []
    np.testing.assert_array_equal(result.raw, [[14.0, 8.0]])  # as 5, 1, 4, 2, 3, 3


def test_unknown_labels_give_one_message_per_candidate(
    labelled: repprofile.Questionnaire, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        lines(
            HEADER,
            ["ok", "5", "1", "4", "2", "3", "3"],
            ["bad", "5", "Sort of agree", "4", "Mostly", "Agree", "Never"],
        ),
        "utf-8",
    )
    result = repprofile.score(labelled, path)
    assert result.scored.tolist() == [True, False]
    [error] = result.errors  # one for the candidate, not one per cell
    assert (error.candidate_id, error.item_id, error.value) == ("bad", "a2", "Sort of agree")
    message = error.message
    assert message.startswith(
        "labels.csv row 3, column C ('a2'): answer 'Sort of agree' to item 'a2' is not a "
        "number or a response label; expected a whole number from 1 to 5"
    )
    assert "(labels 'Strongly disagree', 'Disagree', 'Neither agree nor disagree'" in message
    assert "2 more answer(s) of this candidate are not numbers: b1, b3" in message
    assert "read it with --mapping FILE" in message


# --------------------------------------------------------------------------- 5. cap, ids


def test_cap_of_ten_problems_per_candidate_in_a_csv(
    wide: repprofile.Questionnaire, tmp_path: Path
) -> None:
    path = tmp_path / "wide.csv"
    rows = [["candidate_id", *WIDE_ITEMS]] + [[f"c{k}"] + ["9"] * 15 for k in (1, 2, 3)]
    path.write_text(lines(*rows), "utf-8")
    result = repprofile.score(wide, path)
    assert len(result.errors) == 3 * 11  # 10 listed + 1 counted line each, not 45
    for k in (1, 2, 3):
        mine = [e for e in result.errors if e.candidate_id == f"c{k}"]
        assert [e.item_id for e in mine] == [*WIDE_ITEMS[:10], None]
        assert mine[-1].message.startswith("and 5 more problem(s) with this candidate's answers")


def test_cap_applies_to_a_survey_export(wide: repprofile.Questionnaire, tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        lines(
            ["Email", *[f"Question {i}" for i in WIDE_ITEMS]], ["x@example.com"] + ["Maybe"] * 15
        ),
        "utf-8",
    )
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "questionnaire: wide\ncandidate_id: Email\nitems:\n"
        + "".join(f"  Question {i}: {i}\n" for i in WIDE_ITEMS)
        + "labels: {Never: 1, Always: 5}\n",
        "utf-8",
    )
    answers = read_survey(export, wide, mapping)
    assert len(answers.errors) == 11
    assert "row 2, column B ('Question i01'): answer 'Maybe' to item 'i01'" in (
        answers.errors[0].message
    )
    assert answers.errors[-1].message.startswith("and 5 more problem(s)")


def test_cap_applies_to_json_with_reading_and_scale_problems_together(
    wide: repprofile.Questionnaire, tmp_path: Path
) -> None:
    # 6 answers that are not numbers (read) + 9 outside the scale (scored) = 15
    answers = {i: ("x" if k < 6 else 9) for k, i in enumerate(WIDE_ITEMS)}
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"candidate_id": "j", "answers": answers}]), "utf-8")
    result = repprofile.score(wide, path)
    assert len(result.errors) == 11
    assert result.errors[-1].message.startswith("and 5 more problem(s)")


def test_stderr_is_capped_blank_ids_named_and_candidates_counted(
    wide: repprofile.Questionnaire, qdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = ["3"] * 15
    rows = [
        ["candidate_id", *WIDE_ITEMS],
        ["a", *good],  # row 2
        ["b", *good],  # row 3
        ["a", *good],  # row 4: a repeated id, one candidate
        ["", *good],  # row 5: a blank id
        ["c", *(["9"] * 15)],  # row 6: 15 problems
        ["d", *good],  # row 7
    ]
    path = tmp_path / "batch.csv"
    path.write_text(lines(*rows), "utf-8")
    code, _, err = run_cli(
        ["score", str(path), "-q", str(qdir / "wide.yaml"), "--format", "csv"], capsys
    )
    assert code == 1
    warnings = err.splitlines()
    assert "repprofile: warning: (blank id), row 5 rejected: batch.csv row 5 has an empty" in err
    assert "candidate None" not in err
    about_c = [w for w in warnings if "'c'" in w]
    assert len(about_c) == 11
    assert about_c[-1] == "repprofile: warning: ... and 5 more problems for candidate 'c'"
    # candidates: a (twice), b, (blank), c, d = 5; rejected: a, (blank), c = 3
    assert "repprofile: 3 of 5 candidates rejected" in err


def test_ndjson_summary_counts_candidates(
    wide: repprofile.Questionnaire, qdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = ["3"] * 15
    rows = [["candidate_id", *WIDE_ITEMS], ["a", *good], ["b", *good], ["a", *good]]
    path = tmp_path / "dup.csv"
    path.write_text(lines(*rows, sep=";"), "utf-8")
    code, out, err = run_cli(
        ["score", str(path), "-q", str(qdir / "wide.yaml"), "--format", "ndjson"], capsys
    )
    assert code == 1
    assert json.loads(out.splitlines()[-1])["summary"]["rejected"] == 1
    assert "repprofile: 1 of 2 candidates rejected" in err
