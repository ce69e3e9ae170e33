#!/usr/bin/env bash
# The package installed as the README says, in a fresh Vite + Vue 3 + TypeScript app: run by
# `make test-fixture`, which first builds the wasm and the npm tarball (make wasm-pkg) and installs
# the npm workspaces (make npm: their `npm ci` fills npm's cache). This script copies the fixture
# app tests/vite-app/ to a temporary folder OUTSIDE the repository (so that nothing of the
# workspace can be found from there: no hoisted vue, no workspace root for Vite's fs.allow),
# installs it with the tarball (`npm install --prefer-offline`: the versions are the root
# lockfile's, already in npm's cache; its own package-lock.json pins the rest), then checks:
# (The install is an install step, as `make npm` is, and is what the README tells a user to run: it
# reads the npm registry only for package metadata its cache lacks — with npm's
# `omit-lockfile-registry-resolved` the lockfiles carry no tarball URLs, so npm may ask for them.
# The tarballs themselves come from the cache, and the checks below reach nothing but 127.0.0.1.)
#   1. `vite build` prints no warning at all;
#   2. `vue-tsc --noEmit` is clean;
#   3. in Debian's Chromium (playwright-core of the root node_modules), against a real bridge on a
#      topic prefix and database of its own: the built app and the `vite` dev server each load the
#      collection and get a request confirmed (scripts/test-fixture.mjs).
# Arguments are passed to `node --test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SAY_AS=test-fixture
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

tarball=wasm-client/pkg/vmm-client.tgz
[[ -f $tarball && -d node_modules/playwright-core ]] ||
  { say "the npm tarball or the npm workspaces are missing: run make test-fixture"; exit 1; }
[[ -x /usr/bin/chromium || -n ${CHROMIUM:-} ]] || { say "Chromium is needed: make wasm-tools (or set CHROMIUM)"; exit 1; }

start_services || exit 1
cargo build --locked -p vmm-bridge

app=$(mktemp -d "${TMPDIR:-/tmp}/vmm-vite-app.XXXXXX")
trap 'rm -rf "$app"' EXIT
cp -R tests/vite-app/. "$app/"
cp -L "$tarball" "$app/vmm-client.tgz"
prefix="fixture$$"

cd "$app"
say "installing the fixture app with $(readlink "$root/$tarball") in $app"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefer-offline --no-audit --no-fund
[[ -d node_modules/vmm-client/wasm && ! -L node_modules/vmm-client ]] ||
  { say "vmm-client was not installed from the tarball"; exit 1; }

say "vite build (no warning allowed)"
VITE_VMM_URL=$ws_url VITE_VMM_PREFIX=$prefix ./node_modules/.bin/vite build 2>&1 | tee build.log
if grep -Eiq 'warn|\(!\)|deprecat' build.log; then
  say "vite build printed a warning (above)"
  exit 1
fi

say "vue-tsc --noEmit"
./node_modules/.bin/vue-tsc --noEmit

cd "$root"
export VMM_MQTT_URL=$mqtt_url VMM_MONGODB_URI=$mongodb_uri VMM_WS_URL=$ws_url
export FIXTURE_APP=$app FIXTURE_PREFIX=$prefix
node --test "$@" scripts/test-fixture.mjs
