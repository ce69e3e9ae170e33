#!/usr/bin/env bash
# `make vectors`: regenerates every generated conformance vector file and fails if one differs
# from the file in the tree. A generator is protocol/vectors/src/<name>.py and writes
# protocol/vectors/<name>.json (the other vector files are written by hand). After a failure the
# regenerated file is left in place: review it (git diff) and commit it with its generator.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SAY_AS=vectors
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

before=$(mktemp -d)
trap 'rm -rf "$before"' EXIT
failed=()
for generator in protocol/vectors/src/*.py; do
  name=$(basename "$generator" .py)
  out=protocol/vectors/$name.json
  [[ -f $out ]] && cp "$out" "$before/$name.json" || : > "$before/$name.json"
  python3 "$generator" >/dev/null
  [[ -f $out ]] || { say "$generator wrote no $out"; exit 1; }
  if cmp -s "$before/$name.json" "$out"; then
    say "$out is what $generator generates"
  else
    say "$out differs from what $generator generates (- the file as it was, + regenerated):"
    diff -u --label "$out (as it was)" --label "$out (regenerated)" "$before/$name.json" "$out" | head -n 200 || true
    failed+=("$out")
  fi
done
if (( ${#failed[@]} )); then
  say "FAILED: regenerated ${failed[*]}; review the change and commit it together with its generator"
  exit 1
fi
