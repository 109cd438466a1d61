#!/usr/bin/env bash
# Generate TypeScript types from repprofile's OpenAPI document with openapi-typescript and
# type-check client.ts against them with tsc --strict (both from the npm registry).
# Needs node/npx and repprofile[server] in the current Python. Usage, from the repository:
#   bash docs/clients/check_typescript_client.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python -c 'import json, sys
from repprofile.server import ServerSettings, create_app
app = create_app(ServerSettings(api_keys=("x" * 32,)))
json.dump(app.openapi(), sys.stdout)' > "$work/openapi.json"
cp "$here/client.ts" "$work/"
cd "$work"
npx --yes openapi-typescript@7.13.0 openapi.json -o api.d.ts --default-non-nullable false
npx --yes -p typescript@5.6.3 tsc --strict --noEmit --target es2022 --module es2022 \
    --moduleResolution bundler --lib es2022,dom client.ts api.d.ts
echo "client.ts type-checks against the generated types of $(python -c 'import repprofile; print(repprofile.__version__)')"
