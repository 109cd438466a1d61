"""Black-box tests of issue 14, items 2, 5 and 6, written from the issue text and the
user documentation only (docs/answers-input.md, docs/audit.md, docs/completion.md,
docs/scoring.md, docs/cli.md, README.md), not from the implementation.

Every expected value is worked out by hand from the documented formulas:
keyed answer = x for keyed +1 and min + max - x for keyed -1; mean = raw / n;
POMP = 100 (raw - min n) / (n (max - min)) (docs/scoring.md).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

import repprofile

ROOT = Path(__file__).resolve().parents[1]
GF = ROOT / "docs" / "examples" / "google-forms"
EXPORT = GF / "responses.csv"
MAPPING = GF / "mapping.yaml"
LABELS = {
    "strongly disagree": 1,
    "disagree": 2,
    "neither agree nor disagree": 3,
    "agree": 4,
    "strongly agree": 5,
}
LABEL_OF = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
}
TRAITS = [
    "accommodator",
    "competitor",
    "controller",
    "empathizer",
    "hard_worker",
    "innovator",
    "rock",
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _exe() -> list[str]:
    found = shutil.which("repprofile", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "repprofile"]


def run(
    *args: Any, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The command line, run in this process (the entry point ``repprofile`` calls, with
    its own standard streams and folder) to keep the file fast; the commands that must
    be separate processes (``python -m``, the terminal assessment, shells) use
    subprocess directly."""
    import contextlib
    import io

    from repprofile.cli import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    old_cwd = Path.cwd()
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode("utf-8")), encoding="utf-8")
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdin = old_stdin
        os.chdir(old_cwd)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def qjson() -> dict[str, Any]:
    r = run("questionnaire", "show", "rep-types", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


@pytest.fixture(scope="module")
def items(qjson: dict[str, Any]) -> list[dict[str, Any]]:
    return [it for it in qjson["items"]]


def keyed_value(item: dict[str, Any], x: float) -> float:
    return x if item["keyed"] == 1 else 1 + 5 - x


def expected_trait_means(items: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, float]:
    """Mean per trait scale by hand (docs/scoring.md), over answered items."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for it in items:
        if it.get("scale") in TRAITS and it["id"] in answers and answers[it["id"]] is not None:
            sums[it["scale"]] = sums.get(it["scale"], 0.0) + keyed_value(it, answers[it["id"]])
            counts[it["scale"]] = counts.get(it["scale"], 0) + 1
    return {s: sums[s] / counts[s] for s in sums}


def write_wide(
    path: Path, items: list[dict[str, Any]], rows: list[tuple[str, dict[str, Any]]]
) -> None:
    ids = [it["id"] for it in items]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["candidate_id", *ids])
        for cid, ans in rows:
            w.writerow([cid, *["" if ans.get(i) is None else ans[i] for i in ids]])


def constant(items: list[dict[str, Any]], v: int) -> dict[str, int]:
    return {it["id"]: v for it in items}


def score_json(*args: Any) -> dict[str, Any]:
    r = run("score", *args, "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def means_of(doc: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {
        p["candidate_id"]: {s: v["mean"] for s, v in p["scales"].items()} for p in doc["profiles"]
    }


def _doc(res: Any) -> dict[str, Any]:
    d = res.to_json()
    doc: dict[str, Any] = json.loads(d) if isinstance(d, str) else d
    return doc


def read_export() -> tuple[list[str], list[list[str]]]:
    with EXPORT.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


# --------------------------------------------------------------------------- item 2


def test_template_mapping_lists_every_item_text(items: list[dict[str, Any]]) -> None:
    r = run("questionnaire", "template", "rep-types", "--format", "mapping")
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(r.stdout)
    assert doc["questionnaire"] == "rep-types"
    assert doc["candidate_id"] == "Email Address"
    assert "Timestamp" in doc["ignore"]
    assert {k.lower(): v for k, v in doc["labels"].items()} == LABELS
    # every statement of the questionnaire, word for word, with its item id
    assert doc["items"] == {it["text"]: it["id"] for it in items}
    assert len(doc["items"]) == 80
    assert len(re.findall(r"^# CHECK", r.stdout, flags=re.M)) == 3


def test_template_plus_comment_box_equals_finished_example_mapping(tmp_path: Path) -> None:
    r = run(
        "questionnaire", "template", "rep-types", "--format", "mapping", "-o", tmp_path / "m.yaml"
    )
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load((tmp_path / "m.yaml").read_text(encoding="utf-8"))
    doc["ignore"].append("Anything else you would like us to know?")
    (tmp_path / "m2.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    a = run("convert", EXPORT, "--mapping", tmp_path / "m2.yaml", "-o", tmp_path / "a.csv")
    b = run("convert", EXPORT, "--mapping", MAPPING, "-o", tmp_path / "b.csv")
    assert a.returncode == 0, a.stderr
    assert b.returncode == 0, b.stderr
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == (tmp_path / "b.csv").read_text(
        encoding="utf-8"
    )


def test_template_mapping_without_comment_box_ignore_names_the_column(tmp_path: Path) -> None:
    r = run(
        "questionnaire", "template", "rep-types", "--format", "mapping", "-o", tmp_path / "m.yaml"
    )
    assert r.returncode == 0
    c = run("convert", EXPORT, "--mapping", tmp_path / "m.yaml", "-o", tmp_path / "a.csv")
    assert c.returncode != 0
    assert "Anything else you would like us to know?" in c.stderr


def test_convert_google_forms_example_by_hand(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    out = tmp_path / "answers.csv"
    r = run("convert", EXPORT, "--mapping", MAPPING, "-o", out)
    assert r.returncode == 0, r.stderr
    header, rows = read_export()
    with out.open(encoding="utf-8-sig", newline="") as f:
        conv = list(csv.DictReader(f))
    assert len(conv) == 30 == len(rows)
    assert set(conv[0]) >= {"candidate_id", *(it["id"] for it in items)}
    email = header.index("Email Address")
    by_id = {row["candidate_id"]: row for row in conv}
    for raw in rows:
        got = by_id[raw[email]]
        for col, text in zip(header, raw, strict=False):
            if col in mapping["items"]:
                item = mapping["items"][col]
                want = "" if text.strip() == "" else LABELS[text.strip().lower()]
                assert got[item] == "" if want == "" else float(got[item]) == want, (
                    raw[email],
                    item,
                )


def test_convert_leaves_out_candidate_with_unknown_label(tmp_path: Path) -> None:
    header, rows = read_export()
    col = header.index("I check how my numbers compare with those of other reps.")
    rows[2][col] = "Sort of agree"
    bad_id = rows[2][header.index("Email Address")]
    exp = tmp_path / "export.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    out = tmp_path / "answers.csv"
    r = run("convert", exp, "--mapping", MAPPING, "-o", out)
    assert r.returncode == 1, r.stderr
    assert bad_id in r.stderr
    assert "Sort of agree" in r.stderr
    assert "row 4" in r.stderr  # header is row 1, the third candidate row 4
    with out.open(encoding="utf-8-sig", newline="") as f:
        ids = [row["candidate_id"] for row in csv.DictReader(f)]
    assert len(ids) == 29
    assert bad_id not in ids


def test_score_with_mapping_first_candidate_by_hand(items: list[dict[str, Any]]) -> None:
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    header, rows = read_export()
    email = header.index("Email Address")
    doc = score_json(EXPORT, "--mapping", MAPPING)
    got = means_of(doc)
    assert len(got) == 30
    for raw in rows[:3]:
        answers: dict[str, Any] = {}
        for col, text in zip(header, raw, strict=False):
            if col in mapping["items"]:
                answers[mapping["items"][col]] = (
                    LABELS[text.strip().lower()] if text.strip() else None
                )
        want = expected_trait_means(items, answers)
        for s in TRAITS:
            assert got[raw[email]][s] == pytest.approx(want[s], abs=1e-12)


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("conv") / "answers.csv"
    r = run("convert", EXPORT, "--mapping", MAPPING, "-o", out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize(
    "cmd",
    [
        ["score", "--format", "json"],
        ["rank", "--role", "escalations", "--format", "json"],
        ["fit", "--role", "escalations", "--format", "json"],
        ["quality", "--format", "json"],
        ["reliability", "--format", "json"],
    ],
    ids=lambda c: c[0],
)
def test_mapping_gives_same_result_as_converted_file(cmd: list[str], converted: Path) -> None:
    a = run(cmd[0], EXPORT, "--mapping", MAPPING, *cmd[1:])
    b = run(cmd[0], converted, *cmd[1:])
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    # provenance may name the input file; compare everything else
    for d in (da, db):
        if isinstance(d, dict):
            d.pop("provenance", None)
    assert da == db


def test_mapping_on_norms_build_report_chart_calibrate(tmp_path: Path) -> None:
    header, rows = read_export()
    first = rows[0][header.index("Email Address")]
    r = run(
        "norms",
        "build",
        EXPORT,
        "--mapping",
        MAPPING,
        "-o",
        tmp_path / "n.json",
        "--description",
        "example",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "n.json").read_text(encoding="utf-8"))["n"] == 30
    r = run(
        "report",
        EXPORT,
        "--mapping",
        MAPPING,
        "--candidate",
        first,
        "--role",
        "escalations",
        "-o",
        tmp_path / "r.html",
    )
    assert r.returncode == 0, r.stderr
    assert first in (tmp_path / "r.html").read_text(encoding="utf-8")
    r = run("chart", EXPORT, "--mapping", MAPPING, "--candidate", first, "-o", tmp_path / "c.svg")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "c.svg").read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg"))
    perf = tmp_path / "perf.csv"
    perf.write_text(
        "candidate_id,qa\n" + "".join(f"{row[1]},{(i * 7) % 11}\n" for i, row in enumerate(rows)),
        encoding="utf-8",
    )
    r = run(
        "calibrate",
        EXPORT,
        "--mapping",
        MAPPING,
        "--performance",
        perf,
        "--column",
        "qa",
        "-o",
        tmp_path / "role.yaml",
        "--folds",
        "3",
        "--bootstrap",
        "20",
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "role.yaml").exists()


def _survey_texts(items: list[dict[str, Any]]) -> list[str]:
    return [it["text"] for it in items]


def _mapping_yaml(items: list[dict[str, Any]], **top: Any) -> str:
    doc = {"questionnaire": "rep-types", **top, "items": {it["text"]: it["id"] for it in items}}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def test_from_surveymonkey_overrides_mapping_format(
    tmp_path: Path, items: list[dict[str, Any]]
) -> None:
    texts = _survey_texts(items)
    exp = tmp_path / "monkey.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Respondent ID", *texts])
        w.writerow(["", *["Response"] * len(texts)])
        w.writerow(["101", *["Agree"] * len(texts)])
        w.writerow(["102", *["Strongly agree"] * len(texts)])
    m = tmp_path / "m.yaml"
    m.write_text(
        _mapping_yaml(items, format="generic", candidate_id="Respondent ID"), encoding="utf-8"
    )
    doc = score_json(exp, "--mapping", m, "--from", "surveymonkey")
    got = means_of(doc)
    assert set(got) == {"101", "102"}
    for s in TRAITS:  # 7 keyed + and 3 keyed - per trait
        assert got["101"][s] == pytest.approx((7 * 4 + 3 * 2) / 10)
        assert got["102"][s] == pytest.approx((7 * 5 + 3 * 1) / 10)


def test_from_qualtrics_three_header_rows(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    texts = _survey_texts(items)
    exp = tmp_path / "q.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["StartDate", "ResponseId", *[f"Q{i + 1}" for i in range(len(texts))]])
        w.writerow(["Start Date", "Response ID", *texts])
        w.writerow(
            [
                '{"ImportId":"startDate"}',
                '{"ImportId":"_recordId"}',
                *[f'{{"ImportId":"QID{i + 1}"}}' for i in range(len(texts))],
            ]
        )
        w.writerow(["2024-03-05 09:00:00", "R_1", *["Disagree"] * len(texts)])
    m = tmp_path / "m.yaml"
    m.write_text(_mapping_yaml(items), encoding="utf-8")
    doc = score_json(exp, "--mapping", m, "--from", "qualtrics")
    got = means_of(doc)
    for s in TRAITS:
        assert got["R_1"][s] == pytest.approx((7 * 2 + 3 * 4) / 10)


@pytest.fixture
def dup_csv(tmp_path: Path, items: list[dict[str, Any]]) -> Path:
    p = tmp_path / "dup.csv"
    write_wide(
        p, items, [("a", constant(items, 4)), ("b", constant(items, 2)), ("a", constant(items, 5))]
    )
    return p


def test_duplicates_reject_default(dup_csv: Path) -> None:
    r = run("score", dup_csv, "--format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert [p["candidate_id"] for p in doc["profiles"]] == ["b"]
    assert {e["candidate_id"] for e in doc["errors"]} == {"a"}
    assert "1 of 2 candidates rejected" in r.stderr  # candidates, not rows


@pytest.mark.parametrize(("mode", "value", "kept"), [("first", 4, 2), ("last", 5, 4)])
def test_duplicates_first_last(dup_csv: Path, mode: str, value: int, kept: int) -> None:
    r = run("score", dup_csv, "--format", "json", "--duplicates", mode)
    assert r.returncode == 0, r.stderr
    got = means_of(json.loads(r.stdout))
    assert got["a"]["rock"] == pytest.approx((7 * value + 3 * (6 - value)) / 10)
    assert got["b"]["rock"] == pytest.approx(2.6)
    assert "1 candidate id(s) appear on more than one row" in r.stderr
    assert f"(duplicates='{mode}')" in r.stderr
    assert f"'a' (rows 2, 4: kept row {kept})" in r.stderr


@pytest.mark.parametrize(
    "cmd", [["rank", "--role", "escalations"], ["quality"], ["fit", "--role", "escalations"]]
)
def test_duplicates_option_on_other_commands(dup_csv: Path, cmd: list[str]) -> None:
    r = run(cmd[0], dup_csv, *cmd[1:], "--format", "json", "--duplicates", "last")
    assert r.returncode == 0, r.stderr
    assert '"a"' in r.stdout
    assert '"b"' in r.stdout


def test_duplicates_in_survey_export_convert_and_read_survey(
    tmp_path: Path, items: list[dict[str, Any]]
) -> None:
    header, rows = read_export()
    email = header.index("Email Address")
    dup = list(rows[0])
    # the resubmission: every answer "Strongly agree"
    mapping = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    for j, col in enumerate(header):
        if col in mapping["items"]:
            dup[j] = "Strongly agree"
    exp = tmp_path / "export.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows, dup])
    cid = rows[0][email]
    r = run("convert", exp, "--mapping", MAPPING, "-o", tmp_path / "a.csv")
    assert r.returncode == 1
    assert cid in r.stderr
    r = run("convert", exp, "--mapping", MAPPING, "--duplicates", "last", "-o", tmp_path / "a.csv")
    assert r.returncode == 0, r.stderr
    assert f"'{cid}' (rows 2, 32: kept row 32)" in r.stderr
    with (tmp_path / "a.csv").open(encoding="utf-8-sig", newline="") as f:
        conv = {row["candidate_id"]: row for row in csv.DictReader(f)}
    assert len(conv) == 30
    assert all(float(conv[cid][it["id"]]) == 5 for it in items)
    q = repprofile.load_questionnaire("rep-types")
    with pytest.warns(Warning, match=r"rows 2, 32: kept row 2"):
        aset = repprofile.read_survey(exp, q, MAPPING, duplicates="first")
    res = repprofile.score(q, aset)
    prof = {p["candidate_id"]: p for p in _doc(res)["profiles"]}
    assert len(prof) == 30
    want = expected_trait_means(
        items,
        {
            mapping["items"][c]: LABELS[t.strip().lower()]
            for c, t in zip(header, rows[0], strict=False)
            if c in mapping["items"] and t.strip()
        },
    )
    for s in TRAITS:
        assert prof[cid]["scales"][s]["mean"] == pytest.approx(want[s], abs=1e-12)


def test_read_survey_is_public_and_matches_cli() -> None:
    assert "read_survey" in repprofile.__all__
    q = repprofile.load_questionnaire("rep-types")
    res = repprofile.score(q, repprofile.read_survey(EXPORT, q, MAPPING))
    py = {
        p["candidate_id"]: {s: v["mean"] for s, v in p["scales"].items()}
        for p in _doc(res)["profiles"]
    }
    assert py == means_of(score_json(EXPORT, "--mapping", MAPPING))


def _assess(tmp: Path, cid: str, keys: str) -> subprocess.CompletedProcess[str]:
    return run("assess", "--candidate", cid, "--out", tmp / "results", stdin=keys, cwd=tmp)


@pytest.fixture(scope="module")
def assessed(tmp_path_factory: pytest.TempPathFactory, items: list[dict[str, Any]]) -> Path:
    tmp = tmp_path_factory.mktemp("assess")
    # anna: finishes, answering item k with 1 + k % 5
    keys = "\n" + "".join(f"{1 + k % 5}\n" for k in range(len(items))) + "\n\n\n"
    r = _assess(tmp, "anna", keys)
    assert r.returncode == 0, r.stderr
    # ben: answers 30 items with 2, then quits
    r = _assess(tmp, "ben", "\n" + "2\n" * 30 + "q\n")
    assert (tmp / "results" / "ben.progress.json").exists(), r.stderr
    return tmp


def test_assess_results_file_is_answers_input(assessed: Path, items: list[dict[str, Any]]) -> None:
    res = assessed / "results" / "anna.json"
    assert res.exists()
    got = means_of(score_json(res))
    want = expected_trait_means(items, {it["id"]: 1 + k % 5 for k, it in enumerate(items)})
    assert set(got) == {"anna"}
    for s in TRAITS:
        assert got["anna"][s] == pytest.approx(want[s], abs=1e-12)
    r = run(
        "report", res, "--candidate", "anna", "--role", "escalations", "-o", assessed / "anna.pdf"
    )
    assert r.returncode == 0, r.stderr
    assert (assessed / "anna.pdf").read_bytes()[:5] == b"%PDF-"
    r = run("quality", res, "--format", "json")
    assert r.returncode == 0, r.stderr


def test_assess_progress_file_is_answers_input(assessed: Path, items: list[dict[str, Any]]) -> None:
    prog = assessed / "results" / "ben.progress.json"
    r = run("score", prog, "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    assert "not finished" in r.stderr
    doc = json.loads(r.stdout)
    answered = {it["id"]: 2 for it in items[:30]}
    prof = {p["candidate_id"]: p for p in doc["profiles"]}["ben"]
    for s in TRAITS:
        n = sum(1 for it in items[:30] if it.get("scale") == s)
        sc = prof["scales"][s]
        assert sc["n_answered"] == n
        if n >= 5:  # min_answered of every trait (questionnaire show)
            assert sc["mean"] == pytest.approx(expected_trait_means(items, answered)[s])
        else:
            assert sc["mean"] is None


# --------------------------------------------------------------------------- item 5


def _audit_csv(path: Path, groups: list[tuple[str, int, int]], col: str = "sex") -> None:
    """groups: (category, n, selected)."""
    lines = [f"candidate_id,{col},selected"]
    k = 0
    for cat, n, sel in groups:
        for i in range(n):
            k += 1
            lines.append(f"c{k},{cat},{1 if i < sel else 0}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _effect_csv(path: Path) -> None:
    # docs/audit.md: A 3,3,5,7,7 (mean 5, SD 2); B 3,10,11 (mean 8); d = 1.0, CI -0.513 to 2.513
    rows = [("A", 3), ("A", 3), ("A", 5), ("A", 7), ("A", 7), ("B", 3), ("B", 10), ("B", 11)]
    sel = [1, 1, 1, 1, 1, 1, 0, 0]
    path.write_text(
        "candidate_id,g,selected,empathy\n"
        + "".join(
            f"c{i},{g},{s},{v}\n" for i, ((g, v), s) in enumerate(zip(rows, sel, strict=False))
        ),
        encoding="utf-8",
    )


def test_audit_effect_sizes_json_by_hand(tmp_path: Path) -> None:
    _effect_csv(tmp_path / "e.csv")
    r = run(
        "audit", tmp_path / "e.csv", "--group", "g", "--selected", "selected", "--scale", "empathy"
    )
    assert r.returncode == 0, r.stderr
    es = json.loads(r.stdout)["effect_sizes"][0]
    assert es["reference"] == "A"
    b = {row["category"]: row for row in es["rows"]}["B"]
    assert b["d"] == pytest.approx(1.0)
    # 1.96 is the rounded normal quantile 1.959964 (the doc's own figures: -0.513, 2.513)
    half = 1.959963984540054 * math.sqrt(8 / 15 + 1 / 16)
    assert b["d_ci_low"] == pytest.approx(1 - half)
    assert b["d_ci_high"] == pytest.approx(1 + half)
    assert round(b["d_ci_low"], 3) == -0.513
    assert round(b["d_ci_high"], 3) == 2.513


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_audit_reports_show_effect_sizes(tmp_path: Path, fmt: str) -> None:
    _effect_csv(tmp_path / "e.csv")
    r = run(
        "audit",
        tmp_path / "e.csv",
        "--group",
        "g",
        "--selected",
        "selected",
        "--scale",
        "empathy",
        "--format",
        fmt,
    )
    assert r.returncode == 0, r.stderr
    text = r.stdout.replace("\u2212", "-")
    assert "empathy" in text
    assert re.search(r"\b1\.00?\b", text)
    assert "-0.51" in text
    assert "2.51" in text


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_audit_reports_show_to_four_fifths(tmp_path: Path, fmt: str) -> None:
    _audit_csv(tmp_path / "i.csv", [("A", 80, 48), ("B", 40, 12)])
    r = run(
        "audit", tmp_path / "i.csv", "--group", "sex", "--selected", "selected", "--format", fmt
    )
    assert r.returncode == 0, r.stderr
    assert "to 4/5" in r.stdout
    if fmt == "md":
        row = next(line for line in r.stdout.splitlines() if line.startswith("| B "))
        assert row.rstrip().rstrip("|").strip().endswith("8")
    else:
        assert re.search(r"<td[^>]*>\s*8\s*</td>", r.stdout)


def test_audit_reference_given(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "i.csv", [("A", 80, 48), ("B", 40, 12)])
    r = run(
        "audit", tmp_path / "i.csv", "--group", "sex", "--selected", "selected", "--reference", "B"
    )
    assert r.returncode == 0, r.stderr
    t = json.loads(r.stdout)["tables"][0]
    assert t["reference"] == "B"
    assert t["reference_source"] == "given"
    rows = {row["category"]: row for row in t["rows"]}
    assert rows["A"]["impact_ratio"] == pytest.approx(2.0)
    assert rows["B"]["impact_ratio"] == pytest.approx(1.0)
    assert rows["A"]["adverse_impact"] is False
    assert rows["A"]["z"] == pytest.approx(0.3 / math.sqrt(0.25 * (1 / 80 + 1 / 40)))
    assert rows["B"]["z"] is None


def test_audit_reference_python_and_unknown_category(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "i.csv", [("A", 80, 48), ("B", 40, 12)])
    res = repprofile.audit(
        str(tmp_path / "i.csv"), groups=["sex"], selected="selected", reference="B"
    )
    assert res.tables[0].reference == "B"
    r = run(
        "audit", tmp_path / "i.csv", "--group", "sex", "--selected", "selected", "--reference", "Z"
    )
    assert r.returncode == 2
    assert "Z" in r.stderr
    assert "A" in r.stderr
    assert "B" in r.stderr


def test_audit_non_answer_never_reference_with_warning(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "p.csv", [("F", 40, 16), ("M", 40, 24), ("prefer not to say", 4, 4)])
    r = run("audit", tmp_path / "p.csv", "--group", "sex", "--selected", "selected")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    t = doc["tables"][0]
    assert t["reference"] == "M"
    rows = {row["category"]: row for row in t["rows"]}
    assert rows["F"]["impact_ratio"] == pytest.approx(0.4 / 0.6)
    assert rows["F"]["adverse_impact"] is True
    assert rows["prefer not to say"]["impact_ratio"] == pytest.approx(1 / 0.6)
    assert rows["M"]["adverse_impact"] is False
    ws = " ".join(doc["warnings"])
    assert "prefer not to say" in ws
    assert "--reference" in ws
    assert "4" in ws
    assert "repprofile: warning:" in r.stderr
    assert "prefer not to say" in r.stderr


def test_audit_small_reference_warning(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "s.csv", [("A", 20, 10), ("B", 20, 5)])
    r = run("audit", tmp_path / "s.csv", "--group", "sex", "--selected", "selected")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["tables"][0]["reference"] == "A"
    assert any("A" in w and "30" in w for w in doc["warnings"]), doc["warnings"]
    assert "repprofile: warning:" in r.stderr


def test_audit_no_warning_for_large_real_reference(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "i.csv", [("A", 80, 48), ("B", 40, 12)])
    r = run("audit", tmp_path / "i.csv", "--group", "sex", "--selected", "selected")
    assert json.loads(r.stdout)["warnings"] == []
    assert "warning" not in r.stderr


def _join_files(tmp: Path, id_col: str = "candidate_id") -> tuple[Path, Path]:
    s = tmp / "fits.csv"
    s.write_text(f"{id_col},fit\nc1,10\nc2,20\nc3,30\nc4,40\nc5,50\nc6,60\n", encoding="utf-8")
    d = tmp / "demo.csv"
    d.write_text(f"{id_col},sex\nc1,F\nc2,F\nc3,M\nc4,M\nc5,F\nc9,M\n", encoding="utf-8")
    return s, d


@pytest.mark.parametrize("id_col", ["candidate_id", "email"])
def test_audit_join_by_id(tmp_path: Path, id_col: str) -> None:
    s, d = _join_files(tmp_path, id_col)
    extra = [] if id_col == "candidate_id" else ["--id-column", id_col]
    r = run("audit", s, "--join", d, *extra, "--group", "sex", "--score", "fit")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["median_score"] == pytest.approx(35.0)
    assert doc["unknown"] == {"sex": 1}
    rows = {row["category"]: row for row in doc["tables"][0]["rows"]}
    # above the median 35: c4 (M), c5 (F), c6 (unknown sex)
    assert (rows["F"]["n"], rows["F"]["selected"]) == (3, 1)
    assert (rows["M"]["n"], rows["M"]["selected"]) == (2, 1)
    assert rows["F"]["impact_ratio"] == pytest.approx((1 / 3) / (1 / 2))
    ws = " ".join(doc["warnings"])
    assert "1 of 6 candidates in the scores have no row in the joined table" in ws
    assert "c6" in ws
    assert "c9" in ws


def test_audit_join_python(tmp_path: Path) -> None:
    s, d = _join_files(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = repprofile.audit(str(s), groups=["sex"], score="fit", join=str(d))
    msgs = " ".join(str(w.message) for w in caught)
    assert "1 of 6 candidates in the scores have no row in the joined table" in msgs
    assert "c6" in msgs
    assert "c9" in msgs
    assert res.unknown == {"sex": 1}


def test_audit_join_duplicate_id_is_error(tmp_path: Path) -> None:
    s, d = _join_files(tmp_path)
    d.write_text(d.read_text(encoding="utf-8") + "c1,M\n", encoding="utf-8")
    r = run("audit", s, "--join", d, "--group", "sex", "--score", "fit")
    assert r.returncode == 2
    assert "c1" in r.stderr


def test_audit_join_column_in_both_files_takes_file_values(tmp_path: Path) -> None:
    s = tmp_path / "fits.csv"
    s.write_text("candidate_id,fit,sex\nc1,10,F\nc2,20,F\nc3,30,M\nc4,40,M\n", encoding="utf-8")
    d = tmp_path / "demo.csv"
    d.write_text("candidate_id,sex\nc1,M\nc2,M\nc3,F\nc4,F\n", encoding="utf-8")
    r = run("audit", s, "--join", d, "--group", "sex", "--score", "fit")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = {row["category"]: row for row in doc["tables"][0]["rows"]}
    # FILE's values: M = c3, c4 (30, 40) both above the median 25
    assert rows["M"]["selected"] == 2
    assert rows["F"]["selected"] == 0
    assert any("sex" in w for w in doc["warnings"])


# --------------------------------------------------------------------------- item 6


def test_python_m_repprofile() -> None:
    a = subprocess.run(
        [sys.executable, "-m", "repprofile", "--version"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    b = run("--version")
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    assert repprofile.__version__ in a.stdout
    c = subprocess.run(
        [sys.executable, "-m", "repprofile", "questionnaire", "list"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert c.returncode == 0
    assert "rep-types" in c.stdout


@pytest.mark.parametrize(
    ("shell", "check"), [("bash", ["bash", "-n"]), ("zsh", ["zsh", "-n"]), ("fish", ["fish", "-n"])]
)
def test_completion_scripts_are_valid(tmp_path: Path, shell: str, check: list[str]) -> None:
    if shutil.which(check[0]) is None:
        pytest.skip(f"{check[0]} not installed")
    r = run("completion", shell)
    assert r.returncode == 0, r.stderr
    for word in ("convert", "audit", "completion", "norms", "--mapping", "--duplicates"):
        assert word in r.stdout, word
    p = tmp_path / f"c.{shell}"
    p.write_text(r.stdout, encoding="utf-8")
    c = subprocess.run([*check, str(p)], capture_output=True, text=True)
    assert c.returncode == 0, c.stderr


def _bash_complete(tmp_path: Path, words: list[str]) -> list[str]:
    script = run("completion", "bash").stdout
    (tmp_path / "c.bash").write_text(script, encoding="utf-8")
    words_s = " ".join(f"'{w}'" for w in words)
    prog = f"""
source {tmp_path / "c.bash"}
fn=$(complete -p repprofile | sed -E 's/.*-F ([^ ]+).*/\\1/')
COMP_WORDS=({words_s}); COMP_CWORD={len(words) - 1}
COMP_LINE="{" ".join(words)}"; COMP_POINT=${{#COMP_LINE}}
$fn repprofile "{words[-1]}" "{words[-2]}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    c = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", prog], capture_output=True, text=True
    )
    assert c.returncode == 0, c.stderr
    return c.stdout.split()


def test_bash_completion_without_bash_completion_package(tmp_path: Path) -> None:
    # docs/completion.md: without bash-completion, `source <(repprofile completion bash)`
    assert "audit" in _bash_complete(tmp_path, ["repprofile", "aud"])
    assert set(_bash_complete(tmp_path, ["repprofile", "completion", ""])) == {
        "bash",
        "zsh",
        "fish",
    }
    assert "--duplicates" in _bash_complete(tmp_path, ["repprofile", "rank", "--dup"])


def test_completion_unknown_shell_is_usage_error() -> None:
    r = run("completion", "tcsh")
    assert r.returncode == 2


@pytest.fixture(scope="module")
def small_answers(tmp_path_factory: pytest.TempPathFactory, items: list[dict[str, Any]]) -> Path:
    p = tmp_path_factory.mktemp("small") / "answers.csv"
    rows = [
        (f"k{j}", {it["id"]: 1 + (k * (j + 2) + j) % 5 for k, it in enumerate(items)})
        for j in range(4)
    ]
    write_wide(p, items, rows)
    return p


def test_cli_norms_accepts_bundled_id(small_answers: Path) -> None:
    norms = repprofile.load_norms("rep-types-simulated")
    r = run("score", small_answers, "--norms", "rep-types-simulated", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    sc = doc["profiles"][0]["scales"]["rock"]
    n = norms.scales["rock"]
    assert sc["z"] == pytest.approx((sc["mean"] - n.mean) / n.sd)
    assert sc["t"] == pytest.approx(50 + 10 * sc["z"])
    assert sc["percentile"] is not None
    for cmd in (["quality"], ["rank", "--role", "escalations"], ["fit", "--role", "escalations"]):
        r = run(
            cmd[0], small_answers, *cmd[1:], "--norms", "rep-types-simulated", "--format", "json"
        )
        assert r.returncode == 0, (cmd, r.stderr)


def test_fit_format_text(small_answers: Path) -> None:
    r = run(
        "fit", small_answers, "--role", "escalations", "--role", "retention", "--format", "text"
    )
    assert r.returncode == 0, r.stderr
    assert not r.stdout.lstrip().startswith(("{", "["))
    for word in ("k0", "k3", "escalations", "retention"):
        assert word in r.stdout
    # the text carries the same fits as the JSON, at some rounding
    j = json.loads(run("fit", small_answers, "--role", "escalations", "--format", "json").stdout)
    blob = json.dumps(j)
    fits = [float(x) for x in re.findall(r'"fit": (-?[0-9.]+)', blob)]
    assert fits
    assert any(f"{v:.1f}" in r.stdout or f"{v:.0f}" in r.stdout for v in fits)


def test_to_pandas_metrics(small_answers: Path) -> None:
    q = repprofile.load_questionnaire("rep-types")
    norms = repprofile.load_norms("rep-types-simulated")
    res = repprofile.score(q, repprofile.read_answers(str(small_answers), q), norms=norms)
    mean = res.to_pandas(metric="mean")
    z = res.to_pandas(metric="z")
    t = res.to_pandas(metric="t")
    pct = res.to_pandas(metric="percentile")
    assert list(mean.index) == ["k0", "k1", "k2", "k3"]
    for s in TRAITS:
        n = norms.scales[s]
        for cid in mean.index:
            assert z.loc[cid, s] == pytest.approx((mean.loc[cid, s] - n.mean) / n.sd)
            assert t.loc[cid, s] == pytest.approx(50 + 10 * z.loc[cid, s])
    prof = {p["candidate_id"]: p for p in _doc(res)["profiles"]}
    for cid in pct.index:
        for s in TRAITS:
            assert pct.loc[cid, s] == pytest.approx(prof[cid]["scales"][s]["percentile"])
            assert 0 <= pct.loc[cid, s] <= 100
    plain = repprofile.score(q, repprofile.read_answers(str(small_answers), q))
    with pytest.raises(ValueError, match="norm"):
        plain.to_pandas(metric="t")


@pytest.fixture(scope="module")
def ninths(tmp_path_factory: pytest.TempPathFactory, items: list[dict[str, Any]]) -> Path:
    """Accommodator: 9 of 10 items answered, keyed sum 32: mean 32/9, POMP 100*23/36."""
    acc = [it for it in items if it.get("scale") == "accommodator"]
    keyed = [4] * 5 + [3] * 4
    ans: dict[str, Any] = {it["id"]: 3 for it in items}
    for it, kv in zip(acc[:9], keyed, strict=False):
        ans[it["id"]] = kv if it["keyed"] == 1 else 6 - kv
    ans[acc[9]["id"]] = None
    p = tmp_path_factory.mktemp("ninths") / "answers.csv"
    write_wide(p, items, [("n1", ans)])
    return p


def test_csv_rounded_json_full_precision(ninths: Path) -> None:
    r = run("score", ninths, "--format", "csv")
    assert r.returncode == 0, r.stderr
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    assert row["accommodator_mean"] == "3.5556"
    assert row["accommodator_pomp"] == "63.8889"
    assert row["rock_mean"] == "3.0"
    j = run("score", ninths, "--format", "json")
    acc = json.loads(j.stdout)["profiles"][0]["scales"]["accommodator"]
    assert acc["mean"] == 32 / 9
    assert acc["pomp"] == 100 * 23 / 36
    assert "63.888888888888" in j.stdout


def test_rank_csv_numbers_have_at_most_four_places(small_answers: Path) -> None:
    r = run("rank", small_answers, "--role", "escalations", "--format", "csv")
    assert r.returncode == 0, r.stderr
    nums = re.findall(r"(?<![\w.])-?\d+\.(\d+)(?![\w.])", r.stdout)
    assert nums
    assert all(len(d) <= 4 for d in nums), r.stdout
    j = run("rank", small_answers, "--role", "escalations", "--format", "json").stdout
    assert any(len(d) > 4 for d in re.findall(r"-?\d+\.(\d+)", j))


def test_convert_keeps_answers_exactly(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    # docs/scoring.md: convert writes answers as read, no rounding
    texts = _survey_texts(items)
    exp = tmp_path / "e.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", *texts])
        w.writerow(["x1", *(["3", "Agree"] * 40)])
    m = tmp_path / "m.yaml"
    m.write_text(_mapping_yaml(items, candidate_id="id"), encoding="utf-8")
    r = run("convert", exp, "--mapping", m)
    assert r.returncode == 0, r.stderr
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    assert float(row[items[0]["id"]]) == 3
    assert float(row[items[1]["id"]]) == 4


# --------------------------------------------------------------------------- more probes


def test_convert_seconds_from_start_and_submit_columns(
    tmp_path: Path, items: list[dict[str, Any]]
) -> None:
    texts = _survey_texts(items)
    exp = tmp_path / "ms.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["ID", "Start time", "Completion time", "Email", *texts])
        w.writerow(["1", "3/5/2024 9:14:02", "3/5/2024 9:24:02", "x@example.com", *["Agree"] * 80])
        w.writerow(
            [
                "2",
                "2024-03-05 09:00:00",
                "2024-03-05 09:01:30",
                "y@example.com",
                *["  strongly  AGREE "] * 80,
            ]
        )
    m = tmp_path / "m.yaml"
    m.write_text(
        _mapping_yaml(
            items,
            candidate_id="Email",
            ignore=["ID"],
            started="Start time",
            submitted="Completion time",
        ),
        encoding="utf-8",
    )
    r = run("convert", exp, "--mapping", m)
    assert r.returncode == 0, r.stderr
    rows = {row["candidate_id"]: row for row in csv.DictReader(io.StringIO(r.stdout))}
    assert float(rows["x@example.com"]["seconds"]) == 600
    assert float(rows["y@example.com"]["seconds"]) == 90
    assert float(rows["y@example.com"][items[0]["id"]]) == 5  # label ignoring case and extra spaces


def test_convert_day_first_time_format(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    texts = _survey_texts(items)
    exp = tmp_path / "e.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Email", "Start", "End", *texts])
        w.writerow(["x", "05/03/2024 09:14:02", "05/03/2024 09:15:02", *["3"] * 80])
    m = tmp_path / "m.yaml"
    m.write_text(
        _mapping_yaml(
            items,
            candidate_id="Email",
            started="Start",
            submitted="End",
            time_format="%d/%m/%Y %H:%M:%S",
        ),
        encoding="utf-8",
    )
    r = run("convert", exp, "--mapping", m)
    assert r.returncode == 0, r.stderr
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    assert float(row["seconds"]) == 60
    assert float(row[items[5]["id"]]) == 3  # a plain number in a survey cell


def test_convert_strict_and_stdin(tmp_path: Path) -> None:
    header, rows = read_export()
    rows[0][2] = "Sort of agree"
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    r = run("convert", "-", "--mapping", MAPPING, "--strict", stdin=buf.getvalue())
    assert r.returncode == 2
    r = run("convert", "-", "--mapping", MAPPING, stdin=buf.getvalue())
    assert r.returncode == 1
    assert len(list(csv.DictReader(io.StringIO(r.stdout)))) == 29


def test_convert_cp1252_export_with_encoding(tmp_path: Path) -> None:
    header, rows = read_export()
    rows[0][1] = "zoë@example.com"
    exp = tmp_path / "zoe.csv"
    with exp.open("w", newline="", encoding="cp1252") as f:
        csv.writer(f).writerows([header, *rows])
    r = run("convert", exp, "--mapping", MAPPING)
    assert r.returncode == 2
    assert "cp1252" in r.stderr
    assert "Traceback" not in r.stderr
    r = run("convert", exp, "--mapping", MAPPING, "--encoding", "cp1252")
    assert r.returncode == 0, r.stderr
    assert "zoë@example.com" in r.stdout


def test_mapping_for_another_questionnaire_is_refused(tmp_path: Path) -> None:
    doc = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    doc["questionnaire"] = "some-other-questionnaire"
    m = tmp_path / "m.yaml"
    m.write_text(yaml.safe_dump(doc), encoding="utf-8")
    r = run("score", EXPORT, "--mapping", m)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr


def test_header_with_runs_of_spaces_matches(tmp_path: Path) -> None:
    header, rows = read_export()
    header = [h.replace(" a ", "  a   ") for h in header]
    exp = tmp_path / "e.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    a = run("convert", exp, "--mapping", MAPPING)
    b = run("convert", EXPORT, "--mapping", MAPPING)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout


@pytest.mark.parametrize(
    "cmd",
    [
        ["reliability"],
        ["norms", "build", "--description", "x", "-o", "{tmp}/n.json"],
        ["report", "--candidate", "a", "--role", "escalations", "-o", "{tmp}/a.html"],
        ["chart", "--candidate", "a", "-o", "{tmp}/a.svg"],
    ],
    ids=lambda c: c[0] + ("-" + c[1] if c[0] == "norms" else ""),
)
def test_duplicates_last_on_file_commands(dup_csv: Path, tmp_path: Path, cmd: list[str]) -> None:
    args = [c.replace("{tmp}", str(tmp_path)) for c in cmd]
    n = 2 if args[0] == "norms" else 1
    r = run(*args[:n], dup_csv, *args[n:], "--duplicates", "last")
    assert r.returncode == 0, r.stderr
    assert "kept the last row" in r.stderr


def test_report_from_progress_file(assessed: Path) -> None:
    r = run(
        "report",
        assessed / "results" / "ben.progress.json",
        "--candidate",
        "ben",
        "--role",
        "escalations",
        "-o",
        assessed / "ben.html",
    )
    assert r.returncode == 0, r.stderr
    assert "ben" in (assessed / "ben.html").read_text(encoding="utf-8")


def test_read_answers_on_results_file(assessed: Path, items: list[dict[str, Any]]) -> None:
    q = repprofile.load_questionnaire("rep-types")
    res = repprofile.score(q, repprofile.read_answers(str(assessed / "results" / "anna.json"), q))
    want = expected_trait_means(items, {it["id"]: 1 + k % 5 for k, it in enumerate(items)})
    got = {s: v["mean"] for s, v in _doc(res)["profiles"][0]["scales"].items()}
    for s in TRAITS:
        assert got[s] == pytest.approx(want[s])


def test_audit_html_chart_zero_bar_and_four_fifths_line(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "z.csv", [("A", 40, 20), ("B", 40, 0)])
    r = run(
        "audit", tmp_path / "z.csv", "--group", "sex", "--selected", "selected", "--format", "html"
    )
    assert r.returncode == 0, r.stderr
    svg = r.stdout[r.stdout.index("<svg") :]
    assert "0.00" in svg  # the zero ratio is labelled
    assert "0.8" in svg  # the four-fifths line is labelled
    assert "<script" not in r.stdout.lower()


def test_audit_non_answer_variants_and_intersections(tmp_path: Path) -> None:
    lines = ["candidate_id,sex,race,selected"]
    k = 0
    for sex, race, n, sel in [
        ("F", "X", 20, 8),
        ("F", "Y", 20, 8),
        ("M", "X", 20, 12),
        ("M", "Y", 20, 12),
        ("Declined", "X", 3, 3),
        ("F", "N/A", 3, 3),
    ]:
        for i in range(n):
            k += 1
            lines.append(f"c{k},{sex},{race},{1 if i < sel else 0}")
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run(
        "audit", tmp_path / "d.csv", "--group", "sex", "--group", "race", "--selected", "selected"
    )
    assert r.returncode == 0, r.stderr
    tables = {tuple(t["groups"]): t for t in json.loads(r.stdout)["tables"]}
    assert tables[("sex",)]["reference"] == "M"
    assert tables[("race",)]["reference"] not in ("N/A",)
    inter = tables[("sex", "race")]
    assert inter["reference"] in ("M / X", "M / Y")
    # --reference for two columns and an intersection name
    r = run(
        "audit",
        tmp_path / "d.csv",
        "--group",
        "sex",
        "--group",
        "race",
        "--selected",
        "selected",
        "--reference",
        "F",
        "--reference",
        "X",
        "--reference",
        "F / Y",
    )
    assert r.returncode == 0, r.stderr
    tables = {tuple(t["groups"]): t for t in json.loads(r.stdout)["tables"]}
    assert tables[("sex",)]["reference"] == "F"
    assert tables[("sex",)]["reference_source"] == "given"
    assert tables[("race",)]["reference"] == "X"
    assert tables[("sex", "race")]["reference"] == "F / Y"


def test_audit_unknown_option_removes_non_answer(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "p.csv", [("F", 40, 16), ("M", 40, 24), ("prefer not to say", 4, 4)])
    r = run(
        "audit",
        tmp_path / "p.csv",
        "--group",
        "sex",
        "--selected",
        "selected",
        "--unknown",
        "prefer not to say",
    )
    doc = json.loads(r.stdout)
    assert doc["unknown"] == {"sex": 4}
    assert {row["category"] for row in doc["tables"][0]["rows"]} == {"F", "M"}
    assert doc["warnings"] == []


@pytest.mark.parametrize(
    "cmd",
    [
        ["report", "--candidate", "k0", "--role", "escalations", "-o", "{tmp}/r.html"],
        ["chart", "--candidate", "k0", "-o", "{tmp}/c.svg"],
    ],
)
def test_bundled_norms_on_report_and_chart(
    small_answers: Path, tmp_path: Path, cmd: list[str]
) -> None:
    args = [c.replace("{tmp}", str(tmp_path)) for c in cmd]
    r = run(args[0], small_answers, *args[1:], "--norms", "rep-types-simulated")
    assert r.returncode == 0, r.stderr


def test_assess_accepts_bundled_norms_id(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    # issue item 6: "--norms accepts bundled ids in the CLI"
    keys = "\n" + "".join(f"{1 + k % 5}\n" for k in range(len(items))) + "\n\n\n"
    r = run(
        "assess",
        "--candidate",
        "z",
        "--out",
        tmp_path,
        "--norms",
        "rep-types-simulated",
        stdin=keys,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "z.json").exists()


def test_python_m_exit_status_propagates(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "repprofile", "score", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr


def test_to_pandas_pomp_raw_by_hand(ninths: Path) -> None:
    q = repprofile.load_questionnaire("rep-types")
    res = repprofile.score(q, repprofile.read_answers(str(ninths), q))
    assert res.to_pandas(metric="raw").loc["n1", "accommodator"] == 32
    assert res.to_pandas(metric="pomp").loc["n1", "accommodator"] == pytest.approx(100 * 23 / 36)
    assert res.to_pandas().loc["n1", "accommodator"] == pytest.approx(32 / 9)


def test_score_csv_with_norms_is_rounded(ninths: Path) -> None:
    r = run("score", ninths, "--norms", "rep-types-simulated", "--format", "csv")
    assert r.returncode == 0, r.stderr
    decimals = re.findall(r"(?<![\w.])-?\d+\.(\d+)(?![\w.])", r.stdout)
    assert decimals
    assert all(len(d) <= 4 for d in decimals), r.stdout
    assert "-0.0," not in r.stdout
    assert not r.stdout.rstrip().endswith("-0.0")


def test_surveymonkey_matrix_columns(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    texts = _survey_texts(items)
    exp = tmp_path / "monkey.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        # one matrix question: its text over the first column of the block, row labels in row 2
        w.writerow(
            [
                "Respondent ID",
                "Start Date",
                "How well does each statement describe you?",
                *[""] * 79,
            ]
        )
        w.writerow(["", "", *texts])
        w.writerow(["7001", "03/05/2024 09:14:02 AM", *["Disagree"] * 80])
    m = tmp_path / "m.yaml"
    m.write_text(
        _mapping_yaml(
            items, format="surveymonkey", candidate_id="Respondent ID", ignore=["Start Date"]
        ),
        encoding="utf-8",
    )
    got = means_of(score_json(exp, "--mapping", m))
    for s in TRAITS:
        assert got["7001"][s] == pytest.approx(2.6)


def test_qualtrics_columns_by_name_and_import_id_and_duration(
    tmp_path: Path, items: list[dict[str, Any]]
) -> None:
    exp = tmp_path / "q.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "StartDate",
                "IPAddress",
                "Progress",
                "Duration (in seconds)",
                "ResponseId",
                *[f"Q{i + 1}" for i in range(80)],
            ]
        )
        w.writerow(
            [
                "Start Date",
                "IP Address",
                "Progress",
                "Duration (in seconds)",
                "Response ID",
                *[f"Question {i + 1}" for i in range(80)],
            ]
        )
        w.writerow(
            [
                '{"ImportId":"startDate"}',
                '{"ImportId":"ipAddress"}',
                '{"ImportId":"progress"}',
                '{"ImportId":"duration"}',
                '{"ImportId":"_recordId"}',
                *[f'{{"ImportId":"QID{i + 1}"}}' for i in range(80)],
            ]
        )
        w.writerow(["2024-03-05 09:00:00", "1.2.3.4", "100", "421", "R_9", *["5"] * 80])
    # half the columns by question name, half by ImportId
    m_items = {(f"Q{i + 1}" if i % 2 else f"QID{i + 1}"): it["id"] for i, it in enumerate(items)}
    m = tmp_path / "m.yaml"
    m.write_text(
        yaml.safe_dump({"questionnaire": "rep-types", "format": "qualtrics", "items": m_items}),
        encoding="utf-8",
    )
    r = run("convert", exp, "--mapping", m)
    assert r.returncode == 0, r.stderr
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    assert row["candidate_id"] == "R_9"
    assert float(row["seconds"]) == 421
    assert all(float(row[it["id"]]) == 5 for it in items)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_audit_reports_state_given_reference(tmp_path: Path, fmt: str) -> None:
    _audit_csv(tmp_path / "i.csv", [("A", 80, 48), ("B", 40, 12)])
    r = run(
        "audit",
        tmp_path / "i.csv",
        "--group",
        "sex",
        "--selected",
        "selected",
        "--reference",
        "B",
        "--format",
        fmt,
    )
    assert r.returncode == 0, r.stderr
    assert "2.00" in r.stdout  # impact ratio of A against B
    assert "given" in r.stdout.lower() or "chosen" in r.stdout.lower()


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_audit_reports_show_warnings(tmp_path: Path, fmt: str) -> None:
    _audit_csv(tmp_path / "p.csv", [("F", 40, 16), ("M", 40, 24), ("prefer not to say", 4, 4)])
    r = run(
        "audit", tmp_path / "p.csv", "--group", "sex", "--selected", "selected", "--format", fmt
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("prefer not to say") >= 2  # the row and the warning
    assert "--reference" in r.stdout


def test_audit_join_blank_id_is_error(tmp_path: Path) -> None:
    s, d = _join_files(tmp_path)
    d.write_text(d.read_text(encoding="utf-8") + ",F\n", encoding="utf-8")
    r = run("audit", s, "--join", d, "--group", "sex", "--score", "fit")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr


def test_audit_join_missing_id_column_is_error(tmp_path: Path) -> None:
    s, d = _join_files(tmp_path)
    r = run("audit", s, "--join", d, "--id-column", "email", "--group", "sex", "--score", "fit")
    assert r.returncode == 2
    assert "email" in r.stderr
    assert "Traceback" not in r.stderr


def test_from_overrides_mapping_format_back_to_generic(
    tmp_path: Path, items: list[dict[str, Any]]
) -> None:
    texts = _survey_texts(items)
    exp = tmp_path / "g.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Email Address", *texts])
        w.writerow(["g1", *["Agree"] * 80])
    m = tmp_path / "m.yaml"
    m.write_text(
        _mapping_yaml(items, format="surveymonkey", candidate_id="Email Address"), encoding="utf-8"
    )
    got = means_of(score_json(exp, "--mapping", m, "--from", "generic"))
    assert got["g1"]["rock"] == pytest.approx(3.4)


def test_template_mapping_of_own_questionnaire_with_awkward_text(
    tmp_path: Path, qjson: dict[str, Any]
) -> None:
    d = json.loads(json.dumps(qjson))
    d["id"] = "rt-copy"
    d["items"][0]["text"] = 'I say "no problem": always # really \\ yes'
    d["response_scale"]["labels"]["3"] = "Neutral: not sure #3"
    qf = tmp_path / "q.json"
    qf.write_text(json.dumps(d), encoding="utf-8")
    r = run("questionnaire", "template", qf, "--format", "mapping", "-o", tmp_path / "m.yaml")
    assert r.returncode == 0, r.stderr
    m = yaml.safe_load((tmp_path / "m.yaml").read_text(encoding="utf-8"))
    assert m["questionnaire"] == "rt-copy"
    assert m["items"]['I say "no problem": always # really \\ yes'] == d["items"][0]["id"]
    assert m["labels"]["Neutral: not sure #3"] == 3
    texts = [it["text"] for it in d["items"]]
    exp = tmp_path / "e.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Timestamp", "Email Address", *texts])
        w.writerow(["2024-01-01 10:00:00", "p@example.com", *["Neutral: not sure #3"] * 80])
    r = run("convert", exp, "--mapping", tmp_path / "m.yaml", "-q", qf)
    assert r.returncode == 0, r.stderr
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    assert all(float(row[it["id"]]) == 3 for it in d["items"])


def test_convert_xlsx_export_equals_csv(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    header, rows = read_export()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(tmp_path / "e.xlsx")
    a = run("convert", tmp_path / "e.xlsx", "--mapping", MAPPING)
    b = run("convert", EXPORT, "--mapping", MAPPING)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout


def test_duplicates_in_json_records(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    recs = [
        {"candidate_id": "a", "answers": constant(items, 4)},
        {"candidate_id": "a", "answers": constant(items, 5)},
        {"candidate_id": "b", "answers": constant(items, 2)},
    ]
    p = tmp_path / "a.json"
    p.write_text(json.dumps(recs), encoding="utf-8")
    r = run("score", p, "--format", "json")
    assert r.returncode == 1
    r = run("score", p, "--format", "json", "--duplicates", "last")
    assert r.returncode == 0, r.stderr
    assert means_of(json.loads(r.stdout))["a"]["rock"] == pytest.approx(3.8)
    r = run("score", p, "--format", "json", "--duplicates", "first")
    assert means_of(json.loads(r.stdout))["a"]["rock"] == pytest.approx(3.4)


def test_audit_effect_size_against_given_reference(tmp_path: Path) -> None:
    _effect_csv(tmp_path / "e.csv")
    r = run(
        "audit",
        tmp_path / "e.csv",
        "--group",
        "g",
        "--selected",
        "selected",
        "--scale",
        "empathy",
        "--reference",
        "B",
    )
    assert r.returncode == 0, r.stderr
    es = json.loads(r.stdout)["effect_sizes"][0]
    assert es["reference"] == "B"
    a = {row["category"]: row for row in es["rows"]}["A"]
    assert a["d"] == pytest.approx(-1.0)
    t = json.loads(r.stdout)["tables"][0]
    rows = {row["category"]: row for row in t["rows"]}
    # A: 5 of 5 selected (rate 1), B: 1 of 3 (rate 1/3); A against B: ratio 3
    assert rows["A"]["impact_ratio"] == pytest.approx(3.0)
    assert rows["A"]["selections_to_four_fifths"] == 0


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_audit_reports_mark_excluded(tmp_path: Path, fmt: str) -> None:
    _audit_csv(tmp_path / "x.csv", [("A", 100, 50), ("B", 100, 45), ("C", 1, 0)])
    r = run(
        "audit",
        tmp_path / "x.csv",
        "--group",
        "sex",
        "--selected",
        "selected",
        "--exclude-small",
        "--format",
        fmt,
    )
    assert r.returncode == 0, r.stderr
    assert "exclu" in r.stdout.lower()


def test_ndjson_keeps_full_precision(ninths: Path) -> None:
    r = run("score", ninths, "--format", "ndjson")
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout.splitlines()[0])
    assert first["scales"]["accommodator"]["mean"] == 32 / 9


def test_bash_completion_choices_of_format(tmp_path: Path) -> None:
    assert set(_bash_complete(tmp_path, ["repprofile", "rank", "--format", ""])) == {
        "json",
        "csv",
        "text",
    }
    assert set(_bash_complete(tmp_path, ["repprofile", "rank", "--duplicates", ""])) == {
        "reject",
        "first",
        "last",
    }
    assert "build" in _bash_complete(tmp_path, ["repprofile", "norms", ""])
    assert "mapping" in _bash_complete(
        tmp_path, ["repprofile", "questionnaire", "template", "--format", ""]
    )


def test_bash_completion_files_after_mapping(tmp_path: Path) -> None:
    (tmp_path / "mymap.yaml").write_text("x", encoding="utf-8")
    script = run("completion", "bash").stdout
    (tmp_path / "c.bash").write_text(script, encoding="utf-8")
    prog = f"""
cd {tmp_path}
source c.bash
fn=$(complete -p repprofile | sed -E 's/.*-F ([^ ]+).*/\\1/')
COMP_WORDS=(repprofile score --mapping my); COMP_CWORD=3
COMP_LINE="repprofile score --mapping my"; COMP_POINT=${{#COMP_LINE}}
$fn repprofile my --mapping
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    c = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", prog], capture_output=True, text=True
    )
    # either the function offers the file itself, or it leaves COMPREPLY empty and bash's
    # `complete -o default` falls back to file names
    reg = subprocess.run(
        [
            "bash",
            "--norc",
            "--noprofile",
            "-c",
            f"source {tmp_path / 'c.bash'}; complete -p repprofile",
        ],
        capture_output=True,
        text=True,
    ).stdout
    assert "mymap.yaml" in c.stdout.split() or (c.stdout.split() == [] and "-o default" in reg), (
        c.stdout + reg
    )


def _fish_complete(tmp_path: Path, line: str) -> list[str]:
    script = run("completion", "fish").stdout
    (tmp_path / "c.fish").write_text(script, encoding="utf-8")
    c = subprocess.run(
        ["fish", "--no-config", "-c", f"source {tmp_path / 'c.fish'}; complete -C '{line}'"],
        capture_output=True,
        text=True,
        env={**_env(), "HOME": str(tmp_path)},
    )
    assert c.returncode == 0, c.stderr
    return [ln.split("\t")[0] for ln in c.stdout.splitlines()]


def test_fish_completion_works(tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish not installed")
    assert "audit" in _fish_complete(tmp_path, "repprofile aud")
    assert {"bash", "zsh", "fish"} <= set(_fish_complete(tmp_path, "repprofile completion "))
    assert "--duplicates" in _fish_complete(tmp_path, "repprofile rank --dup")
    assert {"json", "csv", "text"} <= set(_fish_complete(tmp_path, "repprofile rank --format "))


def test_zsh_completion_defines_function(tmp_path: Path) -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh not installed")
    script = run("completion", "zsh").stdout
    assert script.startswith("#compdef repprofile")
    (tmp_path / "_repprofile").write_text(script, encoding="utf-8")
    prog = (
        f"fpath=({tmp_path} $fpath); autoload -Uz compinit; compinit -u -d {tmp_path}/zcd; "
        "print -r -- ${_comps[repprofile]}"
    )
    c = subprocess.run(
        ["zsh", "-f", "-c", prog],
        capture_output=True,
        text=True,
        env={**_env(), "HOME": str(tmp_path)},
    )
    assert c.returncode == 0, c.stderr
    assert c.stdout.strip() == "_repprofile"


def test_blank_ids_are_not_duplicates_of_each_other(
    tmp_path: Path, items: list[dict[str, Any]]
) -> None:
    p = tmp_path / "b.csv"
    write_wide(
        p, items, [("", constant(items, 4)), ("ok", constant(items, 3)), ("", constant(items, 5))]
    )
    r = run("score", p, "--format", "json", "--duplicates", "last")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert [pr["candidate_id"] for pr in doc["profiles"]] == ["ok"]
    msgs = " ".join(e["message"] for e in doc["errors"])
    assert "row 2" in msgs
    assert "row 4" in msgs
    r = run("score", p, "--format", "csv", "--duplicates", "last")
    assert "(blank id), row 2" in r.stderr
    assert "(blank id), row 4" in r.stderr
    assert "2 of 3 candidates rejected" in r.stderr


NON_ANSWERS = [
    "Prefer not to say",
    "PREFER NOT TO ANSWER",
    "Rather not say",
    "declined",
    "Not disclosed",
    "undisclosed",
    "Unspecified",
    "Other/unspecified",
    "not specified",
    "Not stated",
    "not given",
    "No answer",
    "no response",
    "Withheld",
    "N/A",
    "na",
    "None",
    "missing",
]


@pytest.mark.parametrize("label", NON_ANSWERS)
def test_audit_non_answer_spellings_are_never_reference(tmp_path: Path, label: str) -> None:
    _audit_csv(tmp_path / "p.csv", [("F", 40, 16), ("M", 40, 24), (label, 5, 5)])
    r = run("audit", tmp_path / "p.csv", "--group", "sex", "--selected", "selected")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["tables"][0]["reference"] == "M"
    assert any(label in w for w in doc["warnings"])


def test_audit_real_category_named_like_no_non_answer_can_be_reference(tmp_path: Path) -> None:
    # "Nadia" contains "na" and "Nonbinary" contains "non": only whole values are non-answers
    _audit_csv(tmp_path / "p.csv", [("Nonbinary", 40, 30), ("M", 40, 24), ("Na-group", 40, 10)])
    r = run("audit", tmp_path / "p.csv", "--group", "sex", "--selected", "selected")
    doc = json.loads(r.stdout)
    assert doc["tables"][0]["reference"] == "Nonbinary"
    assert doc["warnings"] == []


@pytest.mark.parametrize(("n", "warned"), [(29, True), (30, False)])
def test_audit_small_reference_threshold(tmp_path: Path, n: int, warned: bool) -> None:
    _audit_csv(tmp_path / "s.csv", [("A", n, n), ("B", 100, 50)])
    doc = json.loads(
        run("audit", tmp_path / "s.csv", "--group", "sex", "--selected", "selected").stdout
    )
    assert doc["tables"][0]["reference"] == "A"
    assert bool(doc["warnings"]) is warned, doc["warnings"]


def test_audit_tie_for_highest_rate_first_sorted(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "t.csv", [("B", 40, 20), ("A", 40, 20)])
    doc = json.loads(
        run("audit", tmp_path / "t.csv", "--group", "sex", "--selected", "selected").stdout
    )
    assert doc["tables"][0]["reference"] == "A"


def test_audit_join_lists_first_five_unmatched_ids_verbatim(tmp_path: Path) -> None:
    s = tmp_path / "fits.csv"
    ids = [f"00{i}" for i in range(1, 10)]  # 001 .. 009
    s.write_text(
        "candidate_id,fit\n" + "".join(f"{c},{10 * k}\n" for k, c in enumerate(ids)),
        encoding="utf-8",
    )
    d = tmp_path / "demo.csv"
    d.write_text("candidate_id,sex\n001,F\n002,M\n", encoding="utf-8")
    r = run("audit", s, "--join", d, "--group", "sex", "--score", "fit")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    ws = " ".join(doc["warnings"])
    assert "7 of 9 candidates in the scores have no row in the joined table" in ws
    assert "003, 004, 005, 006, 007" in ws
    assert "008" not in ws
    assert doc["unknown"] == {"sex": 7}


def test_convert_blank_answer_stays_blank(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    texts = _survey_texts(items)
    exp = tmp_path / "e.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Email Address", *texts])
        w.writerow(["x", "", *["Agree"] * 79])
    m = tmp_path / "m.yaml"
    m.write_text(_mapping_yaml(items, candidate_id="Email Address"), encoding="utf-8")
    r = run("convert", exp, "--mapping", m)
    assert r.returncode == 0, r.stderr
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    assert row[items[0]["id"]] == ""
    doc = score_json(exp, "--mapping", m)
    sc = doc["profiles"][0]["scales"][items[0]["scale"]]
    assert sc["n_answered"] == 9
    assert sc["mean"] == pytest.approx(
        expected_trait_means(items, {it["id"]: 4 for it in items[1:]})[items[0]["scale"]]
    )


def test_read_survey_kind_and_encoding(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    texts = _survey_texts(items)
    exp = tmp_path / "monkey.csv"
    with exp.open("w", newline="", encoding="cp1252") as f:
        w = csv.writer(f)
        w.writerow(["Respondent ID", *texts])
        w.writerow(["", *["Response"] * 80])
        w.writerow(["Zoë", *["Agree"] * 80])
    m = tmp_path / "m.yaml"
    m.write_text(_mapping_yaml(items, candidate_id="Respondent ID"), encoding="utf-8")
    q = repprofile.load_questionnaire("rep-types")
    res = repprofile.score(q, repprofile.read_survey(exp, q, m, "surveymonkey", encoding="cp1252"))
    prof = _doc(res)["profiles"]
    assert [p["candidate_id"] for p in prof] == ["Zoë"]
    assert prof[0]["scales"]["rock"]["mean"] == pytest.approx(3.4)


def test_score_csv_blank_for_null_scale(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    ans: dict[str, Any] = constant(items, 3)
    for it in [it for it in items if it.get("scale") == "rock"][:6]:
        ans[it["id"]] = None  # 4 of 10 answered, below min_answered 5
    p = tmp_path / "a.csv"
    write_wide(p, items, [("r1", ans)])
    r = run("score", p, "--format", "csv")
    row = next(csv.DictReader(io.StringIO(r.stdout)))
    assert row["rock_mean"] == ""
    assert row["rock_pomp"] == ""
    assert row["controller_mean"] == "3.0"


def test_to_pandas_bad_metric_names_parameter(small_answers: Path) -> None:
    q = repprofile.load_questionnaire("rep-types")
    res = repprofile.score(q, repprofile.read_answers(str(small_answers), q))
    with pytest.raises(ValueError, match="metric"):
        res.to_pandas(metric="sten")  # type: ignore[arg-type]


def test_python_m_without_arguments_matches_script() -> None:
    a = subprocess.run(
        [sys.executable, "-m", "repprofile"], capture_output=True, text=True, env=_env()
    )
    b = run()
    assert a.returncode == b.returncode
    assert a.stdout == b.stdout


def test_calibrate_and_fit_text_with_bundled_norms(converted: Path, tmp_path: Path) -> None:
    perf = tmp_path / "perf.csv"
    with converted.open(encoding="utf-8") as f:
        ids = [row["candidate_id"] for row in csv.DictReader(f)]
    perf.write_text(
        "candidate_id,qa\n" + "".join(f"{c},{(i * 5) % 7}\n" for i, c in enumerate(ids)),
        encoding="utf-8",
    )
    r = run(
        "calibrate",
        converted,
        "--performance",
        perf,
        "--column",
        "qa",
        "-o",
        tmp_path / "r.yaml",
        "--folds",
        "3",
        "--bootstrap",
        "20",
        "--norms",
        "rep-types-simulated",
    )
    assert r.returncode == 0, r.stderr
    r = run(
        "fit",
        converted,
        "--role",
        "escalations",
        "--norms",
        "rep-types-simulated",
        "--format",
        "text",
        "-o",
        tmp_path / "fit.txt",
    )
    assert r.returncode == 0, r.stderr
    assert ids[0] in (tmp_path / "fit.txt").read_text(encoding="utf-8")


def test_google_forms_grid_columns(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    texts = _survey_texts(items)
    heads = [f"How well does each statement describe you? [{t}]" for t in texts]
    exp = tmp_path / "grid.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Timestamp", "Email Address", *heads])
        w.writerow(["2024/03/05 9:14:02 AM GMT", "g@example.com", *["Strongly disagree"] * 80])
    m = tmp_path / "m.yaml"
    m.write_text(
        yaml.safe_dump(
            {
                "questionnaire": "rep-types",
                "candidate_id": "Email Address",
                "ignore": ["Timestamp"],
                "items": {h: it["id"] for h, it in zip(heads, items, strict=False)},
            }
        ),
        encoding="utf-8",
    )
    got = means_of(score_json(exp, "--mapping", m))
    assert got["g@example.com"]["rock"] == pytest.approx((7 * 1 + 3 * 5) / 10)


def test_mapping_from_stdin_export(tmp_path: Path) -> None:
    a = run(
        "score",
        "-",
        "--mapping",
        MAPPING,
        "--format",
        "json",
        stdin=EXPORT.read_text(encoding="utf-8"),
    )
    assert a.returncode == 0, a.stderr
    assert means_of(json.loads(a.stdout)) == means_of(score_json(EXPORT, "--mapping", MAPPING))


def test_mapping_with_unknown_item_id_is_refused(tmp_path: Path) -> None:
    doc = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    first = next(iter(doc["items"]))
    doc["items"][first] = "zzz99"
    m = tmp_path / "m.yaml"
    m.write_text(yaml.safe_dump(doc), encoding="utf-8")
    r = run("score", EXPORT, "--mapping", m)
    assert r.returncode == 2
    assert "zzz99" in r.stderr
    assert "Traceback" not in r.stderr


def test_invalid_duplicates_value_is_usage_error(dup_csv: Path) -> None:
    r = run("score", dup_csv, "--duplicates", "newest")
    assert r.returncode == 2
    assert "reject" in r.stderr


def test_audit_other_tables_choose_automatically(tmp_path: Path) -> None:
    lines = ["candidate_id,sex,race,selected"]
    k = 0
    for sex, race, n, sel in [
        ("F", "X", 40, 10),
        ("F", "Y", 40, 20),
        ("M", "X", 40, 30),
        ("M", "Y", 40, 20),
    ]:
        for i in range(n):
            k += 1
            lines.append(f"c{k},{sex},{race},{1 if i < sel else 0}")
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run(
        "audit",
        tmp_path / "d.csv",
        "--group",
        "sex",
        "--group",
        "race",
        "--selected",
        "selected",
        "--reference",
        "F",
    )
    assert r.returncode == 0, r.stderr
    tables = {tuple(t["groups"]): t for t in json.loads(r.stdout)["tables"]}
    assert (tables[("sex",)]["reference"], tables[("sex",)]["reference_source"]) == ("F", "given")
    # race: X 40/80 = 0.5, Y 40/80 = 0.5: tie, first in sorted order
    assert (tables[("race",)]["reference"], tables[("race",)]["reference_source"]) == (
        "X",
        "highest rate",
    )
    inter = tables[("sex", "race")]
    assert (inter["reference"], inter["reference_source"]) == ("M / X", "highest rate")
    rows = {row["category"]: row for row in tables[("sex",)]["rows"]}
    # F: 10 + 20 = 30 of 80 = 0.375; M: 30 + 20 = 50 of 80 = 0.625; M against F = 5/3
    assert rows["M"]["impact_ratio"] == pytest.approx(5 / 3)
    assert rows["F"]["impact_ratio"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "cmd",
    [
        ["rank", "--role", "escalations", "--format", "json"],
        ["fit", "--role", "escalations", "--format", "json"],
        ["chart", "--candidate", "anna", "-o", "{tmp}/a.svg"],
        ["quality", "--format", "json"],
    ],
    ids=lambda c: c[0],
)
def test_results_file_on_other_commands(assessed: Path, tmp_path: Path, cmd: list[str]) -> None:
    args = [c.replace("{tmp}", str(tmp_path)) for c in cmd]
    r = run(args[0], assessed / "results" / "anna.json", *args[1:])
    assert r.returncode == 0, r.stderr
    if args[0] != "chart":
        assert "anna" in r.stdout


def test_score_json_null_not_nan(tmp_path: Path, items: list[dict[str, Any]]) -> None:
    ans: dict[str, Any] = constant(items, 3)
    for it in [it for it in items if it.get("scale") == "rock"][:6]:
        ans[it["id"]] = None
    p = tmp_path / "a.csv"
    write_wide(p, items, [("r1", ans)])
    r = run("score", p, "--format", "json")
    assert "NaN" not in r.stdout
    assert json.loads(r.stdout)["profiles"][0]["scales"]["rock"]["mean"] is None


def test_bash_completion_audit_format_choices(tmp_path: Path) -> None:
    got = _bash_complete(tmp_path, ["repprofile", "audit", "x.csv", "--format", ""])
    assert set(got) == {"json", "md", "html"}


def test_fish_completion_offers_files(tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish not installed")
    (tmp_path / "myfile.csv").write_text("x", encoding="utf-8")
    script = run("completion", "fish").stdout
    (tmp_path / "c.fish").write_text(script, encoding="utf-8")
    for line in (
        "repprofile score my",
        "repprofile score --mapping my",
        "repprofile audit --join my",
    ):
        c = subprocess.run(
            ["fish", "--no-config", "-c", f"cd {tmp_path}; source c.fish; complete -C '{line}'"],
            capture_output=True,
            text=True,
            env={**_env(), "HOME": str(tmp_path)},
        )
        assert "myfile.csv" in c.stdout.split(), (line, c.stdout, c.stderr)


def test_python_m_completion() -> None:
    a = subprocess.run(
        [sys.executable, "-m", "repprofile", "completion", "bash"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert a.returncode == 0
    assert a.stdout == run("completion", "bash").stdout


def test_audit_markdown_states_exclude_small(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "x.csv", [("A", 100, 50), ("B", 100, 45), ("C", 1, 0)])
    r = run(
        "audit",
        tmp_path / "x.csv",
        "--group",
        "sex",
        "--selected",
        "selected",
        "--exclude-small",
        "--format",
        "md",
    )
    assert r.returncode == 0, r.stderr
    assert "2%" in r.stdout


def test_template_help_describes_mapping_format() -> None:
    r = run("questionnaire", "template", "--help")
    assert r.returncode == 0
    # the description explains csv, md and html; the mapping skeleton should be explained too
    assert re.search(r"mapping[^,}\n]*(file|skeleton|survey|export)", r.stdout, flags=re.I), (
        r.stdout
    )


def test_audit_only_non_answer_categories_no_crash(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "na.csv", [("declined", 20, 10), ("n/a", 20, 5)])
    r = run("audit", tmp_path / "na.csv", "--group", "sex", "--selected", "selected")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert any("declined" in w and "--reference" in w for w in doc["warnings"])


def test_audit_non_answer_warning_claims_highest_only_when_true(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "na.csv", [("declined", 20, 10), ("n/a", 20, 5)])
    doc = json.loads(
        run("audit", tmp_path / "na.csv", "--group", "sex", "--selected", "selected").stdout
    )
    for w in doc["warnings"]:
        assert not ("'n/a'" in w and "is the highest" in w), w


def test_audit_given_reference_excluded_by_exclude_small_is_error(tmp_path: Path) -> None:
    _audit_csv(tmp_path / "ex.csv", [("A", 100, 50), ("B", 100, 45), ("C", 1, 1)])
    r = run(
        "audit",
        tmp_path / "ex.csv",
        "--group",
        "sex",
        "--selected",
        "selected",
        "--exclude-small",
        "--reference",
        "C",
    )
    assert r.returncode == 2
    assert "'C'" in r.stderr
    assert "Traceback" not in r.stderr


def test_convert_semicolon_and_bom_export(tmp_path: Path) -> None:
    header, rows = read_export()
    exp = tmp_path / "semi.csv"
    with exp.open("w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f, delimiter=";").writerows([header, *rows])
    a = run("convert", exp, "--mapping", MAPPING)
    b = run("convert", EXPORT, "--mapping", MAPPING)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout


def test_audit_join_python_dataframe_and_records(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    scores = pd.DataFrame({"candidate_id": ["c1", "c2", "c3", "c4"], "fit": [10, 20, 30, 40]})
    demo = [
        {"candidate_id": c, "sex": s}
        for c, s in [("c1", "F"), ("c2", "M"), ("c3", "F"), ("c4", "M")]
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = repprofile.audit(scores, groups=["sex"], score="fit", join=pd.DataFrame(demo))
        res2 = repprofile.audit(scores, groups=["sex"], score="fit", join=demo)
    assert any("under 30" in str(w.message) for w in caught)  # reference n = 2
    rows = {row.category: row for row in res.tables[0].rows}
    # median 25: above are c3 (F) and c4 (M): both rates 1/2
    assert rows["F"].selected == 1
    assert rows["M"].selected == 1
    assert {row.category: row.selected for row in res2.tables[0].rows} == {"F": 1, "M": 1}


def test_read_answers_duplicates_python(dup_csv: Path) -> None:
    q = repprofile.load_questionnaire("rep-types")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        aset = repprofile.read_answers(str(dup_csv), q, duplicates="last")
    assert any("kept row 4" in str(w.message) for w in caught)
    prof = {p["candidate_id"]: p for p in _doc(repprofile.score(q, aset))["profiles"]}
    assert prof["a"]["scales"]["rock"]["mean"] == pytest.approx(3.8)
    with pytest.raises(ValueError, match="duplicates"):
        repprofile.read_answers(str(dup_csv), q, duplicates="newest")


def test_duplicate_rejection_names_rows(dup_csv: Path) -> None:
    r = run("score", dup_csv, "--format", "csv")
    assert r.returncode == 1
    assert "candidate 'a' rejected" in r.stderr
    assert "(rows 2, 4)" in r.stderr


def test_convert_duplicate_message_gives_the_fix(tmp_path: Path) -> None:
    header, rows = read_export()
    exp = tmp_path / "export.csv"
    with exp.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows, rows[0]])
    r = run("convert", exp, "--mapping", MAPPING, "-o", tmp_path / "a.csv")
    assert r.returncode == 1
    assert "(rows 2, 32)" in r.stderr
    assert "--duplicates" in r.stderr


def test_to_pandas_shape_and_index_name(small_answers: Path) -> None:
    q = repprofile.load_questionnaire("rep-types")
    res = repprofile.score(
        q, repprofile.read_answers(str(small_answers), q), norms="rep-types-simulated"
    )
    df = res.to_pandas(metric="percentile")
    assert df.index.name == "candidate_id"
    assert set(TRAITS) <= set(df.columns)
    assert df.shape[0] == 4
