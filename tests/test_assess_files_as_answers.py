"""`repprofile assess` progress and results files are answers files (issue 14, item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from repprofile import InputError, RepprofileWarning, load_questionnaire, read_answers


def progress(completed: str | None, answers: dict[str, int], qid: str = "rep-types") -> dict:  # type: ignore[type-arg]
    return {
        "format": "repprofile-assess-progress",
        "format_version": 1,
        "questionnaire_id": qid,
        "questionnaire_version": "1.1.0",
        "candidate_id": "anna",
        "answers": answers,
        "position": len(answers),
        "completed": completed,
    }


def test_an_unfinished_progress_file_reads_with_the_rest_missing_and_a_warning(
    tmp_path: Path,
) -> None:
    q = load_questionnaire("rep-types")
    path = tmp_path / "anna.progress.json"
    path.write_text(json.dumps(progress(None, {"acc01": 4, "cmp01": 2, "ctl01": 5})))
    with pytest.warns(RepprofileWarning, match=r"not finished \(3 of 80 items answered\)"):
        answers = read_answers(path, q)
    ids = list(q.item_ids)
    row = answers.values[0]
    assert answers.candidate_ids() == ("anna",)
    assert (row[ids.index("acc01")], row[ids.index("cmp01")], row[ids.index("ctl01")]) == (4, 2, 5)
    assert int(np.isnan(row).sum()) == 77


def test_a_progress_file_of_another_questionnaire_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.progress.json"
    path.write_text(json.dumps(progress("2026-12-04T00:00:00Z", {}, qid="other")))
    with pytest.raises(InputError, match="questionnaire 'other', not 'rep-types'; pass -q other"):
        read_answers(path, load_questionnaire("rep-types"))


def test_a_results_file_reads_its_answers(tmp_path: Path) -> None:
    q = load_questionnaire("rep-types")
    path = tmp_path / "anna.json"
    doc = {
        "profiles": [],
        "errors": [],
        "answers": [{"candidate_id": "anna", "answers": {"rck01": 1}}],
    }
    path.write_text(json.dumps(doc))
    answers = read_answers(path, q)
    assert answers.candidate_ids() == ("anna",)
    assert answers.values[0][list(q.item_ids).index("rck01")] == 1
    assert int(np.isnan(answers.values[0]).sum()) == 79
