#!/usr/bin/env bash
# dist/ is what the action runs: it must equal a fresh bundle of src/.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(mktemp -d)
cp -r dist "$before/dist"
npm run build >/dev/null
if ! diff -r "$before/dist" dist >/dev/null; then
  diff -r "$before/dist" dist | head -20
  echo "check-dist: dist/ is stale; run 'npm run build' and commit dist/" >&2
  exit 1
fi
echo "check-dist: dist/ matches a fresh build of src/"
