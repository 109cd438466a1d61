#!/usr/bin/env bash
# System packages the full test suite needs on a fresh Debian machine (make test runs this
# before pytest; make demo does not need it):
#   postgresql - the web tests start a throwaway cluster with initdb/pg_ctl (tests/_webdb.py)
#   chromium   - the browser tests drive Debian's chromium through Playwright
#   npm        - to install axe-core from tests/browser/package.json (npm ci)
#   default-jre-headless - Java for the local Spark session of tests/test_spark.py
#                (pyspark 4 needs Java 17 or newer; Debian 12's default is 17)
# Installs only what is missing: as root with apt-get, else through sudo; a clear error
# when neither is possible. REPPROFILE_TEST_POSTGRES=0 leaves PostgreSQL out.
set -euo pipefail
cd "$(dirname "$0")/.."
npm_dir=tests/browser

need=()
if [ "${REPPROFILE_TEST_POSTGRES:-1}" != "0" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql)
fi
if ! command -v chromium >/dev/null 2>&1; then
    need+=(chromium)
fi
if [ -f "$npm_dir/package.json" ] && ! command -v npm >/dev/null 2>&1; then
    need+=(npm)
fi
if ! java -version >/dev/null 2>&1; then
    need+=(default-jre-headless)
fi

if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "tools/ci-system-deps.sh: the tests need the Debian packages: ${need[*]}" >&2
        echo "  install them as root (apt-get install ${need[*]}), or run make test as root" >&2
        echo "  or with password-less sudo; REPPROFILE_TEST_POSTGRES=0 tests SQLite only" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "tools/ci-system-deps.sh: no apt-get here; install ${need[*]} yourself" >&2
        exit 1
    fi
    echo "installing ${need[*]} (Debian packages the tests need)"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
    # Debian's postgresql package starts a cluster of its own; the tests do not use it
fi

# axe-core for the accessibility tests: again only when the lock file changed
stamp="$npm_dir/node_modules/.stamp-lock"
if [ -f "$npm_dir/package-lock.json" ] && ! cmp -s "$npm_dir/package-lock.json" "$stamp"; then
    (cd "$npm_dir" && npm ci --no-audit --no-fund --silent)
    cp "$npm_dir/package-lock.json" "$stamp"
fi
