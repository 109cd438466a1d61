"""Show that a code generator turns the OpenAPI document into code that type-checks
(issue 15 item 7): openapi-typescript (npm) generates TypeScript types from the 3.1 and
the 3.0 document, and ``tsc --strict`` compiles a small client against them.

Run: ``python benchmarks/typecheck_clients.py`` (needs Node.js with ``npx`` and access to
the npm registry; the packages are fetched into npx's cache, nothing is installed in the
project). Exit 0 when both documents type-check, 1 otherwise, 2 when npx is missing.

Not a unit test: it needs the network and takes about a minute on the first run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from repprofile.server import ServerSettings, create_app
from repprofile.server._openapi3 import openapi_30

OPENAPI_TYPESCRIPT = "openapi-typescript@7.13.0"
TYPESCRIPT = "typescript@5.6.3"
NULLABLE = ["--default-non-nullable", "false"]

# A client written against the generated types: every name used here must exist in
# them with these shapes, or tsc fails.
CLIENT = """\
import type { components, operations, paths } from "./api";

type ScoreRequest = components["schemas"]["ScoreRequest"];
type ScoreResponse = components["schemas"]["ScoreResponse"];
type ScaleScore = components["schemas"]["ScaleScore"];
type Problem = components["schemas"]["Problem"];
type ValidationErrors = components["schemas"]["ValidationErrors"];
type RankResponse = components["schemas"]["RankResponse"];

const request: ScoreRequest = {
  questionnaire: "rep-types",  // a string with examples, not an enum
  candidates: [{ candidate_id: "c-101", answers: { ctl01: 5, ctl02: null } }],
  ci_level: 0.9,
};

// Always-present fields are required: no "possibly undefined" here.
function firstPomp(r: ScoreResponse): number | null {
  const s: ScaleScore = Object.values(r.profiles[0].scales)[0];
  return s.pomp;
}

function explain(p: Problem | ValidationErrors): string {
  return "errors" in p ? `${p.code}: ${p.errors.length} + ${p.errors_omitted}` : p.detail;
}

function best(r: RankResponse): string | number | undefined {
  return r.candidates[0]?.candidate_id;
}

type ScoreOp = operations["score"];
type Ok = ScoreOp["responses"][200]["content"]["application/json"];
type TooBig = ScoreOp["responses"][413]["content"]["application/problem+json"];
const score: keyof paths = "/v1/score";

export { request, firstPomp, explain, best, score };
export type { Ok, TooBig };
"""

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "target": "es2020",
        "module": "es2020",
        "moduleResolution": "node",
        "skipLibCheck": True,
    },
    "files": ["client.ts"],
}


def check(doc: dict[str, object], workdir: Path, npx: str) -> bool:
    """Generate types from ``doc`` in ``workdir`` and type-check :data:`CLIENT`."""
    workdir.mkdir(parents=True)
    (workdir / "openapi.json").write_text(json.dumps(doc), encoding="utf-8")
    (workdir / "client.ts").write_text(CLIENT, encoding="utf-8")
    (workdir / "tsconfig.json").write_text(json.dumps(TSCONFIG), encoding="utf-8")
    steps = [
        # --default-non-nullable false: openapi-typescript otherwise makes every field
        # with a default required, so a request could not leave out 'seconds' or 'ci_level'.
        [npx, "--yes", OPENAPI_TYPESCRIPT, "openapi.json", "-o", "api.d.ts", *NULLABLE],
        [npx, "--yes", "-p", TYPESCRIPT, "tsc", "-p", "tsconfig.json"],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"FAILED in {workdir}: {' '.join(cmd)}\n{done.stdout}\n{done.stderr}")
            return False
    return True


def main() -> int:
    npx = shutil.which("npx")
    if npx is None:
        print("npx not found: install Node.js to run this check")
        return 2
    app = create_app(ServerSettings(api_keys=("typecheck-placeholder-key-000000",)))
    doc = app.openapi()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, version in (("3.1", doc), ("3.0", openapi_30(doc))):
            passed = check(version, Path(tmp) / name, npx)
            print(f"OpenAPI {name}: {'type-checks' if passed else 'FAILS'}")
            ok &= passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
