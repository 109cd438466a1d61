"""SME keys: build_sjt_key, the key file (SjtKey, load_sjt_key) and ``sjt key build``.

Every number below is worked by hand from the ratings table RATINGS (three valid
experts on a 1-6 scale; a fourth expert's row is bad and rejected alone).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import repprofile
from repprofile import InputError, QuestionnaireError, build_sjt_key, load_sjt_key
from repprofile.cli._main import main
from repprofile.stats import ICC_TYPES, icc


@dataclass(frozen=True)
class _Opt:
    id: str


@dataclass(frozen=True)
class _Item:
    id: str
    options: tuple[_Opt, ...]


@dataclass(frozen=True)
class _Scale:
    min: int
    max: int


@dataclass(frozen=True)
class StandIn:
    """The part of the SJT Questionnaire interface (SJT_DESIGN.md) a key uses."""

    id: str = "sjt-mini"
    version: str = "0.1.0"
    sjt_items: tuple[_Item, ...] = (
        _Item("s1", (_Opt("a"), _Opt("b"), _Opt("c"))),
        _Item("s2", (_Opt("a"), _Opt("b"))),
    )
    sjt_response_scale: _Scale = _Scale(1, 6)


Q = StandIn()
COLUMNS = ["s1.a", "s1.b", "s1.c", "s2.a", "s2.b"]
RATINGS = """expert_id,s1.a,s1.b,s1.c,s2.a,s2.b
e1,5,2,4,6,5
e2,6,1,4,4,5
e3,5,3,1,5,5
e4,7,2,4,x,5
"""
X = np.array([[5, 2, 4, 6, 5], [6, 1, 4, 4, 5], [5, 3, 1, 5, 5]], dtype=float)


@pytest.fixture
def ratings_csv(tmp_path: Path) -> Path:
    p = tmp_path / "ratings.csv"
    p.write_text(RATINGS, encoding="utf-8")
    return p


def test_key_means_sds_counts_by_hand(ratings_csv: Path) -> None:
    r = build_sjt_key(ratings_csv, Q)
    assert r.n_experts == 3
    got = {(o["item"], o["option"]): (o["mean"], o["sd"], o["n"]) for o in r.options}
    # s1.a 5, 6, 5: mean 16/3, squared deviations 1/9 + 4/9 + 1/9 = 2/3, var 1/3
    assert got[("s1", "a")] == pytest.approx((16 / 3, math.sqrt(1 / 3), 3))
    assert got[("s1", "b")] == pytest.approx((2.0, 1.0, 3))  # 2, 1, 3
    assert got[("s1", "c")] == pytest.approx((3.0, math.sqrt(3), 3))  # 4, 4, 1: var 6/2
    assert got[("s2", "a")] == pytest.approx((5.0, 1.0, 3))  # 6, 4, 5
    assert got[("s2", "b")] == pytest.approx((5.0, 0.0, 3))  # 5, 5, 5
    key = r.key
    assert key.options["s1"]["c"].counts == {1: 1, 2: 0, 3: 0, 4: 2, 5: 0, 6: 0}
    assert key.means(Q).tolist() == pytest.approx([16 / 3, 2, 3, 5, 5])
    counts = key.counts(Q)
    assert counts.shape == (5, 6)
    assert counts[2].tolist() == [1, 0, 0, 2, 0, 0]
    assert counts[4].tolist() == [0, 0, 0, 0, 3, 0]
    assert (key.n_experts, key.rating_scale.min, key.rating_scale.max) == (3, 1, 6)
    assert key.source == "SME ratings file ratings.csv, 3 experts"


def test_rwg_and_icc_in_the_report(ratings_csv: Path) -> None:
    d = build_sjt_key(ratings_csv, Q).to_dict()
    # s1: mean variance (1/3 + 1 + 3)/3 = 13/9; / (35/12) = 52/105; J = 3:
    # 3(53/105) / (3(53/105) + 52/105) = 159/211
    assert d["rwg"]["s1"] == pytest.approx(159 / 211, abs=1e-12)
    # s2: mean variance (1 + 0)/2 = 1/2; ratio 6/35; 2(29/35) / (2(29/35) + 6/35) = 58/64
    assert d["rwg"]["s2"] == pytest.approx(29 / 32, abs=1e-12)
    ref = icc(X.T)  # options x experts, checked against R psych in test_icc.py
    assert list(d["agreement"]) == list(ICC_TYPES)
    for t in ICC_TYPES:
        row = ref.rows[t]
        assert d["agreement"][t] == pytest.approx(
            {f: getattr(row, f) for f in ("icc", "f", "df1", "df2", "p", "lower", "upper")}
        )
    assert d["agreement"]["ICC1"]["df1"] == 4
    assert d["agreement"]["ICC1"]["df2"] == 10
    assert d["agreement_n_options"] == 5


def test_flags_and_the_rejected_expert(ratings_csv: Path) -> None:
    d = build_sjt_key(ratings_csv, Q).to_dict()
    assert [(f["item"], f["option"]) for f in d["flags"]] == [("s1", "c"), ("s2", "a")]
    assert "SME SD 1.73 exceeds 1" in d["flags"][0]["reason"]
    assert "a (5.00) and b (5.00) are less than 0.5 apart" in d["flags"][1]["reason"]
    # s1.b and s2.a have SD exactly 1.0: not above the threshold; a lower one flags them
    lower = build_sjt_key(ratings_csv, Q, sd_threshold=0.9, best_gap=0.0).to_dict()
    assert [(f["item"], f["option"]) for f in lower["flags"]] == [
        ("s1", "b"),
        ("s1", "c"),
        ("s2", "a"),
    ]
    [e4a, e4b] = d["rejected"]
    assert (e4a["expert_id"], e4a["column"], e4a["row"]) == ("e4", "s1.a", 5)
    assert e4a["message"] == "s1.a: a whole number from 1 to 6 (or blank) is expected, got '7'"
    assert e4b["column"] == "s2.a"
    assert e4b["message"].endswith("got 'x'")
    json.dumps(d, allow_nan=False)


def test_mapping_input_and_missing_ratings() -> None:
    cols: dict[str, list[Any]] = {"expert_id": ["e1", "e2", "e3"]}
    for j, c in enumerate(COLUMNS):
        cols[c] = X[:, j].tolist()
    cols["s1.a"][2] = None  # e3 skipped s1.a
    r = build_sjt_key(cols, Q, source="panel of 3")
    o = r.options[0]
    assert (o["mean"], o["sd"], o["n"]) == pytest.approx((5.5, math.sqrt(0.5), 2))
    assert r.key.source == "panel of 3"
    assert r.n_options_icc == 4  # s1.a is left out of the complete options x experts matrix
    assert r.to_dict()["agreement"]["ICC3"]["icc"] == pytest.approx(
        icc(X[:, 1:].T).rows["ICC3"].icc
    )


def test_bad_headers_name_the_columns(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("id,s1.a,s1.b,s1.x,s2.a,s2.b\ne1,1,2,3,4,5\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        build_sjt_key(p, Q)
    msg = str(exc.value)
    assert "r.csv: an 'expert_id' column is expected" in msg
    assert "unknown columns ['id', 's1.x']" in msg
    assert "missing columns ['s1.c']" in msg


def test_no_usable_expert_and_unrated_option(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("expert_id,s1.a,s1.b,s1.c,s2.a,s2.b\ne1,0,2,3,4,5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no usable expert rows\n  expert 'e1': s1.a: a whole"):
        build_sjt_key(p, Q)
    p.write_text("expert_id,s1.a,s1.b,s1.c,s2.a,s2.b\ne1,1,2,,4,5\ne2,1,2,,4,5\n")
    with pytest.raises(InputError, match=r"no expert rated \['s1.c'\]"):
        build_sjt_key(p, Q)


def test_parameters_are_validated(ratings_csv: Path) -> None:
    with pytest.raises(repprofile.InvalidParameterError, match="sd_threshold"):
        build_sjt_key(ratings_csv, Q, sd_threshold=0)
    with pytest.raises(repprofile.InvalidParameterError, match="questionnaire"):
        build_sjt_key(ratings_csv, 3)


def test_key_file_round_trip_and_fingerprint(ratings_csv: Path, tmp_path: Path) -> None:
    r = build_sjt_key(ratings_csv, Q)
    p = tmp_path / "key.yaml"
    p.write_text(r.key_yaml(), encoding="utf-8")
    data = yaml.safe_load(p.read_text())
    assert data["format"] == "repprofile-sjt-key"
    assert data["format_version"] == 1
    assert data["options"]["s1"]["a"]["counts"] == {1: 0, 2: 0, 3: 0, 4: 0, 5: 2, 6: 1}
    key = load_sjt_key(p)
    assert key == r.key
    assert key.fingerprint() == r.key.fingerprint()
    assert len(key.fingerprint()) == 64
    assert load_sjt_key(data).fingerprint() == key.fingerprint()
    as_json = tmp_path / "key.json"  # JSON has string keys in counts
    as_json.write_text(json.dumps(key.model_dump(mode="json")), encoding="utf-8")
    assert load_sjt_key(as_json) == key


def test_key_check_for_names_missing_and_extra_options(ratings_csv: Path) -> None:
    key = build_sjt_key(ratings_csv, Q).key
    other = StandIn(
        sjt_items=(_Item("s1", (_Opt("a"), _Opt("b"))), _Item("s3", (_Opt("a"), _Opt("b"))))
    )
    with pytest.raises(QuestionnaireError) as exc:
        key.means(other)
    msg = str(exc.value)
    assert "options missing from the key: s3.a, s3.b" in msg
    assert "options in the key that questionnaire 'sjt-mini' lacks: s1.c, s2.a, s2.b" in msg
    with pytest.raises(QuestionnaireError, match="SJT rating scale 1-5 is expected, got 1-6"):
        key.check_for(StandIn(sjt_response_scale=_Scale(1, 5)))


def test_load_sjt_key_names_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "key.yaml"
    p.write_text(
        "format: repprofile-sjt-key\nformat_version: 1\nquestionnaire: q\n"
        "questionnaire_version: '1'\nsource: s\nn_experts: 2\nrating_scale: {min: 1, max: 6}\n"
        "options:\n  s1:\n    a: {mean: 7, sd: 0, n: 2, counts: {6: 1}}\n",
        encoding="utf-8",
    )
    with pytest.raises(QuestionnaireError) as exc:
        load_sjt_key(p)
    msg = str(exc.value)
    assert str(p) in msg
    assert "options.s1.a.mean: a value from 1 to 6 is expected, got 7.0" in msg
    assert "options.s1.a.counts: counts summing to n (2) are expected, got 1" in msg


def test_cli_sjt_key_build(
    ratings_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import repprofile._formats.questionnaire as qmod

    monkeypatch.setattr(qmod, "load_questionnaire", lambda _: Q)
    out = tmp_path / "key.yaml"
    code = main(
        ["sjt", "key", "build", str(ratings_csv), "-q", "x", "-o", str(out), "--format", "json"]
    )
    assert code == 1  # the e4 row was rejected
    captured = capsys.readouterr()
    d = json.loads(captured.out)
    assert set(d) >= {"n_experts", "agreement", "rwg", "options", "flags"}
    assert d["n_experts"] == 3
    assert d["options"][2] == {
        "item": "s1",
        "option": "c",
        "mean": 3.0,
        "sd": pytest.approx(math.sqrt(3)),
        "n": 3,
    }
    assert "expert 'e4' rejected: s1.a:" in captured.err
    assert load_sjt_key(out).means(Q).tolist() == pytest.approx([16 / 3, 2, 3, 5, 5])
    good = tmp_path / "good.csv"
    good.write_text("\n".join(RATINGS.splitlines()[:4]) + "\n", encoding="utf-8")
    assert main(["sjt", "key", "build", str(good), "-q", "x", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "rwg(J) per scenario" in text
    assert "s2.a: best option not clearly best" in text


MINI = Path(__file__).parent / "data" / "sjt" / "mini-rate.yaml"
SME = """expert_id,s1.a,s1.b,s1.c,s2.a,s2.b,s3.a,s3.b,s3.c
e1,6,4,1,2,5,3,6,1
e2,6,4,1,2,5,3,6,1
e3,5,3,2,3,4,4,5,2
"""
ANSWERS = """candidate_id,s1.a,s1.b,s1.c,s2.a,s2.b,s3.a,s3.b,s3.c
c1,6,4,1,2,5,3,6,1
c2,5,3,2,3,4,4,5,2
"""


def test_key_scores_the_real_questionnaire(tmp_path: Path) -> None:
    (tmp_path / "sme.csv").write_text(SME, encoding="utf-8")
    (tmp_path / "ans.csv").write_text(ANSWERS, encoding="utf-8")
    key_path = tmp_path / "key.yaml"
    code = main(
        ["sjt", "key", "build", str(tmp_path / "sme.csv"), "-q", str(MINI), "-o", str(key_path)]
    )
    assert code == 0
    q = repprofile.load_questionnaire(str(MINI))
    key = load_sjt_key(key_path)
    assert key.means(q).tolist() == pytest.approx(
        [17 / 3, 11 / 3, 4 / 3, 7 / 3, 14 / 3, 10 / 3, 17 / 3, 4 / 3]
    )

    def pomp(method: Any, cid: str) -> list[float | None]:
        r = repprofile.score(q, str(tmp_path / "ans.csv"), sjt_method=method, sjt_key=key_path)
        assert r.provenance.sjt_key_sha256 == key.fingerprint()
        return [s.pomp for s in r.profile(cid).scales.values()]

    # c1 gives every option the experts' modal rating (2 of 3 experts), c2 never does
    assert pomp("mode", "c1") == pytest.approx([100, 100, 100])
    assert pomp("mode", "c2") == pytest.approx([0, 0, 0])
    assert pomp("proportion", "c1") == pytest.approx([200 / 3] * 3)
    assert pomp("proportion", "c2") == pytest.approx([100 / 3] * 3)
    # distance on the total: c1 is 1/3 from every mean: sum of squares 8/9; the largest
    # possible squared distances from the means sum to (4 x 196 + 2 x 64 + 2 x 121)/9
    assert pomp("distance", "c1")[2] == pytest.approx(100 * (1 - 8 / 1154))


def test_key_for_the_real_questionnaire_checks_options() -> None:
    q = repprofile.load_questionnaire(str(MINI))
    missing = r"options missing from the key: s3\.a, s3\.b, s3\.c"
    with pytest.raises(QuestionnaireError, match=missing):
        build_sjt_key(
            {"expert_id": ["e1"], "s1.a": [6], "s1.b": [4], "s1.c": [1], "s2.a": [2], "s2.b": [5]},
            Q,
        ).key.check_for(q)


def test_one_expert_gives_a_key_without_agreement() -> None:
    cols: dict[str, list[Any]] = {"expert_id": ["e1"]}
    cols.update({c: [v] for c, v in zip(COLUMNS, [5, 1, 3, 4, 2], strict=True)})
    r = build_sjt_key(cols, Q)
    d = r.to_dict()
    assert d["n_experts"] == 1
    assert d["agreement_n_options"] == 0
    assert all(v is None for a in d["agreement"].values() for v in a.values())
    assert d["rwg"] == {"s1": None, "s2": None}
    assert [o["sd"] for o in d["options"]] == [None] * 5
    assert r.key.source == "SME ratings given as a mapping, 1 expert"
    json.dumps(d, allow_nan=False)


def test_key_for_the_bundled_service_recovery_test(tmp_path: Path) -> None:
    q = repprofile.load_questionnaire("service-recovery")
    cols = [f"{it.id}.{o.id}" for it in q.sjt_items for o in it.options]
    draft = np.rint(np.array([o.key for it in q.sjt_items for o in it.options], dtype=float))
    shift = np.array([0, 0, 0, 1, -1])  # five experts: three give the draft key's rating
    x = np.clip(draft[None, :] + shift[:, None], 1, 6)
    lines = ["expert_id," + ",".join(cols)]
    lines += [f"e{i}," + ",".join(str(int(v)) for v in row) for i, row in enumerate(x)]
    (tmp_path / "sme.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = build_sjt_key(tmp_path / "sme.csv", q)
    r.key.check_for(q)
    assert r.key.means(q).tolist() == pytest.approx(x.mean(axis=0).tolist())
    assert r.to_dict()["agreement"]["ICC1"]["df1"] == len(cols) - 1
    (tmp_path / "ans.csv").write_text(
        "candidate_id," + ",".join(cols) + "\nc1," + ",".join(str(int(v)) for v in draft) + "\n",
        encoding="utf-8",
    )
    key_path = tmp_path / "key.yaml"
    key_path.write_text(r.key_yaml(), encoding="utf-8")
    s = repprofile.score(q, str(tmp_path / "ans.csv"), sjt_method="mode", sjt_key=key_path)
    assert s.provenance.sjt_key_sha256 == r.key.fingerprint()
    # c1 gives every option the modal SME rating (three of five experts): 100 on the eight
    # competencies and the total
    pomps = [v.pomp for v in s.profile("c1").scales.values()]
    assert pomps == pytest.approx([100.0] * 9)
