"""Write the Google Forms example used by docs/answers-input.md.

`responses.csv` is what Google Forms' "Download responses (.csv)" gives for a form that
asks the 80 statements of the bundled `rep-types` questionnaire, with "Collect email
addresses" on and one free-text question at the end. The answers are SIMULATED
(repprofile's own simulator, seed 2026), not real people.

`mapping.yaml` is the mapping a recruiter ends with after editing the skeleton of
`repprofile questionnaire template rep-types --format mapping`: the id column is
"Email Address", the timestamp and the free-text question are ignored.

Run from the repository root:  python docs/examples/google-forms/make_example.py
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from repprofile import load_questionnaire
from repprofile._analysis.simulate import simulate_answers

HERE = Path(__file__).parent
NAMES = [
    "ana", "ben", "cleo", "dev", "emma", "farid", "gina", "hugo", "ines", "jonas",
    "kira", "leo", "maya", "nils", "olga", "pablo", "quinn", "rosa", "sam", "tara",
    "umar", "vera", "wes", "xena", "yusuf", "zoe", "arjun", "bea", "carl", "dina",
]  # fmt: skip


def main() -> None:
    q = load_questionnaire("rep-types")
    answers, _ = simulate_answers(q, len(NAMES), seed=2026, missing=0.01)
    labels = q.response_scale.labels or {}
    texts = [item.text for item in q.items]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    w.writerow(["Timestamp", "Email Address", *texts, "Anything else you would like us to know?"])
    for i, name in enumerate(NAMES):
        day, hour, minute, second = 2 + i // 10, 9 + i % 3, (7 * i) % 60, (13 * i) % 60
        stamp = f"2026/11/{day:02d} {hour}:{minute:02d}:{second:02d} AM GMT+1"
        cells = ["" if np.isnan(a) else labels[int(a)] for a in answers[i]]
        w.writerow([stamp, f"{name}@example.com", *cells, ""])
    (HERE / "responses.csv").write_text(out.getvalue(), encoding="utf-8")
    (HERE / "mapping.yaml").write_text(_mapping(q.id, texts, [i.id for i in q.items], labels))


def _yaml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mapping(qid: str, texts: list[str], ids: list[str], labels: dict[int, str]) -> str:
    lines = [
        "# How the columns of Google Forms' responses.csv map to the rep-types items.",
        f"questionnaire: {qid}",
        "format: generic",
        "candidate_id: Email Address",
        "ignore:",
        "  - Timestamp",
        "  - Anything else you would like us to know?",
        "labels:",
        *[f"  {label}: {value}" for value, label in sorted(labels.items())],
        "items:",
        *[f"  {_yaml_string(t)}: {i}" for t, i in zip(texts, ids, strict=True)],
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
