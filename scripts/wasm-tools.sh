#!/usr/bin/env bash
# Installs what building and testing the browser client needs, once, into the project's
# git-ignored .tools/ (Rust tools) or from Debian's packages (browser, wasm-opt):
#   - the wasm32-unknown-unknown target;
#   - wasm-bindgen-cli at exactly the version of the wasm-bindgen crate in Cargo.lock (installed
#     without --locked: its lockfile names a crate version the registry here lacks);
#   - wasm-pack, which then uses that CLI and our wasm-opt from PATH instead of downloading;
#   - binaryen's wasm-opt from the npm registry (see below why not Debian's);
#   - Debian's chromium and chromium-driver.
# Nothing is downloaded at test time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/cargo/bin"
SAY_AS=wasm-tools
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/"/, "", $3); print $3; exit}' "$root/Cargo.lock")
if [[ ! -x $bin/wasm-bindgen ]] || [[ $("$bin/wasm-bindgen" --version | awk '{print $2}') != "$version" ]]; then
  say "installing wasm-bindgen-cli $version (once)"
  cargo install --root "$root/.tools/cargo" --force wasm-bindgen-cli --version "=$version"
fi
if [[ ! -x $bin/wasm-pack ]]; then
  say "installing wasm-pack (once)"
  cargo install --root "$root/.tools/cargo" wasm-pack
fi

# wasm-opt: binaryen from the npm registry, pinned. Debian's binaryen (108) rewrites the
# externref table export of wasm-bindgen 0.2.130's output to the function table, and the package
# then fails to load in every browser ("WebAssembly.Table.set(): Argument 1 is invalid").
binaryen_version=132.0.0
if [[ $("$root/.tools/binaryen/node_modules/.bin/wasm-opt" --version 2>/dev/null) != *"version_${binaryen_version%%.*}"* ]]; then
  say "installing binaryen $binaryen_version from npm (once)"
  npm install --prefix "$root/.tools/binaryen" --no-audit --no-fund --no-save "binaryen@$binaryen_version" >/dev/null
fi

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if (( ${#missing[@]} )); then
  say "installing ${missing[*]} from Debian's packages"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
say "ready: $("$bin/wasm-pack" --version), wasm-bindgen $version, $("$root/.tools/binaryen/node_modules/.bin/wasm-opt" --version), $(chromedriver --version | cut -d' ' -f1-2)"
