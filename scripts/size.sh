#!/usr/bin/env bash
# `make size`: the browser package's download size against mqtt.js, measured in the same run.
#   - ours: the wasm + its JS glue + the package entry, gzipped together (gzip -9);
#   - mqtt.js 5.16.0's browser bundle dist/mqtt.min.js, gzipped the same way (fetched once from
#     the npm registry into .tools/ by scripts/mqttjs.sh);
#   - the ratio ours / mqtt.js and the goal (issue 9: at most 0.5×).
# When the goal is missed (or with --breakdown) it prints where the bytes are: the biggest
# functions and data (shallow and retained size, twiggy) and the sum per crate.
#
# Names for the breakdown: the release wasm has none (wasm-opt drops the name section), so the
# breakdown is made on a second copy built from the same cargo output the release used
# (target/wasm32-unknown-unknown/release/vmm_client.wasm, left there by `make wasm-pkg`), run
# through the same wasm-bindgen and the same `wasm-opt` flags (read from wasm-client/Cargo.toml)
# plus `--debuginfo`, which keeps the name section and changes no code. The script prints the
# check: that copy without its name subsections must be the release's size (a few bytes of
# section headers apart); if it is not, the cargo output is not the release's (rebuilt since by
# something else) and the breakdown says so.
#
# Assumes `make wasm-pkg` ran just before (make size depends on it). Options: --breakdown.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SAY_AS=size
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
# shellcheck source=scripts/mqttjs.sh
source "$root/scripts/mqttjs.sh"

# ---- The package's paths: the only place that knows its layout. ------------------------------
PKG=${VMM_CLIENT_PKG:-wasm-client}             # the npm package folder; `make wasm-pkg` builds its wasm/
PKG_WASM=wasm/vmm_client_bg.wasm                # relative to $PKG
PKG_JS=(wasm/vmm_client.js js/index.js)         # the glue and the entry an app loads, relative to $PKG
CARGO_WASM=${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/vmm_client.wasm
WASM_PACK_TOML=wasm-client/Cargo.toml           # its wasm-opt flags (package.metadata.wasm-pack)
GOAL=0.5                                         # ours / mqtt.js, at most
TOP=25                                           # rows of the breakdown
# ----------------------------------------------------------------------------------------------
export PATH="$root/.tools/binaryen/node_modules/.bin:$root/.tools/cargo/bin:$PATH"
TWIGGY_VERSION=0.8.0

breakdown=0
for arg in "$@"; do
  case $arg in
    --breakdown) breakdown=1 ;;
    *) say "unknown option $arg (options: --breakdown)"; exit 2 ;;
  esac
done

gz() { gzip -9 -c "$@" | wc -c; }
raw() { cat "$@" | wc -c; }
row() { printf '%-34s %9s bytes %9s gzipped\n' "$1" "$(num "$2")" "$(num "$3")"; }
num() { local n=$1 out=""; while ((${#n} > 3)); do out=",${n: -3}$out"; n=${n:0:${#n}-3}; done; printf '%s%s' "$n" "$out"; }

ours() {
  local files=("$PKG/$PKG_WASM") f
  for f in "${PKG_JS[@]}"; do files+=("$PKG/$f"); done
  for f in "${files[@]}"; do
    [[ -f $f ]] || { say "$f is missing: run \`make wasm-pkg\` (or set VMM_CLIENT_PKG to the package folder)"; exit 1; }
    row "${f#"$PKG"/}" "$(raw "$f")" "$(gz "$f")"
  done
  ours_gz=$(gz "${files[@]}")
  row "vmm-client total (one stream)" "$(raw "${files[@]}")" "$ours_gz"
}

theirs() {
  local bundle; bundle=$(mqttjs_bundle)
  theirs_gz=$(gz "$bundle")
  row "mqtt.js $MQTTJS_VERSION dist/mqtt.min.js" "$(raw "$bundle")" "$theirs_gz"
}

install_twiggy() {
  if [[ $(twiggy --version 2>/dev/null) != *" $TWIGGY_VERSION" ]]; then
    say "installing twiggy $TWIGGY_VERSION into .tools/cargo (once)"
    cargo install --locked --root "$root/.tools/cargo" twiggy --version "=$TWIGGY_VERSION" >&2
  fi
}

# Builds the named copy into $1/named.wasm (see the header).
named_build() {
  local dir=$1 flags
  [[ -f $CARGO_WASM ]] || { say "$CARGO_WASM is missing: run \`make wasm-pkg\`"; return 1; }
  flags=$(sed -n 's/^wasm-opt = \[\(.*\)\]$/\1/p' "$WASM_PACK_TOML" | tr -d '",')
  [[ -n $flags ]] || { say "no wasm-opt flags found in $WASM_PACK_TOML"; return 1; }
  wasm-bindgen "$CARGO_WASM" --out-dir "$dir" --target web
  # shellcheck disable=SC2086 # the flags are words
  wasm-opt $flags --debuginfo "$dir/vmm_client_bg.wasm" -o "$dir/named.wasm"
}

# twiggy's CSV (all items, shallow and retained) as tab-separated: name, shallow, retained; the
# name subsections left out. Names may hold commas, so the numbers are read from the right.
items() {
  twiggy top --retained -f csv "$1" | awk 'NR > 1 {
    if (!match($0, /,[0-9]+,[0-9.e+-]*,[0-9]*,[0-9.e+-]*$/)) next
    name = substr($0, 1, RSTART - 1); split(substr($0, RSTART + 1), f, ",")
    if (name ~ /^".*"$/) { name = substr(name, 2, length(name) - 2); gsub(/""/, "\"", name) }
    if (name ~ /^"[a-z]+ names" subsection$/) next
    printf "%s\t%d\t%d\n", name, f[1], f[3] }'
}

# The crate an item belongs to: the first path segment of its name (of the type for `<T as
# Trait>::f`, of the trait for a primitive T); wasm-bindgen's shims and exports, and data, apart.
per_crate() {
  awk -F'\t' '
    function crate(n,   t) {
      if (n ~ /^data segment|^data\[/) return "(data segments)"
      if (n ~ /shim|^export |^import |^__wbg|^__wbindgen|^__externref|^elem\[|^table\[|^store_|^connect_store/) return "(wasm-bindgen glue and exports)"
      if (n ~ /^custom section|^code\[|^func\[|^global\[|^type\[/) return "(unnamed code, custom sections)"
      if (n ~ /^<(char|str|u8|\[[^]]*\])>::/) return "core"
      t = n; sub(/^[<&*( ]+(mut |const |dyn )?[<&*( ]*/, "", t)
      if (match(t, /^[A-Za-z_][A-Za-z0-9_]*(\[[0-9a-f]+\])?::/)) { t = substr(t, 1, RLENGTH - 2); sub(/\[.*/, "", t); return t }
      if (match(n, / as <?&?[A-Za-z_][A-Za-z0-9_]*(\[[0-9a-f]+\])?::/)) { t = substr(n, RSTART + 4, RLENGTH - 6); sub(/^<?&?/, "", t); sub(/\[.*/, "", t); return t }
      return "(compiler builtins, other)"
    }
    { c = crate($1); sum[c] += $2; total += $2 }
    END { for (c in sum) printf "%9d  %5.1f%%  %s\n", sum[c], 100 * sum[c] / total, c }' | sort -rn
}

show_breakdown() {
  install_twiggy
  local dir; dir=$(mktemp -d)
  trap 'rm -rf "$dir"' RETURN
  say "breakdown: building a copy with names (same cargo output, same wasm-opt flags, plus --debuginfo) …"
  named_build "$dir" >/dev/null
  items "$dir/named.wasm" >"$dir/items.tsv"
  local named_total release; named_total=$(awk -F'\t' '{s += $2} END {print s}' "$dir/items.tsv")
  release=$(raw "$PKG/$PKG_WASM")
  echo
  echo "Breakdown of the wasm ($(num "$release") bytes, before gzip). Check: the named copy without its name"
  echo "subsections is $(num "$named_total") bytes, the release $(num "$release") ($((named_total - release)) bytes apart)."
  if ((named_total - release > 1024 || release - named_total > 1024)); then
    echo "WARNING: they differ by more than section headers: $CARGO_WASM is not the release's cargo output;"
    echo "run \`make wasm-pkg\` and this again."
  fi
  echo
  echo "Biggest items by shallow size (what removing the item alone saves; retained: with all it alone keeps alive):"
  printf '%9s %9s  %s\n' shallow retained item
  sort -t$'\t' -k2,2nr "$dir/items.tsv" | awk -F'\t' -v n="$TOP" 'NR <= n {printf "%9d %9d  %s\n", $2, $3, substr($1, 1, 110)}'
  echo
  echo "Biggest items by retained size:"
  sort -t$'\t' -k3,3nr "$dir/items.tsv" | awk -F'\t' 'NR <= 10 {printf "%9d %9d  %s\n", $2, $3, substr($1, 1, 110)}'
  echo
  echo "Sum of shallow sizes per crate (the function's own path; generic code counts for the crate that defines it):"
  per_crate <"$dir/items.tsv" | awk 'NR <= 30'
}

ours
theirs
ratio=$(awk -v a="$ours_gz" -v b="$theirs_gz" 'BEGIN {printf "%.2f", a / b}')
met=$(awk -v r="$ratio" -v g="$GOAL" 'BEGIN {print (r <= g) ? "MET" : "MISSED"}')
echo
echo "ratio vmm-client / mqtt.js, gzipped: ${ratio}× (goal ≤ ${GOAL}×, i.e. ≤ $(num "$(awk -v b="$theirs_gz" -v g="$GOAL" 'BEGIN {printf "%d", b * g}')") bytes): $met"
if [[ $met == MISSED || $breakdown == 1 ]]; then
  show_breakdown
fi
