"""Make the aedt-audit reference fixtures of tests/test_audit_peer.py.

Writes, next to this file:

* ``pool.csv``: the simulated applicant pool of ``tests.test_audit_peer.simulate_pool``
  (numpy ``default_rng(1442021)``, 2,000 candidates; no real person);
* ``aedt_audit_results.json``: aedt-audit's LL144 selection-rate and scoring-rate
  tables (sex, race, sex x race) for that pool, with and without its 2% small-category
  exclusion, made by ``tests.test_audit_peer.aedt_reference``; its ``provenance``
  records the package versions and the SHA-256 of pool.csv.

Run from the repository root with the dev extra installed (aedt-audit==0.3.0)::

    .venv/bin/python tests/reference/audit/make_aedt_reference.py

Floats are written with Python's shortest round-trip repr, so they read back to the
identical IEEE doubles; a NaN (none is expected) would be ``null``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.test_audit_peer import (  # noqa: E402
    AEDT_JSON,
    POOL_CSV,
    aedt_reference,
    simulate_pool,
    write_pool_csv,
)


def main() -> None:
    write_pool_csv(simulate_pool(), POOL_CSV)
    reference = aedt_reference(POOL_CSV)
    text = json.dumps(reference, indent=1, allow_nan=False, ensure_ascii=False)
    AEDT_JSON.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {POOL_CSV.relative_to(ROOT)} and {AEDT_JSON.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
