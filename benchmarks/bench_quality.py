"""Response-quality detection on simulated data (issue 4).

1,000 attentive respondents from the trait model of ``repprofile._analysis.simulate`` plus 50
straight-liners (one answer, chosen at random per person, to every item), 50
uniform-random responders and 50 who answer in a repeating 1-2-3-4-5 pattern (random
starting point), scored together on rep-types with the default thresholds. Prints, per
group, the share flagged by each index and by the verdict (``valid`` false).

Goal: the default flags catch >= 95% of straight-liners and >= 80% of random and
pattern responders while flagging <= 5% of attentive ones.

Run: ``.venv/bin/python benchmarks/bench_quality.py [--seed 1]``.
"""

from __future__ import annotations

import argparse

import numpy as np
from numpy.typing import NDArray

import repprofile
from repprofile._analysis.simulate import simulate_answers


def careless_groups(
    q: repprofile.Questionnaire, rng: np.random.Generator, n: int
) -> dict[str, NDArray[np.float64]]:
    k = len(q.item_ids)
    lo, hi = q.response_scale.min, q.response_scale.max
    width = hi - lo + 1
    straight = np.repeat(rng.integers(lo, hi + 1, size=(n, 1)), k, axis=1).astype(float)
    random = rng.integers(lo, hi + 1, size=(n, k)).astype(float)
    phase = rng.integers(0, width, size=(n, 1))
    pattern = (lo + (np.arange(k)[None, :] + phase) % width).astype(float)
    return {"straight-liner": straight, "random": random, "pattern 1-2-3-4-5": pattern}


def without_checks(q: repprofile.Questionnaire) -> repprofile.Questionnaire:
    """The same questionnaire less its attention and infrequency items."""
    data = q.model_dump()
    data["items"] = [it for it in data["items"] if it["kind"] == "scored"]
    data["version"] = q.version + "-no-checks"
    return repprofile.Questionnaire.model_validate(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    full = repprofile.load_questionnaire("rep-types")
    run(full, args.seed, "with its attention and infrequency items")
    print()
    run(without_checks(full), args.seed, "WITHOUT attention and infrequency items")


def run(q: repprofile.Questionnaire, seed: int, label: str) -> None:
    rng = np.random.default_rng(seed)
    attentive, _ = simulate_answers(q, 1000, seed=seed, missing=0.01)
    groups = {"attentive": attentive, **careless_groups(q, rng, 50)}
    X = np.concatenate(list(groups.values()))
    labels = np.concatenate([[g] * len(v) for g, v in groups.items()])
    result = repprofile.score(q, X)
    flags = result.quality.flag_matrix()
    valid = result.quality.valid
    names = list(flags)
    print(f"rep-types {q.version} {label}: {len(X)} respondents, default thresholds")
    header = f"{'group':18s} {'n':>5s} " + " ".join(f"{n[:10]:>10s}" for n in names)
    print(header + f" {'FLAGGED':>8s}")
    for g in groups:
        sel = labels == g
        cells = " ".join(f"{flags[n][sel].mean():10.1%}" for n in names)
        print(f"{g:18s} {sel.sum():5d} {cells} {(~valid[sel]).mean():8.1%}")


if __name__ == "__main__":
    main()
