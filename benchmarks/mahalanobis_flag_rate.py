"""Mahalanobis D^2 flag rates against a norm table: chi-square versus Hotelling's F (issue 14).

Norm tables of rep-types 1.1.0 are built (``build_norms``) from 200 and from 1,000 honest
respondents simulated by ``repprofile._analysis.simulate.simulate_answers``; 1,000 NEW
honest respondents and 1,000 uniform-random responders are scored against each (with
``reference_min`` above the batch size, so the norm table is the reference). Prints, per
norm sample size and alpha, the share flagged when the p of D^2 is taken from
chi-square(77) (the reference before issue 14) and from Hotelling's F for a new observation
(what ``score`` now uses). Honest respondents should be flagged at about alpha; random
responders at about 100%. Then the same for a batch of the 1,000 new honest respondents that
is its own reference: chi-square versus Beta.

Run: ``.venv/bin/python benchmarks/mahalanobis_flag_rate.py [--seed 0] [--norms 200 1000]``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import repprofile
from repprofile._analysis.simulate import simulate_answers
from repprofile.stats import mahalanobis_p

ALPHAS = (0.001, 0.01, 0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed offset (default 0)")
    parser.add_argument("--new", type=int, default=1000, help="new respondents per group")
    parser.add_argument(
        "--norms", type=int, nargs="+", default=[200, 1000], help="norm sample sizes (> 77)"
    )
    args = parser.parse_args()
    q = repprofile.load_questionnaire("rep-types")
    p = int((q.item_scale_index >= 0).sum())
    honest, _ = simulate_answers(q, args.new, seed=1_000 + args.seed)
    rng = np.random.default_rng(2_000 + args.seed)
    lo, hi = int(q.response_scale.min), int(q.response_scale.max)
    random = rng.integers(lo, hi + 1, size=(args.new, len(q.item_ids))).astype(np.float64)

    print(f"rep-types {q.version}: p = {p} scored items; {args.new} new respondents per group")
    print(f"{'norms n':>8} {'group':>7} {'alpha':>6} {'chi-square':>11} {'Hotelling F':>12}")
    for n in args.norms:
        x, _ = simulate_answers(q, n, seed=10_000 + args.seed + n)  # not the new ones
        with warnings.catch_warnings():  # n = 200 is below the recommended 231, on purpose
            warnings.simplefilter("ignore")
            table = repprofile.build_norms(q, x, description=f"{n} simulated", simulated=True)
        for group, answers in (("honest", honest), ("random", random)):
            qr = repprofile.score(
                q, answers, norms=table, quality={"reference_min": 10 * args.new}
            ).quality
            assert qr.mahalanobis_reference == "norms"
            chisq = mahalanobis_p(qr.mahalanobis_d2, p, None, "chisq")
            for alpha in ALPHAS:
                print(
                    f"{n:>8} {group:>7} {alpha:>6} {np.mean(chisq < alpha):>11.1%} "
                    f"{np.mean(qr.mahalanobis_p < alpha):>12.1%}"
                )
    result = repprofile.score(q, honest)
    qr = result.quality
    members = qr.clean & result.scored
    chisq = mahalanobis_p(qr.mahalanobis_d2, p, None, "chisq")
    print(f"\nbatch of {args.new} honest as its own reference ({int(members.sum())} in it):")
    print(f"{'alpha':>6} {'chi-square':>11} {'Beta':>8}")
    for alpha in ALPHAS:
        print(
            f"{alpha:>6} {np.mean(chisq[members] < alpha):>11.1%} "
            f"{np.mean(qr.mahalanobis_p[members] < alpha):>8.1%}"
        )


if __name__ == "__main__":
    main()
