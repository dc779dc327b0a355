#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up (idempotent), then type check, lint, format check,
# unit/HTTP/integration/lifecycle tests, and the end-to-end tests on real tools (root).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${BIB_SKIP_INSTALL:-}" = 1 ] || bash scripts/install-deps.sh

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
npm run typecheck
npm run lint
npm run format:check
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$results/unit.json" || status=1
npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json="$results/e2e.json" || status=1
node scripts/summarize-results.mjs "$results"/*.json
exit $status
